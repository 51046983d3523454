# SPDX-License-Identifier: Apache-2.0
"""Attack class: renegotiation and post-handshake authentication.

A `<Directory>` with `SSLVerifyClient require` under a virtual host that
asks for no certificate (or for an optional one) makes mod_ssl ask for the
certificate in the middle of the connection: a TLS 1.2 renegotiation, a
TLS 1.3 post-handshake authentication (PHA, only if the client offered it),
and neither under HTTP/2, where mod_ssl refuses the request and mod_http2
resets the stream with HTTP_1_1_REQUIRED.  The module must judge each
request by the certificate the connection holds when the request is
decided, including a second certificate that a later renegotiation brought
(a directory with another SSLCipherSuite, or a stricter SSLVerifyClient).

Every request carries a token in its query; logs/tls.log tells, per token,
what mod_ssl holds for the request (protocol, the client certificate's CN
and issuer) next to the module's decision (POLYPROV_MAC, POLYPROV_REASON):
a request mod_ssl refused before the module ran has neither."""

import itertools
import os
import re
import ssl
import time

import pytest

from tests.pphttpd import tlsclient
from tests.pphttpd.expect import A, B
from tests.pphttpd.fixtures import FILES, checked, populate, serve

TLS12, TLS13 = ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3
# a cipher other than the one the handshake picks (AES-256): asking for it
# in a directory makes mod_ssl renegotiate a TLS 1.2 connection
OTHER_CIPHER = "ECDHE-RSA-AES128-GCM-SHA256"

TLS_LOG_FORMAT = ('tls %{SSL_PROTOCOL}x cn=%{SSL_CLIENT_S_DN_CN}x '
                  'issuer=\\"%{SSL_CLIENT_I_DN_CN}x\\" \\"%r\\" %>s '
                  'mac=%{POLYPROV_MAC}e reason=%{POLYPROV_REASON}e')
TLS_LINE = re.compile(r'tls (?P<proto>\S+) cn=(?P<cn>\S*) '
                      r'issuer="(?P<issuer>[^"]*)" "(?P<request>[^"]*)" '
                      r'(?P<status>\d+) mac=(?P<mac>\S+) '
                      r'reason=(?P<reason>\S+)')

_tokens = itertools.count(1)


def configure(h, pki):
    """One document root, PolyProv On for all of it; /secure wants a
    certificate, /secure/again another cipher too.  Three hosts on one
    port differ in what the handshake asks for:

    * localhost (the default, and curl's): SSLVerifyClient none;
    * optional.test: optional;
    * require.test: require."""
    populate(h)
    for mac in (A, B):
        h.put("secure/%s.cfg" % mac, "secure file of %s\n" % mac)
        h.put("secure/again/%s.cfg" % mac, "again file of %s\n" % mac)
    d = h.docroot
    server = f"""
<Directory {d}>
    Require all granted
    PolyProv On
    PolyProvTrustedCA {pki}/polycom-chain.pem
</Directory>
<Directory {d}/secure>
    SSLVerifyClient require
</Directory>
<Directory {d}/secure/again>
    SSLCipherSuite {OTHER_CIPHER}
</Directory>
CustomLog {h.root}/logs/tls.log "{TLS_LOG_FORMAT}"
"""

    def tls_host(name, verify):
        return f"""
<VirtualHost 127.0.0.1:{h.port}>
    ServerName {name}
    Protocols h2 http/1.1
    SSLEngine on
    SSLCertificateFile {pki}/server.crt
    SSLCertificateKeyFile {pki}/server.key
    SSLCACertificateFile {pki}/ssl-client-ca.pem
    SSLVerifyClient {verify}
    SSLVerifyDepth 5
    DocumentRoot {d}
</VirtualHost>
"""
    vhosts = (tls_host("localhost", "none")
              + tls_host("optional.test", "optional")
              + tls_host("require.test", "require"))
    h.write(server=server, vhosts=vhosts,
            loglevel="warn ssl:info polyprov:debug")


@pytest.fixture(scope="module")
def server(module, pki):
    yield from serve(module, pki, lambda hh: configure(hh, pki))


@pytest.fixture
def h(server):
    yield from checked(server)


# -- what the logs say -------------------------------------------------------

