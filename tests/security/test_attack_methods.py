# SPDX-License-Identifier: Apache-2.0
"""Uploads and WebDAV through mod_dav: any method on the requester's own
file, none on another device's file, only reads on shared files; COPY and
MOVE are checked at their Destination too.  Shared files stay intact."""

import pytest

from tests.pphttpd.fixtures import FILES, checked, populate, serve
from tests.pphttpd.expect import A, B, expect_refused


@pytest.fixture(scope="module")
def dav_server(module, pki):
    def configure(h):
        h.write(loglevel="warn polyprov:debug", vhost="""
    <Directory {d}>
        Dav On
        PolyProv On
        PolyProvTrustedCA {p}/polycom-chain.pem
    </Directory>
""".format(d=h.docroot, p=pki))
    yield from serve(module, pki, configure)


@pytest.fixture
def dav(dav_server):
    h = dav_server
    populate(h)                           # every test starts from the same
    yield from checked(h)
    # whatever happened, the shared files are byte-for-byte intact
    for name in ("000000000000.cfg", "000000000000-license.cfg", "site.cfg",
                 "3111-40250-001.sip.ld"):
        assert h.read(name).decode() == FILES[name], name


def dest(h, path):
    return "Destination: " + h.url(path)


def test_put_own_log(dav):
    r = dav.curl("/%s-app.log" % A, phone="phone-a", method="PUT",
                 data="boot ok\n")
    assert r.status == 201, r
    assert dav.read("%s-app.log" % A) == b"boot ok\n"
    r = dav.curl("/%s-app.log" % A, phone="phone-a", method="PUT",
                 data="boot ok again\n")
    assert r.status == 204, r
    # and the phone's own uploads of its settings
    r = dav.curl("/%s-phone.cfg" % A, phone="phone-a", method="PUT",
                 data="changed on the phone\n")
    assert r.status == 204
    assert dav.read("%s-phone.cfg" % A) == b"changed on the phone\n"


def test_put_another_devices_file(dav):
    r = dav.curl("/%s-app.log" % B, phone="phone-a", method="PUT",
                 data="forged log\n")
    expect_refused(dav, r, "not-owner", "/%s-app.log" % B)
    assert not dav.exists("%s-app.log" % B)
    r = dav.curl("/%s.cfg" % B, phone="phone-a", method="PUT", data="x")
    expect_refused(dav, r, "not-owner", "/%s.cfg" % B)
    assert dav.read("%s.cfg" % B).decode() == FILES[B + ".cfg"]


@pytest.mark.parametrize("method", ["PUT", "DELETE", "PROPPATCH", "LOCK",
                                    "MKCOL"])
def test_shared_files_read_only(dav, method):
    r = dav.curl("/000000000000.cfg", phone="phone-a", method=method,
                 data="x" if method == "PUT" else None)
    expect_refused(dav, r, "shared-readonly", "/000000000000.cfg")


def test_delete(dav):
    r = dav.curl("/%s.cfg" % B, phone="phone-a", method="DELETE")
    expect_refused(dav, r, "not-owner", "/%s.cfg" % B)
    assert dav.exists("%s.cfg" % B)
    r = dav.curl("/%s.cfg" % A, phone="phone-a", method="DELETE")
    assert r.status == 204
    assert not dav.exists("%s.cfg" % A)


def test_propfind(dav):
    r = dav.curl("/%s.cfg" % A, phone="phone-a", method="PROPFIND",
                 headers=["Depth: 0"])
    assert r.status == 207, r
    r = dav.curl("/%s.cfg" % B, phone="phone-a", method="PROPFIND",
                 headers=["Depth: 0"])
    expect_refused(dav, r, "not-owner", "/%s.cfg" % B)
    for depth in ("1", "infinity"):
        r = dav.curl("/", phone="phone-a", method="PROPFIND",
                     headers=["Depth: " + depth])
        expect_refused(dav, r, "directory", "/")
        assert B not in r.body


def test_proppatch_and_lock(dav):
    body = ('<?xml version="1.0"?><D:propertyupdate xmlns:D="DAV:">'
            '<D:set><D:prop><x xmlns="urn:t">1</x></D:prop></D:set>'
            '</D:propertyupdate>')
    r = dav.curl("/%s.cfg" % B, phone="phone-a", method="PROPPATCH",
                 data=body, headers=["Content-Type: text/xml"])
    expect_refused(dav, r, "not-owner", "/%s.cfg" % B)
    # not even on its own file: mod_dav_fs's "executable" property would
    # make an upload a program (XBitHack, CGI)
    r = dav.curl("/%s.cfg" % A, phone="phone-a", method="PROPPATCH",
                 data=body, headers=["Content-Type: text/xml"])
    expect_refused(dav, r, "method", "/%s.cfg" % A)
    lock = ('<?xml version="1.0"?><D:lockinfo xmlns:D="DAV:">'
            '<D:lockscope><D:exclusive/></D:lockscope>'
            '<D:locktype><D:write/></D:locktype></D:lockinfo>')
    r = dav.curl("/%s.cfg" % B, phone="phone-a", method="LOCK", data=lock,
                 headers=["Content-Type: text/xml"])
    expect_refused(dav, r, "not-owner", "/%s.cfg" % B)


def test_mkcol(dav):
    r = dav.curl("/%s-dir/" % B, phone="phone-a", method="MKCOL")
    expect_refused(dav, r, "not-owner", "/%s-dir/" % B)
    assert not dav.exists("%s-dir" % B)


@pytest.mark.parametrize("method", ["COPY", "MOVE"])
@pytest.mark.parametrize("target", [B + ".cfg", B + "-new.cfg",
                                    "000000000000.cfg", "site.cfg",
                                    "newshared.cfg"])
