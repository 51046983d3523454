# SPDX-License-Identifier: Apache-2.0
"""Connections: keep-alive with a switch of target, HTTP/2 streams, one
verification per TLS connection, the process cache across connections,
resumed TLS sessions, every MPM, and digest authentication on top."""

import hashlib
import os
import re
import ssl

import pytest

from tests.pphttpd.fixtures import ONE_PROCESS, FILES, checked, populate, serve
from tests.pphttpd import tlsclient
from tests.pphttpd.expect import A, B, C



def guarded(h, pki, extra=""):
    return """
    <Directory {d}>
        PolyProv On
        PolyProvTrustedCA {p}/polycom-chain.pem
        {extra}
    </Directory>
""".format(d=h.docroot, p=pki, extra=extra)


@pytest.fixture(scope="module")
def one(module, pki):
    """A single process, so the caches are observable."""
    def configure(h):
        populate(h)
        h.write(vhost=guarded(h, pki), loglevel="warn polyprov:debug",
                mpm_conf=ONE_PROCESS)
    yield from serve(module, pki, configure)


@pytest.fixture
def h(one):
    yield from checked(one)


def sources(h):
    return re.findall(r"PP002: allowed .* certificate=(\S+)", h.new_log())


def test_keepalive_switching_targets(h):
    rs = h.curl(["/%s.cfg" % A, "/%s.cfg" % B, "/%s.cfg" % A,
                 "/000000000000.cfg"], phone="phone-a")
    assert [r.status for r in rs] == [200, 403, 200, 200]
    assert [r.meta.split()[1] for r in rs] == ["1", "0", "0", "0"]  # 1 conn
    assert rs[0].body == FILES[A + ".cfg"] and "secret" not in rs[1].body
    rs = h.curl(["/%s.cfg" % A, "/%s.cfg" % B], phone="phone-b")
    assert [r.status for r in rs] == [403, 200]
    assert rs[1].body == FILES[B + ".cfg"]


def test_verified_once_per_connection(h):
    rs = h.curl(["/%s.cfg" % C] * 5, phone="phone-c")
    assert [r.status for r in rs] == [200] * 5
    assert len(re.findall(r"PP003: client certificate", h.new_log())) == 1
    src = sources(h)
    assert len(src) == 5
    assert src[0] in ("handshake", "process-cache")
    assert src[1:] == ["connection"] * 4


def test_new_connection_uses_process_cache(h):
    h.curl("/%s.cfg" % A, phone="phone-a")
    h.mark()
    for _ in range(3):
        assert h.curl("/%s.cfg" % A, phone="phone-a").status == 200
    assert sources(h) == ["process-cache"] * 3


def test_http2_streams(h):
    paths = ["/%s.cfg" % A, "/%s.cfg" % B, "/000000000000.cfg",
             "/%s-phone.cfg" % A, "/%s-phone.cfg" % B] * 3
    rs = h.curl(paths, phone="phone-a", http2=True, extra=["-Z"])
    assert [r.meta.split()[2] for r in rs] == ["2"] * len(paths)
    assert [r.status for r in rs] == [200, 403, 200, 200, 403] * 3
    assert all("secret of B" not in r.body for r in rs)
    # one check for the connection, however many streams run in parallel
    checks = re.findall(r"PP003: client certificate", h.new_log())
    assert len(checks) == 1, h.new_log()


def test_http2_sequential_streams_reuse_the_verdict(h):
    rs = h.curl(["/%s.cfg" % B] * 4, phone="phone-b", http2=True)
    assert [r.status for r in rs] == [200] * 4
    assert [r.meta.split()[1] for r in rs] == ["1", "0", "0", "0"]
    assert sources(h)[1:] == ["connection"] * 3


@pytest.mark.parametrize("version", [ssl.TLSVersion.TLSv1_2,
                                     ssl.TLSVersion.TLSv1_3])
