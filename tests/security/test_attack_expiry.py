# SPDX-License-Identifier: Apache-2.0
"""Attack class: expired certificates (PolyProvAllowExpired).

Where a scope says PolyProvAllowExpired On, the module lets a phone's
certificate past its notAfter through mod_ssl's handshake and serves it;
nothing else may be loosened.  Three name-based TLS hosts on one port:

* prov.test (the default host): ``SSLVerifyClient require`` or
  ``optional_no_ca`` (the fixture's parameter), mod_ssl trusting the
  Polycom chain, a corporate CA and a forged "Polycom" chain;
  PolyProv On for the document root, PolyProvAllowExpired On below /ok/
  only (with a CRL, a deny list, an issuer pin, and a bundle holding an
  expired Issuing CA in sub-scopes), and neighbours that trust mod_ssl's
  verdict instead: ``Require ssl-verify-client`` (/other/),
  ``%{SSL_CLIENT_VERIFY}`` (/env/), and a PolyProv SharedOnly scope;
* other.test: the same, without PolyProvAllowExpired anywhere (and with
  the ``Require ssl-verify-client`` neighbour);
* rootless.test: ``optional_no_ca`` trusting only the corporate CA, with
  PolyProvAllowExpired On: a client that sends the Polycom root itself
  brings no trust anchor.

Each case names its outcome, on TLS 1.2 and 1.3: ``"handshake"`` (mod_ssl
ends the handshake, as without the module), ``"allow"`` (served),
``"guard"`` (refused because the connection's certificate is expired and
the scope does not judge it, PP046) or the module's reason (PP001).
"""

import os
import re
import ssl

import pytest

from tests.pphttpd import tlsclient
from tests.pphttpd.expect import A, B, access_entry
from tests.pphttpd.fixtures import FILES, checked, populate, serve

E, F, G, H, J = ("0004f2000f06", "0004f2001007", "0004f2001108",
                 "0004f2001209", "0004f2001300")
VERSIONS = [ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3]

# (host, phone, chain file or None, path, outcome)
CASES = [
    # the enabled scope: its own file, not another phone's
    ("prov.test", "expired-day", None, "/ok/%s.cfg" % E, "allow"),
    ("prov.test", "expired-decade", None, "/ok/%s.cfg" % F, "allow"),
    ("prov.test", "expired-day", None, "/ok/000000000000.cfg", "allow"),
    ("prov.test", "expired-day", None, "/ok/%s.cfg" % B, "not-owner"),
    ("prov.test", "expired-decade", None, "/ok/%s.cfg" % E, "not-owner"),
    # the same host, a scope without the directive: the module refuses
    ("prov.test", "expired-day", None, "/%s.cfg" % E, "untrusted"),
    ("prov.test", "expired-decade", None, "/%s.cfg" % F, "untrusted"),
    # neighbours that would trust mod_ssl's verdict (SUCCESS)
    ("prov.test", "expired-day", None, "/other/x.txt", "guard"),
    ("prov.test", "expired-day", None, "/env/x.txt", "guard"),
    ("prov.test", "expired-day", None, "/bootrom/000000000000.cfg", "guard"),
    ("prov.test", "phone-a", None, "/other/x.txt", "allow"),
    ("prov.test", "phone-a", None, "/env/x.txt", "allow"),
    ("prov.test", "phone-a", None, "/bootrom/000000000000.cfg", "allow"),
    # nothing else loosened in the enabled scope
    ("prov.test", "notyet-a", None, "/ok/%s.cfg" % A, "handshake"),
    ("prov.test", "expired-revoked", None, "/ok/crl/%s.cfg" % H,
     "untrusted"),
    ("prov.test", "expired-day", None, "/ok/crl/%s.cfg" % E, "allow"),
    ("prov.test", "expired-day", None, "/ok/deny/%s.cfg" % E, "deny-list"),
    ("prov.test", "expired-day-ic2", None, "/ok/pinned/%s.cfg" % G,
     "issuer"),
    ("prov.test", "expired-day", None, "/ok/pinned/%s.cfg" % E, "allow"),
    ("prov.test", "expired-oldca", None, "/ok/oldca/%s.cfg" % J,
     "handshake"),
    # other CAs the host trusts: expired is refused by mod_ssl as before
    ("prov.test", "corp-expired", None, "/ok/%s.cfg" % E, "handshake"),
    ("prov.test", "forged-expired", None, "/ok/%s.cfg" % E, "handshake"),
    ("prov.test", "corp-a", None, "/ok/%s.cfg" % A, "untrusted"),
    # another virtual host (SNI) without the directive: as before
    ("other.test", "expired-day", None, "/%s.cfg" % E, "handshake"),
    ("other.test", "expired-decade", None, "/%s.cfg" % F, "handshake"),
    ("other.test", "phone-a", None, "/%s.cfg" % A, "allow"),
    # the client sends the Polycom root itself: no trust anchor
    ("rootless.test", "expired-day", "expired-day.full.pem",
     "/%s.cfg" % E, "handshake"),
    ("rootless.test", "phone-a", "phone-a.full.pem", "/%s.cfg" % A,
     "allow"),
]


