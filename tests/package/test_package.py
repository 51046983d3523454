# SPDX-License-Identifier: Apache-2.0
"""make check-package: what the README's installing sections promise.

- The Debian package builds from a copy of this tree with
  `dpkg-buildpackage -us -uc -b` (in build/pkg), keeps build/pki, leaves
  nothing debian/.gitignore does not cover, and lintian finds nothing.
- It ships its documentation: README.md, docs/*.md and the other
  Markdown documents as they are in the tree, README.Debian,
  polyprov.conf(5) (every directive the module registers, every PPnnn of
  the documents, no groff warning), the documents' tested blocks as
  examples; every installed
  file refers only to documents the package installs.
- Installed with the README's apt line into this machine's Apache, it
  enables the module; the README's a2enmod line and `apache2ctl configtest`
  pass; a throwaway httpd built from the system's mods-enabled and the
  complete example (docs/deployment.md) serves a phone its own file over mutual TLS on a
  loopback port and refuses another's. Removing it under an enabled site
  that uses the module leaves a configuration that fails (and no restart);
  the order of docs/operations.md (the site first) does not. Removing it disables the
  module; purging leaves nothing it installed. A policy-rc.d denies the
  maintainer scripts' restarts and reloads (unless one is there already),
  and the modules the test enabled are disabled again.
- An upgrade refuses no phone: version N serving phone A on the system's
  apache2 (started with invoke-rc.d, stopped afterwards; the policy-rc.d
  lets invoke-rc.d act on apache2 for that test only), a steady load of
  mutual-TLS connections, dpkg -i of version N+1 (N's built tree with a
  debian/changelog entry on top): no connection refused or failed, the
  counters of polyprov-metrics go on, and httpd's parent has the new
  mod_polyprov.so mapped (debian/postinst's graceful restart).
- The README's RHEL block (less dnf and systemctl) runs in a fresh copy.
- mod_polyprov.spec parses (rpmspec -P) and its source RPM builds from a
  git archive.
"""

import email.utils
import glob
import gzip
import os
import re
import shutil
import socket
import ssl
import subprocess
import tempfile
import threading
import time

import pytest

from tests.pphttpd.expect import A, B, C
from tests.pphttpd.fixtures import FILES, TOP, need_root, populate, \
    skip_or_fail
from tests.pphttpd.httpd import Httpd, free_port
from tests.pphttpd.readme import DOCS as MARKDOWN, doc, example_config, \
    readme, readme_sh_block

PKG = "libapache2-mod-polyprov"
OUT = os.path.join(TOP, "build", "pkg")
MODULE = "/usr/lib/apache2/modules/mod_polyprov.so"
TOOL = "/usr/bin/polyprov-check"
MANPAGE = "/usr/share/man/man1/polyprov-check.1.gz"
MANPAGE5 = "/usr/share/man/man5/polyprov.conf.5.gz"
DOC = "/usr/share/doc/" + PKG
ETC = "/etc/apache2"
STATE = "/var/lib/apache2"
POLICY = "/usr/sbin/policy-rc.d"
REMOVAL_SITE = "polyprov-removal-test"

def run(cmd, cwd=None, timeout=300, ok=True, env=None):
    p = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True,
                       timeout=timeout, env=env)
    if ok:
        assert p.returncode == 0, "%s: rc=%d\n%s%s" % (
            " ".join(cmd), p.returncode, p.stdout[-3000:], p.stderr[-3000:])
    return p


def dpkg(*args):
    """dpkg, waiting (up to a minute) while another dpkg or apt holds the
    lock."""
    deadline = time.time() + 60
    while True:
        p = run(["dpkg"] + list(args), ok=False)
        if p.returncode == 0 or "lock" not in p.stderr \
                or time.time() > deadline:
            assert p.returncode == 0, p.stdout + p.stderr
            return p
        time.sleep(2)


def fresh_copy(dest):
    """The tree as a fresh clone has it: tracked files and new ones git does
    not ignore (so no configure, config.mk or build/)."""
    p = run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=TOP)
    for rel in p.stdout.split("\0"):
        if not rel or rel.startswith("build/"):
            continue
        src = os.path.join(TOP, rel)
        if not os.path.lexists(src):       # deleted, not yet committed
            continue
        os.makedirs(os.path.dirname(os.path.join(dest, rel)), exist_ok=True)
        shutil.copy2(src, os.path.join(dest, rel), follow_symlinks=False)


@pytest.fixture(scope="module")
def as_root():
    """Before the package is built: the test installs it."""
    need_root("installs a package")