def tokened(path):
    return "%s?q=%d" % (path, next(_tokens))


def tls_entries(h, path, want=1, timeout=3.0):
    """The tls.log lines of a tokened path (logged after the response)."""
    deadline = time.time() + timeout
    while True:
        try:
            with open(os.path.join(h.root, "logs", "tls.log")) as f:
                lines = [l for l in f if " %s HTTP/" % path in l]
        except OSError:
            lines = []
        if len(lines) >= want or time.time() > deadline:
            return [TLS_LINE.search(l).groupdict() for l in lines]
        time.sleep(0.05)


def tls_entry(h, path):
    entries = tls_entries(h, path)
    assert len(entries) == 1, (path, entries)
    return entries[0]


def owner(path):
    return A if A in path else B if B in path else None


def holder(entry):
    """Whose certificate mod_ssl holds for the request: the MAC of a
    genuine phone's, "untrusted" for another CA's, None for none."""
    if not entry["cn"] or entry["cn"] == "-":
        return None
    if entry["issuer"].startswith("Polycom Equipment Issuing CA"):
        return entry["cn"].lower()
    return "untrusted"


def judged_as_held(path, status, entry):
    """What is wrong with the decision on path, judged by the certificate
    mod_ssl holds for it ('' when nothing is)."""
    got = (status, entry["mac"], entry["reason"])
    if entry["mac"] == "-" and entry["reason"] == "-":
        # mod_ssl refused before the module ran: only a refusal will do
        return "" if status == 403 else "served without a decision %r" % (
            got,)
    who = holder(entry)
    if who == "untrusted":
        want = (403, None, "untrusted")
        ok = status == 403 and entry["reason"] == "untrusted"
    elif who == owner(path):
        want = (200, who, "-")
        ok = got == want
    else:
        want = (403, who, "not-owner")
        ok = got == want
    return "" if ok else "held %s (issuer %s): want %r, got %r" % (
        entry["cn"], entry["issuer"], want, got)


# -- a certificate asked for by a directory ----------------------------------

@pytest.mark.parametrize("client", ["python", "curl"])
@pytest.mark.parametrize("version", [TLS12, TLS13],
                         ids=["tls1.2-renegotiation", "tls1.3-pha"])
def test_directory_require_asks_after_the_handshake(h, pki, version,
                                                    client):
    """The host asks for no certificate: the first request (PolyProv On,
    no certificate) is refused no-cert; /secure makes mod_ssl ask for one
    on the same connection, and from then on the phone is judged as
    itself: its own file served, B's refused not-owner, and the phone's
    files outside /secure served as well.  curl 7.88 with OpenSSL 3 offers
    PHA (it calls SSL_CTX_set_post_handshake_auth), so it gets the file
    over TLS 1.3 too."""
    paths = [tokened("/%s.cfg" % A), tokened("/secure/%s.cfg" % A),
             tokened("/secure/%s.cfg" % B), tokened("/%s.cfg" % A)]
    if client == "python":
        conn = tlsclient.Connection(
            tlsclient.context(pki, "phone-a", version, pha=True), h.port)
        rs = [conn.get(p) for p in paths]
        conn.close()
    else:
        rs = h.curl(paths, phone="phone-a",
                    extra=["--tls-max", "1.2"] if version == TLS12
                    else ["--tlsv1.3"])
        assert [r.meta.split()[1] for r in rs] == ["1", "0", "0", "0"], rs
    assert [r.status for r in rs] == [403, 200, 403, 200], rs
    assert rs[1].body == "secure file of %s\n" % A
    assert rs[3].body == FILES[A + ".cfg"]
    assert "of %s" % B not in "".join(r.body for r in rs)
    entries = [tls_entry(h, p) for p in paths]
    proto = "TLSv1.2" if version == TLS12 else "TLSv1.3"
    assert [e["proto"] for e in entries] == [proto] * 4, entries
    # no certificate in the handshake: the module refused the first request
    assert (entries[0]["cn"], entries[0]["reason"]) == ("-", "no-cert")
    for p, r, e in zip(paths[1:], rs[1:], entries[1:]):
        assert holder(e) == A, e
        assert not judged_as_held(p, r.status, e), judged_as_held(
            p, r.status, e)
    assert entries[2]["reason"] == "not-owner"
    if version == TLS12:
        assert "AH02221: Requesting connection re-negotiation" in h.new_log()