def configure(h, pki, manifest, verify):
    files = dict(FILES)
    for mac in (E, F, G, H, J):
        files[mac + ".cfg"] = "secret of %s\n" % mac
    populate(h, files)
    for sub in ("ok", "ok/crl", "ok/deny", "ok/pinned", "ok/oldca"):
        populate(h, {"%s/%s" % (sub, k): v for k, v in files.items()})
    for sub in ("other", "env", "bootrom"):
        populate(h, {sub + "/x.txt": "neighbour of %s\n" % sub,
                     sub + "/000000000000.cfg": "shared\n"})
    deny = h.list_file("deny.txt", "%s\n" % E)
    d, port = h.docroot, h.port

    def host(name, verify_mode, ca, inner, alias=""):
        return f"""
<VirtualHost 127.0.0.1:{port}>
    ServerName {name}{alias}
    Protocols h2 http/1.1
    SSLEngine on
    SSLCertificateFile {pki}/server.crt
    SSLCertificateKeyFile {pki}/server.key
    SSLCACertificateFile {pki}/{ca}
    SSLVerifyClient {verify_mode}
    SSLVerifyDepth 5
    DocumentRoot {d}
    Header always set X-SSL-Verify "%{{SSL_CLIENT_VERIFY}}s"
    Header always set X-SSL-V-End "%{{SSL_CLIENT_V_END}}s"
    Header always set X-SSL-V-Remain "%{{SSL_CLIENT_V_REMAIN}}s"
    <Directory {d}>
        Require all granted
        PolyProv On
        PolyProvTrustedCA {pki}/polycom-chain.pem
    </Directory>{inner}
</VirtualHost>
"""
    prov = f"""
    <Location /ok/>
        PolyProvAllowExpired On
    </Location>
    <Location /ok/crl/>
        PolyProvTrustedCA {pki}/polycom-chain.pem
        PolyProvCRL {pki}/crl-all.pem
    </Location>
    <Location /ok/deny/>
        PolyProvDenyList {deny}
    </Location>
    <Location /ok/pinned/>
        PolyProvIssuerFingerprint sha256:{manifest["issuing1"]["sha256"]}
    </Location>
    <Location /ok/oldca/>
        PolyProvTrustedCA {pki}/polycom-chain-oldca.pem
    </Location>
    <Location /other/>
        PolyProv Off
        Require ssl-verify-client
    </Location>
    <Location /env/>
        PolyProv Off
        <If "%{{SSL_CLIENT_VERIFY}} == 'SUCCESS'">
            Require all granted
        </If>
        <Else>
            Require all denied
        </Else>
    </Location>
    <Location /bootrom/>
        PolyProv SharedOnly
        PolyProvSharedFiles 000000000000*.cfg *.ld
    </Location>"""
    other = """
    <Location /other/>
        PolyProv Off
        Require ssl-verify-client
    </Location>"""
    rootless = """
    PolyProvAllowExpired On"""
    vhosts = (host("prov.test", verify, "ssl-client-ca.pem", prov,
                   alias="\n    ServerAlias localhost")
              + host("other.test", verify, "ssl-client-ca.pem", other)
              + host("rootless.test", "optional_no_ca", "corp-ca.crt",
                     rootless))
    # Issuing CA 0 of the oldca bundle has expired (PP009)
    h.expect_log(r"PP009: PolyProvTrustedCA .*polycom-chain-oldca\.pem")
    h.write(vhosts=vhosts, loglevel="warn polyprov:debug ssl:info")
    h.verify = verify