@pytest.fixture(scope="module")
def built():
    shutil.rmtree(OUT, ignore_errors=True)
    src = os.path.join(OUT, "src")
    fresh_copy(src)
    # a git index of the copy (to find the files the build leaves that
    # debian/.gitignore does not cover), and a test PKI in build/pki
    run(["git", "init", "-q"], cwd=src)
    run(["git", "add", "-A"], cwd=src)
    os.makedirs(os.path.join(src, "build", "pki"))
    with open(os.path.join(src, "build", "pki", "phone-a.crt"), "w") as f:
        f.write("a lab PKI's certificate\n")
    t = time.time()
    p = run(["dpkg-buildpackage", "-us", "-uc", "-b"], cwd=src, ok=False)
    with open(os.path.join(OUT, "build.log"), "w") as f:
        f.write(p.stdout + p.stderr)
    assert p.returncode == 0, (p.stdout + p.stderr)[-4000:]
    untracked = run(["git", "ls-files", "-o", "--exclude-standard"],
                    cwd=src).stdout.split()
    pki_kept = os.path.exists(os.path.join(src, "build", "pki",
                                           "phone-a.crt"))
    version = run(["dpkg-parsechangelog", "-S", "Version"], cwd=src).stdout
    arch = run(["dpkg", "--print-architecture"]).stdout.strip()
    base = os.path.join(OUT, "%s_%s_%s" % (PKG, version.strip(), arch))
    print("dpkg-buildpackage: %.1f s" % (time.time() - t))
    root = os.path.join(OUT, "root")
    run(["dpkg-deb", "-x", base + ".deb", root])
    return {"deb": base + ".deb", "changes": base + ".changes", "src": src,
            "root": root, "untracked": untracked, "pki_kept": pki_kept}


def test_build_keeps_the_pki_and_leaves_no_untracked_file(built):
    """dpkg-buildpackage (make distclean) keeps build/pki, docs/operations.md's
    lab PKI; what it leaves in debian/ is in debian/.gitignore."""
    assert built["pki_kept"]
    assert built["untracked"] == [], built["untracked"]


def test_readme_debian_block_is_what_this_test_runs(built):
    block = readme_sh_block("## Installing from the Debian package")
    assert block[:3] == [
        "apt-get build-dep ./", "dpkg-buildpackage -us -uc -b",
        "apt install ../" + os.path.basename(built["deb"])], block


def test_deb_contents_and_dependencies(built):
    files = run(["dpkg-deb", "-c", built["deb"]]).stdout
    paths = sorted(l.split()[5].lstrip(".") for l in files.splitlines()
                   if not l.startswith("d"))
    assert paths == sorted([
        "/etc/apache2/mods-available/polyprov.conf",
        "/etc/apache2/mods-available/polyprov.load",
        TOOL,
        MODULE,
        DOC + "/NOTICE",
        DOC + "/README.Debian",
        DOC + "/README.md",
        DOC + "/CHANGES.md",
        DOC + "/CONTRIBUTING.md",
        DOC + "/SECURITY.md",
        DOC + "/changelog.gz",
        DOC + "/copyright",
        DOC + "/examples/haproxy.cfg",
        DOC + "/examples/metrics-host.conf",
        DOC + "/examples/polyprov-alerts.yml",
        DOC + "/examples/provisioning-site.conf",
        MANPAGE,
        MANPAGE5] + [DOC + "/" + d for d in MARKDOWN
                     if d.startswith("docs/")]), paths
    # the Markdown documents as they are in the tree, where their links
    # to one another hold
    for d in MARKDOWN:
        with open(os.path.join(TOP, d), "rb") as a, \
                open(built["root"] + DOC + "/" + d, "rb") as b:
            assert a.read() == b.read(), d
    depends = run(["dpkg-deb", "-f", built["deb"], "Depends"]).stdout
    # the Apache module ABI (dh_apache2), our httpd floor, the libraries
    for dep in ["apache2-api-20120211", "apache2-bin (>= 2.4.48)",
                "libssl3", "libpcre2-8-0"]:
        assert dep in depends, depends
    scripts = os.path.join(OUT, "control")
    run(["dpkg-deb", "-e", built["deb"], scripts])
    with open(os.path.join(scripts, "conffiles")) as f:
        assert f.read().split() == [
            "/etc/apache2/mods-available/polyprov.conf",
            "/etc/apache2/mods-available/polyprov.load"]
    for name, call in [("postinst", "apache2_invoke enmod"),
                       ("prerm", "apache2_invoke dismod"),
                       ("postrm", "apache2_invoke dismod")]:
        with open(os.path.join(scripts, name)) as f:
            assert call in f.read(), name


def test_lintian_finds_nothing(built):
    p = run(["lintian", "--info", "--pedantic", built["changes"]], ok=False)
    tags = [l for l in p.stdout.splitlines() if l[:2] in ("E:", "W:")]
    assert not tags, p.stdout
    assert p.returncode == 0, p.stdout + p.stderr


def text_of(path):
    """An installed file's text; a manual page's roff with the escapes
    that split words undone (libapache2\\-mod\\-polyprov is the path)."""
    if path.endswith(".gz"):
        with gzip.open(path, "rt", errors="replace") as f:
            text = f.read()
    else:
        with open(path, errors="replace") as f:
            text = f.read()
    if re.search(r"\.[1-8](\.gz)?$", path):
        text = re.sub(r"\\f[BIRP]|\\&|\\%|\\:", "", text)
        text = text.replace("\\-", "-").replace("\\e", "\\")
    return text