def test_resumed_sessions(h, pki, version):
    """mod_ssl has no peer chain on a resumed session: the intermediates
    come from PolyProvTrustedCA, and the verdicts are the same."""
    ctx = tlsclient.context(pki, "phone-a", version)
    ex = tlsclient.exchange(ctx, h.port, ["/%s.cfg" % A])
    assert ex.statuses == [200] and not ex.reused, ex
    ex = tlsclient.exchange(ctx, h.port, ["/%s.cfg" % A],
                            session=ex.session)
    assert ex.reused, "the session was not resumed"
    assert ex.statuses == [200]
    assert ex.responses[0].body == FILES[A + ".cfg"]
    ex = tlsclient.exchange(ctx, h.port, ["/%s.cfg" % B],
                            session=ex.session)
    assert ex.reused
    assert ex.statuses == [403] and "secret of B" not in ex.responses[0].body


@pytest.mark.parametrize("mpm", ["prefork", "worker"])
def test_other_mpms(servers, pki, mpm):
    hh = servers(mpm=mpm)
    populate(hh)
    hh.write(mpm=mpm, vhost=guarded(hh, pki))
    hh.start()
    rs = hh.curl(["/%s.cfg" % A, "/%s.cfg" % B, "/site.cfg"],
                 phone="phone-a")
    assert [r.status for r in rs] == [200, 403, 200]
    assert hh.curl("/%s.cfg" % A, phone="forged-a").status == 403
    if mpm != "prefork":        # mod_http2 is inactive under prefork
        rs = hh.curl(["/%s.cfg" % A, "/%s.cfg" % B], phone="phone-a",
                     http2=True)
        assert [r.status for r in rs] == [200, 403]
        assert rs[0].meta.split()[2] == "2"


def htdigest(path, user, realm, password):
    ha1 = hashlib.md5(("%s:%s:%s" % (user, realm, password)).encode())
    with open(path, "w") as f:
        f.write("%s:%s:%s\n" % (user, realm, ha1.hexdigest()))
    os.chmod(path, 0o644)


def test_digest_and_certificate_both_required(servers, pki):
    hh = servers()
    populate(hh)
    pw = os.path.join(hh.root, "digest.pw")
    htdigest(pw, "phone", "provisioning", "s3cret")
    hh.write(vhost=guarded(hh, pki, extra="""
        AuthType Digest
        AuthName provisioning
        AuthDigestProvider file
        AuthUserFile {pw}
        Require valid-user
""".format(pw=pw)))
    hh.start()
    hh.mark()
    auth = ["--digest", "-u", "phone:s3cret"]
    assert hh.curl("/%s.cfg" % A, phone="phone-a").status == 401
    r = hh.curl("/%s.cfg" % A, phone="phone-a", extra=auth)
    assert r.status == 200 and r.body == FILES[A + ".cfg"]
    assert hh.curl("/%s.cfg" % B, phone="phone-a", extra=auth).status == 403
    assert hh.curl("/%s.cfg" % A, phone="forged-a", extra=auth).status == 403
    assert hh.curl("/%s.cfg" % A, phone="phone-a",
                   extra=["--digest", "-u", "phone:wrong"]).status == 401


def test_handshake_failures_say_why_in_mod_ssls_log(servers, pki):
    """docs/operations.md, "A phone that gets no HTTP status at all": the mod_ssl lines
    it tells operators to look for are the ones mod_ssl writes."""
    h = servers()
    populate(h)
    h.write(vhost=guarded(h, pki), loglevel="warn ssl:info")
    for line in (r"AH02276", r"AH02040", r"AH0200[0-9]", r"AH0201[0-9]",
                 r"SSL Library Error"):
        h.expect_log(line)
    h.start()
    h.mark()
    assert h.curl("/%s.cfg" % A, phone="expired-a").status == 0
    assert h.curl("/%s.cfg" % A, phone="notyet-a").status == 0
    assert h.curl("/%s.cfg" % A, phone="server-eku-a").status == 0
    log = h.new_log()
    assert re.search(r"AH02276: Certificate Verification: Error \(26\): "
                     r"unsuitable certificate purpose", log), log
    assert re.search(r"AH02276: Certificate Verification: Error \(10\): "
                     r"certificate has expired", log), log
    assert re.search(r"AH02276: Certificate Verification: Error \(9\): "
                     r"certificate is not yet valid", log), log
    assert "PP001" not in log          # the module never saw them
    h.stop()
    h.write(vhost=guarded(h, pki), loglevel="warn ssl:info",
            vhost_ssl_extra="SSLVerifyDepth 1\n    SSLCACertificateFile "
            "%s/polycom-chain.pem" % pki)
    h.start()
    h.mark()
    assert h.curl("/%s.cfg" % A, phone="phone-a").status == 0
    assert re.search(r"AH02040: Certificate Verification: Certificate Chain "
                     r"too long", h.new_log()), h.new_log()
    # a chain that does not reach a CA of SSLCACertificateFile
    assert h.curl("/%s.cfg" % A, phone="corp-a").status == 0
    assert re.search(r"AH02276: Certificate Verification: Error \(20\): "
                     r"unable to get local issuer certificate", h.new_log()), \
        h.new_log()


