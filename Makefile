# SPDX-License-Identifier: Apache-2.0
# mod_polyprov
#
#   make            build build/mod_polyprov.so (and the core library)
#   make demo       install what is missing, then show the module at work
#   make check      install what is missing, then everything CI runs: unit,
#                   integration and security (attack) tests, the same under
#                   ASan/UBSan, Valgrind, and a short run of each fuzzer
#   make check-run  unit, integration and security tests only
#   make check-mutation  every guard of the core (tests/mutation/guards.txt)
#                   removed in turn: the unit tests must fail each time
#   make check-package  build, lint, install, use and purge the Debian
#                   package; check the RPM spec (root; CI runs it)
#   make install    install the module (apxs -i) and its configuration files
#                   (DESTDIR=... for a staging directory; LAYOUT=debian,
#                   redhat or none, guessed from apxs -q SYSCONFDIR), and
#                   polyprov-check with its manual page (PREFIX=/usr/local)
#   make uninstall  remove exactly what make install put there
#   make asan       module and unit tests with AddressSanitizer + UBSan
#   make check-asan unit tests, integration and security suites under ASan/UBSan
#   make check-valgrind  memcheck on httpd -X across allowed and refused requests
#   make bench      print the performance figures of docs/performance.md's Performance section (not a test)
#   make fuzz       libFuzzer harnesses of the core (FUZZ_TIME=60 s each)
#   make check-list LIST=path   the strict check of a list file (pipelines)
#   make check-tool the tests of polyprov-check (build/polyprov-check)
#   make doc        build/doc: polyprov.conf(5) and the examples, from the
#                   documents (tools/pkgdocs.py; the Debian package ships them)
#
# ./configure (configure.ac) works out everything once: apxs and what it
# says of httpd, the libraries (pkg-config), the hardening flags and the
# version (VERSION), into config.mk.  Without config.mk the Makefile runs
# ./configure itself (after autoconf, when there is no configure script yet
# or configure.ac is newer, and autoconf is installed); where that cannot be done (a fresh machine,
# before make demo or make check installs what is missing), it falls back
# to asking apxs and pkg-config itself.  make unit needs no apxs.
#   make check DEPS=no   (or demo): no apt-get install of what is missing
#   make check PYTEST_JOBS=1   the pytest suites one test file at a time

PYTHON ?= /usr/bin/python3

# The integration, security and ASan suites mostly wait (for servers to
# start, stop, reload and answer), so PYTEST_JOBS pytest-xdist workers run
# their test files side by side, each file's tests in order in one worker
# (--dist loadfile), each worker's servers on ports of its own
# (tests/pphttpd/httpd.py, free_port).  Without pytest-xdist, or with
# PYTEST_JOBS=1, one by one.
PYTEST_JOBS ?= 4
PYTEST_PAR = $(shell [ "$(PYTEST_JOBS)" -gt 1 ] 2>/dev/null && \
  $(PYTHON) -c 'import xdist' 2>/dev/null && \
  echo "-n $(PYTEST_JOBS) --dist loadfile")

NOCONF_GOALS := clean distclean deps
ifneq ($(filter-out $(NOCONF_GOALS),$(or $(MAKECMDGOALS),all)),)
-include config.mk
# make remakes config.mk first when it is missing or older than what
# makes it; a configure that fails leaves none, and the fallback below
# (again with the options it was first given, when config.status has them)
config.mk: config.mk.in configure.ac $(wildcard configure) VERSION
	@if { [ ! -x configure ] || [ configure.ac -nt configure ]; } && \
	    command -v autoconf >/dev/null 2>&1; then \
	  autoconf || rm -f configure; fi
	@if [ -x config.status ] && [ -x configure ]; then \
	  ./config.status --recheck >/dev/null && ./config.status -q; \
	elif [ -x configure ]; then ./configure -q $(CONFIGURE_ARGS); \
	else false; fi || \
	  { rm -f $@; echo "(no config.mk: make asks apxs and pkg-config)" >&2; }
endif

