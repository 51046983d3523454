# SPDX-License-Identifier: Apache-2.0
"""A test PKI shaped like Poly's, and the look-alikes an attacker brings.

    /usr/bin/python3 -m tests.pphttpd.pki DIR

writes into DIR:

* the real-shaped chain: ``Polycom Root CA`` (self-signed) ->
  ``Polycom Equipment Policy CA`` -> ``Polycom Equipment Issuing CA 1`` and
  ``... 2``; bare-CN subjects, RSA-4096, sha256WithRSA, the key usages of
  the real certificates;
* ``polycom-chain.pem``: the four CAs (the PolyProvTrustedCA bundle);
* device certificates ``CN=<MAC upper case>, O=Polycom Inc.`` with RSA-2048
  keys; ``<name>.chain.pem`` holds the device certificate and its
  intermediates, as a phone presents them (``curl --cert``);
* a server CA and a ``localhost`` server certificate;
* phones whose certificates are past notAfter (a day, ten years; one under
  Issuing CA 2, one revoked, one under an Issuing CA that expired too) and
  ``<name>.full.pem`` (the chain with the root, as a client may send it);
* the attacker's certificates (see DEVICES below) and CRLs;
* ``manifest.json``: every entity with its files, MAC and fingerprints.
"""

import datetime as dt
import json
import os
import sys

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.name import _ASN1Type
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

UTC = dt.timezone.utc
NOW = dt.datetime.now(UTC).replace(microsecond=0)
DAY = dt.timedelta(days=1)

# MACs of the test phones (upper case in the certificate, as Poly does).
PHONE_A = "0004F2000A01"
PHONE_B = "0004F2000B02"
PHONE_C = "0004F2000C03"   # under Issuing CA 2
PHONE_D = "0004F2000D04"   # signed by the root directly
PHONE_R = "0004F2000E05"   # revoked
# phones whose factory certificates are past notAfter (PolyProvAllowExpired)
PHONE_E = "0004F2000F06"   # expired a day ago
PHONE_F = "0004F2001007"   # expired ten years ago (issued 25 years ago)
PHONE_G = "0004F2001108"   # expired a day ago, under Issuing CA 2
PHONE_H = "0004F2001209"   # expired a day ago and revoked
PHONE_J = "0004F2001300"   # expired, under an Issuing CA that expired too
YEAR = 365 * DAY


def _key(bits):
    return rsa.generate_private_key(public_exponent=65537, key_size=bits)


def _name(cn=None, org=None, extra_cn=None):
    attrs = []
    if extra_cn is not None:
        attrs.append(x509.NameAttribute(NameOID.COMMON_NAME, extra_cn))
    if cn is not None:
        attrs.append(x509.NameAttribute(NameOID.COMMON_NAME, cn))
    if org is not None:
        attrs.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, org))
    return x509.Name(attrs)


class Entity:
    def __init__(self, name, cert, key, parent=None, mac=None):
        self.name, self.cert, self.key = name, cert, key
        self.parent, self.mac = parent, mac

    def chain(self):
        """This certificate and its issuers below the root."""
        out, e = [self.cert], self.parent
        while e is not None and e.parent is not None:
            out.append(e.cert)
            e = e.parent
        return out

    def fingerprint(self):
        return self.cert.fingerprint(hashes.SHA256()).hex()


def _ca_usage():
    return x509.KeyUsage(digital_signature=True, content_commitment=False,
                         key_encipherment=False, data_encipherment=False,
                         key_agreement=False, key_cert_sign=True,
                         crl_sign=True, encipher_only=False,
                         decipher_only=False)


def _leaf_usage():
    return x509.KeyUsage(digital_signature=True, content_commitment=False,
                         key_encipherment=True, data_encipherment=False,
                         key_agreement=False, key_cert_sign=False,
                         crl_sign=False, encipher_only=False,
                         decipher_only=False)


