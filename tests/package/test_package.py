# SPDX-License-Identifier: Apache-2.0
"""make check-package: what the README's installing sections promise.

- The Debian package builds from a copy of this tree with
  `dpkg-buildpackage -us -uc -b` (in build/pkg) and lintian finds nothing.
- Installed with dpkg -i into this machine's Apache, it enables the module;
  the README's a2enmod line and `apache2ctl configtest` pass; a throwaway
  httpd built from the system's mods-enabled and the README's complete
  example serves a phone its own file over mutual TLS on a loopback port
  and refuses another's.  Removing it disables the module; purging leaves
  nothing it installed.  The system's apache2 is never started (a
  policy-rc.d denies the maintainer scripts' restarts unless one is there
  already), and the modules the test enabled are disabled again.
- The README's RHEL block (less dnf and systemctl) runs in a fresh copy.
- mod_polyprov.spec parses (rpmspec -P) and its source RPM builds from a
  git archive.
"""

import os
import shutil
import subprocess
import time

import pytest

from tests.pphttpd.expect import A, B, C
from tests.pphttpd.fixtures import FILES, TOP, need_root, populate, \
    skip_or_fail
from tests.pphttpd.httpd import Httpd
from tests.pphttpd.readme import example_config, readme_sh_block

PKG = "libapache2-mod-polyprov"
OUT = os.path.join(TOP, "build", "pkg")
MODULE = "/usr/lib/apache2/modules/mod_polyprov.so"
TOOL = "/usr/bin/polyprov-check"
MANPAGE = "/usr/share/man/man1/polyprov-check.1.gz"
ETC = "/etc/apache2"
STATE = "/var/lib/apache2"
POLICY = "/usr/sbin/policy-rc.d"

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
    t = time.time()
    p = run(["dpkg-buildpackage", "-us", "-uc", "-b"], cwd=src, ok=False)
    with open(os.path.join(OUT, "build.log"), "w") as f:
        f.write(p.stdout + p.stderr)
    assert p.returncode == 0, (p.stdout + p.stderr)[-4000:]
    version = run(["dpkg-parsechangelog", "-S", "Version"], cwd=src).stdout
    arch = run(["dpkg", "--print-architecture"]).stdout.strip()
    base = os.path.join(OUT, "%s_%s_%s" % (PKG, version.strip(), arch))
    print("dpkg-buildpackage: %.1f s" % (time.time() - t))
    return {"deb": base + ".deb", "changes": base + ".changes", "src": src}


def test_readme_debian_block_is_what_this_test_runs(built):
    block = readme_sh_block("## Installing from the Debian package")
    assert block[:3] == [
        "apt-get build-dep ./", "dpkg-buildpackage -us -uc -b",
        "dpkg -i ../" + os.path.basename(built["deb"])], block


def test_deb_contents_and_dependencies(built):
    files = run(["dpkg-deb", "-c", built["deb"]]).stdout
    paths = sorted(l.split()[5].lstrip(".") for l in files.splitlines()
                   if not l.startswith("d"))
    assert paths == [
        "/etc/apache2/mods-available/polyprov.conf",
        "/etc/apache2/mods-available/polyprov.load",
        TOOL,
        MODULE,
        "/usr/share/doc/%s/changelog.gz" % PKG,
        "/usr/share/doc/%s/copyright" % PKG,
        MANPAGE]
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
    (mods-enabled, as apache2.conf includes them) and the README's complete
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

    p = dpkg("-i", built["deb"])
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

    # an upgrade (here: the same version again) asks for a restart, and
    # leaves a module the administrator disabled disabled
    p = dpkg("-i", built["deb"])
    out = p.stdout + p.stderr
    assert "polyprov: already enabled" in out, out
    assert "denied execution of restart" in out, out
    run(["a2dismod", "-q", "polyprov"])
    p = dpkg("-i", built["deb"])
    out = p.stdout + p.stderr
    assert "disabled by local admin" in out, out
    assert "polyprov.load" not in enabled()
    run(["a2enmod", "-q", "polyprov"])

    listed = [os.path.normpath(p)
              for p in run(["dpkg", "-L", PKG]).stdout.split()]
    assert MODULE in listed and TOOL in listed and MANPAGE in listed
    dirs = {p for p in listed if os.path.isdir(p) and not os.path.islink(p)}

    # remove: the module is disabled, its configuration files stay
    dpkg("-r", PKG)
    assert not [n for n in enabled() if n.startswith("polyprov.")]
    assert not os.path.exists(MODULE)
    assert os.path.exists(ETC + "/mods-available/polyprov.load")
    # purge: nothing it installed is left
    dpkg("--purge", PKG)
    left = [p for p in listed if os.path.lexists(p)
            and (p not in dirs or not existed.get(p, False))]
    assert not left, left
    assert not [n for n in enabled() if n.startswith("polyprov.")]
    assert "ssl.load" in enabled()
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
    configure_ac = open(os.path.join(TOP, "configure.ac")).read()
    assert "[mod_polyprov], [%s]" % version in configure_ac
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