def reference_problems(rel, text, root):
    """What in an installed file (rel, its text) points to documentation
    the package root does not hold: a README not named README.md or
    README.Debian, or named without where it is; a path under the
    package's doc directory that is not there; a manual page of the
    project (polyprov...(N), man polyprov...) that is not there."""
    problems = []
    for m in re.finditer(r"README(\S*)", text):
        if not m.group(1).startswith((".md", ".Debian")):
            problems.append("%s: %r" % (rel, text[max(0, m.start() - 40):
                                                  m.end() + 10]))
    if re.search(r"README\.(md|Debian)", text) and DOC + "/" not in text:
        problems.append("%s: names a README but not where it is" % rel)
    for m in re.finditer(re.escape(DOC) + r"/([\w./-]*[\w/])?", text):
        if not os.path.exists(root + DOC + "/" + (m.group(1) or "")):
            problems.append("%s: %s is not installed" % (rel, m.group(0)))
    for name, sec in re.findall(r"\b(polyprov[\w.-]*?)\s?\(([1-8])\)",
                                text):
        if not os.path.exists(root + "/usr/share/man/man%s/%s.%s.gz"
                              % (sec, name, sec)):
            problems.append("%s: %s(%s) is not installed" % (rel, name, sec))
    for name in re.findall(r"\bman (polyprov[\w.-]*\w)", text):
        if not glob.glob(root + "/usr/share/man/man*/%s.*" % name):
            problems.append("%s: man %s: not installed" % (rel, name))
    return problems


def test_installed_files_refer_to_installed_documents(built):
    """Every installed file that points to documentation points to a
    document the package installs (the Markdown documents, the project's
    own, are exempt: they also name the source tree's files)."""
    root = built["root"]
    exempt = {DOC + "/" + d for d in MARKDOWN} | {
              DOC + "/copyright", DOC + "/NOTICE",
              DOC + "/changelog.gz", TOOL, MODULE}
    problems, checked = [], []
    for d, _, files in os.walk(root):
        for n in files:
            path = os.path.join(d, n)
            rel = path[len(root):]
            if rel in exempt:
                continue
            checked.append(rel)
            problems += reference_problems(rel, text_of(path), root)
    assert not problems, problems
    assert len(checked) == 9, checked


def rendered_manpage(path):
    env = dict(os.environ, MANWIDTH="100")
    p = run(["man", "--warnings", "-P", "cat", "-l", path], env=env)
    assert not p.stderr.strip(), p.stderr
    return re.sub(r".\x08", "", p.stdout)


def test_manpage_lists_every_directive_and_message(built):
    """polyprov.conf(5) as installed renders without a warning, has a
    section for every directive the module registers, every PPnnn of the
    documents, and the warning against <IfModule>."""
    text = rendered_manpage(built["root"] + MANPAGE5)
    directives = set()
    for src in glob.glob(os.path.join(TOP, "mod_polyprov", "*.c")):
        with open(src) as f:
            directives |= set(re.findall(r'AP_INIT_\w+\(\s*"(PolyProv\w*)"',
                                         f.read()))
    assert len(directives) >= 11, directives
    missing = [d for d in sorted(directives)
               if not re.search(r"^ {3}%s$" % d, text, re.M)]
    assert not missing, missing
    numbers = set(re.findall(r"\bPP\d{3}\b", readme()))
    assert len(numbers) >= 50, numbers
    missing = sorted(numbers - set(re.findall(r"\bPP\d{3}\b", text)))
    assert not missing, missing
    assert re.search(r"^ {3}Never inside <IfModule polyprov_module>$", text,
                     re.M), text[:2000]
    assert "Invalid command 'PolyProv'" in text


def test_examples_are_the_readmes_tested_blocks(built):
    """The examples are the documents' blocks between markers."""
    text = readme()
    for marker, lang, name in [
            ("example", "apache", "provisioning-site.conf"),
            ("monitoring", "apache", "metrics-host.conf"),
            ("alerts", "yaml", "polyprov-alerts.yml"),
            ("farm-haproxy", "haproxy", "haproxy.cfg")]:
        m = re.search(r"<!-- %s:begin -->\s*```%s\n(.*?)```\s*<!-- %s:end"
                      % (marker, lang, marker), text, re.S)
        assert m, marker
        with open(built["root"] + DOC + "/examples/" + name) as f:
            head, _, body = f.read().partition("\n\n")
        assert body == m.group(1), name
        assert all(l.startswith("#") for l in head.splitlines()), head


def enabled():
    return sorted(os.listdir(os.path.join(ETC, "mods-enabled")))


def state():
    found = []
    for d, dirs, files in os.walk(STATE):
        found += [os.path.join(d, n) for n in dirs + files]
    return sorted(found)


def apache2_running():
    try:
        with open("/run/apache2/apache2.pid") as f:
            os.kill(int(f.read().strip()), 0)
        return True
    except (OSError, ValueError):
        return False


