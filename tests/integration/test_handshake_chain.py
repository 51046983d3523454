# SPDX-License-Identifier: Apache-2.0
"""Step 3 from the handshake's chain (docs/decisions.md, How step 3 is checked): a
phone new to a process is judged on the chain OpenSSL verified in its
handshake when that chain is one the module would accept, and verified in
full otherwise.  Whatever the path, the verdict is the module's: the host
here trusts more than PolyProvTrustedCA (corporate and forged CAs of the
same names, ssl-client-ca.pem), and each case below would be let through
by a module that took mod_ssl's word for it."""

import re
import ssl

import pytest

from tests.pphttpd import tlsclient
from tests.pphttpd.fixtures import ONE_PROCESS, populate
from tests.pphttpd.expect import A, B, C


def serve(servers, pki, extra="", ca="polycom-chain.pem"):
    h = servers()
    populate(h)
    h.write(mpm_conf=ONE_PROCESS, loglevel="warn polyprov:debug", vhost="""
    <Directory {d}>
        PolyProv On
        PolyProvTrustedCA {p}/{ca}
        {extra}
    </Directory>""".format(d=h.docroot, p=pki, ca=ca, extra=extra))
    h.start()
    h.mark()
    return h


def checks(h):
    """(reason or 'ok', source) of each PP003 line since the mark."""
    return re.findall(r"PP003: client certificate sha256:\S+ checked for "
                      r"this connection: (\S+) \((\S+)\)", h.new_log())


def get(h, path, who):
    if who.endswith(".chain.pem"):
        name = who[:-len(".chain.pem")]
        return h.curl(path, cert=h.pkifile(who),
                      key=h.pkifile(name + ".key"))
    return h.curl(path, phone=who)


def test_a_new_phone_takes_the_handshakes_chain(servers, pki):
    h = serve(servers, pki)
    r = get(h, "/%s.cfg" % A, "phone-a")
    assert r.status == 200
    assert checks(h) == [("ok", "handshake")]
    h.mark()
    # the next connection: the process's cache
    assert get(h, "/%s.cfg" % A, "phone-a").status == 200
    assert checks(h) == [("ok", "process-cache")]
    # the rules after step 3 still hold for it
    h.mark()
    assert get(h, "/%s.cfg" % A, "phone-c").status == 403
    assert checks(h) == [("ok", "handshake")]
    assert "reason=not-owner" in h.access_lines()[-1]


def test_chains_mod_ssl_accepts_and_the_module_does_not(servers, pki):
    """mod_ssl trusts these chains (require): forged CAs of the Polycom
    names, a corporate CA.  Each is verified in full and refused."""
    h = serve(servers, pki)
    for who in ("forged-a.chain.pem", "corp-a.chain.pem"):
        h.mark()
        r = get(h, "/%s.cfg" % A, who)
        assert r.status == 403, who
        assert checks(h) == [("untrusted", "verified")], who
        assert "reason=untrusted" in h.access_lines()[-1]


def test_trusted_ca_narrower_than_the_handshake(servers, pki):
    """PolyProvTrustedCA holding only the root: the phone's intermediates
    are not the module's, so its chain from the handshake is not taken and
    the full verification refuses it, as it always did."""
    h = serve(servers, pki, ca="polycom-root-only.pem")
    r = get(h, "/%s.cfg" % A, "phone-a")
    assert r.status == 403
    assert checks(h) == [("untrusted", "verified")]


def test_a_crl_means_the_modules_own_verification(servers, pki):
    h = serve(servers, pki, "PolyProvCRL %s/crl-all.pem" % pki)
    assert get(h, "/%s.cfg" % B, "phone-b").status == 200
    assert checks(h) == [("ok", "verified")]
    h.mark()
    r = get(h, "/0004F2000E05.cfg", "phone-revoked")
    assert r.status == 403
    assert checks(h) == [("untrusted", "verified")]


