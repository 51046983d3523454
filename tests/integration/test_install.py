# SPDX-License-Identifier: Apache-2.0
"""make install and make uninstall into a staging directory (DESTDIR): the
files the README's Installing section names (the module, its configuration
files, polyprov-check and its manual page), and nothing left after
uninstall."""

import os
import shutil
import subprocess

import pytest

from tests.pphttpd.fixtures import TOP


def apxs_q(var):
    apxs = shutil.which("apxs") or shutil.which("apxs2")
    return subprocess.run([apxs, "-q", var], capture_output=True, text=True,
                          check=True).stdout.strip()


def make(*args):
    # a make of our own, not a job of the make that runs this suite
    env = {k: v for k, v in os.environ.items()
           if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")}
    return subprocess.run(["make", "--no-print-directory", "-s"] + list(args),
                          cwd=TOP, capture_output=True, text=True, env=env,
                          timeout=300)


def files_under(root):
    found = set()
    for d, dirs, files in os.walk(root):
        for n in files + [x for x in dirs if os.path.islink(os.path.join(d, x))]:
            found.add("/" + os.path.relpath(os.path.join(d, n), root))
    return found


# polyprov-check and its manual page, whatever the layout (PREFIX=/usr/local)
TOOL_FILES = ["/usr/local/bin/polyprov-check",
              "/usr/local/share/man/man1/polyprov-check.1"]

LAYOUTS = {
    "debian": ["/etc/apache2/mods-available/polyprov.load",
               "/etc/apache2/mods-available/polyprov.conf"],
    "redhat": ["/etc/httpd/conf.modules.d/10-polyprov.conf",
               "/etc/httpd/conf.d/polyprov.conf"],
    "none": [],
}


@pytest.mark.parametrize("layout", ["auto", "debian", "redhat", "none"])
def test_install_and_uninstall(tmp_path, layout):
    libexec = apxs_q("LIBEXECDIR")
    if layout == "auto":
        assert apxs_q("SYSCONFDIR") == "/etc/apache2", \
            "this test expects Debian's httpd layout"
        args, expect = [], LAYOUTS["debian"]
    else:
        args, expect = ["LAYOUT=" + layout], LAYOUTS[layout]
    dest = str(tmp_path / "dest")
    p = make("install", "DESTDIR=" + dest, *args)
    assert p.returncode == 0, p.stdout + p.stderr
    modfile = libexec + "/mod_polyprov.so"
    assert files_under(dest) == set([modfile] + expect + TOOL_FILES)
    for path, built, mode in [
            (TOOL_FILES[0], "build/polyprov-check", 0o755),
            (TOOL_FILES[1], "docs/polyprov-check.1", 0o644)]:
        with open(dest + path, "rb") as a, \
                open(os.path.join(TOP, built), "rb") as b:
            assert a.read() == b.read(), path
        assert os.stat(dest + path).st_mode & 0o777 == mode, path

    with open(dest + modfile, "rb") as a, \
            open(os.path.join(TOP, "build", "mod_polyprov.so"), "rb") as b:
        assert a.read() == b.read()
    assert os.stat(dest + modfile).st_mode & 0o777 == 0o644
    if expect:
        with open(dest + expect[0]) as f:
            load = f.read()
        assert "LoadModule polyprov_module %s\n" % modfile in load
        with open(dest + expect[1]) as f, \
                open(os.path.join(TOP, "conf.d", "polyprov.conf")) as g:
            assert f.read() == g.read()

    p = make("uninstall", "DESTDIR=" + dest, *args)
    assert p.returncode == 0, p.stdout + p.stderr
    assert files_under(dest) == set()


def test_tool_prefix_and_dirs(tmp_path):
    """PREFIX, BINDIR and MANDIR move the tool and its manual page only."""
    dest = str(tmp_path / "dest")
    p = make("install", "DESTDIR=" + dest, "LAYOUT=none", "PREFIX=/usr",
             "MANDIR=/opt/man")
    assert p.returncode == 0, p.stdout + p.stderr
    assert files_under(dest) == {
        apxs_q("LIBEXECDIR") + "/mod_polyprov.so", "/usr/bin/polyprov-check",
        "/opt/man/man1/polyprov-check.1"}
    p = make("uninstall", "DESTDIR=" + dest, "LAYOUT=none", "PREFIX=/usr",
             "MANDIR=/opt/man")
    assert p.returncode == 0, p.stdout + p.stderr
    assert files_under(dest) == set()


def test_uninstall_refuses_while_enabled(tmp_path):
    dest = str(tmp_path / "dest")
    assert make("install", "DESTDIR=" + dest).returncode == 0
    enabled = os.path.join(dest, "etc/apache2/mods-enabled")
    os.makedirs(enabled)
    os.symlink("../mods-available/polyprov.load",
               os.path.join(enabled, "polyprov.load"))
    before = files_under(dest)
    p = make("uninstall", "DESTDIR=" + dest)
    assert p.returncode != 0
    assert "a2dismod polyprov" in p.stderr
    assert files_under(dest) == before


def test_install_refuses_an_unknown_layout(tmp_path):
    p = make("install", "DESTDIR=%s" % tmp_path, "LAYOUT=suse")
    assert p.returncode != 0 and "LAYOUT must be" in p.stderr
    assert files_under(str(tmp_path)) == set()