@pytest.fixture
def system_apache():
    """This machine's Apache as found: no mod_polyprov on it before, and
    the same modules enabled, the same state and the same running state
    after."""
    if not os.path.isdir(os.path.join(ETC, "mods-enabled")):
        skip_or_fail("no Debian apache2 here")
    installed = run(["dpkg-query", "-W", "-f", "${Status}", PKG], ok=False)
    assert "installed" not in installed.stdout.split()[-1:], \
        "%s is installed already: dpkg --purge it first" % PKG
    for path in [MODULE, ETC + "/mods-available/polyprov.load",
                 ETC + "/mods-available/polyprov.conf", TOOL, MANPAGE]:
        assert not os.path.lexists(path), \
            "%s exists (make install?): the test would replace it" % path
    before = {"enabled": enabled(), "state": state(),
              "running": apache2_running()}
    # the maintainer scripts ask invoke-rc.d to restart apache2: a
    # policy-rc.d that denies it, unless the one there denies already
    saved = None
    if os.path.exists(POLICY) and run([POLICY, "apache2", "restart"],
                                      ok=False).returncode != 101:
        saved = POLICY + ".polyprov-test"
        os.rename(POLICY, saved)
    made_policy = not os.path.exists(POLICY)
    if made_policy:
        with open(POLICY, "w") as f:
            f.write("#!/bin/sh\n# mod_polyprov's package test\nexit 101\n")
        os.chmod(POLICY, 0o755)
    try:
        yield before
    finally:
        try:
            st = run(["dpkg-query", "-W", "-f", "${Status}", PKG],
                     ok=False).stdout
            if st and not st.endswith(" not-installed"):
                dpkg("--purge", PKG)
            extra = [n[:-5] for n in enabled()
                     if n.endswith(".load") and n not in before["enabled"]]
            if extra:
                run(["a2dismod", "-q", "-p", "-f"] + extra)
            for path in reversed(state()):
                if path not in before["state"] and os.path.isdir(path) \
                        and not os.listdir(path):
                    os.rmdir(path)
        finally:
            if made_policy:
                os.remove(POLICY)
            if saved:
                os.rename(saved, POLICY)
        assert enabled() == before["enabled"]
        assert state() == before["state"]
        assert apache2_running() == before["running"]


def serve_readme_example(pki, manifest):
    """A throwaway httpd on loopback ports: the system's enabled modules
    (mods-enabled, as apache2.conf includes them) and the complete
    example."""
    h = Httpd(MODULE, pki)
    populate(h)
    conf, uploads = example_config(h, pki, manifest, [A, B, C])
    user = "User www-data\nGroup www-data\n" if os.geteuid() == 0 else ""
    with open(h.conf, "w") as f:
        f.write("""
ServerRoot "{root}"
ServerName localhost
Define APACHE_RUN_DIR {root}/run
Define APACHE_LOCK_DIR {root}/dav
Define APACHE_LOG_DIR {root}/logs
IncludeOptional {etc}/mods-enabled/*.load
IncludeOptional {etc}/mods-enabled/*.conf
{user}
PidFile {root}/run/httpd.pid
DefaultRuntimeDir {root}/run
Mutex file:{root}/run default
ErrorLog {log}
LogLevel warn polyprov:info
Listen 127.0.0.1:{port}
Listen 127.0.0.1:{http_port}
<Directory />
    AllowOverride None
    Require all denied
</Directory>
{conf}
""".format(root=h.root, etc=ETC, user=user, log=h.error_log, port=h.port,
           http_port=h.http_port, conf=conf))
    return h, uploads