def test_issuer_pin_on_the_handshakes_chain(servers, pki, manifest):
    """The pin is compared with the direct issuer of the chain taken from
    the handshake: phone-a (issuing1) is refused, phone-c (issuing2)
    served, both judged on their handshake's chain."""
    pin = manifest["issuing2"]["sha256"]
    h = serve(servers, pki, "PolyProvIssuerFingerprint sha256:%s" % pin)
    assert get(h, "/%s.cfg" % A, "phone-a").status == 403
    assert "reason=issuer" in h.access_lines()[-1]
    assert get(h, "/%s.cfg" % C, "phone-c").status == 200
    assert checks(h) == [("ok", "handshake"), ("ok", "handshake")]


def test_ca_file_replaced_by_a_graceful_restart(servers, pki, tmp_path):
    """The verdicts of the old PolyProvTrustedCA are not reused: after the
    file is replaced by one without the phone's intermediates and httpd
    restarted gracefully, the phone is refused."""
    ca = tmp_path / "trusted.pem"
    ca.write_bytes(open(h_pki(pki, "polycom-chain.pem"), "rb").read())
    h = serve(servers, pki)
    h.write(mpm_conf=ONE_PROCESS, loglevel="warn polyprov:debug", vhost="""
    <Directory {d}>
        PolyProv On
        PolyProvTrustedCA {ca}
    </Directory>""".format(d=h.docroot, ca=ca))
    h.graceful()
    h.mark()
    assert get(h, "/%s.cfg" % A, "phone-a").status == 200
    ca.write_bytes(open(h_pki(pki, "polycom-root-only.pem"), "rb").read())
    h.graceful()
    h.mark()
    assert get(h, "/%s.cfg" % A, "phone-a").status == 403
    assert checks(h) == [("untrusted", "verified")]


@pytest.mark.parametrize("version", [ssl.TLSVersion.TLSv1_2,
                                     ssl.TLSVersion.TLSv1_3])
def test_resumed_session_is_verified_without_the_chain(servers, pki,
                                                       tmp_path, version):
    """A resumed session carries the certificate, not the chain: where the
    process has no verdict for it yet (here: a scope with another copy of
    the CA file, so another PolyProvTrustedCA), it is verified in full."""
    copy = tmp_path / "copy.pem"
    copy.write_bytes(open(h_pki(pki, "polycom-chain.pem"), "rb").read())
    h = serve(servers, pki, "</Directory>\n    <Location /copy/>\n"
              "        PolyProvTrustedCA %s\n    </Location>\n"
              "    <Directory %s/none>" % (copy, pki))
    h.put("copy/%s.cfg" % A, "copy of A\n")
    ctx = tlsclient.context(pki, "phone-a", version)
    ex = tlsclient.exchange(ctx, h.port, ["/%s.cfg" % A])
    assert ex.statuses == [200] and not ex.reused, ex
    assert checks(h) == [("ok", "handshake")]
    h.mark()
    ex = tlsclient.exchange(ctx, h.port, ["/copy/%s.cfg" % A],
                            session=ex.session)
    assert ex.reused, "the session was not resumed"
    assert ex.statuses == [200]
    assert checks(h) == [("ok", "verified")]


@pytest.mark.parametrize("version", [ssl.TLSVersion.TLSv1_2,
                                     ssl.TLSVersion.TLSv1_3])
def test_an_error_optional_no_ca_let_pass(servers, pki, version):
    """mod_ssl trusts only the corporate CA and lets the phone's chain
    (sent up to its root) through under optional_no_ca with an error;
    over TLS 1.2 it then resets the verify result to OK for each request.
    The module does not take that chain: it verifies in full (and the
    phone, genuine, is served)."""
    h = servers()
    populate(h)
    h.write(mpm_conf=ONE_PROCESS, loglevel="warn polyprov:debug",
            verify="optional_no_ca",
            vhost_ssl_extra="SSLCACertificateFile %s/corp-ca.crt" % pki,
            vhost="""
    <Directory {d}>
        PolyProv On
        PolyProvTrustedCA {p}/polycom-chain.pem
    </Directory>""".format(d=h.docroot, p=pki))
    h.start()
    h.mark()
    ctx = tlsclient.context(pki, "phone-a", version, chain="phone-a.full.pem")
    ex = tlsclient.exchange(ctx, h.port, ["/%s.cfg" % A, "/%s.cfg" % A])
    assert ex.statuses == [200, 200], ex
    assert checks(h) == [("ok", "verified")]


def h_pki(pki, name):
    return "%s/%s" % (pki, name)
