# SPDX-License-Identifier: Apache-2.0
"""make check-mutation: every guard of the core has a unit test that fails
without it (CONTRIBUTING.md: a new guard gets a block in guards.txt).

tests/mutation/guards.txt lists the guards: for each, a core file, a snippet
that occurs exactly once in it, and what replaces it (the guard removed or
turned the other way).  For each guard this script copies the core's
sources into a temporary build directory, applies that one change, builds
the core and the unit tests (tests/unit) against it, and runs them.  A
mutant the unit tests still pass "survived": the guard has no test, and the
run fails.  A snippet that is not found exactly once, a mutant that does
not compile, or unit tests that fail on the unchanged core fail it too.

    python3 tests/mutation/mutate.py --pki build/pki [-j N] [--only NAME]
        [--cc gcc] [--cflags ...] [--libs ...] [--keep]

Only the core and the unit tests are built (no apxs, no httpd), the objects
of the unchanged files once, the changed file once per mutant.
"""

import argparse
import concurrent.futures
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))
SRC = os.path.join(TOP, "mod_polyprov")
UNIT = os.path.join(TOP, "tests", "unit")
MANIFEST = os.path.join(HERE, "guards.txt")

# The unit-test suites (Check's CK_RUN_SUITE) that test a core file most
# directly: a mutant of that file runs them first.  The other suites follow,
# quickest first; the first suite that fails kills the mutant, so a killed
# mutant rarely runs them all, a surviving one always does.
FIRST = {
    "pp_path.c": ["path", "decide"],
    "pp_cn.c": ["cn", "decide"],
    "pp_mac.c": ["mac", "list"],
    "pp_decide.c": ["decide"],
    "pp_ca.c": ["cert"],
    "pp_cert.c": ["cert"],
    "pp_maclist.c": ["list"],
    "pp_listset.c": ["list", "decide"],
    "pp_reason.c": ["mac", "decide"],
    "pp_access.c": ["util"],
}


class Guard:
    def __init__(self, name, path, lineno):
        self.name = name
        self.path = path          # relative to mod_polyprov/
        self.lineno = lineno      # of its header in guards.txt
        self.old = []
        self.new = []

    @property
    def snippet(self):
        return "\n".join(self.old)

    @property
    def replacement(self):
        return "\n".join(self.new)


def read_manifest(path):
    """Blocks of the form

        [name] file.c
        - a line of the guard, as it stands (one or more)
        + what replaces those lines (none: they are removed)

    Lines starting with '#' and blank lines between blocks are ignored.
    The '- '/'+ ' prefixes are followed by the text exactly (leading
    spaces are not significant: a snippet matches after the indentation
    of each line is stripped)."""
    guards = []
    cur = None
    head = re.compile(r"^\[([A-Za-z0-9_.-]+)\]\s+(\S+)\s*$")
    with open(path) as f:
        for n, line in enumerate(f, 1):
            line = line.rstrip("\n")
            if not line.strip() or line.startswith("#"):
                continue
            m = head.match(line)
            if m:
                cur = Guard(m.group(1), m.group(2), n)
                guards.append(cur)
            elif cur and line.startswith("-"):
                cur.old.append(line[1:].strip())
            elif cur and line.startswith("+"):
                cur.new.append(line[1:].strip())
            else:
                raise SystemExit("%s:%d: not a guard line: %r"
                                 % (path, n, line))
    names = [g.name for g in guards]
    dups = {x for x in names if names.count(x) > 1}
    if dups:
        raise SystemExit("%s: guard names used twice: %s"
                         % (path, ", ".join(sorted(dups))))
    for g in guards:
        if not g.old:
            raise SystemExit("%s:%d: [%s] has no '-' line"
                             % (path, g.lineno, g.name))
    return guards


def apply(guard, text):
    """The text with the guard's lines replaced; raises ValueError unless
    the snippet (lines compared without their indentation) occurs exactly
    once."""
    lines = text.split("\n")
    stripped = [x.strip() for x in lines]
    k = len(guard.old)
    hits = [i for i in range(len(lines) - k + 1)
            if stripped[i:i + k] == guard.old]
    if len(hits) != 1:
        raise ValueError("the snippet occurs %d times in %s, not once"
                         % (len(hits), guard.path))
    i = hits[0]
    indent = lines[i][:len(lines[i]) - len(lines[i].lstrip())]
    new = [indent + x for x in guard.new]
    return "\n".join(lines[:i] + new + lines[i + k:]), i + 1