# -- expired phone certificates (PolyProvAllowExpired) -----------------------

E, F = "0004f2000f06", "0004f2001007"      # expired a day, ten years ago


def expiring_config(h, pki):
    """PolyProv On for the document root, expired certificates allowed
    below /ok/ only."""
    files = dict(FILES)
    files[E + ".cfg"] = "secret of E\n"
    files[F + ".cfg"] = "secret of F\n"
    populate(h, files)
    populate(h, {"ok/" + k: v for k, v in files.items()})
    return guarded(h, pki) + """
    <Location /ok/>
        PolyProvAllowExpired On
    </Location>
"""


@pytest.fixture(scope="module")
def expiring(module, pki):
    def configure(h):
        h.write(vhost=expiring_config(h, pki), loglevel="warn polyprov:debug",
                mpm_conf=ONE_PROCESS)
    yield from serve(module, pki, configure)


@pytest.fixture
def x(expiring):
    yield from checked(expiring)


@pytest.mark.parametrize("phone,mac", [("expired-day", E),
                                       ("expired-decade", F)])
def test_expired_phone_over_http2(x, phone, mac):
    paths = ["/ok/%s.cfg" % mac, "/ok/%s.cfg" % B, "/%s.cfg" % mac,
             "/ok/000000000000.cfg"] * 3
    rs = x.curl(paths, phone=phone, http2=True, extra=["-Z"])
    assert [r.meta.split()[2] for r in rs] == ["2"] * len(paths)
    assert [r.status for r in rs] == [200, 403, 403, 200] * 3, rs
    assert rs[0].body == {E: "secret of E\n", F: "secret of F\n"}[mac]
    assert all("secret of B" not in r.body for r in rs)
    # one check for the connection; the scope without the directive
    # refuses the same verdict
    assert len(re.findall(r"PP003: client certificate", x.new_log())) == 1
    lines = [l for l in x.refusals() if 'uri="/%s.cfg"' % mac in l]
    assert lines and all("PolyProvAllowExpired is not On here" in l
                         for l in lines), lines


@pytest.mark.parametrize("version", [ssl.TLSVersion.TLSv1_2,
                                     ssl.TLSVersion.TLSv1_3])
def test_expired_phone_resumed_sessions(x, pki, version):
    ctx = tlsclient.context(pki, "expired-day", version)
    ex = tlsclient.exchange(ctx, x.port, ["/ok/%s.cfg" % E])
    assert ex.statuses == [200] and not ex.reused, ex
    again = tlsclient.exchange(ctx, x.port, ["/ok/%s.cfg" % E,
                                             "/ok/%s.cfg" % A, "/%s.cfg" % E],
                               session=ex.session)
    assert again.reused, "the session was not resumed"
    assert again.statuses == [200, 403, 403], again
    assert again.responses[0].body == "secret of E\n"


