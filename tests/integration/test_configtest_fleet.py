# SPDX-License-Identifier: Apache-2.0
"""Configuration mistakes that would refuse the whole fleet fail
`apachectl configtest` (httpd -t) with the directive's file:line; a real
start never fails because of a list or a database (docs/directives.md, "What fails
configtest, what fails a start, what only warns")."""

import os
import re
import shutil

import pytest

from tests.pphttpd.expect import A
from tests.pphttpd.fixtures import need_root, populate
from tests.pphttpd.sqldb import Sqlite, dbd_server


def line_of(h, text):
    with open(h.conf) as f:
        for n, line in enumerate(f, 1):
            if text in line:
                return n
    raise AssertionError(text)


def guarded(pki, *extra):
    return "\n".join(["PolyProv On",
                      "PolyProvTrustedCA %s/polycom-chain.pem" % pki]
                     + list(extra))


def configtest(h, vhost, **kw):
    h.write(vhost=vhost, **kw)
    return h.configtest()


@pytest.fixture
def h(servers):
    return servers()


@pytest.fixture
def needs_root():
    need_root("the children run as www-data only when httpd starts as root")


# -- an issuer pin that matches no CA ------------------------------------------

def test_a_pin_matching_no_ca_fails_configtest(h, pki, manifest):
    good = manifest["issuing1"]["sha256"]
    typo = good[:-2] + ("00" if good[-2:] != "00" else "11")
    rc, out = configtest(h, guarded(pki, "PolyProvIssuerFingerprint "
                                         "sha256:%s sha256:%s" % (good, typo)))
    assert rc != 0, out
    assert "Syntax OK" not in out
    lines = [l for l in out.splitlines() if "PP123:" in l]
    assert len(lines) == 1, out          # the typo, not the good pin
    assert "PolyProvIssuerFingerprint at %s:%d" % (
        h.conf, line_of(h, "PolyProvIssuerFingerprint")) in lines[0], out
    assert "PolyProvTrustedCA at %s:%d" % (
        h.conf, line_of(h, "PolyProvTrustedCA")) in lines[0], out
    assert "(issuer)" in lines[0] and "--show-ca" in lines[0], out
    # a start fails the same way: it is configuration
    with pytest.raises(RuntimeError) as e:
        h.start()
    assert "PP123" in str(e.value)


def test_a_pin_with_the_ca_in_an_enclosing_section(h, pki, manifest):
    """The CA of a <Directory>, the pins in a <Location>: the pin must
    match a CA of the host (the matrix's layout passes)."""
    vhost = """
    <Directory {d}>
        PolyProv On
        PolyProvTrustedCA {p}/polycom-chain.pem
    </Directory>
    <Location /pinned/>
        PolyProvIssuerFingerprint sha256:{pin}
    </Location>"""
    rc, out = configtest(h, vhost.format(d=h.docroot, p=pki,
                                         pin=manifest["issuing1"]["sha256"]))
    assert rc == 0, out
    rc, out = configtest(h, vhost.format(d=h.docroot, p=pki,
                                         pin=manifest["server-ca"]["sha256"]))
    assert rc != 0 and "PP123:" in out, out
    assert "PolyProvIssuerFingerprint at %s:%d" % (
        h.conf, line_of(h, "PolyProvIssuerFingerprint")) in out, out


# -- a list path with no file behind it ----------------------------------------

@pytest.mark.parametrize("directive", ["PolyProvAllowList",
                                       "PolyProvDenyList"])
def test_a_list_path_with_no_file_fails_configtest(h, pki, directive):
    typo = os.path.join(h.root, "lists", "alow.txt")
    rc, out = configtest(h, guarded(pki, "%s %s" % (directive, typo)))
    assert rc != 0, out
    assert "Syntax OK" not in out
    assert re.search(r"PP120: %s at %s:%d: the list file %s does not exist"
                     % (directive, re.escape(h.conf),
                        line_of(h, directive), re.escape(typo)), out), out
    assert "list-unavailable" in out and "Correct the path" in out


# -- files the children (User www-data) cannot read ----------------------------

def unreadable(h, how):
    """A list only root can read: the file (a root cron job with umask
    077), or a directory on its way."""
    if how == "file":
        path = h.list_file("allow.txt", "%s\n" % A)
        os.chmod(path, 0o600)
        return path, path
    d = os.path.join(h.root, "private")
    os.makedirs(d, mode=0o700)
    path = os.path.join(d, "allow.txt")
    with open(path, "w") as f:
        f.write("%s\n" % A)
    os.chmod(path, 0o644)
    return path, d


@pytest.mark.usefixtures("needs_root")
@pytest.mark.parametrize("how", ["file", "directory"])
def test_a_list_the_children_cannot_read_fails_configtest(h, pki, how):
    path, blocked = unreadable(h, how)
    rc, out = configtest(h, guarded(pki, "PolyProvAllowList %s" % path))
    assert rc != 0, out
    m = re.search(r"PP121: PolyProvAllowList at %s:%d: the list file %s "
                  r"cannot be read by the user www-data .*" % (
                      re.escape(h.conf), line_of(h, "PolyProvAllowList"),
                      re.escape(path)), out)
    assert m, out
    if how == "directory":
        assert "cannot search the directory %s" % blocked in m.group(0), out
    else:
        assert "Permission denied" in m.group(0), out
    assert "Make it readable by www-data" in m.group(0), out