@pytest.fixture(scope="module", params=["require", "optional_no_ca"])
def server(request, module, pki, manifest):
    yield from serve(module, pki,
                     lambda h: configure(h, pki, manifest, request.param))


@pytest.fixture
def h(server):
    yield from checked(server)


def _id(case):
    return "%s-%s-%s" % (case[0].split(".")[0], case[1],
                         case[3].strip("/").replace("/", "-"))


@pytest.mark.parametrize("version", VERSIONS, ids=["tls1.2", "tls1.3"])
@pytest.mark.parametrize("case", CASES, ids=[_id(c) for c in CASES])
def test_expired_certificate(h, pki, case, version):
    host, phone, chain, path, outcome = case
    ctx = tlsclient.context(pki, phone, version, chain=chain)
    ex = tlsclient.exchange(ctx, h.port, [path], sni=host)
    log = h.new_log()
    if outcome == "handshake":
        assert ex.error is not None and ex.statuses == [], ex
        assert "PP001" not in log and "PP046" not in log, log
        assert "PP047" not in log, log
        if phone in ("corp-expired", "forged-expired"):
            # the module says why it left the certificate to mod_ssl
            assert re.search(r"PP048: .*not in PolyProvTrustedCA", log), log
            assert "AH02276: Certificate Verification: Error (10)" in log
        return
    assert ex.error is None and len(ex.statuses) == 1, (ex, log[-3000:])
    r = ex.responses[0]
    name = os.path.join(h.docroot, path.lstrip("/"))
    if outcome == "allow":
        with open(name) as f:
            assert r.status == 200 and r.body == f.read(), (r, log[-3000:])
        return
    assert r.status == 403, (r, log[-3000:])
    assert "secret" not in r.body and "neighbour" not in r.body
    if outcome == "guard":
        lines = [l for l in log.splitlines() if "PP046:" in l]
        assert lines and 'uri="%s"' % path in lines[-1], log[-3000:]
        assert "reason=untrusted" in lines[-1]
        assert "expired at " in lines[-1]
        assert "PP001" not in log, log
        return
    lines = [l for l in h.refusals() if "reason=%s " % outcome in l]
    assert lines, log[-3000:]
    if outcome == "untrusted" and phone.startswith("expired-day") \
            and "/crl/" not in path:
        assert "PolyProvAllowExpired is not On here" in lines[-1], lines[-1]
        assert re.search(r"expired at \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC",
                         lines[-1]), lines[-1]
    if phone == "expired-revoked":
        assert "revoked" in lines[-1], lines[-1]


def test_served_phone_is_logged_once_and_in_the_access_log(h, pki):
    ctx = tlsclient.context(pki, "expired-decade")
    for _ in range(2):
        ex = tlsclient.exchange(ctx, h.port, ["/ok/%s-phone.cfg" % A,
                                              "/ok/%s.cfg" % F],
                                sni="prov.test")
        assert ex.statuses == [403, 200], ex
    entry = access_entry(h, "/ok/%s.cfg" % F)
    assert re.search(r"mac=%s reason=- expired=20\d\d-\d\d-\d\dT\d\d:\d\d:"
                     r"\d\dZ " % F, entry), entry
    log = h.new_log()
    assert re.search(r"PP002: allowed mac=%s .* expired=20\d\d-" % F, log)
    # PP042 at notice once per certificate and process: every child of
    # the server logs it at most once, however many requests
    notices = re.findall(r"\[polyprov:notice\] \[pid (\d+).*PP042: accepted "
                         r"an expired certificate for mac=%s" % F,
                         h.log_text())
    assert notices and len(notices) == len(set(notices)), notices