def test_install_enable_serve_purge(as_root, built, system_apache, pki,
                                    manifest):
    # which of the package's directories were there before it
    existed = {}
    listing = run(["dpkg-deb", "-c", built["deb"]]).stdout
    for line in listing.splitlines():
        path = os.path.normpath("/" + line.split()[5])
        existed[path] = os.path.lexists(path)

    # the README's apt line (apt installs what the package depends on)
    line = [l for l in readme_sh_block("## Installing from the Debian package")
            if l.startswith("apt install ")][0]
    assert line == "apt install ../" + os.path.basename(built["deb"])
    p = run(["apt", "install", "-y", built["deb"]],
            env=dict(os.environ, DEBIAN_FRONTEND="noninteractive"))
    # postinst enabled it (and mod_ssl, which polyprov.load depends on),
    # and asked for a restart
    for name in ["polyprov.load", "polyprov.conf", "ssl.load"]:
        assert name in enabled(), name
    out = p.stdout + p.stderr
    assert "Enable module polyprov" in out, out
    assert "denied execution of restart" in out, out
    # the README's a2enmod line: the modules the complete example needs
    a2enmod = "a2enmod ssl auth_digest dav dav_fs polyprov"
    assert a2enmod in readme_sh_block("**Debian and Ubuntu**")
    assert a2enmod in readme_sh_block("## Installing from the Debian package")
    run(a2enmod.split())
    p = run(["apache2ctl", "configtest"])
    assert "Syntax OK" in p.stdout + p.stderr

    # polyprov-check as installed: its manual page, and the same answers
    # as the installed module gives below
    p = run(["man", "--warnings", "-P", "cat", "polyprov-check"])
    assert "polyprov-check" in p.stdout and not p.stderr.strip(), p.stderr
    chain = os.path.join(pki, "polycom-chain.pem")
    p = run([TOOL, "--trusted-ca", chain, "--cert",
             os.path.join(pki, "phone-a.chain.pem"), "/%s.cfg" % A])
    assert p.stdout.splitlines()[-1].startswith("allowed reason=ok ")
    p = run([TOOL, "--trusted-ca", chain, "--cert",
             os.path.join(pki, "phone-a.chain.pem"), "/%s.cfg" % B], ok=False)
    assert p.returncode == 1 and "reason=not-owner" in p.stdout

    h, uploads = serve_readme_example(pki, manifest)
    try:
        rc, out = h.configtest()
        assert rc == 0, out
        h.start()
        h.mark()
        r = h.curl("/%s.cfg" % A, phone="phone-a")
        assert r.status == 200 and r.body == FILES[A + ".cfg"], r
        assert h.curl("/%s.cfg" % B, phone="phone-a").status == 403
        assert h.curl("/000000000000.cfg", phone="phone-b").status == 200
        r = h.curl("/logs/%s-app.log" % A, phone="phone-a", method="PUT",
                   data="booted\n")
        assert r.status == 201, r
        # the bootROM's plain-HTTP host: shared files only (SharedOnly)
        r = h.curl("/000000000000.cfg", tls=False,
                   extra=["--digest", "-u", "bootrom:pw"])
        assert r.status == 200, r
        r = h.curl("/%s.cfg" % A, tls=False,
                   extra=["--digest", "-u", "bootrom:pw"])
        assert r.status == 403, r
        refusals = h.refusals()
        assert len(refusals) == 2, refusals
        assert "reason=not-owner" in refusals[0] \
            and 'uri="/%s.cfg"' % B in refusals[0], refusals
        assert "reason=device-file" in refusals[1] \
            and 'uri="/%s.cfg"' % A in refusals[1], refusals
        h.stop()
        assert not h.bad_log_lines()
    finally:
        h.cleanup()

    # an upgrade (here: the same version again) asks for a graceful
    # restart (reload), not dh_apache2's restart (debian/postinst), and
    # leaves a module the administrator disabled disabled
    p = dpkg("-i", built["deb"])
    out = p.stdout + p.stderr
    assert "polyprov: already enabled" in out, out
    assert "denied execution of reload" in out, out
    assert "denied execution of restart" not in out, out
    run(["a2dismod", "-q", "polyprov"])
    p = dpkg("-i", built["deb"])
    out = p.stdout + p.stderr
    assert "disabled by local admin" in out, out
    assert "denied execution" not in out, out      # nothing restarted
    assert "polyprov.load" not in enabled()
    run(["a2enmod", "-q", "polyprov"])

    listed = [os.path.normpath(p)
              for p in run(["dpkg", "-L", PKG]).stdout.split()]
    assert MODULE in listed and TOOL in listed and MANPAGE in listed
    dirs = {p for p in listed if os.path.isdir(p) and not os.path.islink(p)}

    # remove with a site that uses the module enabled: the configuration
    # no longer passes, and the removal does not restart apache2
    site = os.path.join(ETC, "sites-available", REMOVAL_SITE + ".conf")
    try:
        with open(site, "w") as f:
            f.write("# mod_polyprov's package test\n"
                    "<Directory /srv/polyprov-removal-test>\n"
                    "    PolyProv SharedOnly\n</Directory>\n")
        run(["a2ensite", "-q", REMOVAL_SITE])
        run(["apache2ctl", "configtest"])
        p = dpkg("-r", PKG)
        out = p.stdout + p.stderr
        assert "Your configuration is broken. Not restarting" in out, out
        assert "Invalid command 'PolyProv'" in out, out
        p = run(["apache2ctl", "configtest"], ok=False)
        assert p.returncode != 0 and \
            "Invalid command 'PolyProv'" in p.stdout + p.stderr
        # the order of docs/operations.md: the site first, then the package
        dpkg("-i", built["deb"])
        assert "polyprov.load" in enabled()
        text = doc("docs/operations.md")
        at = text.index("**Removing the Debian package.**")
        block = [re.sub(r"\s+#.*", "", l).strip() for l in re.search(
            r"```sh\n(.*?)```", text[at:], re.S).group(1).splitlines()]
        assert block[:3] == ["a2dissite provisioning",
                             "systemctl reload apache2",
                             "apt remove libapache2-mod-polyprov"], block
        run(["a2dissite", "-q", REMOVAL_SITE])
        run(["apache2ctl", "configtest"])
        p = dpkg("-r", PKG)
        assert "broken" not in p.stdout + p.stderr
        run(["apache2ctl", "configtest"])
    finally:
        run(["a2dissite", "-q", "-p", "-f", REMOVAL_SITE], ok=False)
        if os.path.exists(site):
            os.remove(site)

    # removed: the module is disabled, its configuration files stay
    assert not [n for n in enabled() if n.startswith("polyprov.")]
    assert not os.path.exists(MODULE)
    assert os.path.exists(ETC + "/mods-available/polyprov.load")
    # purge: nothing it installed is left
    dpkg("--purge", PKG)
    left = [p for p in listed if os.path.lexists(p)
            and (p not in dirs or not existed.get(p, False))]
    assert not left, left
    assert not [n for n in enabled() if n.startswith("polyprov.")]
    # what docs/operations.md says is left behind: ssl, and what it depends on
    for name in ["ssl.load", "socache_shmcb.load"]:
        assert name in enabled(), name
    assert not [p for p in state() if os.path.basename(p) == "polyprov"]
    st = run(["dpkg-query", "-W", "-f", "${Status}", PKG], ok=False).stdout
    assert not st.endswith(" installed") and "config-files" not in st


