# SPDX-License-Identifier: Apache-2.0
"""docs/deployment.md's "Configuring the phones": a phone that presents a custom
platform certificate from your own CA instead of its factory one.  Poly's
example of such a certificate has the CN "Custom-<MAC>".  It is refused
until your CA is in SSLCACertificateFile (the handshake, under require)
and PolyProvTrustedCA (untrusted), the CN pattern finds the MAC (bad-cn)
and, where issuers are pinned, your CA is pinned too (issuer); then it is
served its own files only, like a factory one."""

import os

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from tests.pphttpd import pki as pkimod
from tests.pphttpd.expect import (A, B, expect_allowed, expect_refused,
                                  handshake_refused)
from tests.pphttpd.fixtures import FILES, serve

PATTERN = "^(?:Custom-)?([0-9A-Fa-f]{12})$"


def custom_cert(pki, outdir):
    """A platform certificate issued by the corporate CA of the test PKI,
    CN Custom-<A's MAC>, as docs/deployment.md's example shows one."""
    with open(os.path.join(pki, "corp-ca.crt"), "rb") as f:
        ca_cert = x509.load_pem_x509_certificate(f.read())
    with open(os.path.join(pki, "corp-ca.key"), "rb") as f:
        ca_key = serialization.load_pem_private_key(f.read(), None)
    ca = pkimod.Entity("corp-ca", ca_cert, ca_key)
    dev = pkimod.make_device("custom-a", ca, cn="Custom-" + A.upper(),
                             org="Example Corp")
    cert = os.path.join(outdir, "custom-a.pem")
    key = os.path.join(outdir, "custom-a.key")
    with open(cert, "wb") as f:
        f.write(dev.cert.public_bytes(serialization.Encoding.PEM))
    with open(key, "wb") as f:
        f.write(dev.key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption()))
    return cert, key, dev.cert.issuer


def unknown_ca_cert(outdir):
    """A device certificate, CN A's MAC, from a CA nobody configured."""
    ca = pkimod.make_ca("other-ca", "Other Corp Device CA", bits=2048)
    dev = pkimod.make_device("other-a", ca, cn=A.upper(), org="Other Corp")
    cert = os.path.join(outdir, "other-a.pem")
    key = os.path.join(outdir, "other-a.key")
    with open(cert, "wb") as f:
        f.write(dev.cert.public_bytes(serialization.Encoding.PEM))
    with open(key, "wb") as f:
        f.write(dev.key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption()))
    return cert, key


@pytest.fixture(scope="module")
def t(module, pki, manifest):
    def configure(h):
        trusted = os.path.join(h.root, "polycom-and-corp.pem")
        with open(trusted, "wb") as out:
            for name in ("polycom-chain.pem", "corp-ca.crt"):
                with open(os.path.join(pki, name), "rb") as f:
                    out.write(f.read())
        corp_fp = manifest["corp-ca"]["sha256"]
        scopes = {
            "polycom": "PolyProvTrustedCA %s/polycom-chain.pem" % pki,
            "default-cn": "PolyProvTrustedCA " + trusted,
            "custom": "PolyProvTrustedCA %s\n"
                      "PolyProvCNPattern \"%s\"" % (trusted, PATTERN),
            "pinned": "PolyProvTrustedCA %s\n"
                      "PolyProvCNPattern \"%s\"\n"
                      "PolyProvIssuerFingerprint sha256:%s"
                      % (trusted, PATTERN, manifest["issuing1"]["sha256"]),
            "pinned-corp": "PolyProvTrustedCA %s\n"
                           "PolyProvCNPattern \"%s\"\n"
                           "PolyProvIssuerFingerprint sha256:%s sha256:%s"
                           % (trusted, PATTERN,
                              manifest["issuing1"]["sha256"], corp_fp),
        }
        vhost = []
        for scope, directives in scopes.items():
            for name in (A + ".cfg", B + ".cfg"):
                h.put("%s/%s" % (scope, name), FILES[name])
            vhost.append("<Directory %s/%s>\nPolyProv On\n%s\n</Directory>"
                         % (h.docroot, scope, directives))
        h.write(vhost="\n".join(vhost))
        h.custom = custom_cert(pki, h.root)
        h.unknown = unknown_ca_cert(h.root)
    yield from serve(module, pki, configure)


def custom(t, path):
    cert, key, _ = t.custom
    return t.curl(path, cert=cert, key=key)


def test_custom_ca_not_trusted_by_the_module(t):
    t.mark()
    r = custom(t, "/polycom/%s.cfg" % A)
    expect_refused(t, r, "untrusted", "/polycom/%s.cfg" % A)


def test_custom_cn_needs_a_pattern(t):
    t.mark()
    r = custom(t, "/default-cn/%s.cfg" % A)
    expect_refused(t, r, "bad-cn", "/default-cn/%s.cfg" % A)


def test_custom_certificate_gets_its_own_files_only(t):
    t.mark()
    r = custom(t, "/custom/%s.cfg" % A)
    expect_allowed(t, r, A, "/custom/%s.cfg" % A, body=FILES[A + ".cfg"])
    r = custom(t, "/custom/%s.cfg" % B)
    expect_refused(t, r, "not-owner", "/custom/%s.cfg" % B)


def test_factory_certificate_still_served_with_the_pattern(t):
    t.mark()
    r = t.curl("/custom/%s.cfg" % A, phone="phone-a")
    expect_allowed(t, r, A, "/custom/%s.cfg" % A, body=FILES[A + ".cfg"])


def test_pinned_issuers_need_the_custom_ca(t):
    t.mark()
    r = custom(t, "/pinned/%s.cfg" % A)
    expect_refused(t, r, "issuer", "/pinned/%s.cfg" % A)
    r = custom(t, "/pinned-corp/%s.cfg" % A)
    expect_allowed(t, r, A, "/pinned-corp/%s.cfg" % A,
                   body=FILES[A + ".cfg"])
    r = t.curl("/pinned-corp/%s.cfg" % A, phone="phone-a")
    expect_allowed(t, r, A, "/pinned-corp/%s.cfg" % A,
                   body=FILES[A + ".cfg"])


def test_a_ca_outside_sslcacertificatefile_ends_the_handshake(t):
    """SSLVerifyClient require: mod_ssl refuses a client certificate whose
    CA it was not given; the module never sees the request."""
    t.mark()
    cert, key = t.unknown
    r = t.curl("/custom/%s.cfg" % A, cert=cert, key=key)
    assert handshake_refused(r), r
    assert t.refusals() == []


def test_under_optional_no_ca_the_module_refuses_it(servers, pki):
    h = servers()
    h.put("%s.cfg" % A, FILES[A + ".cfg"])
    h.write(verify="optional_no_ca", vhost="""
    PolyProv On
    PolyProvTrustedCA %s/polycom-chain.pem""" % pki)
    h.start()
    h.mark()
    cert, key = unknown_ca_cert(h.root)
    r = h.curl("/%s.cfg" % A, cert=cert, key=key)
    expect_refused(h, r, "untrusted", "/%s.cfg" % A)
