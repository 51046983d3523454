# SPDX-License-Identifier: Apache-2.0
"""Every row of docs/decisions.md's decision table, over real mutual TLS.

Each row is checked for the status, the reason in the error-log line
(with MAC, URI and client address) and POLYPROV_MAC / POLYPROV_REASON in
the access log.  The table runs on a vhost with ``SSLVerifyClient require``
and on one with ``optional_no_ca``, where the module is the only judge."""

import re

import pytest

from tests.pphttpd.fixtures import FILES, checked, populate, serve
from tests.pphttpd.expect import (A, B, C, expect_allowed, expect_refused,
                    handshake_refused, refusal_lines)


def table_config(h, pki, manifest):
    pin = manifest["issuing1"]["sha256"]
    lists = h.list_file("allow.txt", "# the fleet\n%s\n%s\n" % (A, B))
    deny = h.list_file("deny.txt", "%s\n" % B.upper())
    for sub in ("pinned", "listed", "noshare", "pattern"):
        populate(h, {"%s/%s" % (sub, k): v for k, v in FILES.items()})
    h.put("sub/%s.cfg" % A, "in a directory\n")
    guarded = """
    <Directory {docroot}>
        PolyProv On
        PolyProvTrustedCA {pki}/polycom-chain.pem
    </Directory>
    <Location /pinned/>
        PolyProvIssuerFingerprint sha256:{pin}
    </Location>
    <Location /listed/>
        PolyProvAllowList {allow}
        PolyProvDenyList {deny}
    </Location>
    <Location /noshare/>
        PolyProvSharedFiles none
    </Location>
    <Location /pattern/>
        PolyProvCNPattern "^Phone ([0-9A-Fa-f]{{12}}) desk$"
    </Location>
""".format(docroot=h.docroot, pki=pki, pin=pin, allow=lists, deny=deny)
    return guarded


@pytest.fixture(scope="module", params=["require", "optional_no_ca"])
def table(request, module, pki, manifest):
    def configure(h):
        populate(h)
        g = table_config(h, pki, manifest)
        h.write(vhost=g, plain_vhost=g, verify=request.param,
                loglevel="warn polyprov:debug")
        h.verify = request.param
    yield from serve(module, pki, configure)


@pytest.fixture
def t(table):
    yield from checked(table)


def test_allowed_own_file_sets_mac(t):
    r = t.curl("/%s.cfg" % A, phone="phone-a")
    expect_allowed(t, r, A, "/%s.cfg" % A, body=FILES[A + ".cfg"])
    assert refusal_lines(t) == []


def test_row1_no_tls(t):
    r = t.curl("/%s.cfg" % A, tls=False)
    expect_refused(t, r, "no-tls", "/%s.cfg" % A)
    assert "secret" not in r.body


def test_row2_no_cert(t):
    r = t.curl("/%s.cfg" % A)
    if t.verify == "require":
        assert handshake_refused(r)       # mod_ssl stops it first
    else:
        expect_refused(t, r, "no-cert", "/%s.cfg" % A)


@pytest.mark.parametrize("phone", ["forged-a", "corp-a"])
def test_row3_untrusted_ca_that_mod_ssl_accepts(t, phone):
    # the vhost trusts the forged chain and a corporate CA too:
    # mod_ssl lets these through, the module refuses them
    r = t.curl("/%s.cfg" % A, phone=phone)
    line = expect_refused(t, r, "untrusted", "/%s.cfg" % A)
    assert "mac=- " in line
    assert "secret" not in r.body


# What happens to each look-alike: "403" (the module refuses it, reason
# untrusted) or "handshake" (mod_ssl refuses it first).  Under
# optional_no_ca mod_ssl ignores chain errors only; purpose and validity
# errors still end the handshake.
ONLY_JUDGE = {
    ("selfsigned-a", "require"): "handshake",
    ("selfsigned-a", "optional_no_ca"): "403",
    ("ca-as-device", "require"): "403",
    ("ca-as-device", "optional_no_ca"): "403",
    ("server-eku-a", "require"): "handshake",
    ("server-eku-a", "optional_no_ca"): "handshake",
}


@pytest.mark.parametrize("phone", ["selfsigned-a", "ca-as-device",
                                   "server-eku-a"])
def test_row3_untrusted_only_judge(t, phone):
    r = t.curl("/%s.cfg" % A, phone=phone)
    if ONLY_JUDGE[(phone, t.verify)] == "handshake":
        assert handshake_refused(r), r
    else:
        expect_refused(t, r, "untrusted", "/%s.cfg" % A)


@pytest.mark.parametrize("phone", ["expired-a", "notyet-a"])
def test_row3_out_of_date_refused_by_mod_ssl(t, phone):
    # mod_ssl refuses an expired or not yet valid client certificate
    # during the handshake, even under optional_no_ca; the module never
    # sees it (an expired one passes only where PolyProvAllowExpired is On
    # on the host: tests/security/test_attack_expiry.py)
    r = t.curl("/%s.cfg" % A, phone=phone)
    assert handshake_refused(r), r
    assert "secret" not in r.body