def test_readme_rhel_block_from_a_fresh_copy(tmp_path):
    """The README's RHEL block as written, less what needs RHEL (dnf,
    systemctl): autoconf, ./configure, make, make install (into a DESTDIR,
    with the RHEL layout)."""
    block = readme_sh_block("**RHEL 9, Fedora**")
    assert block[0].startswith("dnf install ") and "autoconf" in block[0]
    assert block[1:4] == ["autoconf", "./configure --with-apxs=/usr/bin/apxs",
                          "make && make install"], block
    src = str(tmp_path / "clone")
    fresh_copy(src)
    assert not os.path.exists(os.path.join(src, "configure"))
    env = {k: v for k, v in os.environ.items()
           if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")}
    run(["autoconf"], cwd=src, env=env)
    run(["./configure", "--with-apxs=/usr/bin/apxs"], cwd=src, env=env)
    run(["make", "-s"], cwd=src, env=env)
    dest = str(tmp_path / "dest")
    run(["make", "-s", "install", "DESTDIR=" + dest, "LAYOUT=redhat"],
        cwd=src, env=env)
    for path in [MODULE, "/etc/httpd/conf.modules.d/10-polyprov.conf",
                 "/etc/httpd/conf.d/polyprov.conf",
                 "/usr/local/bin/polyprov-check",
                 "/usr/local/share/man/man1/polyprov-check.1"]:
        assert os.path.isfile(dest + path), path


def test_rpm_spec_and_source_rpm(tmp_path):
    spec = os.path.join(TOP, "mod_polyprov.spec")
    parsed = run(["rpmspec", "-P", spec]).stdout
    for line in ["Requires:       httpd-mmn = ",
                 "Requires:       mod_ssl",
                 "BuildRequires:  httpd-devel >= 2.4.48",
                 "/etc/httpd/conf.modules.d/10-polyprov.conf",
                 "/etc/httpd/conf.d/polyprov.conf",
                 "/httpd/modules/mod_polyprov.so",
                 "/usr/bin/polyprov-check",
                 "/usr/share/man/man1/polyprov-check.1",
                 "--with-apxs="]:
        assert line in parsed, line
    version = run(["rpmspec", "-q", "--srpm", "--qf", "%{version}", spec]
                  ).stdout.strip()
    # the version is VERSION's (configure checks the spec against it)
    with open(os.path.join(TOP, "VERSION")) as f:
        assert f.read().strip() == version
    tarball = str(tmp_path / ("mod_polyprov-%s.tar.gz" % version))
    run(["git", "archive", "--prefix=mod_polyprov-%s/" % version,
         "-o", tarball, "HEAD"], cwd=TOP)
    run(["rpmbuild", "-bs", "--define", "_topdir %s/top" % tmp_path,
         "--define", "_sourcedir %s" % tmp_path, spec])
    srpm = str(tmp_path / "top" / "SRPMS" /
               ("mod_polyprov-%s-1.src.rpm" % version))
    files = run(["rpm", "-qpl", srpm]).stdout.split()
    assert files == sorted(["mod_polyprov-%s.tar.gz" % version,
                            "mod_polyprov.spec"])


# ---------------------------------------------------------------------------
# An upgrade under load: the system's apache2 serving phones, version N+1
# installed over N with dpkg -i, no connection refused, the counters kept.

UPGRADE_SITE = "polyprov-upgrade-test"


def next_version_deb(built):
    """Version N+1 of the package: a copy of N's built tree with the
    version raised where a release raises it (VERSION, and the files
    configure checks against it: a debian/changelog entry on top, the RPM
    spec, the manual page), built again without cleaning first (-nc: make
    rebuilds only what the version header reaches)."""
    src = os.path.join(OUT, "src-next")
    shutil.rmtree(src, ignore_errors=True)
    shutil.copytree(built["src"], src, symlinks=True)
    version = run(["dpkg-parsechangelog", "-S", "Version"],
                  cwd=src).stdout.strip()
    new = version + "+upgradetest1"
    changelog = os.path.join(src, "debian", "changelog")
    with open(changelog) as f:
        old = f.read()
    with open(changelog, "w") as f:
        f.write("%s (%s) UNRELEASED; urgency=medium\n\n"
                "  * The upgrade test's next version.\n\n"
                " -- mod_polyprov developers <dev@polyprov.invalid>  %s\n\n"
                % (PKG, new, email.utils.formatdate(usegmt=False))
                + old)
    for rel, pattern, repl in (
            ("VERSION", r"^.*$", new),
            ("mod_polyprov.spec", r"^(Version:\s*).*$", r"\g<1>" + new),
            ("docs/polyprov-check.1", r'"mod_polyprov [^"]*"',
             '"mod_polyprov %s"' % new)):
        path = os.path.join(src, rel)
        with open(path) as f:
            text = f.read()
        with open(path, "w") as f:
            f.write(re.sub(pattern, repl, text, count=1, flags=re.M))
    # dh skips what its logs say it did (the build among them): without
    # them it runs every step again, and make rebuilds what the new
    # version reaches
    for stamp in glob.glob(os.path.join(src, "debian", "*.debhelper.log")) \
            + [os.path.join(src, "debian", "debhelper-build-stamp")]:
        if os.path.exists(stamp):
            os.remove(stamp)
    p = run(["dpkg-buildpackage", "-us", "-uc", "-b", "-nc"], cwd=src,
            ok=False)
    assert p.returncode == 0, (p.stdout + p.stderr)[-4000:]
    arch = run(["dpkg", "--print-architecture"]).stdout.strip()
    return new, os.path.join(OUT, "%s_%s_%s.deb" % (PKG, new, arch))


class PhoneLoad:
    """Threads that each ask for phone A's file over a new mutual-TLS
    connection, again and again (pause seconds apart: phones, not a
    benchmark, and cores left for dpkg and httpd), and count what
    happened to each connection: its status, or the error that ended
    it."""

    def __init__(self, port, pki, path, threads=4, pause=0.02):
        self.pause = pause
        self.ctx = ssl.create_default_context(
            cafile=os.path.join(pki, "server-ca.crt"))
        self.ctx.check_hostname = False
        self.ctx.load_cert_chain(os.path.join(pki, "phone-a.chain.pem"),
                                 os.path.join(pki, "phone-a.key"))
        self.port, self.path = port, path
        self.results = []          # (time, outcome)
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.threads = [threading.Thread(target=self._run, daemon=True)
                        for _ in range(threads)]

    def _one(self):
        try:
            with socket.create_connection(("127.0.0.1", self.port),
                                          timeout=10) as raw:
                with self.ctx.wrap_socket(raw) as s:
                    s.sendall(("GET %s HTTP/1.1\r\nHost: localhost\r\n"
                               "Connection: close\r\n\r\n" % self.path)
                              .encode())
                    data = b""
                    while True:
                        chunk = s.recv(65536)
                        if not chunk:
                            break
                        data += chunk
            line = data.split(b"\r\n", 1)[0].decode(errors="replace")
            parts = line.split()
            return parts[1] if len(parts) > 1 else "empty"
        except ConnectionRefusedError:
            return "refused"
        except (OSError, ssl.SSLError) as e:
            return "error:%s" % type(e).__name__

    def _run(self):
        while not self.stopping.is_set():
            outcome = self._one()
            with self.lock:
                self.results.append((time.time(), outcome))
            time.sleep(self.pause)

    def __enter__(self):
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc):
        self.stopping.set()
        for t in self.threads:
            t.join(30)

    def failing_span(self):
        """Seconds from the first connection that was not answered 200 to
        the last one (0 when all were)."""
        with self.lock:
            bad = [t for t, outcome in self.results if outcome != "200"]
        return max(bad) - min(bad) if bad else 0.0

    def count(self, since=0.0, until=float("inf")):
        counts = {}
        with self.lock:
            for t, outcome in self.results:
                if since <= t <= until:
                    counts[outcome] = counts.get(outcome, 0) + 1
        return counts


