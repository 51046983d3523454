# SPDX-License-Identifier: Apache-2.0
"""Attack class: certificates.

Someone holding some certificate (a forged Poly chain, a corporate device
certificate the vhost also trusts, a genuine Poly certificate with a
doctored or ambiguous CN, a revoked one) asks for phone A's file.  Each case
names its outcome on a vhost with ``SSLVerifyClient require`` and on one
with ``optional_no_ca``, where the module is the only judge:

* ``"handshake"``: mod_ssl ends the handshake before any module runs;
* a reason: the module refuses with 403 and that reason;
* ``"allow"``: the module serves the file (a control case).
"""

import os

import pytest

from tests.pphttpd.expect import (A, B, C, expect_allowed, expect_refused,
                                  handshake_refused)
from tests.pphttpd.fixtures import FILES, checked, populate, serve

D, R = "0004f2000d04", "0004f2000e05"     # root-signed, revoked

# (phone, path, outcome under require, outcome under optional_no_ca)
CASES = [
    # trust: the vhost trusts more than Polycom, the module does not
    ("forged-a", "/%s.cfg" % A, "untrusted", "untrusted"),
    ("corp-a", "/%s.cfg" % A, "untrusted", "untrusted"),
    ("selfsigned-a", "/%s.cfg" % A, "handshake", "untrusted"),
    ("ca-as-device", "/%s.cfg" % A, "untrusted", "untrusted"),
    # validity and purpose: mod_ssl refuses these even under optional_no_ca
    # (no PolyProvAllowExpired here: test_attack_expiry.py)
    ("expired-a", "/%s.cfg" % A, "handshake", "handshake"),
    ("notyet-a", "/%s.cfg" % A, "handshake", "handshake"),
    ("server-eku-a", "/%s.cfg" % A, "handshake", "handshake"),
    # CNs: two (B first, A second), none, wrong length, separators, words,
    # the placeholder, NUL, control characters, look-alike digits, SAN only
    ("two-cn", "/%s.cfg" % A, "bad-cn", "bad-cn"),
    ("two-cn", "/%s.cfg" % B, "bad-cn", "bad-cn"),
    ("no-cn", "/000000000000.cfg", "bad-cn", "bad-cn"),
    ("cn-13hex", "/%s.cfg" % A, "bad-cn", "bad-cn"),
    ("cn-colons", "/%s.cfg" % A, "bad-cn", "bad-cn"),
    ("cn-words", "/%s.cfg" % A, "bad-cn", "bad-cn"),
    ("cn-zero", "/000000000000.cfg", "bad-cn", "bad-cn"),
    ("cn-nul", "/%s.cfg" % A, "bad-cn", "bad-cn"),
    ("cn-nul", "/%s.cfg" % B, "bad-cn", "bad-cn"),
    ("cn-nul-lead", "/%s.cfg" % A, "bad-cn", "bad-cn"),
    ("cn-newline", "/%s.cfg" % A, "bad-cn", "bad-cn"),
    ("cn-tab", "/%s.cfg" % A, "bad-cn", "bad-cn"),
    ("cn-space", "/%s.cfg" % A, "bad-cn", "bad-cn"),
    ("cn-fullwidth", "/%s.cfg" % A, "bad-cn", "bad-cn"),
    ("san-only", "/%s.cfg" % A, "bad-cn", "bad-cn"),
    ("san-other-cn", "/%s.cfg" % A, "bad-cn", "bad-cn"),
    # each ASN.1 string type is decoded, not read as bytes: A's MAC as a
    # BMPString is A, and only A
    ("cn-bmp", "/%s.cfg" % B, "not-owner", "not-owner"),
    ("cn-universal", "/%s.cfg" % B, "not-owner", "not-owner"),
    ("cn-utf8", "/%s.cfg" % B, "not-owner", "not-owner"),
    ("cn-printable", "/%s.cfg" % B, "not-owner", "not-owner"),
    ("cn-bmp", "/%s.cfg" % A, "allow", "allow"),
    ("cn-universal", "/%s.cfg" % A, "allow", "allow"),
    ("cn-utf8", "/%s.cfg" % A, "allow", "allow"),
    ("cn-printable", "/%s.cfg" % A, "allow", "allow"),
    # revocation: a revoked phone; a stale CRL refuses every certificate it
    # covers (issuing CA 1) and no other
    ("phone-revoked", "/crl/%s.cfg" % R, "untrusted", "untrusted"),
    ("phone-a", "/crl/%s.cfg" % A, "allow", "allow"),
    ("phone-a", "/stalecrl/%s.cfg" % A, "untrusted", "untrusted"),
    ("phone-b", "/stalecrl/%s.cfg" % B, "untrusted", "untrusted"),
    ("phone-c", "/stalecrl/%s.cfg" % C, "allow", "allow"),
    # issuer pinning to issuing CA 1: a second issuing CA, the root itself
    ("phone-c", "/pinned/%s.cfg" % C, "issuer", "issuer"),
    ("phone-d-root", "/pinned/%s.cfg" % D, "issuer", "issuer"),
    ("phone-a", "/pinned/%s.cfg" % A, "allow", "allow"),
]