def make_ca(name, cn, parent=None, bits=4096, not_before=None,
            not_after=None):
    key = _key(bits)
    subject = _name(cn)
    issuer = parent.cert.subject if parent else subject
    signer = parent.key if parent else key
    b = (x509.CertificateBuilder()
         .subject_name(subject).issuer_name(issuer)
         .public_key(key.public_key())
         .serial_number(x509.random_serial_number())
         .not_valid_before(not_before or NOW - 3650 * DAY)
         .not_valid_after(not_after or NOW + 6000 * DAY)
         .add_extension(x509.BasicConstraints(ca=True, path_length=None),
                        critical=True)
         .add_extension(_ca_usage(), critical=False)
         .add_extension(x509.SubjectKeyIdentifier.from_public_key(
             key.public_key()), critical=False))
    if parent:
        b = b.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(
                parent.key.public_key()), critical=False)
    return Entity(name, b.sign(signer, hashes.SHA256()), key, parent)


def make_device(name, parent, cn=None, mac=None, org="Polycom Inc.",
                extra_cn=None, eku=("client", "server"), ca=False,
                not_before=None, not_after=None, san=None, key=None,
                subject=None):
    key = key or _key(2048)
    subj = subject if subject is not None else _name(cn, org, extra_cn)
    issuer_key = parent.key if parent else key
    issuer_name = parent.cert.subject if parent else subj
    b = (x509.CertificateBuilder()
         .subject_name(subj).issuer_name(issuer_name)
         .public_key(key.public_key())
         .serial_number(x509.random_serial_number())
         .not_valid_before(not_before or NOW - 30 * DAY)
         .not_valid_after(not_after or NOW + 5400 * DAY)
         .add_extension(x509.BasicConstraints(ca=ca, path_length=None),
                        critical=True))
    if ca:
        b = b.add_extension(_ca_usage(), critical=False)
    else:
        b = b.add_extension(_leaf_usage(), critical=False)
    if eku:
        oids = {"client": ExtendedKeyUsageOID.CLIENT_AUTH,
                "server": ExtendedKeyUsageOID.SERVER_AUTH}
        b = b.add_extension(x509.ExtendedKeyUsage([oids[e] for e in eku]),
                            critical=False)
    if san:
        b = b.add_extension(x509.SubjectAlternativeName(san), critical=False)
    if parent:
        b = b.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(
                parent.key.public_key()), critical=False)
    return Entity(name, b.sign(issuer_key, hashes.SHA256()), key, parent,
                  mac=mac)


def make_crl(ca, revoked=(), last_update=None, next_update=None):
    b = (x509.CertificateRevocationListBuilder()
         .issuer_name(ca.cert.subject)
         .last_update(last_update or NOW - DAY)
         .next_update(next_update or NOW + 30 * DAY))
    for ent in revoked:
        b = b.add_revoked_certificate(
            x509.RevokedCertificateBuilder()
            .serial_number(ent.cert.serial_number)
            .revocation_date(NOW - DAY).build())
    return b.sign(ca.key, hashes.SHA256())


def _pem(cert):
    return cert.public_bytes(serialization.Encoding.PEM)


def _write(path, data, mode=0o644):
    with open(path, "wb") as f:
        f.write(data)
    os.chmod(path, mode)