def metrics(port):
    """polyprov-metrics of the system's apache2: {name{labels}: value}."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(b"GET /polyprov-metrics HTTP/1.1\r\nHost: localhost\r\n"
                  b"Connection: close\r\n\r\n")
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    assert b" 200 " in head.split(b"\r\n", 1)[0], data[:500]
    values = {}
    for line in body.decode().splitlines():
        if line and not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            values[name] = float(value)
    return values


def mapped_module(pid):
    """The inode of the mod_polyprov.so a process has mapped, and whether
    that file was deleted (replaced) since it was loaded."""
    with open("/proc/%d/maps" % pid) as f:
        for line in f:
            if line.rstrip().endswith(MODULE) or \
                    line.rstrip().endswith(MODULE + " (deleted)"):
                fields = line.split()
                return int(fields[4]), line.rstrip().endswith("(deleted)")
    return None, None


def apache2_pid():
    with open("/run/apache2/apache2.pid") as f:
        return int(f.read().strip())


def invoke_rc(action):
    return run(["invoke-rc.d", "apache2", action], ok=False)


def test_upgrade_under_load_refuses_no_phone(as_root, built, system_apache,
                                            pki):
    """Version N installed and serving phones on the system's apache2
    (started by invoke-rc.d, as the maintainer scripts reach it), a steady
    load of phone connections, then dpkg -i of version N+1: its postinst
    asks for a graceful restart, which loads the new mod_polyprov.so; no
    connection is refused or fails, and the counters go on."""
    assert not apache2_running(), \
        "the system's apache2 is running: the test would stop it"
    t0 = time.time()
    new_version, next_deb = next_version_deb(built)
    build_next = time.time() - t0

    # the maintainer scripts' invoke-rc.d may act on apache2 (and nothing
    # else) for this test; the policy as found is put back afterwards
    with open(POLICY) as f:
        policy = f.read()
    # the system's apache2 listens on the test's loopback ports only, not
    # on ports.conf's 80 and 443 of every address; put back afterwards
    ports = os.path.join(ETC, "ports.conf")
    with open(ports) as f:
        ports_conf = f.read()
    site = os.path.join(ETC, "sites-available", UPGRADE_SITE + ".conf")
    docroot = tempfile.mkdtemp(prefix="polyprov-upgrade-")
    os.chmod(docroot, 0o755)
    try:
        dpkg("-i", built["deb"])          # N (policy: no restart yet)
        with open(os.path.join(docroot, A + ".cfg"), "w") as f:
            f.write(FILES[A + ".cfg"])
        os.chmod(os.path.join(docroot, A + ".cfg"), 0o644)
        port, mport = free_port(), free_port()
        chain = os.path.join(pki, "polycom-chain.pem")
        with open(site, "w") as f:
            f.write("""# mod_polyprov's package test (test_upgrade_...)