def configure(h, pki, manifest, verify):
    files = dict(FILES)
    files[R + ".cfg"] = "secret of the revoked phone\n"
    files[D + ".cfg"] = "secret of D\n"
    populate(h, files)
    for sub in ("crl", "stalecrl", "pinned"):
        populate(h, {"%s/%s" % (sub, k): v for k, v in files.items()})
    guard = """
    <Directory {docroot}>
        PolyProv On
        PolyProvTrustedCA {pki}/polycom-chain.pem
    </Directory>
    <Location /crl/>
        PolyProvCRL {pki}/crl-all.pem
    </Location>
    <Location /stalecrl/>
        PolyProvCRL {pki}/crl-expired.pem
    </Location>
    <Location /pinned/>
        PolyProvIssuerFingerprint sha256:{pin}
    </Location>
""".format(docroot=h.docroot, pki=pki, pin=manifest["issuing1"]["sha256"])
    # the expired CRL is expected to be reported at start-up
    h.expect_log(r"PolyProvCRL.*crl-expired\.pem")
    h.write(vhost=guard, verify=verify, loglevel="warn polyprov:debug")
    h.verify = verify


@pytest.fixture(scope="module", params=["require", "optional_no_ca"])
def server(request, module, pki, manifest):
    yield from serve(module, pki,
                     lambda h: configure(h, pki, manifest, request.param))


@pytest.fixture
def h(server):
    yield from checked(server)


def _id(case):
    return "%s-%s" % (case[0], case[1].strip("/").replace("/", "-"))


@pytest.mark.parametrize("case", CASES, ids=[_id(c) for c in CASES])
def test_certificate_attack(h, manifest, case):
    phone, path, on_require, on_optional = case
    outcome = on_require if h.verify == "require" else on_optional
    r = h.curl(path, phone=phone)
    if outcome == "handshake":
        assert handshake_refused(r), r
    elif outcome == "allow":
        expect_allowed(h, r, manifest[phone]["mac"].lower(), path,
                       body=h.read(path).decode())
    else:
        expect_refused(h, r, outcome, path)
        assert "secret" not in r.body


def test_a_crl_loaded_by_graceful_restart_applies_to_new_connections(
        servers, pki):
    import shutil
    h = servers()
    populate(h)
    crl = os.path.join(h.root, "crl.pem")
    shutil.copy(os.path.join(pki, "crl-all.pem"), crl)
    h.write(loglevel="warn polyprov:info", vhost="""
    <Directory {d}>
        PolyProv On
        PolyProvTrustedCA {p}/polycom-chain.pem
        PolyProvCRL {crl}
    </Directory>
""".format(d=h.docroot, p=pki, crl=crl))
    h.start()
    assert h.curl("/%s.cfg" % A, phone="phone-a").status == 200
    shutil.copy(os.path.join(pki, "crl-revoke-a.pem"), crl)
    h.graceful()
    r = h.curl("/%s.cfg" % A, phone="phone-a")
    line = expect_refused(h, r, "untrusted", "/%s.cfg" % A)
    assert "revoked" in line, line
    assert h.curl("/%s.cfg" % B, phone="phone-b").status == 200