def test_row4_issuer_pinned(t):
    ok = t.curl("/pinned/%s.cfg" % A, phone="phone-a")
    expect_allowed(t, ok, A, "/pinned/%s.cfg" % A)
    r = t.curl("/pinned/%s.cfg" % C, phone="phone-c")
    line = expect_refused(t, r, "issuer", "/pinned/%s.cfg" % C)
    assert "is not pinned" in line
    r = t.curl("/pinned/0004f2000d04.cfg", phone="phone-d-root")
    expect_refused(t, r, "issuer", "/pinned/0004f2000d04.cfg")


@pytest.mark.parametrize("phone", ["two-cn", "no-cn", "cn-zero", "cn-13hex",
                                   "cn-colons", "cn-words"])
def test_row5_bad_cn(t, phone):
    for path in ("/%s.cfg" % A, "/000000000000.cfg"):
        r = t.curl(path, phone=phone)
        expect_refused(t, r, "bad-cn", path)


def test_row5_pattern_takes_the_group(t):
    r = t.curl("/pattern/%s.cfg" % A, phone="cn-words")
    expect_allowed(t, r, A, "/pattern/%s.cfg" % A)
    r = t.curl("/pattern/%s.cfg" % A, phone="phone-a")
    expect_refused(t, r, "bad-cn", "/pattern/%s.cfg" % A)


def test_row5_pattern_per_scope_on_one_connection(t):
    """The connection keeps the MAC its certificate's CN gives for one
    pattern; a request on it in a scope with another PolyProvCNPattern is
    judged by that scope's, and the next one back by the first again."""
    wrong = "/pattern/%s.cfg" % A, "/%s.cfg" % A
    for phone, paths, want in (
            ("phone-a", ["/%s.cfg" % A, "/pattern/%s.cfg" % A,
                         "/%s.cfg" % A], [200, 403, 200]),
            ("cn-words", ["/pattern/%s.cfg" % A, "/%s.cfg" % A,
                          "/pattern/%s.cfg" % A], [200, 403, 200])):
        t.mark()
        rs = t.curl(paths, phone=phone)
        assert [r.status for r in rs] == want, (phone, rs)
        lines = refusal_lines(t)
        assert len(lines) == 1, lines
        assert "reason=bad-cn " in lines[0], lines
        assert 'uri="%s"' % wrong[phone == "cn-words"] in lines[0], lines


def test_row6_deny_list_wins(t):
    # B is on both lists
    r = t.curl("/listed/%s.cfg" % B, phone="phone-b")
    line = expect_refused(t, r, "deny-list", "/listed/%s.cfg" % B, mac=B)
    assert "secret" not in r.body
    # the line says which list
    assert re.search(r"detail=listed in \S+deny", line), line


def test_row7_allow_list(t):
    r = t.curl("/listed/%s.cfg" % C, phone="phone-c")
    line = expect_refused(t, r, "allow-list", "/listed/%s.cfg" % C, mac=C)
    assert re.search(r"detail=not in \S+allow", line), line
    r = t.curl("/listed/%s.cfg" % A, phone="phone-a")
    expect_allowed(t, r, A, "/listed/%s.cfg" % A)
    # the lists apply to shared files too
    r = t.curl("/listed/000000000000.cfg", phone="phone-c")
    expect_refused(t, r, "allow-list", "/listed/000000000000.cfg")


@pytest.mark.parametrize("path", ["/", "/sub/", "/sub"])
def test_row8_directory(t, path):
    r = t.curl(path, phone="phone-a")
    if path == "/sub":
        # mod_dir redirects /sub to /sub/ only if access passes: it must not
        assert r.status == 403
    expect_refused(t, r, "directory", path)


def test_row9_not_owner(t):
    r = t.curl("/%s.cfg" % B, phone="phone-a")
    expect_refused(t, r, "not-owner", "/%s.cfg" % B, mac=A)
    assert "secret" not in r.body


def test_row9_shared_readonly(t):
    r = t.curl("/000000000000.cfg", phone="phone-a", method="PUT",
               data="overwrite")
    expect_refused(t, r, "shared-readonly", "/000000000000.cfg", mac=A)
    assert t.read("000000000000.cfg").decode() == FILES["000000000000.cfg"]


def test_row9_not_shared(t):
    r = t.curl("/noshare/000000000000.cfg", phone="phone-a")
    expect_refused(t, r, "not-shared", "/noshare/000000000000.cfg", mac=A)
    r = t.curl("/noshare/%s.cfg" % A, phone="phone-a")
    expect_allowed(t, r, A, "/noshare/%s.cfg" % A)


@pytest.mark.parametrize("path", ["/000000000000.cfg",
                                  "/000000000000-license.cfg", "/site.cfg",
                                  "/3111-40250-001.sip.ld"])
def test_shared_files_for_every_verified_device(t, path):
    for phone, mac in (("phone-a", A), ("phone-c", C)):
        r = t.curl(path, phone=phone)
        expect_allowed(t, r, mac, path, body=FILES[path.lstrip("/")])


def test_upper_case_request_is_the_same_device(t):
    t.put("%s-web.cfg" % A.upper(), "web of A\n")
    r = t.curl("/%s-web.cfg" % A.upper(), phone="phone-a")
    expect_allowed(t, r, A, "/%s-web.cfg" % A.upper())
    r = t.curl("/%s-web.cfg" % A.upper(), phone="phone-b")
    expect_refused(t, r, "not-owner", "/%s-web.cfg" % A.upper())