def build(outdir):
    os.makedirs(outdir, exist_ok=True)
    os.chmod(outdir, 0o755)
    ents = {}

    def add(e):
        ents[e.name] = e
        return e

    # the real-shaped chain
    root = add(make_ca("root", "Polycom Root CA"))
    policy = add(make_ca("policy", "Polycom Equipment Policy CA", root))
    ic1 = add(make_ca("issuing1", "Polycom Equipment Issuing CA 1", policy))
    ic2 = add(make_ca("issuing2", "Polycom Equipment Issuing CA 2", policy))

    # phones
    add(make_device("phone-a", ic1, cn=PHONE_A, mac=PHONE_A))
    add(make_device("phone-b", ic1, cn=PHONE_B, mac=PHONE_B))
    add(make_device("phone-c", ic2, cn=PHONE_C, mac=PHONE_C))
    add(make_device("phone-d-root", root, cn=PHONE_D, mac=PHONE_D))
    revoked = add(make_device("phone-revoked", ic1, cn=PHONE_R, mac=PHONE_R))

    # factory certificates past notAfter: still the phone's key, still
    # Polycom's chain (PolyProvAllowExpired)
    add(make_device("expired-day", ic1, cn=PHONE_E, mac=PHONE_E,
                    not_before=NOW - 15 * YEAR - DAY, not_after=NOW - DAY))
    add(make_device("expired-decade", ic1, cn=PHONE_F, mac=PHONE_F,
                    not_before=NOW - 25 * YEAR, not_after=NOW - 10 * YEAR))
    add(make_device("expired-day-ic2", ic2, cn=PHONE_G, mac=PHONE_G,
                    not_before=NOW - 15 * YEAR - DAY, not_after=NOW - DAY))
    expired_revoked = add(make_device(
        "expired-revoked", ic1, cn=PHONE_H, mac=PHONE_H,
        not_before=NOW - 15 * YEAR - DAY, not_after=NOW - DAY))
    ic_old = add(make_ca("issuing-old", "Polycom Equipment Issuing CA 0",
                         policy, bits=2048, not_before=NOW - 20 * YEAR,
                         not_after=NOW - 2 * YEAR))
    add(make_device("expired-oldca", ic_old, cn=PHONE_J, mac=PHONE_J,
                    not_before=NOW - 19 * YEAR, not_after=NOW - 4 * YEAR))

    # look-alikes
    f_root = add(make_ca("forged-root", "Polycom Root CA", bits=2048))
    f_pol = add(make_ca("forged-policy", "Polycom Equipment Policy CA",
                        f_root, bits=2048))
    f_ic1 = add(make_ca("forged-issuing1", "Polycom Equipment Issuing CA 1",
                        f_pol, bits=2048))
    add(make_device("forged-a", f_ic1, cn=PHONE_A, mac=PHONE_A))
    corp = add(make_ca("corp-ca", "Example Corp Device CA", bits=2048))
    add(make_device("corp-a", corp, cn=PHONE_A, mac=PHONE_A))
    # expired certificates from CAs that mod_ssl trusts and the module
    # does not: the handshake waiver must not let them through
    add(make_device("corp-expired", corp, cn=PHONE_E, mac=PHONE_E,
                    not_before=NOW - 15 * YEAR - DAY, not_after=NOW - DAY))
    add(make_device("forged-expired", f_ic1, cn=PHONE_E, mac=PHONE_E,
                    not_before=NOW - 15 * YEAR - DAY, not_after=NOW - DAY))
    add(make_device("selfsigned-a", None, cn=PHONE_A, mac=PHONE_A))
    add(make_device("expired-a", ic1, cn=PHONE_A, mac=PHONE_A,
                    not_before=NOW - 900 * DAY, not_after=NOW - 10 * DAY))
    add(make_device("notyet-a", ic1, cn=PHONE_A, mac=PHONE_A,
                    not_before=NOW + 10 * DAY, not_after=NOW + 900 * DAY))
    add(make_device("two-cn", ic1, cn=PHONE_A, extra_cn=PHONE_B,
                    mac=PHONE_A))
    add(make_device("no-cn", ic1, cn=None))
    add(make_device("cn-zero", ic1, cn="000000000000"))
    add(make_device("cn-13hex", ic1, cn="0004F2000A011"))
    add(make_device("cn-colons", ic1, cn="00:04:F2:00:0A:01"))
    add(make_device("cn-words", ic1, cn="Phone 0004F2000A01 desk"))
    add(make_device("ca-as-device", ic1, cn=PHONE_A, mac=PHONE_A, ca=True,
                    eku=None))
    add(make_device("server-eku-a", ic1, cn=PHONE_A, mac=PHONE_A,
                    eku=("server",)))
    # CNs that a C string, a loose pattern or a naive decoder misreads
    for name, cn in (("cn-nul", PHONE_A + "\x00" + PHONE_B),
                     ("cn-nul-lead", "\x00" + PHONE_A),
                     ("cn-newline", PHONE_A + "\n"),
                     ("cn-tab", "\t" + PHONE_A),
                     ("cn-space", PHONE_A + " "),
                     ("cn-fullwidth", "".join(
                         chr(ord(c) + 0xFEE0) for c in PHONE_A))):
        add(make_device(name, ic1, cn=cn))
    # the right MAC in each string type a CN may carry: one device each
    for name, typ in (("cn-bmp", _ASN1Type.BMPString),
                      ("cn-utf8", _ASN1Type.UTF8String),
                      ("cn-printable", _ASN1Type.PrintableString),
                      ("cn-universal", _ASN1Type.UniversalString)):
        add(make_device(name, ic1, mac=PHONE_A, subject=x509.Name([
            x509.NameAttribute(NameOID.COMMON_NAME, PHONE_A, _type=typ),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Polycom Inc.")])))
    # the MAC only in the subjectAltName
    add(make_device("san-only", ic1, cn=None, san=[
        x509.DNSName(PHONE_A.lower()),
        x509.UniformResourceIdentifier("urn:mac:" + PHONE_A)]))
    add(make_device("san-other-cn", ic1, cn="Polycom VVX 411",
                    san=[x509.DNSName(PHONE_A)]))

    # the server side
    srv_ca = add(make_ca("server-ca", "Provisioning Test Server CA",
                         bits=2048))
    add(make_device("server", srv_ca, cn="localhost", org="Test",
                    eku=("server",),
                    san=[x509.DNSName("localhost"),
                         x509.DNSName("prov.test")]))

    for e in ents.values():
        _write(os.path.join(outdir, e.name + ".crt"), _pem(e.cert))
        _write(os.path.join(outdir, e.name + ".key"),
               e.key.private_bytes(serialization.Encoding.PEM,
                                   serialization.PrivateFormat.PKCS8,
                                   serialization.NoEncryption()), 0o644)
        _write(os.path.join(outdir, e.name + ".chain.pem"),
               b"".join(_pem(c) for c in e.chain()))
    # the whole chain, root included, as a client may send it: under
    # optional_no_ca the root it sends is no trust anchor
    for name in ("phone-a", "expired-day"):
        e = ents[name]
        _write(os.path.join(outdir, name + ".full.pem"),
               b"".join(_pem(c) for c in e.chain() + [root.cert]))

    def bundle(name, members):
        _write(os.path.join(outdir, name),
               b"".join(_pem(m.cert) for m in members))

    old_root = add(make_ca("expired-root", "Old Root CA", bits=2048,
                           not_before=NOW - 4000 * DAY,
                           not_after=NOW - 100 * DAY))
    bundle("polycom-chain.pem", [root, policy, ic1, ic2])
    bundle("polycom-chain-oldca.pem", [root, policy, ic1, ic2, ic_old])
    bundle("with-expired-root.pem", [root, policy, ic1, ic2, old_root])
    bundle("polycom-root-only.pem", [root])
    bundle("forged-chain.pem", [f_root, f_pol, f_ic1])
    # what mod_ssl trusts: the Polycom chain, the corporate CA and the
    # forged root (a vhost that trusts too much is the case to defend)
    bundle("ssl-client-ca.pem", [root, policy, ic1, ic2, corp, f_root,
                                 f_pol, f_ic1])

    # CRLs: one per CA of the real chain, issuing CA 1 revoking a phone
    good = [make_crl(root), make_crl(policy),
            make_crl(ic1, [revoked, expired_revoked]), make_crl(ic2)]
    _write(os.path.join(outdir, "crl-all.pem"),
           b"".join(c.public_bytes(serialization.Encoding.PEM) for c in good))
    # the same, with phone A revoked too (a CRL that changes in service)
    _write(os.path.join(outdir, "crl-revoke-a.pem"), b"".join(
        c.public_bytes(serialization.Encoding.PEM)
        for c in (good[0], good[1],
                  make_crl(ic1, [revoked, expired_revoked, ents["phone-a"]]),
                  good[3])))
    _write(os.path.join(outdir, "crl-issuing1.der"),
           good[2].public_bytes(serialization.Encoding.DER))
    stale = [make_crl(root), make_crl(policy),
             make_crl(ic1, [revoked], last_update=NOW - 60 * DAY,
                      next_update=NOW - 30 * DAY), make_crl(ic2)]
    _write(os.path.join(outdir, "crl-expired.pem"),
           b"".join(c.public_bytes(serialization.Encoding.PEM) for c in stale))

    manifest = {
        name: {
            "crt": name + ".crt", "key": name + ".key",
            "chain": name + ".chain.pem", "mac": e.mac,
            "sha256": e.fingerprint(),
            "issuer": e.parent.name if e.parent else None,
        } for name, e in ents.items()
    }
    with open(os.path.join(outdir, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1, sort_keys=True)
    return manifest


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python3 -m tests.pphttpd.pki OUTDIR")
    build(sys.argv[1])