def test_tls13_client_without_pha_is_refused_by_mod_ssl(h, pki):
    """A TLS 1.3 client that did not offer post-handshake authentication
    cannot be asked for a certificate: mod_ssl refuses the request (403,
    AH10158) before the module is asked, and nothing is served."""
    conn = tlsclient.Connection(
        tlsclient.context(pki, "phone-a", TLS13, pha=False), h.port)
    path = tokened("/secure/%s.cfg" % A)
    r = conn.get(path)
    conn.close()
    assert r.status == 403 and "secure file" not in r.body, r
    e = tls_entry(h, path)
    assert (e["proto"], e["cn"], e["mac"], e["reason"]) == (
        "TLSv1.3", "-", "-", "-"), e
    assert "AH10158: cannot perform post-handshake authentication" \
        in h.new_log()
    assert not [l for l in h.new_log().splitlines()
                if "PP00" in l and "/secure/" in l]


@pytest.mark.parametrize("version", [TLS12, TLS13], ids=["tls1.2", "tls1.3"])
def test_http2_never_asks_after_the_handshake(h, version):
    """Under HTTP/2 mod_ssl neither renegotiates nor asks for PHA (the
    streams share the connection): it refuses the stream's request before
    the module runs, mod_http2 resets the stream with HTTP_1_1_REQUIRED,
    and curl repeats the request over HTTP/1.1, where the module judges
    it."""
    paths = [tokened("/secure/%s.cfg" % A), tokened("/secure/%s.cfg" % B)]
    rs = h.curl(paths, phone="phone-a", http2=True,
                extra=["-v"] + (["--tls-max", "1.2"] if version == TLS12
                                else ["--tlsv1.3"]))
    assert "HTTP_1_1_REQUIRED" in rs[0].stderr, rs[0].stderr[-2000:]
    assert [r.status for r in rs] == [200, 403], rs
    assert rs[0].body == "secure file of %s\n" % A
    assert "of %s" % B not in rs[1].body
    for p, r in zip(paths, rs):
        entries = tls_entries(h, p, want=2)
        h2 = [e for e in entries if e["request"].endswith("HTTP/2.0")]
        h1 = [e for e in entries if e["request"].endswith("HTTP/1.1")]
        assert h2, entries
        # refused by mod_ssl over HTTP/2: no decision of the module
        assert all((e["status"], e["mac"], e["reason"]) == ("403", "-", "-")
                   for e in h2), h2
        assert len(h1) == 1 and holder(h1[0]) == A, entries
        assert not judged_as_held(p, r.status, h1[0])
    # the HTTP/1.1 entry: mod_http2 may log the reset stream after it
    h1 = [e for e in tls_entries(h, paths[1], want=2)
          if e["request"].endswith("HTTP/1.1")]
    assert [e["reason"] for e in h1] == ["not-owner"], h1


# -- a second certificate on the same connection -----------------------------

# (host, the first request, the certificate brought by the renegotiation,
#  the request whose directory makes mod_ssl renegotiate, then more)
SECOND = {
    # none at the host: /secure asks for A, then /secure/again's cipher
    # makes mod_ssl renegotiate, and the phone answers with B's
    "none-require-then-cipher": (
        "localhost", "/secure/%s.cfg" % A, "phone-b",
        ["/secure/again/%s.cfg" % B, "/secure/again/%s.cfg" % A,
         "/secure/%s.cfg" % B, "/secure/%s.cfg" % A,
         "/%s.cfg" % B, "/%s.cfg" % A]),
    # A in the handshake; /secure's require makes mod_ssl renegotiate
    "optional-then-require": (
        "optional.test", "/%s.cfg" % A, "phone-b",
        ["/secure/%s.cfg" % B, "/secure/%s.cfg" % A,
         "/%s.cfg" % B, "/%s.cfg" % A]),
    # A in the handshake; /secure/again's cipher makes it renegotiate
    "require-then-cipher": (
        "require.test", "/%s.cfg" % A, "phone-b",
        ["/secure/again/%s.cfg" % B, "/secure/again/%s.cfg" % A,
         "/%s.cfg" % B, "/%s.cfg" % A]),
    # the same, and the second certificate is one the module itself would
    # refuse (CN of A, issued by the corporate CA that mod_ssl trusts)
    "optional-then-require-untrusted": (
        "optional.test", "/%s.cfg" % A, "corp-a",
        ["/secure/%s.cfg" % A, "/%s.cfg" % A, "/%s.cfg" % B]),
}