def run(cmd, cwd=None, timeout=None, env=None):
    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True,
                          timeout=timeout, env=env)


class Build:
    def __init__(self, args, work):
        self.cc = shlex.split(args.cc)
        self.cflags = shlex.split(args.cflags) + ["-I" + SRC, "-I" + UNIT]
        self.libs = shlex.split(args.libs)
        self.work = work
        self.core = sorted(f[:-2] for f in os.listdir(SRC)
                           if f.startswith("pp_") and f.endswith(".c"))
        self.units = sorted(os.path.join(UNIT, f) for f in os.listdir(UNIT)
                            if f.startswith("test_") and f.endswith(".c"))
        self.timeout = args.timeout
        self.pki = os.path.abspath(args.pki)

    def compile(self, src, obj):
        p = run(self.cc + self.cflags + ["-c", src, "-o", obj])
        if p.returncode != 0:
            raise RuntimeError("%s does not compile:\n%s"
                               % (os.path.basename(src), p.stderr[-2000:]))
        return obj

    def prepare(self, jobs):
        """The objects of every core file and unit test, unchanged."""
        base = os.path.join(self.work, "base")
        os.makedirs(base)
        todo = [(os.path.join(SRC, c + ".c"), os.path.join(base, c + ".o"))
                for c in self.core]
        todo += [(u, os.path.join(base, os.path.basename(u)[:-2] + ".o"))
                 for u in self.units]
        with concurrent.futures.ThreadPoolExecutor(jobs) as ex:
            list(ex.map(lambda t: self.compile(*t), todo))
        self.base = base

    def link(self, objs, exe):
        p = run(self.cc + self.cflags + ["-o", exe] + objs + self.libs)
        if p.returncode != 0:
            raise RuntimeError("the unit tests do not link:\n%s"
                               % p.stderr[-2000:])

    def run_suite(self, exe, suite):
        """(rc, output, seconds) of one suite of the unit tests."""
        env = dict(os.environ, PP_PKI=self.pki, CK_VERBOSITY="normal",
                   CK_RUN_SUITE=suite)
        env["TMPDIR"] = os.path.dirname(exe)
        t = time.time()
        try:
            p = run([exe], env=env, timeout=self.timeout)
            rc, out = p.returncode, p.stdout + p.stderr
        except subprocess.TimeoutExpired as e:
            rc = "timeout"
            out = e.stdout.decode(errors="replace") if \
                isinstance(e.stdout, bytes) else (e.stdout or "")
        return rc, out, time.time() - t

    def suites_of(self):
        names = []
        for u in self.units:
            with open(u) as f:
                names += re.findall(r'suite_create\("([^"]+)"\)', f.read())
        return names

    def objects(self, replace=None):
        objs = []
        for c in self.core:
            objs.append(replace[1] if replace and replace[0] == c
                        else os.path.join(self.base, c + ".o"))
        for u in self.units:
            objs.append(os.path.join(self.base,
                                     os.path.basename(u)[:-2] + ".o"))
        return objs

    def baseline(self):
        """Every suite passes on the unchanged core; their times order the
        suites a mutant runs after its own."""
        exe = os.path.join(self.work, "base", "unit_tests")
        self.link(self.objects(), exe)
        self.secs = {}
        for s in self.suites_of():
            rc, out, secs = self.run_suite(exe, s)
            if rc != 0 or "Checks: 0," in out:
                return s, rc, out
            self.secs[s] = secs
        return None, 0, ""

    def order(self, path):
        first = [s for s in FIRST.get(path, []) if s in self.secs]
        return first + sorted((s for s in self.secs if s not in first),
                              key=self.secs.get)

    def mutant(self, guard):
        d = os.path.join(self.work, guard.name)
        os.makedirs(d)
        with open(os.path.join(SRC, guard.path)) as f:
            text, line = apply(guard, f.read())
        src = os.path.join(d, guard.path)
        with open(src, "w") as f:
            f.write(text)
        obj = self.compile(src, os.path.join(d, guard.path[:-2] + ".o"))
        exe = os.path.join(d, "unit_tests")
        self.link(self.objects((guard.path[:-2], obj)), exe)
        total = 0.0
        for s in self.order(guard.path):
            rc, out, secs = self.run_suite(exe, s)
            total += secs
            if rc != 0:
                return line, rc, out, total
        return line, 0, "", total