ifneq ($(PP_CONFIGURED),yes)
APXS ?= $(shell command -v apxs 2>/dev/null || command -v apxs2 2>/dev/null)
CC ?= gcc
PP_VERSION := $(shell cat VERSION)
ifneq ($(APXS),)
AP_INCLUDEDIR := $(shell $(APXS) -q INCLUDEDIR)
AP_LIBEXECDIR := $(shell $(APXS) -q LIBEXECDIR)
AP_SYSCONFDIR := $(shell $(APXS) -q SYSCONFDIR)
AP_SBINDIR    := $(shell $(APXS) -q SBINDIR)
AP_TARGET     := $(shell $(APXS) -q TARGET)
AP_CPPFLAGS   := $(shell $(APXS) -q EXTRA_CPPFLAGS)
APR_CONFIG    := $(shell $(APXS) -q APR_CONFIG)
APR_INCLUDES  := $(shell $(APR_CONFIG) --includes 2>/dev/null)
endif
PKG_LIBS   := $(shell pkg-config --libs openssl libpcre2-8 2>/dev/null || echo -lssl -lcrypto -lpcre2-8)
CHECK_LIBS := $(shell pkg-config --libs check 2>/dev/null || echo -lcheck -lsubunit -lm -lrt -pthread)
endif

OPT      ?= -O2 -g
WARN     := -Wall -Wextra -Wshadow -Wformat=2 -Wno-format-nonliteral
# -MMD -MP: each object depends on the headers it includes (its .d file)
CFLAGS_ALL = $(OPT) $(WARN) -fPIC -pthread -fvisibility=hidden $(HARDEN_CFLAGS) \
             $(PKG_CFLAGS) -I$(GEN) -MMD -MP $(EXTRA_CFLAGS)
LDFLAGS_ALL = $(HARDEN_LDFLAGS) -Wl,-z,relro,-z,now $(LDFLAGS)
SAN      := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined

SRC      := mod_polyprov
CORE     := pp_reason pp_log pp_fault pp_access pp_mac pp_path pp_cn pp_ca pp_cert \
            pp_maclist pp_listset pp_decide pp_quota
GLUE     := mod_polyprov mod_polyprov_conn mod_polyprov_request \
            mod_polyprov_guard mod_polyprov_life mod_polyprov_config mod_polyprov_checks \
            mod_polyprov_expired \
            mod_polyprov_testing mod_polyprov_metrics mod_polyprov_reload \
            mod_polyprov_dbd mod_polyprov_dump mod_polyprov_answers \
            mod_polyprov_quota mod_polyprov_refusal mod_polyprov_sections
UNIT     := $(patsubst %.c,%,$(notdir $(wildcard tests/unit/test_*.c)))
HEADERS  := $(wildcard $(SRC)/*.h)
# the generated version header (from VERSION, through config.mk)
GEN      := build/gen
VERSION_H := $(GEN)/pp_version.h

B        ?= build
MODULE   := $(B)/mod_polyprov.so
CORELIB  := $(B)/libpolyprov.a
UNITBIN  := $(B)/unit_tests
TOOL     := $(B)/polyprov-check
TOOLSRC  := tools/polyprov-check.c tools/pc_input.c tools/pc_dump.c tools/pc_readiness.c
PKI      := build/pki

.PHONY: all build deps check check-run check-package demo demo-run unit integration security faults \
        check-valgrind \
        fuzz fuzz-build fuzz-ci check-mutation \
        install uninstall install-check-layout clean distclean asan check-asan need-apxs weak bench check-list \
        check-tool doc

all: build

build: need-apxs $(MODULE) $(CORELIB) $(TOOL)

need-apxs:
	@if [ -z "$(APXS)" ]; then \
	  echo "apxs not found: install apache2-dev (or run 'make deps' as root)," \
	       "or ./configure --with-apxs=/path/to/apxs" >&2; exit 1; fi

# rewritten only when the version changes, so that nothing else rebuilds
$(VERSION_H): FORCE
	@mkdir -p $(@D)
	@t=$@.tmp.$$$$; \
	printf '/* made by make from VERSION (config.mk): do not edit */\n#define PP_VERSION "%s"\n' \
	  '$(PP_VERSION)' > $$t; \
	if cmp -s $$t $@; then rm -f $$t; else mv $$t $@; fi

FORCE:

# each object depends on the headers it includes, as its .d file says; an
# object without one (built before) on every header
.SECONDEXPANSION:
DEPS_OF = $$(if $$(wildcard $$(basename $$@).d),,$(HEADERS))

$(B)/core/%.o: $(SRC)/%.c $(DEPS_OF) | $(VERSION_H)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS_ALL) -c $< -o $@

$(B)/glue/%.o: $(SRC)/%.c $(DEPS_OF) | $(VERSION_H)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS_ALL) $(AP_CPPFLAGS) -I$(AP_INCLUDEDIR) $(APR_INCLUDES) -c $< -o $@

$(CORELIB): $(CORE:%=$(B)/core/%.o)
	rm -f $@
	ar rcs $@ $^