def test_copy_move_destination_checked(dav, method, target):
    """The module reads the Destination itself, as a write; mod_dav's own
    lookup of it (a subrequest whose access phase httpd skips) is refused
    too, which test_attack_subrequests shows with a weak build."""
    r = dav.curl("/%s.cfg" % A, phone="phone-a", method=method,
                 headers=[dest(dav, "/" + target), "Overwrite: T"])
    reason = "not-owner" if target.startswith(B) else "shared-readonly"
    line = expect_refused(dav, r, reason, "/%s.cfg" % A)
    assert "detail=Destination /%s" % target in line, line
    assert dav.exists("%s.cfg" % A)                  # the source stays
    if target == B + ".cfg":
        assert dav.read(target).decode() == FILES[B + ".cfg"]
    elif target in FILES:
        assert dav.read(target).decode() == FILES[target]
    else:
        assert not dav.exists(target)


@pytest.mark.parametrize("method", ["COPY", "MOVE"])
def test_copy_move_within_own_files(dav, method):
    r = dav.curl("/%s.cfg" % A, phone="phone-a", method=method,
                 headers=[dest(dav, "/%s-backup.cfg" % A), "Overwrite: T"])
    assert r.status in (201, 204), (r, dav.new_log())
    assert dav.read("%s-backup.cfg" % A).decode() == FILES[A + ".cfg"]


def test_copy_from_shared_or_foreign_source(dav):
    r = dav.curl("/000000000000.cfg", phone="phone-a", method="COPY",
                 headers=[dest(dav, "/%s-copy.cfg" % A)])
    expect_refused(dav, r, "shared-readonly", "/000000000000.cfg")
    r = dav.curl("/%s.cfg" % B, phone="phone-a", method="COPY",
                 headers=[dest(dav, "/%s-copy.cfg" % A)])
    expect_refused(dav, r, "not-owner", "/%s.cfg" % B)
    assert not dav.exists("%s-copy.cfg" % A)


PROPS = ('<?xml version="1.0"?><D:propertyupdate xmlns:D="DAV:">'
         '<D:set><D:prop><x xmlns="urn:t">1</x></D:prop></D:set>'
         '</D:propertyupdate>')
EVERY_METHOD = ["GET", "HEAD", "OPTIONS", "PUT", "DELETE", "MKCOL",
                "PROPFIND", "PROPPATCH", "LOCK", "UNLOCK", "COPY", "MOVE",
                "POST", "PATCH"]


def test_trace_echoes_the_request_and_serves_no_file(dav):
    """httpd's core answers TRACE in map_to_storage, before any access
    checker runs (TraceEnable On is httpd's default; Debian's security.conf
    turns it off).  It echoes the request, never a file."""
    for path in ("/%s.cfg" % B, "/000000000000.cfg"):
        r = dav.curl(path, phone="phone-a", method="TRACE")
        assert r.status == 200 and r.body.startswith("TRACE " + path), r
        assert "secret" not in r.body and "shared master" not in r.body


def _send(dav, path, method):
    args = {"phone": "phone-a", "method": method, "headers": []}
    if method == "HEAD":
        args = {"phone": "phone-a", "extra": ["-I"]}
    if method in ("PUT", "POST", "PATCH"):
        args["data"] = "attacker's bytes\n"
    if method == "PROPPATCH":
        args["data"] = PROPS
    if method in ("COPY", "MOVE"):
        args["headers"] = [dest(dav, "/%s-loot.cfg" % A)]
    if method == "UNLOCK":
        args["headers"] = ["Lock-Token: <opaquelocktoken:x>"]
    return dav.curl(path, **args)


@pytest.mark.parametrize("method", EVERY_METHOD)
def test_every_method_on_another_devices_file(dav, method):
    r = _send(dav, "/%s.cfg" % B, method)
    expect_refused(dav, r, "not-owner", "/%s.cfg" % B)
    assert "secret of B" not in r.body
    assert dav.read("%s.cfg" % B).decode() == FILES[B + ".cfg"]
    assert not dav.exists("%s-loot.cfg" % A)


@pytest.mark.parametrize("method", EVERY_METHOD)
def test_every_method_on_a_shared_file(dav, method):
    r = _send(dav, "/000000000000.cfg", method)
    if method in ("GET", "HEAD", "OPTIONS"):
        assert r.status == 200, r
    else:
        expect_refused(dav, r, "shared-readonly", "/000000000000.cfg")
    assert not dav.exists("%s-loot.cfg" % A)
    # the fixture checks every shared file byte for byte after the test


@pytest.mark.parametrize("spelling", ["/%30004f2000b02.cfg",
                                      "/x/../0004f2000b02.cfg",
                                      "//0004F2000B02.cfg"])
@pytest.mark.parametrize("method", ["COPY", "MOVE"])
def test_destination_spellings_of_another_devices_file(dav, method,
                                                       spelling):
    r = dav.curl("/%s.cfg" % A, phone="phone-a", method=method,
                 headers=[dest(dav, spelling), "Overwrite: T"])
    assert r.status in (403, 400), (r, dav.new_log())
    assert dav.read("%s.cfg" % B).decode() == FILES[B + ".cfg"]
    assert dav.exists("%s.cfg" % A)


def test_propfind_depth_on_a_collection_of_other_devices(dav):
    dav.put("fleet/%s.cfg" % B, "secret of B\n")
    for depth in ("0", "1", "infinity"):
        r = dav.curl("/fleet/", phone="phone-a", method="PROPFIND",
                     headers=["Depth: " + depth])
        expect_refused(dav, r, "directory", "/fleet/")
        assert B not in r.body