@pytest.mark.usefixtures("needs_root")
def test_an_sqlite_database_the_children_cannot_read_fails_configtest(h, pki):
    db = Sqlite(h)
    db.set_phones([A])
    os.chmod(db.path, 0o600)
    rc, out = configtest(h, guarded(pki, 'PolyProvAllowList dbd "SELECT mac '
                                         'FROM phones WHERE enabled"'),
                         modules=["dbd"], server=dbd_server(db))
    assert rc != 0, out
    assert re.search(r"PP121: PolyProvAllowList at %s:%d: the SQLite database "
                     r"%s cannot be read by the user www-data" % (
                         re.escape(h.conf), line_of(h, "PolyProvAllowList"),
                         re.escape(db.path)), out), out
    os.chmod(db.path, 0o644)
    rc, out = h.configtest()
    assert rc == 0, out


@pytest.mark.usefixtures("needs_root")
def test_a_start_with_an_unreadable_list_serves_everything_else(servers, pki):
    """The running server is never taken down by a list: the scope that
    uses it refuses list-unavailable, the rest of the host and the other
    virtual host are served."""
    h = servers()
    populate(h)
    h.put("listed/%s.cfg" % A, "listed A\n")
    path, _ = unreadable(h, "file")
    h.write(vhost="""
    <Directory {d}>
        PolyProv On
        PolyProvTrustedCA {p}/polycom-chain.pem
    </Directory>
    <Location /listed/>
        PolyProvAllowList {a}
    </Location>""".format(d=h.docroot, p=pki, a=path))
    h.expect_log(r"PP026|PP031|PP032|list-unavailable")
    h.start()
    assert h.curl("/listed/%s.cfg" % A, phone="phone-a").status == 403, \
        h.log_text()
    assert "reason=list-unavailable" in h.access_lines()[-1]
    assert h.curl("/%s.cfg" % A, phone="phone-a").status == 200
    assert h.curl("/site.cfg", tls=False).status == 200
    log = h.log_text()
    assert re.search(r"\[polyprov:error\] .*PP026: list file %s \(PolyProv"
                     r"AllowList at %s:%d\) cannot be read by the user "
                     r"www-data .*list-unavailable" % (
                         re.escape(path), re.escape(h.conf),
                         line_of(h, "PolyProvAllowList")), log), log
    # readable again: the children pick it up without a restart
    os.chmod(path, 0o644)
    shutil.chown(path, "www-data")
    deadline = 0
    import time
    deadline = time.time() + 15
    while time.time() < deadline:
        if h.curl("/listed/%s.cfg" % A, phone="phone-a").status == 200:
            break
        time.sleep(0.5)
    else:
        raise AssertionError("the list never came into force")


# -- a list with bad lines: a warning naming every one --------------------------

def test_every_bad_line_of_a_list_is_a_warning(h, pki):
    path = h.list_file("allow.txt", "# fleet\n%s\nnot-a-mac\n\n00:04:f2\n"
                       "%s\nzz0000000000 # typo\n" % (A, A.upper()))
    rc, out = configtest(h, guarded(pki, "PolyProvAllowList %s" % path))
    assert rc == 0, out
    lines = [l for l in out.splitlines() if "PP029:" in l]
    assert len(lines) == 3, out
    where = "PolyProvAllowList at %s:%d" % (h.conf,
                                            line_of(h, "PolyProvAllowList"))
    for line, n in zip(lines, (3, 5, 7)):
        assert where in line and "%s:%d: '" % (path, n) in line, out


def test_bad_lines_past_the_cap_are_counted(h, pki):
    path = h.list_file("allow.txt", "".join("bad%d\n" % i
                                            for i in range(130)))
    rc, out = configtest(h, guarded(pki, "PolyProvAllowList %s" % path))
    assert rc == 0, out
    assert len([l for l in out.splitlines() if "PP029:" in l]) == 100, out
    assert "%s:100: 'bad99'" % path in out and "'bad100'" not in out
    assert re.search(r"PP122: PolyProvAllowList at \S+: %s has 130 bad lines"
                     r" in all; the first 100 are shown" % re.escape(path),
                     out), out


@pytest.mark.usefixtures("needs_root")
def test_a_start_with_an_unreadable_database_serves_everything_else(servers,
                                                                   pki):
    """The same for an SQLite inventory the children cannot read: root
    could query it at the start, but the children's refreshes could not,
    and a phone disabled in it would be served until then."""
    h = servers()
    populate(h)
    h.put("listed/%s.cfg" % A, "listed A\n")
    db = Sqlite(h)
    db.set_phones([A])
    os.chmod(db.path, 0o600)
    h.write(modules=["dbd"], server=dbd_server(db), vhost="""
    <Directory {d}>
        PolyProv On
        PolyProvTrustedCA {p}/polycom-chain.pem
    </Directory>
    <Location /listed/>
        PolyProvAllowList dbd "SELECT mac FROM phones WHERE enabled"
    </Location>""".format(d=h.docroot, p=pki))
    h.expect_log(r"PP026|PP031|PP081|list-unavailable|dbd")
    h.start()
    assert h.curl("/listed/%s.cfg" % A, phone="phone-a").status == 403
    assert "reason=list-unavailable" in h.access_lines()[-1]
    assert h.curl("/%s.cfg" % A, phone="phone-a").status == 200
    assert re.search(r"\[polyprov:error\] .*PP026: SQLite database %s "
                     r"\(PolyProvAllowList at %s:%d\) cannot be read by the "
                     r"user www-data" % (re.escape(db.path),
                                         re.escape(h.conf),
                                         line_of(h, "PolyProvAllowList")),
                     h.log_text()), h.log_text()