$(MODULE): $(GLUE:%=$(B)/glue/%.o) $(CORELIB) $(SRC)/polyprov.map
	$(CC) $(CFLAGS_ALL) $(LDFLAGS_ALL) -shared -o $@ $(GLUE:%=$(B)/glue/%.o) $(CORELIB) \
	  -Wl,--version-script=$(SRC)/polyprov.map $(PKG_LIBS)

$(UNITBIN): $(UNIT:%=tests/unit/%.c) $(CORELIB) | $(VERSION_H)
	@if [ -z "$(CHECK_LIBS)" ]; then \
	  echo "the unit tests need Check: install check (apt-get install check)" >&2; \
	  exit 1; fi
	$(CC) $(CFLAGS_ALL) -I$(SRC) -o $@ $(UNIT:%=tests/unit/%.c) \
	  $(CORELIB) $(PKG_LIBS) $(CHECK_LIBS)

$(B)/check-list: tools/check_list.c $(CORELIB) | $(VERSION_H)
	$(CC) $(CFLAGS_ALL) -I$(SRC) -o $@ $< $(CORELIB) $(PKG_LIBS)

# polyprov-check: the decision without a server, from the same core
# (one gcc run compiles its sources: its .d file keeps the last one's
# headers only, so the headers are named here)
$(TOOL): $(TOOLSRC) $(wildcard tools/*.h) $(HEADERS) $(CORELIB) $(VERSION_H)
	$(CC) $(CPPFLAGS) $(CFLAGS_ALL) -I$(SRC) $(LDFLAGS_ALL) -o $@ $(TOOLSRC) \
	  $(CORELIB) $(PKG_LIBS)

-include $(wildcard $(B)/core/*.d $(B)/glue/*.d $(B)/*.d)

$(B)/listbench: bench/listbench.c $(CORELIB)
	$(CC) $(CFLAGS_ALL) -I$(SRC) -o $@ $< $(CORELIB) $(PKG_LIBS)

$(B)/dblookup: bench/dblookup.c $(CORELIB)
	$(CC) $(CFLAGS_ALL) -I$(SRC) -o $@ $< $(CORELIB) $(PKG_LIBS)

# the boot-storm load generator (bench/storm.c): make bench, and a short
# functional run in the integration suite
$(B)/storm: bench/storm.c
	$(CC) $(OPT) $(WARN) -pthread -o $@ $< $(PKG_LIBS)

# what checking a phone's certificate costs, the ways the module could
$(B)/verifybench: bench/verifybench.c $(CORELIB)
	$(CC) $(OPT) $(WARN) -I$(SRC) -o $@ $< $(CORELIB) $(PKG_LIBS)

# make bench's fleet: 10,000 phones of the test PKI, one key pair
FLEET := build/fleet
$(FLEET)/.stamp: $(B)/storm $(PKI)/.stamp
	$(B)/storm fleet --pki $(PKI) --out $(FLEET) --count 10000
	@touch $@

$(PKI)/.stamp: tests/pphttpd/pki.py
	$(PYTHON) -m tests.pphttpd.pki $(PKI)
	@touch $@

# the manual page polyprov.conf(5) (the directives, log messages,
# upgrading and removing of docs/) and the documents' tested configuration
# examples, in build/doc: what the Debian package installs besides the
# Markdown documents
doc: $(B)/doc/polyprov.conf.5

$(B)/doc/polyprov.conf.5: tools/pkgdocs.py README.md $(wildcard docs/*.md) debian/changelog
	$(PYTHON) tools/pkgdocs.py $(B)/doc

# ---------------------------------------------------------------------------

# the Debian packages for make check (tests/deps.sh says which set is which)
# DEPS=no (a packager's build, a machine set up by hand): install nothing
deps:
	@if [ "$(DEPS)" != no ]; then sh tests/deps.sh test; fi

# everything CI runs: the suites, then again under ASan/UBSan, Valgrind
# over a representative workload, and each fuzzer for a few seconds
check: deps
	@$(MAKE) --no-print-directory check-run check-asan check-valgrind
	@$(MAKE) --no-print-directory -j2 fuzz-ci check-mutation

# the suites alone, for a quick round while developing
check-run: unit integration security

# the Debian package (built from a copy of the tree in build/pkg, lintian,
# installed into this machine's Apache, a phone served, purged) and the
# RPM spec (rpmspec -P, the source RPM); .ci/run runs it after make check
check-package: $(PKI)/.stamp
	@if [ "$(DEPS)" != no ]; then sh tests/deps.sh package; fi
	PP_PKI=$(CURDIR)/$(PKI) $(PYTHON) -m pytest -q -p no:cacheprovider \
	  tests/package $(PYTEST_ARGS)

# the core and its unit tests only: no apxs, no root
unit: $(UNITBIN) $(PKI)/.stamp
	PP_PKI=$(CURDIR)/$(PKI) $(UNITBIN)

# (the suites' files run side by side, and some run make themselves:
# make install, make check-list; what those need is built here, first)
integration: build weak $(B)/storm $(B)/check-list $(PKI)/.stamp
	PP_MODULE=$(CURDIR)/$(MODULE) PP_PKI=$(CURDIR)/$(PKI) \
	  PP_WEAK_MODULE=$(CURDIR)/build/weak/mod_polyprov.so \
	  $(PYTHON) -m pytest -q -p no:cacheprovider $(PYTEST_PAR) \
	  tests/integration $(PYTEST_ARGS)

# every guard of the core pinned by a unit test: each mutant of
# tests/mutation/guards.txt (one guard removed) built with the unit tests in
# a temporary directory; a mutant they still pass fails this (CONTRIBUTING.md,
# "Building and testing").  MUTATION_JOBS: how many mutants at once.
MUTATION_JOBS ?= 2
check-mutation: $(PKI)/.stamp
	$(PYTHON) tests/mutation/mutate.py --pki $(PKI) -j $(MUTATION_JOBS) \
	  --cc "$(CC)" --cflags "-O1 -g $(WARN) -pthread" \
	  --libs "$(PKG_LIBS) $(CHECK_LIBS)"

# polyprov-check's tests alone: on its own, and the decision matrix sent
# to httpd and to the tool (docs/operations.md "The check tool")
check-tool: build $(PKI)/.stamp
	PP_MODULE=$(CURDIR)/$(MODULE) PP_PKI=$(CURDIR)/$(PKI) \
	  $(PYTHON) -m pytest -q -p no:cacheprovider \
	  tests/integration/test_check_tool.py \
	  tests/integration/test_check_tool_matrix.py $(PYTEST_ARGS)

# the attack suite (docs/security.md "Security"), one file per attack class
security: build weak faults $(B)/check-list $(PKI)/.stamp
	PP_MODULE=$(CURDIR)/$(MODULE) PP_PKI=$(CURDIR)/$(PKI) \
	  PP_WEAK_MODULE=$(CURDIR)/build/weak/mod_polyprov.so \
	  PP_FAULT_MODULE=$(CURDIR)/build/faults/mod_polyprov.so \
	  $(PYTHON) -m pytest -q -p no:cacheprovider $(PYTEST_PAR) \
	  tests/security $(PYTEST_ARGS)

# only what the demo needs: no test tools
demo:
	@if [ "$(DEPS)" != no ]; then sh tests/deps.sh demo; fi
	@$(MAKE) --no-print-directory demo-run

demo-run: build $(PKI)/.stamp
	PP_MODULE=$(CURDIR)/$(MODULE) PP_PKI=$(CURDIR)/$(PKI) $(PYTHON) -m tests.demo

bench: build $(B)/listbench $(B)/dblookup $(B)/storm $(B)/verifybench $(PKI)/.stamp $(FLEET)/.stamp
	PP_MODULE=$(CURDIR)/$(MODULE) PP_PKI=$(CURDIR)/$(PKI) \
	  PP_STORM=$(CURDIR)/$(B)/storm PP_FLEET=$(CURDIR)/$(FLEET) \
	  $(PYTHON) -m bench.bench $(BENCH_ARGS)

# ---------------------------------------------------------------------------
# make install [DESTDIR=dir] [LAYOUT=debian|redhat|none]
# The module goes where apxs says (LIBEXECDIR); conf.d/polyprov.load and
# conf.d/polyprov.conf go where the distribution keeps them, the .load
# file naming the module where it was installed:
#   debian  SYSCONFDIR/mods-available/polyprov.load, polyprov.conf
#           (then: a2enmod polyprov)
#   redhat  /etc/httpd/conf.modules.d/10-polyprov.conf, /etc/httpd/conf.d/polyprov.conf
#           (HTTPD_CONFROOT=/etc/httpd)
#   none    the module only
# polyprov-check goes to BINDIR and its manual page to MANDIR/man1
# (PREFIX=/usr/local: BINDIR=/usr/local/bin, MANDIR=/usr/local/share/man),
# whatever the LAYOUT.
# make uninstall removes these files and nothing else; it refuses while
# the module is enabled (Debian's mods-enabled/polyprov.load).

PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
MANDIR ?= $(PREFIX)/share/man
PP_TOOLFILE := $(BINDIR)/polyprov-check
PP_MANFILE  := $(MANDIR)/man1/polyprov-check.1

ifeq ($(AP_SYSCONFDIR),/etc/apache2)
LAYOUT ?= debian
else ifeq ($(AP_SYSCONFDIR),/etc/httpd/conf)
LAYOUT ?= redhat
else
LAYOUT ?= none
endif

PP_MODFILE := $(AP_LIBEXECDIR)/mod_polyprov.so
ifeq ($(LAYOUT),debian)
PP_LOADFILE := $(AP_SYSCONFDIR)/mods-available/polyprov.load
PP_CONFFILE := $(AP_SYSCONFDIR)/mods-available/polyprov.conf
PP_ENABLED  := $(AP_SYSCONFDIR)/mods-enabled/polyprov.load
else ifeq ($(LAYOUT),redhat)
HTTPD_CONFROOT ?= /etc/httpd
PP_LOADFILE := $(HTTPD_CONFROOT)/conf.modules.d/10-polyprov.conf
PP_CONFFILE := $(HTTPD_CONFROOT)/conf.d/polyprov.conf
endif

install-check-layout:
	@case "$(LAYOUT)" in debian|redhat|none) ;; \
	  *) echo "LAYOUT must be debian, redhat or none, not '$(LAYOUT)'" >&2; exit 1;; esac

install: build install-check-layout
	@mkdir -p $(DESTDIR)$(AP_LIBEXECDIR)
	$(APXS) -i -S LIBEXECDIR=$(DESTDIR)$(AP_LIBEXECDIR) -n polyprov $(MODULE)
ifneq ($(PP_LOADFILE),)
	@mkdir -p $(dir $(DESTDIR)$(PP_LOADFILE)) $(dir $(DESTDIR)$(PP_CONFFILE))
	sed 's#/usr/lib/apache2/modules/mod_polyprov.so#$(PP_MODFILE)#' \
	  conf.d/polyprov.load > $(DESTDIR)$(PP_LOADFILE)
	chmod 644 $(DESTDIR)$(PP_LOADFILE)
	install -m 644 conf.d/polyprov.conf $(DESTDIR)$(PP_CONFFILE)
endif
	@mkdir -p $(dir $(DESTDIR)$(PP_TOOLFILE)) $(dir $(DESTDIR)$(PP_MANFILE))
	install -m 755 $(TOOL) $(DESTDIR)$(PP_TOOLFILE)
	install -m 644 docs/polyprov-check.1 $(DESTDIR)$(PP_MANFILE)
ifeq ($(LAYOUT),debian)
	@echo "installed; enable it with: a2enmod polyprov"
endif

uninstall: need-apxs install-check-layout
	@if [ -n "$(PP_ENABLED)" ] && [ -e $(DESTDIR)$(PP_ENABLED) -o -L $(DESTDIR)$(PP_ENABLED) ]; then \
	  echo "polyprov is enabled ($(DESTDIR)$(PP_ENABLED)): run a2dismod polyprov first" >&2; \
	  exit 1; fi
	rm -f $(DESTDIR)$(PP_MODFILE) $(if $(PP_LOADFILE),$(DESTDIR)$(PP_LOADFILE) $(DESTDIR)$(PP_CONFFILE)) \
	  $(DESTDIR)$(PP_TOOLFILE) $(DESTDIR)$(PP_MANFILE)

# the strict check of list files for deployment pipelines (no apxs
# needed): non-zero with file:line when a list is broken
check-list: $(B)/check-list
	@if [ -z "$(LIST)" ]; then \
	  echo "usage: make check-list LIST=path [LIST='path path ...']" >&2; \
	  exit 2; fi
	@$(B)/check-list $(LIST)


# test-only: the module without its fixups guard (see tests/integration)
weak:
	@$(MAKE) --no-print-directory B=build/weak \
	  EXTRA_CFLAGS="-DPP_TESTING_ACCESS_HOOK_ONLY" build

# test-only: the module with its fault-injection seam reachable from a
# request header (see tests/security/test_attack_faults.py)
faults:
	@$(MAKE) --no-print-directory B=build/faults \
	  EXTRA_CFLAGS="-DPP_TESTING_FAULTS" build

asan:
	@$(MAKE) --no-print-directory B=build/asan OPT="-O1 -g" HARDEN_CFLAGS= \
	  EXTRA_CFLAGS="$(SAN)" PKG_LIBS="$(PKG_LIBS) $(SAN)" build build/asan/unit_tests

# (test_build.py builds trees of its own, with nothing of the ASan module
# in them: it runs once, in make integration)
check-asan: build asan weak $(B)/storm $(B)/check-list $(PKI)/.stamp
	@$(MAKE) --no-print-directory B=build/asan-faults OPT="-O1 -g" HARDEN_CFLAGS= \
	  EXTRA_CFLAGS="$(SAN) -DPP_TESTING_FAULTS" PKG_LIBS="$(PKG_LIBS) $(SAN)" build
	ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
	  PP_PKI=$(CURDIR)/$(PKI) build/asan/unit_tests
	PP_ASAN=1 PP_MODULE=$(CURDIR)/build/asan/mod_polyprov.so PP_PKI=$(CURDIR)/$(PKI) \
	  PP_CHECK_TOOL=$(CURDIR)/build/asan/polyprov-check \
	  PP_WEAK_MODULE=$(CURDIR)/build/weak/mod_polyprov.so \
	  PP_FAULT_MODULE=$(CURDIR)/build/asan-faults/mod_polyprov.so \
	  $(PYTHON) -m pytest -q -p no:cacheprovider $(PYTEST_PAR) \
	  tests/integration tests/security \
	  --ignore=tests/integration/test_build.py $(PYTEST_ARGS)

# ---------------------------------------------------------------------------
# Fuzzing (clang's libFuzzer, with ASan and UBSan).  Each harness checks a
# core parser against an independent reference (tests/fuzz/fuzz.h).
#   make fuzz                 each harness for FUZZ_TIME seconds (60)
#   make fuzz FUZZERS=path    one of them
#   make fuzz-ci              each for 5 s on the checked-in corpus
# New inputs go to build/fuzz/corpus/NAME; a crash to build/fuzz/crash-*;
# a crash, once fixed, is added to tests/fuzz/corpus/NAME as a regression.

FUZZ_CC   ?= clang
FUZZERS   ?= mac cn list_line list_file path fingerprint der_cn decide check_input
FUZZ_TIME ?= 60
FUZZ_FLAGS = -g -O1 -fsanitize=fuzzer,address,undefined \
             -fno-sanitize-recover=undefined -I$(SRC) -Wall -Wextra

build/fuzz/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/fuzz.h $(CORE:%=$(SRC)/%.c) $(HEADERS)
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_FLAGS) -o $@ $< $(CORE:%=$(SRC)/%.c) $(PKG_LIBS) -pthread

# polyprov-check's own input parsing (tools/pc_input.c) as well
build/fuzz/fuzz_check_input: tests/fuzz/fuzz_check_input.c tests/fuzz/fuzz.h tools/pc_input.c tools/pc_input.h $(CORE:%=$(SRC)/%.c) $(HEADERS)
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_FLAGS) -Itools -o $@ $< tools/pc_input.c $(CORE:%=$(SRC)/%.c) $(PKG_LIBS) -pthread

fuzz-build: $(FUZZERS:%=build/fuzz/fuzz_%)

fuzz: fuzz-build
	@for f in $(FUZZERS); do \
	  mkdir -p build/fuzz/corpus/$$f; \
	  echo "== fuzz_$$f for $(FUZZ_TIME) s"; \
	  build/fuzz/fuzz_$$f -max_total_time=$(FUZZ_TIME) -timeout=10 \
	    -rss_limit_mb=2048 -print_final_stats=1 \
	    -artifact_prefix=build/fuzz/crash-$$f- \
	    build/fuzz/corpus/$$f tests/fuzz/corpus/$$f 2>build/fuzz/$$f.log \
	    || { tail -40 build/fuzz/$$f.log; exit 1; }; \
	  grep -E "stat::number_of_executed_units|Done" build/fuzz/$$f.log | tr '\n' ' '; echo; \
	done

fuzz-ci:
	@$(MAKE) --no-print-directory fuzz FUZZ_TIME=5

# memcheck on httpd -X across allowed and refused requests (tests/memcheck.py)
check-valgrind: build $(PKI)/.stamp
	PP_MODULE=$(CURDIR)/$(MODULE) PP_PKI=$(CURDIR)/$(PKI) $(PYTHON) -m tests.memcheck

clean:
	rm -rf build

distclean: clean
	rm -rf config.mk config.log config.status autom4te.cache