def test_what_mod_ssl_says_of_such_a_connection(h, pki):
    """docs/directives.md: mod_ssl calls the connection verified (SUCCESS), with the
    notAfter in SSL_CLIENT_V_END and 0 days remaining."""
    ctx = tlsclient.context(pki, "expired-day")
    ex = tlsclient.exchange(ctx, h.port, ["/ok/%s.cfg" % E], sni="prov.test")
    assert ex.statuses == [200], ex
    hd = ex.responses[0].headers
    assert hd["x-ssl-verify"] == "SUCCESS", hd
    assert hd["x-ssl-v-remain"] == "0", hd
    assert re.match(r"\w{3} [ \d]\d \d\d:\d\d:\d\d \d{4} GMT$",
                    hd["x-ssl-v-end"]), hd
    log = h.new_log()
    assert "PP047: an expired client certificate under PolyProvTrustedCA " \
           "passed the handshake" in log, log


@pytest.mark.parametrize("version", VERSIONS, ids=["tls1.2", "tls1.3"])
def test_session_resumed_on_the_host_without_the_directive(h, pki, version):
    """A session of the expired phone from prov.test, offered to other.test:
    never served there (httpd does not resume across hosts; a full
    handshake then refuses the expired certificate)."""
    ctx = tlsclient.context(pki, "expired-day", version)
    first = tlsclient.exchange(ctx, h.port, ["/ok/%s.cfg" % E],
                               sni="prov.test")
    assert first.statuses == [200], first
    again = tlsclient.exchange(ctx, h.port, ["/%s.cfg" % E],
                               sni="other.test", session=first.session)
    assert 200 not in again.statuses, again
    assert all("secret" not in r.body for r in again.responses)


@pytest.mark.parametrize("version", VERSIONS, ids=["tls1.2", "tls1.3"])
def test_resumed_session_keeps_the_guard(h, pki, version):
    """mod_ssl does not verify again on a resumed session: the scope rules
    and the guard hold on it all the same."""
    ctx = tlsclient.context(pki, "expired-day", version)
    first = tlsclient.exchange(ctx, h.port, ["/ok/%s.cfg" % E],
                               sni="prov.test")
    again = tlsclient.exchange(ctx, h.port, ["/ok/%s.cfg" % E,
                                             "/%s.cfg" % E, "/other/x.txt",
                                             "/env/x.txt"],
                               sni="prov.test", session=first.session)
    assert again.reused, again
    assert again.statuses == [200, 403, 403, 403], again
    assert "neighbour" not in "".join(r.body for r in again.responses)


@pytest.mark.parametrize("path", ["/%s.cfg" % E, "/other/x.txt"])
def test_sni_of_the_enabled_host_host_header_of_another(h, pki, path):
    """The handshake on prov.test, the request for other.test (whose TLS
    settings are the same, so httpd serves it there): other.test's scopes
    do not allow expired certificates, and its neighbour that trusts
    mod_ssl's verdict is guarded all the same."""
    ctx = tlsclient.context(pki, "expired-day")
    ex = tlsclient.exchange(ctx, h.port, [path], sni="prov.test",
                            host="other.test")
    assert ex.statuses in ([421], [403]), ex
    assert all("secret" not in r.body and "neighbour" not in r.body
               for r in ex.responses)
    if ex.statuses == [403]:
        log = h.new_log()
        if path == "/other/x.txt":
            assert "PP046:" in log, log
        else:
            assert "PolyProvAllowExpired is not On here" in log, log


def test_http2_streams_of_an_expired_phone(h):
    """Parallel streams on one h2 connection: the enabled scope serves, the
    other scope and the neighbours refuse, stream by stream."""
    paths = ["/ok/%s.cfg" % E, "/other/x.txt", "/%s.cfg" % E, "/env/x.txt",
             "/ok/%s.cfg" % B] * 2
    rs = h.curl(paths, phone="expired-day", http2=True, extra=["-Z"])
    assert [r.meta.split()[2] for r in rs] == ["2"] * len(paths)
    assert [r.status for r in rs] == [200, 403, 403, 403, 403] * 2, rs
    assert all("neighbour" not in r.body and "secret of B" not in r.body
               for r in rs)
    assert len(re.findall(r"PP046:", h.new_log())) == 4, h.new_log()