def run_second(h, pki, version, case):
    host, first, second, then = SECOND[case]
    conn = tlsclient.Connection(
        tlsclient.context(pki, "phone-a", version, pha=True), h.port,
        sni=host)
    p0 = tokened(first)
    r0 = conn.get(p0)
    conn.use_certificate(tlsclient.context(pki, second, version, pha=True))
    paths = [tokened(p) for p in then]
    rs = [conn.get(p) for p in paths]
    conn.close()
    e0 = tls_entry(h, p0)
    assert r0.status == 200 and holder(e0) == A and e0["mac"] == A, (r0, e0)
    return paths, rs, [tls_entry(h, p) for p in paths]


@pytest.mark.parametrize("case", list(SECOND))
def test_second_certificate_is_judged_as_itself(h, pki, case):
    """TLS 1.2: the phone is verified as A and the verdict kept for the
    connection; a renegotiation that mod_ssl asks for brings another
    certificate (mod_ssl verifies it and SSL_CLIENT_CERT is now that one).
    Every later request must be judged as the certificate the connection
    holds: B's own file served as B's, A's refused not-owner (or, for a
    certificate the module does not trust, everything refused untrusted),
    never as A."""
    paths, rs, entries = run_second(h, pki, TLS12, case)
    second = SECOND[case][2]
    # the precondition: mod_ssl holds the second certificate (else this
    # test would prove nothing)
    want_holder = "untrusted" if second == "corp-a" else B
    assert [holder(e) for e in entries] == [want_holder] * len(entries), \
        entries
    assert all(e["proto"] == "TLSv1.2" for e in entries), entries
    assert "AH02221: Requesting connection re-negotiation" in h.new_log()
    wrong = ["%s -> %s" % (p, why) for p, r, e in zip(paths, rs, entries)
             for why in [judged_as_held(p, r.status, e)] if why]
    assert not wrong, ("requests judged as another certificate than the "
                       "one the connection holds:\n" + "\n".join(wrong))
    for p, r in zip(paths, rs):
        if r.status == 200:
            mac = owner(p)
            path = p.split("?")[0]
            want = ("secure file of %s\n" % mac
                    if path.startswith("/secure/") and "/again/" not in path
                    else "again file of %s\n" % mac if "/again/" in path
                    else FILES[mac + ".cfg"])
            assert mac == want_holder and r.body == want, (p, r.body)


@pytest.mark.parametrize("case", ["none-require-then-cipher",
                                  "optional-then-require"])
def test_tls13_brings_no_second_certificate(h, pki, case):
    """TLS 1.3: mod_ssl asks for a client certificate at most once per
    connection (SSL_VERIFY_CLIENT_ONCE): after the handshake or a first
    PHA brought A, a stricter directory gets no second certificate (the
    request is refused by mod_ssl, AH10158, or a cipher directory asks
    nothing), so the connection keeps A, and the module judges as A."""
    paths, rs, entries = run_second(h, pki, TLS13, case)
    assert all(e["proto"] == "TLSv1.3" for e in entries), entries
    assert [holder(e) for e in entries] == [A] * len(entries), entries
    wrong = ["%s -> %s" % (p, why) for p, r, e in zip(paths, rs, entries)
             for why in [judged_as_held(p, r.status, e)] if why]
    assert not wrong, "\n".join(wrong)
    assert all("of %s" % B not in r.body for r in rs)
    refused_by_ssl = [p for p, e in zip(paths, entries) if e["mac"] == "-"]
    if case == "optional-then-require":
        # the requests that need the stricter check: mod_ssl's refusal
        assert refused_by_ssl == [p for p in paths
                                  if p.startswith("/secure/")], entries
        assert "AH10158: cannot perform post-handshake authentication" \
            in h.new_log()
    else:
        assert not refused_by_ssl, entries