FAILED = re.compile(r"^[^:\n]+:\d+:[FE]:([^:]+):([^:]+):", re.M)


def failures(out):
    """The unit tests that failed, as Check names them (suite:test)."""
    return sorted({"%s:%s" % (m.group(1), m.group(2))
                   for m in FAILED.finditer(out)})


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--manifest", default=MANIFEST)
    ap.add_argument("--pki", default=os.environ.get(
        "PP_PKI", os.path.join(TOP, "build", "pki")))
    ap.add_argument("--cc", default=os.environ.get("CC", "gcc"))
    ap.add_argument("--cflags", default="-O1 -g -Wall -Wextra -pthread")
    ap.add_argument("--libs", default="-lssl -lcrypto -lpcre2-8 -lcheck "
                    "-lsubunit -lm -lrt -pthread")
    ap.add_argument("-j", "--jobs", type=int,
                    default=min(4, os.cpu_count() or 1))
    ap.add_argument("--only", action="append",
                    help="run this guard only (again for several)")
    ap.add_argument("--timeout", type=float, default=120,
                    help="seconds a mutant's unit tests may take (a mutant "
                    "that hangs them is killed)")
    ap.add_argument("--keep", action="store_true",
                    help="keep the build directory")
    ap.add_argument("--list", action="store_true",
                    help="print the guards and exit")
    args = ap.parse_args()

    guards = read_manifest(args.manifest)
    if args.only:
        unknown = set(args.only) - {g.name for g in guards}
        if unknown:
            raise SystemExit("no such guard: %s" % ", ".join(sorted(unknown)))
        guards = [g for g in guards if g.name in args.only]
    if args.list:
        for g in guards:
            print("%-32s %s" % (g.name, g.path))
        return 0
    if not os.path.isdir(args.pki):
        raise SystemExit("%s: no test PKI (make build/pki/.stamp)" % args.pki)

    started = time.time()
    work = tempfile.mkdtemp(prefix="pp-mutation-")
    # searchable: a unit test gives files below it to another user
    os.chmod(work, 0o755)
    bad = []
    try:
        b = Build(args, work)
        # every snippet first: a stale manifest fails at once
        for g in guards:
            try:
                with open(os.path.join(SRC, g.path)) as f:
                    apply(g, f.read())
            except (OSError, ValueError) as e:
                bad.append(g.name)
                print("ERROR    %s (%s): %s" % (g.name, g.path, e))
        if bad:
            print("guards.txt no longer matches the sources: fix it")
            return 1
        b.prepare(args.jobs)
        suite, rc, out = b.baseline()
        if suite:
            print(out[-4000:])
            print("the unit tests (suite %s) fail on the unchanged core "
                  "(rc=%s)" % (suite, rc))
            return 1
        print("baseline: the unit tests pass on the unchanged core "
              "(%s; %.1f s)" % (", ".join("%s %.1f s" % kv for kv in
                                          b.secs.items()),
                                sum(b.secs.values())))

        def one(g):
            try:
                return g, b.mutant(g), None
            except (RuntimeError, ValueError, OSError) as e:
                return g, None, str(e)

        survived, killed = [], 0
        with concurrent.futures.ThreadPoolExecutor(args.jobs) as ex:
            for g, res, err in ex.map(one, guards):
                if err:
                    bad.append(g.name)
                    print("ERROR    %-30s %s: %s" % (g.name, g.path, err))
                    continue
                line, rc, out, secs = res
                where = "%s:%d" % (g.path, line)
                if rc == 0:
                    survived.append(g.name)
                    print("SURVIVED %-30s %s (%.1f s)" % (g.name, where, secs))
                else:
                    killed += 1
                    why = ", ".join(failures(out)) or \
                        ("timeout" if rc == "timeout" else "rc=%s" % rc)
                    print("killed   %-30s %s by %s (%.1f s)"
                          % (g.name, where, why, secs))
        print("%d mutants: %d killed, %d survived, %d errors; %.0f s"
              % (len(guards), killed, len(survived), len(bad),
                 time.time() - started))
        if survived:
            print("survivors (a guard no unit test pins): %s"
                  % ", ".join(survived))
        return 1 if survived or bad else 0
    finally:
        if args.keep:
            print("build directory kept: %s" % work)
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