Listen 127.0.0.1:{port}
Listen 127.0.0.1:{mport}
<VirtualHost 127.0.0.1:{port}>
    DocumentRoot {docroot}
    SSLEngine on
    SSLCertificateFile    {pki}/server.crt
    SSLCertificateKeyFile {pki}/server.key
    SSLCACertificateFile  {chain}
    SSLVerifyClient require
    SSLVerifyDepth 3
    KeepAlive Off
    PolyProvTrustedCA {chain}
    <Directory {docroot}>
        Require all granted
        PolyProv On
    </Directory>
</VirtualHost>
<VirtualHost 127.0.0.1:{mport}>
    <Location /polyprov-metrics>
        SetHandler polyprov-metrics
        Require ip 127.0.0.1
    </Location>
</VirtualHost>
""".format(port=port, mport=mport, docroot=docroot, pki=pki,
           chain=chain))
        run(["a2ensite", "-q", UPGRADE_SITE])
        with open(ports, "w") as f:
            f.write("# mod_polyprov's upgrade test: its site's loopback "
                    "ports only\n")
        with open(POLICY, "w") as f:
            f.write("#!/bin/sh\n# mod_polyprov's upgrade test\n"
                    "[ \"$1\" = apache2 ] && exit 0\nexit 101\n")
        run(["apache2ctl", "configtest"])
        p = invoke_rc("start")
        assert p.returncode == 0, p.stdout + p.stderr
        deadline = time.time() + 20
        while time.time() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), 1).close()
                break
            except OSError:
                time.sleep(0.1)
        parent = apache2_pid()
        old_inode, _ = mapped_module(parent)
        assert old_inode == os.stat(MODULE).st_ino

        with PhoneLoad(port, pki, "/%s.cfg" % A) as load:
            time.sleep(2)
            before = metrics(mport)
            t_start = time.time()
            p = dpkg("-i", next_deb)
            t_end = time.time()
            time.sleep(3)
            after = metrics(mport)
        out = p.stdout + p.stderr

        total = load.count()
        during = load.count(t_start, t_end + 3)
        print("upgrade %s -> %s under load: dpkg -i %.1f s; connections: "
              "%s in all, %s from dpkg -i to 3 s after, failing for "
              "%.1f s; allowed_total "
              "%d before, %d after; start_time %d before, %d after; "
              "N+1 built in %.1f s"
              % (os.path.basename(built["deb"]), new_version,
                 t_end - t_start, total, during, load.failing_span(),
                 before["polyprov_requests_allowed_total"],
                 after["polyprov_requests_allowed_total"],
                 before["polyprov_start_time_seconds"],
                 after["polyprov_start_time_seconds"], build_next))
        assert set(total) == {"200"}, total
        assert during.get("200", 0) >= 20, during

        # the counters went on: the same start, a new configuration, every
        # request counted
        assert after["polyprov_start_time_seconds"] == \
            before["polyprov_start_time_seconds"]
        assert after["polyprov_config_load_time_seconds"] > \
            before["polyprov_config_load_time_seconds"]
        served = load.count(0, t_start)["200"]
        assert before["polyprov_requests_allowed_total"] >= served - 4
        assert after["polyprov_requests_allowed_total"] >= \
            before["polyprov_requests_allowed_total"] + during["200"] - 4

        # how: the postinst asked for a graceful restart, and it happened
        assert "apache2_invoke polyprov: already enabled" in out, out
        assert "Restarting" not in out and "Reloading" in out, out
        assert apache2_pid() == parent
        # the new version, from VERSION alone, in the tool and the module
        assert run(["polyprov-check", "--version"]).stdout.split()[-1] \
            == new_version + ")"
        with open("/var/log/apache2/error.log", errors="replace") as f:
            assert "PP012: mod_polyprov %s ready" % new_version in f.read()
        inode, deleted = mapped_module(parent)
        assert inode == os.stat(MODULE).st_ino != old_inode and \
            not deleted, "httpd did not load the new mod_polyprov.so"
    finally:
        try:
            if apache2_running():
                invoke_rc("stop")
        finally:
            with open(POLICY, "w") as f:
                f.write(policy)
            with open(ports, "w") as f:
                f.write(ports_conf)
            if os.path.lexists(os.path.join(ETC, "sites-enabled",
                                             UPGRADE_SITE + ".conf")):
                run(["a2dissite", "-q", "-p", "-f", UPGRADE_SITE], ok=False)
            if os.path.exists(site):
                os.remove(site)
            shutil.rmtree(docroot, ignore_errors=True)
