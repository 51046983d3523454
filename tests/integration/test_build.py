# SPDX-License-Identifier: Apache-2.0
"""The build works things out once (CONTRIBUTING.md "Building and testing").

- The version is the file VERSION: the generated header, the module, the
  tool, the Debian changelog, the RPM spec and the manual page say it, and
  configure stops when a package file says another version.
- make unit needs no apxs; make check DEPS=no installs nothing.
"""

import os
import re
import shutil
import subprocess
import sys

import pytest

from tests.pphttpd.fixtures import TOP, skip_or_fail


def make(*args, cwd=TOP, env=None):
    # a make of our own, not a job of the make that runs this suite
    e = {k: v for k, v in os.environ.items()
         if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")}
    e.update(env or {})
    return subprocess.run(["make", "--no-print-directory"] + list(args),
                          cwd=cwd, capture_output=True, text=True, env=e,
                          timeout=600)


def version():
    with open(os.path.join(TOP, "VERSION")) as f:
        return f.read().strip()


def package_versions(top):
    """What the changelog, the spec and the manual page say."""
    with open(os.path.join(top, "debian", "changelog")) as f:
        deb = re.match(r"\S+ \(([^)-]+)", f.readline()).group(1)
    with open(os.path.join(top, "mod_polyprov.spec")) as f:
        rpm = re.search(r"^Version:\s*(\S+)", f.read(), re.M).group(1)
    with open(os.path.join(top, "docs", "polyprov-check.1")) as f:
        man = re.search(r'^\.TH .*"mod_polyprov ([^"]+)"', f.read(),
                        re.M).group(1)
    return deb, rpm, man


def test_one_version():
    v = version()
    assert re.fullmatch(r"\d+\.\d+\.\d+", v), v
    assert package_versions(TOP) == (v, v, v)
    with open(os.path.join(TOP, "build", "gen", "pp_version.h")) as f:
        assert '#define PP_VERSION "%s"' % v in f.read()
    with open(os.path.join(TOP, "build", "mod_polyprov.so"), "rb") as f:
        assert b"mod_polyprov/" + v.encode() + b"\0" in f.read()


def copy_tree(dst):
    files = subprocess.run(["git", "ls-files", "-z"], cwd=TOP, check=True,
                           capture_output=True).stdout.decode().split("\0")
    for name in filter(None, files):
        src = os.path.join(TOP, name)
        if not os.path.isfile(src):
            continue
        os.makedirs(os.path.dirname(os.path.join(dst, name)), exist_ok=True)
        shutil.copy2(src, os.path.join(dst, name))


def set_version(top, v, which=("VERSION", "debian", "spec", "man")):
    def sub(path, pattern, repl):
        with open(os.path.join(top, path)) as f:
            text = f.read()
        text, n = re.subn(pattern, repl, text, count=1, flags=re.M)
        assert n == 1, path
        with open(os.path.join(top, path), "w") as f:
            f.write(text)
    if "VERSION" in which:
        with open(os.path.join(top, "VERSION"), "w") as f:
            f.write(v + "\n")
    if "debian" in which:
        sub("debian/changelog", r"^(\S+ \()[^)-]+", r"\g<1>" + v)
    if "spec" in which:
        sub("mod_polyprov.spec", r"^(Version:\s*)\S+", r"\g<1>" + v)
    if "man" in which:
        sub("docs/polyprov-check.1", r'("mod_polyprov )[^"]+', r"\g<1>" + v)


@pytest.fixture
def tree(tmp_path):
    if not shutil.which("autoconf"):
        skip_or_fail("autoconf is not installed")
    top = str(tmp_path / "src")
    copy_tree(top)
    return top


def test_a_new_version_everywhere(tree):
    """1.0.1 in VERSION and the package files: configure, the module's
    Server component and PP012 text, and polyprov-check --version say it."""
    set_version(tree, "1.0.1")
    p = make("-j2", "build", cwd=tree)
    assert p.returncode == 0, p.stderr[-3000:]
    with open(os.path.join(tree, "config.mk")) as f:
        assert re.search(r"^PP_VERSION\s*=\s*1\.0\.1$", f.read(), re.M)
    with open(os.path.join(tree, "build", "mod_polyprov.so"), "rb") as f:
        so = f.read()
    assert b"mod_polyprov/1.0.1\0" in so
    assert b"mod_polyprov/1.0.0" not in so
    out = subprocess.run([os.path.join(tree, "build", "polyprov-check"),
                          "--version"], capture_output=True, text=True)
    assert out.stdout == "polyprov-check (mod_polyprov 1.0.1)\n"


@pytest.mark.parametrize("which", ["debian", "spec", "man"])
def test_configure_refuses_a_package_of_another_version(tree, which):
    """A package file rebuilt as 1.0.1 while VERSION says 1.0.0: configure
    stops, naming both (the package would say 1.0.0 inside)."""
    set_version(tree, "1.0.1", which=(which,))
    subprocess.run(["autoconf"], cwd=tree, check=True)
    p = subprocess.run(["./configure", "-q"], cwd=tree, capture_output=True,
                       text=True)
    assert p.returncode != 0
    assert "says 1.0.1, VERSION says %s" % version() in p.stderr
    set_version(tree, version(), which=(which,))
    p = subprocess.run(["./configure", "-q"], cwd=tree, capture_output=True,
                       text=True)
    assert p.returncode == 0, p.stderr


def test_unit_needs_no_apxs():
    p = make("-n", "unit", "APXS=")
    assert p.returncode == 0, p.stderr
    assert "apxs not found" not in p.stdout + p.stderr
    assert "build/unit_tests" in p.stdout
    # ... while the module does (-n prints the check it would make)
    p = make("-n", "build", "APXS=")
    assert "apxs not found" in p.stdout


def test_deps_no_installs_nothing():
    p = make("-n", "deps")
    assert "sh tests/deps.sh test" in p.stdout
    p = make("-s", "deps", "DEPS=no")
    assert p.returncode == 0 and p.stdout == "" and p.stderr == ""


def test_no_call_cycle_between_glue_files():
    """CONTRIBUTING.md, "Source layout": no glue file calls back into one
    that calls it (tools/glue_calls.py reads the objects' symbol tables);
    the connection's state (mod_polyprov_conn.c) calls no other glue
    file, and the expired-certificate waiver reaches it, not the request
    path."""
    glue = os.path.join(os.path.dirname(os.environ.get(
        "PP_MODULE", os.path.join(TOP, "build", "mod_polyprov.so"))), "glue")
    p = subprocess.run([sys.executable,
                        os.path.join(TOP, "tools", "glue_calls.py"), glue],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stdout + p.stderr
    edges = dict(line.split(" -> ") for line in p.stdout.splitlines())
    assert edges["mod_polyprov_conn.c"] == "-"
    expired = edges["mod_polyprov_expired.c"].split()
    assert "mod_polyprov_conn.c" in expired
    assert "mod_polyprov.c" not in expired