@pytest.mark.parametrize("mpm", ["prefork", "worker", "event"])
def test_expired_phone_under_every_mpm(servers, pki, mpm):
    hh = servers(mpm=mpm)
    hh.write(mpm=mpm, vhost=expiring_config(hh, pki))
    hh.start()
    for phone, mac in (("expired-day", E), ("expired-decade", F)):
        rs = hh.curl(["/ok/%s.cfg" % mac, "/ok/%s.cfg" % A, "/%s.cfg" % mac],
                     phone=phone)
        assert [r.status for r in rs] == [200, 403, 403], (mpm, rs)
        if mpm != "prefork":        # mod_http2 is inactive under prefork
            rs = hh.curl(["/ok/%s.cfg" % mac, "/%s.cfg" % mac], phone=phone,
                         http2=True)
            assert [r.status for r in rs] == [200, 403], (mpm, rs)
            assert rs[0].meta.split()[2] == "2"
    ctx = tlsclient.context(pki, "expired-day")
    first = tlsclient.exchange(ctx, hh.port, ["/ok/%s.cfg" % E])
    again = tlsclient.exchange(ctx, hh.port, ["/ok/%s.cfg" % E],
                               session=first.session)
    assert first.statuses == again.statuses == [200] and again.reused
    # the phones of other CAs and not yet valid: as without the directive
    for phone in ("notyet-a", "corp-expired"):
        assert hh.curl("/ok/%s.cfg" % E, phone=phone).status == 0, phone
    assert hh.curl("/ok/%s.cfg" % A, phone="phone-a").status == 200


def test_expired_phone_on_a_per_directory_sslverifyclient(servers, pki):
    """A per-directory SSLVerifyClient asks for the certificate after the
    handshake (a renegotiation under TLS 1.2, post-handshake
    authentication under 1.3): mod_ssl installs its own verify callback
    then, and the waiver holds all the same."""
    hh = servers()
    hh.write(verify="none", vhost=expiring_config(hh, pki) + """
    <Location /ok/>
        SSLVerifyClient require
    </Location>
    <Location /other/>
        SSLVerifyClient require
        PolyProv Off
        Require ssl-verify-client
    </Location>
""")
    hh.put("other/x.txt", "neighbour\n")
    hh.start()
    for version in (ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3):
        ctx = tlsclient.context(pki, "expired-day", version, pha=True)
        ex = tlsclient.exchange(ctx, hh.port, ["/ok/%s.cfg" % E])
        assert ex.statuses == [200], (version, ex, hh.log_text()[-2000:])
        assert ex.responses[0].body == "secret of E\n"
        # the certificate comes in mod_ssl's access hook, after the
        # module's first look: the fixups guard still refuses
        ex = tlsclient.exchange(ctx, hh.port, ["/other/x.txt"])
        assert ex.statuses == [403], (version, ex)
        assert "neighbour" not in ex.responses[0].body
        ctx = tlsclient.context(pki, "phone-a", version, pha=True)
        ex = tlsclient.exchange(ctx, hh.port, ["/other/x.txt"])
        assert ex.statuses == [200], (version, ex)


def test_expired_phone_only_on_the_sni_host_that_allows_it(servers, pki):
    """Two name-based hosts on one port, the default one (first) without
    the directive, the second with it: the SNI name picks the host, and
    with it the handshake's rules; no SNI is the default host's."""
    hh = servers()
    files = {E + ".cfg": "secret of E\n"}
    populate(hh, files)

    def host(name, extra):
        return """
<VirtualHost 127.0.0.1:{port}>
    ServerName {name}
    SSLEngine on
    SSLCertificateFile {p}/server.crt
    SSLCertificateKeyFile {p}/server.key
    SSLCACertificateFile {p}/ssl-client-ca.pem
    SSLVerifyClient require
    SSLVerifyDepth 5
    DocumentRoot {d}
    <Directory {d}>
        Require all granted
        PolyProv On
        PolyProvTrustedCA {p}/polycom-chain.pem{extra}
    </Directory>
</VirtualHost>
""".format(port=hh.port, name=name, p=pki, d=hh.docroot, extra=extra)
    hh.write(vhosts=host("plain.test", "")
             + host("legacy.test", "\n        PolyProvAllowExpired On"))
    hh.start()
    for version in (ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3):
        ctx = tlsclient.context(pki, "expired-day", version)
        ex = tlsclient.exchange(ctx, hh.port, ["/%s.cfg" % E],
                                sni="legacy.test")
        assert ex.statuses == [200], (version, ex)
        for sni in ("plain.test", "unknown.test", None):
            ex = tlsclient.exchange(ctx, hh.port, ["/%s.cfg" % E], sni=sni,
                                    host="plain.test")
            assert ex.error is not None and ex.statuses == [], (sni, ex)
