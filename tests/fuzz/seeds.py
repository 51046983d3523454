# SPDX-License-Identifier: Apache-2.0
"""Write the seed corpus of the fuzzers (checked in under tests/fuzz/corpus;
run again only to change the seeds):

    /usr/bin/python3 -m tests.fuzz.seeds build/pki [NAME]
"""

import hashlib
import os
import sys

from cryptography import x509
from cryptography.hazmat.primitives import serialization

HERE = os.path.dirname(os.path.abspath(__file__))
MAC = bytes.fromhex("0004f2000a01")


def path_seed(flags, uri, filename=None, mac=MAC):
    body = uri.encode() + (b"\0" + filename.encode() if filename else b"")
    return bytes([flags]) + mac + body


def records(*attrs):
    """der_cn's odd mode: (kind, bytes) records."""
    out = b"\x01"
    for kind, data in attrs:
        out += bytes([kind, len(data)]) + data
    return out


SEEDS = {
    "mac": [b"0004f2000a01", b"00:04:F2:00:0A:01", b"00-04-f2-00-0a-01",
            b"0004.f2aa.bbcc", b"00:04-f2:00:0a:01", b"0004f2000a0g",
            b"000000000000", b"FFFFFFFFFFFF"],
    "fingerprint": [
        b"sha256:" + b"2D" * 32,
        b"SHA256:" + b":".join([b"5a"] * 32),
        b"sha256:" + b"2d" * 31 + b"2",
        b"sha1:" + b"00" * 20],
    "cn": [b"0004F2000A01", b"Phone 0004F2000A01 desk", b"SEP0004f2000a01",
           b"00:04:f2:00:0a:01", b"0004F2000A01\n", b"000000000000",
           b"(a+)+$\0" + b"a" * 40 + b"b",
           b"^x([0-9a-f]{12})\0x0004f2000a01"],
    "list_line": [b"  0004f2000a01  # comment", b"\xef\xbb\xbf00:04:f2:00:0a:01\r",
                  b"# only a comment", b"0004.f2aa.bbcc", b"\t00-04-F2-00-0A-01",
                  b"not-a-mac"],
    "list_file": [
        b"# fleet\n0004f2000a01\n00:04:f2:00:0b:02\r\n0004.f200.0c03 # c\n\n",
        b"\xef\xbb\xbf0004f2000a01\n0004F2000A01\n",
        b"0004f2000a01\nbroken\n0004f2000b02\n",
        b"# nobody\n"],
    "path": [
        path_seed(0x02, "/0004f2000a01.cfg", "/srv/0004f2000a01.cfg"),
        path_seed(0x06, "/0004f2000b02.cfg", "/srv/0004f2000b02.cfg"),
        path_seed(0x02, "/000000000000.cfg"),
        path_seed(0x12, "/site.cfg", "/srv/site.cfg"),
        path_seed(0x00, "/0004f2000a01-app.log"),
        path_seed(0x23, "/x/0004f2000a01.cfg/0004f2000b02"),
        path_seed(0x22, "/0004f2000a010004f2000b02.cfg"),
        path_seed(0x1e, "/3111-40250-001.sip.ld", "/srv/3111-40250-001.sip.ld")],
    "der_cn": [
        records((1, b"0004F2000A01"), (0, b"Polycom Inc.")),
        records((1, b"0004F2000B02"), (1, b"0004F2000A01")),
        records((1 | 0x80, b"0004F2000A01"), (0x81, b"x")),
        records((7, "0004F2000A01".encode("utf-16-be"))),
        records((9, "0004F2000A01".encode("utf-32-be"))),
        records((1, b"0004F2000A01\0evil")),
        records((11, b"\xe9t\xe9")),
        records((15, b"0004F2000A01"))],
    # polyprov-check's input: 0 request target, 1 Destination, 2 file
    "check_input": [
        b"\0/0004f2000a01.cfg", b"\0/x/../0004f2000a01.cfg?q=1#f",
        b"\0//a/./b/%2e%2e/c", b"\0/%30004f2000a01%2fx", b"\0/../x",
        b"\0https://prov.example.com:443/a/b%41c", b"\0/a%zz",
        b"\1https://h/0004f2000a01-copy.cfg", b"\1/a/../../b//c",
        b"\1/a%2fb", b"\1/a;b", b"\1//host/p", b"\1rel/x", b"\1/x?q",
        b"\2", b"\2-----BEGIN CERTIFICATE-----\nMIIB\n",
        b"\2-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
        b"\2\x30\x82\x01\x00"],
}


def main(pki, only=None):
    for name in ("phone-a", "cn-bmp", "cn-universal", "cn-printable",
                 "two-cn", "cn-nul", "no-cn", "san-only", "cn-fullwidth",
                 "issuing1", "root"):
        with open(os.path.join(pki, name + ".crt"), "rb") as f:
            cert = x509.load_pem_x509_certificate(f.read())
        SEEDS["der_cn"].append(b"\0" + cert.public_bytes(
            serialization.Encoding.DER))
    # certificate files as an operator has them: a chain in PEM, one DER
    with open(os.path.join(pki, "phone-a.chain.pem"), "rb") as f:
        chain = f.read()
    SEEDS["check_input"] += [
        b"\2" + chain, b"\2" + chain[:len(chain) // 2],
        b"\2" + x509.load_pem_x509_certificate(chain).public_bytes(
            serialization.Encoding.DER)]
    for name, seeds in SEEDS.items():
        if only and name != only:
            continue
        d = os.path.join(HERE, "corpus", name)
        os.makedirs(d, exist_ok=True)
        for s in seeds:
            with open(os.path.join(d, "seed-" + hashlib.sha1(s).hexdigest()[:12]),
                      "wb") as f:
                f.write(s)


if __name__ == "__main__":
    # python3 -m tests.fuzz.seeds PKI [NAME]: all corpora, or NAME's only
    main(sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else None)
