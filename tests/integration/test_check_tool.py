# SPDX-License-Identifier: Apache-2.0
"""polyprov-check on its own: bad input gets a clear message and exit
status 2 (never a crash), the certificate forms it reads, what it prints
for each step, the list check against make check-list's, --show-ca and
Poly's fingerprints against docs/deployment.md's table, the options against the
manual page and docs/operations.md, and docs/operations.md's examples as real output.

The decisions themselves are compared with the module's in
test_check_tool_matrix.py."""

import os
import random
import re
import shlex
import subprocess

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from tests.pphttpd import checktool
from tests.pphttpd.fixtures import TOP
from tests.pphttpd.readme import readme

A, B = "0004f2000a01", "0004f2000b02"
STEP = re.compile(r"^\s?(\d+) (.{13}) (pass|skip|FAIL)  ")


def chain(pki, name="polycom-chain.pem"):
    return ["--trusted-ca", os.path.join(pki, name)]


def cert(pki, phone):
    return ["--cert", os.path.join(pki, phone + ".chain.pem")]


def der(pki, name):
    with open(os.path.join(pki, name + ".crt"), "rb") as f:
        return x509.load_pem_x509_certificate(f.read()).public_bytes(
            serialization.Encoding.DER)


def pem(pki, name, what="chain.pem"):
    with open(os.path.join(pki, "%s.%s" % (name, what)), "rb") as f:
        return f.read()


def write(tmp_path, name, data):
    p = tmp_path / name
    p.write_bytes(data)
    return str(p)


def decide(pki, certfile, uri="/%s.cfg" % A, *more):
    return checktool.run(*(chain(pki) + ["--cert", certfile] + list(more)
                           + [uri]))


# -- bad input: a clear message and 2, never a crash ------------------------

def bad_files(pki):
    leaf = pem(pki, "phone-a", "crt")
    full = pem(pki, "phone-a")
    rnd = random.Random(11)
    damaged = bytearray(leaf)
    for i in range(100, 300, 7):
        damaged[i] = ord("!")
    return {
        "truncated": (leaf[:600], "its first PEM certificate does not "
                                  "decode (truncated or damaged?)"),
        "truncated-chain": (full[:len(leaf) + 500],
                            "the PEM block after certificate #1 does not "
                            "decode"),
        "damaged": (bytes(damaged), "does not decode"),
        "binary": (bytes(rnd.getrandbits(8) for _ in range(4096)),
                   "is neither a PEM nor a DER certificate"),
        "empty": (b"", "is empty: expected a certificate (PEM or DER)"),
        "ten-mb": (b"-----BEGIN CERTIFICATE-----\n" + b"A" * (10 << 20),
                   "is too large (10485788 bytes; at most 1048576)"),
        "key-only": (pem(pki, "phone-a", "key"),
                     "holds PEM data but no CERTIFICATE block"),
        "der-trailing": (der(pki, "phone-a") + b"\0\0junk",
                         "6 bytes after DER certificate #1 are not a "
                         "certificate"),
        "text": (b"0004F2000A01\n", "is neither a PEM nor a DER certificate"),
    }


@pytest.mark.parametrize("kind", ["truncated", "truncated-chain", "damaged",
                                  "binary", "empty", "ten-mb", "key-only",
                                  "der-trailing", "text"])
def test_bad_certificate_file(pki, tmp_path, kind):
    data, message = bad_files(pki)[kind]
    path = write(tmp_path, kind, data)
    a = decide(pki, path)
    assert a.rc == 2 and a.out == "", a
    assert a.err.startswith("polyprov-check: error: --cert: '%s'" % path), a
    assert message in a.err, a


def test_not_a_file(pki, tmp_path):
    a = decide(pki, str(tmp_path))
    assert a.rc == 2 and "is not a regular file" in a.err, a
    a = decide(pki, str(tmp_path / "missing.pem"))
    assert a.rc == 2 and "cannot read" in a.err \
        and "No such file or directory" in a.err, a


@pytest.mark.parametrize("phone", ["cn-nul", "cn-nul-lead"])
def test_nul_in_the_cn_is_bad_cn(pki, phone):
    """As the module: refused at step 5, the CN shown escaped."""
    a = checktool.run(*(chain(pki) + cert(pki, phone) + ["/%s.cfg" % A]))
    assert a.rc == 1 and a.reason == "bad-cn", a
    assert "the CN is too long, not UTF-8 or holds a NUL" in a.last
    assert "\\x00" in a.last and "\0" not in a.out


# -- the certificate forms it reads -----------------------------------------

def test_certificate_forms(pki, tmp_path, manifest):
    leaf_der = der(pki, "phone-a")
    forms = {
        "leaf.pem": pem(pki, "phone-a", "crt"),
        "chain.pem": pem(pki, "phone-a"),
        "leaf.der": leaf_der,
        "chain.der": leaf_der + der(pki, "issuing1") + der(pki, "policy"),
        # curl's --cert file with the key in it, text around the blocks
        "with-key.pem": b"Bag Attributes\n" + pem(pki, "phone-a", "key")
        + pem(pki, "phone-a"),
    }
    fp = ":".join(re.findall("..", manifest["phone-a"]["sha256"])).upper()
    for name, data in forms.items():
        a = decide(pki, write(tmp_path, name, data))
        assert a.rc == 0 and a.reason == "ok", (name, a)
        assert "    sha256   %s\n" % fp in a.out, (name, a)
        n = {"leaf.pem": 1, "leaf.der": 1}.get(name, 3)
        assert re.search(r" 2 certificate   pass  %s, %d certificates?"
                         % ("DER" if name.endswith(".der") else "PEM", n),
                         a.out), (name, a)


# -- the directives' files and values: what fails configtest fails here ----

def test_configuration_errors(pki, tmp_path):
    P = pki
    leaf = os.path.join(P, "phone-a.crt")
    rnd = random.Random(5)
    big = write(tmp_path, "big.pem", bytes(rnd.getrandbits(8)
                                           for _ in range(1 << 16)) * 160)
    cases = [
        (["--trusted-ca", leaf], "is not a CA certificate"),
        (["--trusted-ca", str(tmp_path / "none.pem")], "cannot read"),
        (["--trusted-ca", big], "contains no PEM certificate and is not a "
                                "DER certificate"),
        (["--trusted-ca", os.path.join(P, "phone-a.key")],
         "contains no PEM certificate"),
        (chain(P) + ["--crl", leaf], "contains no CRL"),
        (chain(P) + ["--cn-pattern", "(["], "--cn-pattern (PolyProvCNPattern)"),
        (chain(P) + ["--shared-files", "none *.cfg"],
         "--shared-files (PolyProvSharedFiles)"),
    ]
    for args, message in cases:
        a = checktool.run(*(args + cert(P, "phone-a") + ["/%s.cfg" % A]))
        assert a.rc == 2 and message in a.err and a.out == "", (args, a)


def test_every_ca_needs_its_crl(pki):
    """As configtest's PP020: one message per CA without a CRL."""
    a = checktool.run(*(chain(pki) + ["--crl", os.path.join(
        pki, "crl-issuing1.der")] + cert(pki, "phone-a") + ["/x"]))
    assert a.rc == 2, a
    gaps = re.findall(r"has no CRL of (/CN=[^,]+), certificate #(\d)", a.err)
    assert gaps == [("/CN=Polycom Root CA", "1"),
                    ("/CN=Polycom Equipment Policy CA", "2"),
                    ("/CN=Polycom Equipment Issuing CA 2", "4")], a
    assert "PP020" in a.err


@pytest.mark.parametrize("args,message", [
    (["--issuer-fingerprint", "sha256:12"], "a SHA-256 fingerprint has 32"),
    (["--method", "GE T"], "is not an HTTP method"),
    (["--frobnicate"], "unknown option '--frobnicate'"),
    (["--cert"], "needs an argument or is unknown"),
    (["/a", "/b"], "one URI at most"),
    (["/a"], "--cert FILE is needed"),
    (["--no-cert", "--cert", "x", "/a"], "exclude each other"),
    (["--shared-only"], "give a URI"),
    (["--no-cert", "--method", "PUT"], "give its URI"),
    (["--check-list", "--show-ca", "x"], "exclude each other"),
    (["--check-list"], "needs at least one list file"),
    (["--show-ca"], "needs at least one CA file"),
])
def test_usage_errors(pki, args, message):
    a = checktool.run(*(chain(pki) + args))
    assert a.rc == 2 and message in a.err and "--help" in a.err, a


def test_trusted_ca_needed_to_verify(pki):
    a = checktool.run(*(cert(pki, "phone-a") + ["/%s.cfg" % A]))
    assert a.rc == 2 and "--trusted-ca is needed" in a.err, a
    # not when nothing is verified
    a = checktool.run("--no-tls", "/%s.cfg" % A)
    assert a.rc == 1 and a.reason == "no-tls", a
    a = checktool.run("--no-cert", "/%s.cfg" % A)
    assert a.rc == 1 and a.reason == "no-cert", a
    a = checktool.run("--shared-only", "--shared-files", "site.cfg",
                      "/site.cfg")
    assert a.rc == 0 and a.reason == "ok", a
    # SharedOnly without a set shares nothing, as in the module
    a = checktool.run("--shared-only", "/site.cfg")
    assert a.rc == 1 and a.reason == "not-shared", a


def test_uris_httpd_refuses(pki):
    for uri, status in [("/%2e%2e/x", 400), ("/a%2fb", 404), ("/a%00", 404),
                        ("/%zz", 400), ("a.cfg", 400), ("/a b", 400)]:
        a = checktool.run(*(chain(pki) + cert(pki, "phone-a") + [uri]))
        assert a.rc == 2 and "httpd answers %d" % status in a.err \
            or (status == 400 and "is not a request path" in a.err), (uri, a)


def test_uri_normalised_as_httpd(pki):
    for uri, seen in [("/x/../%s.cfg" % B, "/%s.cfg" % B),
                      ("/%s.cfg?mac=%s" % (B, A), "/%s.cfg" % B),
                      ("https://prov.example.com/%s.cfg" % A, "/%s.cfg" % A),
                      ("//%s.cfg" % A, "/%s.cfg" % A),
                      ("/%%30%s" % A[1:], "/%s" % A),
                      ("/a%%3b%s" % A, "/a;%s" % A)]:
        a = checktool.run(*(chain(pki) + cert(pki, "phone-a") + [uri]))
        assert a.out.startswith("request      GET %s\n" % seen), (uri, a)
        assert 'uri="%s"' % seen in a.last, (uri, a)


# -- what it prints -----------------------------------------------------------

def steps(a):
    return [(int(m.group(1)), m.group(3))
            for m in map(STEP.match, a.out.splitlines()) if m]


def test_steps_in_order_none_after_the_refusal(pki, manifest):
    pin = "sha256:" + manifest["issuing1"]["sha256"]
    a = checktool.run(*(chain(pki) + ["--issuer-fingerprint", pin]
                        + cert(pki, "phone-a") + ["/%s.cfg" % A]))
    assert steps(a) == [(1, "pass"), (2, "pass"), (3, "pass"), (4, "pass"),
                        (5, "pass"), (6, "skip"), (7, "skip"), (8, "pass"),
                        (9, "skip"), (10, "pass"), (11, "pass")], a
    assert a.last == 'allowed reason=ok mac=%s method=GET uri="/%s.cfg"' \
        % (A, A)
    a = checktool.run(*(chain(pki) + ["--issuer-fingerprint", pin]
                        + cert(pki, "phone-c") + ["/x.cfg"]))
    assert steps(a) == [(1, "pass"), (2, "pass"), (3, "pass"),
                        (4, "FAIL")], a
    assert re.match(r'refused reason=issuer mac=- method=GET uri="/x.cfg" '
                    r'cn="0004F2000C03" detail=issuer sha256:[0-9A-F:]{95} '
                    r'is not pinned$', a.last), a
    a = checktool.run(*(chain(pki) + cert(pki, "phone-a")
                        + ["--method", "PROPPATCH", "/%s.cfg" % A]))
    assert steps(a)[-3:] == [(9, "pass"), (10, "pass"), (11, "FAIL")], a


def test_final_line_is_the_modules(pki):
    """The fields of the module's PP001 line, in its order."""
    a = checktool.run(*(chain(pki) + cert(pki, "phone-a")
                        + ["--file", "/srv/other/%s.cfg" % B, "/%s.cfg" % A]))
    assert a.last == ('refused reason=not-owner mac=%s method=GET uri="/%s.'
                      'cfg" file="/srv/other/%s.cfg" cn="0004F2000A01"'
                      % (A, A, B)), a
    assert "10 owner         FAIL  not-owner: the file /srv/other/%s.cfg " \
           "names %s, not the requester %s" % (B, B, A) in a.out


def test_without_a_uri_steps_one_to_seven(pki):
    a = checktool.run(*(chain(pki) + cert(pki, "phone-a")))
    assert a.rc == 0 and steps(a)[-1] == (7, "skip"), a
    assert "steps 8 to 11 not checked: no URI given" in a.out
    assert a.last == "certificate accepted (steps 1 to 7) reason=ok " \
                     "mac=%s" % A
    a = checktool.run(*(chain(pki) + cert(pki, "corp-a")))
    assert a.rc == 1 and a.reason == "untrusted" and steps(a)[-1] == (
        3, "FAIL"), a


def test_lists_are_data(pki, tmp_path):
    """A list that does not load: a warning with file:line, and the
    module's list-unavailable; the snapshot directory is removed after."""
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    broken = write(tmp_path, "allow.txt", b"%s\nnot-a-mac\n" % A.encode())
    a = checktool.run(*(chain(pki) + ["--allow-list", broken]
                        + cert(pki, "phone-a") + ["/%s.cfg" % A]),
                      env={"TMPDIR": str(tmp)})
    assert a.rc == 1 and a.reason == "list-unavailable", a
    assert "warning: --allow-list %s does not load: %s:2: 'not-a-mac'" \
        % (broken, broken) in a.err, a
    assert steps(a)[-1] == (7, "FAIL")
    a = checktool.run(*(chain(pki) + ["--deny-list", str(tmp_path / "nope")]
                        + cert(pki, "phone-a") + ["/%s.cfg" % A]),
                      env={"TMPDIR": str(tmp)})
    assert a.reason == "list-unavailable" and steps(a)[-1] == (6, "FAIL"), a
    good = write(tmp_path, "deny.txt", b"00:04:F2:00:0A:01 # stolen\n")
    a = checktool.run(*(chain(pki) + ["--deny-list", good]
                        + cert(pki, "phone-a") + ["/%s.cfg" % A]),
                      env={"TMPDIR": str(tmp)})
    assert a.reason == "deny-list" and "detail=listed in %s" % good in a.last
    assert os.listdir(str(tmp)) == []


def test_docroot_lookup(pki, tmp_path):
    root = tmp_path / "htdocs"
    (root / "phones" / A).mkdir(parents=True)
    (root / ("%s.cfg" % A)).write_text("x")
    base = chain(pki) + cert(pki, "phone-a") + ["--docroot", str(root)]
    for uri, reason, extra in [
            ("/phones/%s" % A, "directory", "is a directory"),
            ("/phones/%s/" % A, "directory", "is a directory"),
            ("/%s.cfg/more" % A, "not-owner", 'has path info "/more"'),
            ("/%s.cfg/" % A, "ok", '(path info "/")'),
            ("/missing/%s.cfg" % A, "not-owner", 'path info "/%s.cfg"' % A),
            ("/phones/%s/new.cfg" % A, "ok", "looked up below --docroot")]:
        a = checktool.run(*(base + [uri]))
        assert a.reason == reason and extra in a.out, (uri, a)
    a = checktool.run(*(chain(pki) + cert(pki, "phone-a")
                        + ["--docroot", str(tmp_path / "nope"), "/"]))
    assert a.rc == 2 and "is not a directory" in a.err, a


# -- --check-list: the module's parser, as make check-list ----------------

@pytest.fixture(scope="module")
def check_list_bin():
    env = {k: v for k, v in os.environ.items()
           if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")}
    p = subprocess.run(["make", "-s", "build/check-list"], cwd=TOP, env=env,
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    return os.path.join(TOP, "build", "check-list")


def test_check_list_agrees_with_make_check_list(tmp_path, check_list_bin):
    rnd = random.Random(3)
    macs = b"".join(b"%012x\n" % rnd.getrandbits(48) for _ in range(800000))
    lists = {
        "good": b"# fleet\n0004f2000a01\n00:04:F2:00:0B:02  # desk\r\n",
        "bom-crlf": b"\xef\xbb\xbf0004.f200.0c03\r\n\r\n",
        "comment-only": b"# nobody on purpose\n",
        "dupes": b"0004f2000a01\n0004F2000A01\n00-04-f2-00-0a-01\n",
        "broken": b"0004f2000a01\n\n0004f2000a0\n",
        "nul": b"0004f2000a01\x00\n",
        "empty": b"",
        "ten-mb": macs,
        "ten-mb-garbage": bytes(rnd.getrandbits(8) for _ in range(1 << 16))
        * 160,
    }
    paths = {k: write(tmp_path, k, v) for k, v in lists.items()}
    paths["missing"] = str(tmp_path / "missing")
    for name, path in paths.items():
        a = checktool.run("--check-list", path)
        ref = subprocess.run([check_list_bin, path], capture_output=True,
                             text=True, errors="replace", timeout=60)
        assert a.rc == ref.returncode, (name, a, ref.stderr)
        if a.rc == 0:
            assert a.out == ref.stdout, (name, a)
        else:
            assert a.err == "".join("polyprov-check: " + l for l in
                                    ref.stderr.splitlines(True)), (name, a)
            assert a.out == "%s: %s\n" % (path, "BROKEN" if a.rc == 1
                                          else "UNREADABLE")
    assert checktool.run("--check-list", paths["ten-mb"]).out.endswith(
        ": OK, %d MACs\n" % len(set(macs.split())))
    a = checktool.run("--check-list", paths["broken"])
    assert "%s:3: '0004f2000a0' is not a MAC address" % paths["broken"] \
        in a.err
    # several files: the worst status, a line for each
    a = checktool.run("--check-list", paths["good"], paths["broken"],
                      paths["missing"])
    assert a.rc == 2 and a.out.count("\n") == 3, a


def test_check_list_reports_every_bad_line(tmp_path, check_list_bin):
    """A large export with several bad lines: every one in one run (the
    first 100, then how many in all), as configtest's PP029 lines."""
    path = write(tmp_path, "three", b"0004f2000a01\nbad\n0004f2000b02\n"
                 b"00:04:f2\n\n0004f2000c0g # typo\n")
    for cmd in (["--check-list", path], [path]):
        if cmd[0] == path:
            p = subprocess.run([check_list_bin, path], capture_output=True,
                               text=True, timeout=60)
            rc, err = p.returncode, p.stderr
        else:
            a = checktool.run(*cmd)
            rc, err = a.rc, a.err
        assert rc == 1, err
        lines = err.splitlines()
        assert len(lines) == 3, err
        for line, (n, tok) in zip(lines, [(2, "bad"), (4, "00:04:f2"),
                                          (6, "0004f2000c0g")]):
            assert "%s:%d: '%s' is not a MAC address" % (path, n, tok) \
                in line, err
    many = write(tmp_path, "many", b"".join(b"bad%d\n" % i
                                            for i in range(250)))
    a = checktool.run("--check-list", many)
    lines = a.err.splitlines()
    assert a.rc == 1 and len(lines) == 101, a
    assert "%s:100: 'bad99'" % many in lines[99]
    assert lines[100] == "polyprov-check: %s: 250 bad lines in all; the " \
        "first 100 are shown" % many, a


# -- --show-ca and Poly's published fingerprints --------------------------

def readme_poly_table():
    text = readme()
    at = text.index("### The Polycom CA certificates")
    return re.findall(r"^\| (Polycom [^|]+?) \| `([0-9A-F:]{95})` \|$",
                      text[at:at + 3000], re.M)


def test_known_cas_are_the_readmes():
    table = readme_poly_table()
    assert len(table) == 4, table
    a = checktool.run("--known-cas")
    got = [tuple(re.split(r"\s{2,}", l)) for l in a.out.splitlines()]
    assert got == table, (got, table)
    # the same form as the fingerprints --show-ca prints, so that they
    # can match
    assert all(re.fullmatch(r"([0-9A-F]{2}:){31}[0-9A-F]{2}", fp)
               for _, fp in got)
    # docs/deployment.md's example pins Issuing CAs 1 and 2 of that table
    example = readme()
    for name, fp in table[2:]:
        assert fp in example.split("### The Polycom CA certificates")[0]


def test_show_ca(pki, manifest, tmp_path):
    a = checktool.run("--show-ca", os.path.join(pki, "polycom-chain.pem"))
    assert a.rc == 0, a
    for i, name in enumerate(["root", "policy", "issuing1", "issuing2"]):
        fp = ":".join(re.findall("..", manifest[name]["sha256"])).upper()
        block = a.out.split("  #%d " % (i + 1))[1].split("  #")[0]
        assert "sha256   %s\n" % fp in block, (name, a)
        assert "a CA certificate; not one of Poly's published CA " \
               "certificates" in block
    assert re.search(r"issuer   /CN=Polycom Root CA \(self-signed\)", a.out)
    assert re.search(r"valid    \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC to "
                     r"\d{4}-", a.out)
    assert a.last == "PolyProvTrustedCA accepts these 4 certificates; " \
                     "devices under them need SSLVerifyDepth 3 or more"
    # pins are marked: the certificate a --issuer-fingerprint names
    pin = "sha256:" + manifest["issuing2"]["sha256"]
    a = checktool.run("--show-ca", "--issuer-fingerprint", pin,
                      os.path.join(pki, "polycom-chain.pem"))
    marked = [l for l in a.out.splitlines() if "pinned" in l]
    assert len(marked) == 1 and a.out.index(marked[0]) > a.out.index("#4")
    # DER files, one certificate each, as PolyProvTrustedCA takes them
    files = [write(tmp_path, n + ".der", der(pki, n))
             for n in ("root", "policy", "issuing1")]
    a = checktool.run("--show-ca", *files)
    assert a.rc == 0 and a.out.count("1 certificate (DER)") == 3, a
    # what configtest refuses is refused, with the module's message
    a = checktool.run("--show-ca", os.path.join(pki, "polycom-chain.pem"),
                      os.path.join(pki, "phone-a.crt"))
    assert a.rc == 2 and "NOT a CA certificate" in a.out, a
    assert "certificate #5 (/CN=0004F2000A01/O=Polycom Inc.) is not a CA " \
           "certificate" in a.err
    a = checktool.run("--show-ca", os.path.join(pki, "issuing1.crt"))
    assert a.rc == 2 and "contains no self-signed root CA" in a.err, a
    a = checktool.run("--show-ca", write(tmp_path, "empty", b""))
    assert a.rc == 2 and "is empty" in a.err, a


# -- the options: --help, the manual page and docs/operations.md agree -------------

MAN = os.path.join(TOP, "docs", "polyprov-check.1")


def readme_section():
    text = readme()
    start = text.index("\n## The check tool\n")
    return text[start:text.index("\n## ", start + 5)]


def test_options_documented_everywhere():
    helped = set(re.findall(r"--[a-z][a-z-]+", checktool.run("--help").out))
    with open(MAN) as f:
        man = set(o.replace("\\-", "-") for o in
                  re.findall(r"\\-\\-[a-z][a-z\\-]+", f.read()))
    in_readme = set(re.findall(r"`(--[a-z][a-z-]+)", readme_section()))
    assert len(helped) >= 20
    assert helped == man, (helped ^ man)
    assert helped == in_readme, (helped ^ in_readme)


def test_manual_page_renders_cleanly():
    """What lintian runs on a manual page."""
    p = subprocess.run(["man", "--warnings", "-E", "UTF-8", "-l", "-Tutf8",
                        "-Z", MAN], capture_output=True, text=True,
                       env=dict(os.environ, LC_ALL="C.UTF-8", MANWIDTH="80",
                                MANROFFSEQ=""))
    assert p.returncode == 0 and p.stderr == "", p.stderr
    p = subprocess.run(["groff", "-man", "-ww", "-z", MAN],
                       capture_output=True, text=True)
    assert p.returncode == 0 and p.stderr == "", p.stderr


def test_version():
    a = checktool.run("--version")
    with open(os.path.join(TOP, "VERSION")) as f:
        version = f.read().strip()
    assert a.out == "polyprov-check (mod_polyprov %s)\n" % version
    assert ".TH POLYPROV-CHECK 1 " in open(MAN).read()
    assert '"mod_polyprov %s"' % version in open(MAN).read()


# -- docs/operations.md's examples are real output ----------------------------------

MASKS = [
    (re.compile(r"([0-9A-F]{2}:){31}[0-9A-F]{2}"), "<sha256>"),
    (re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC"), "<time>"),
]


def mask(text):
    for rx, repl in MASKS:
        text = rx.sub(repl, text)
    return text


def readme_examples():
    """(command, expected output) pairs of the check tool section's
    example blocks: '$ ' starts a command ('\\' continues it), the lines
    up to the next command are its output."""
    blocks = re.findall(r"<!-- check-tool:begin -->\s*```\n(.*?)```\s*"
                        r"<!-- check-tool:end -->", readme(), re.S)
    out = []
    for block in blocks:
        lines = block.splitlines()
        i = 0
        while i < len(lines):
            assert lines[i].startswith("$ "), lines[i]
            cmd = lines[i][2:]
            while cmd.endswith("\\"):
                i += 1
                cmd = cmd[:-1] + " " + lines[i].strip()
            i += 1
            expect = []
            while i < len(lines) and not lines[i].startswith("$ "):
                expect.append(lines[i])
                i += 1
            out.append((cmd, expect))
    return out


def test_readme_examples_are_real_output(pki, tmp_path):
    examples = readme_examples()
    assert len(examples) >= 8, examples
    work = tmp_path / "work"
    (work / "build").mkdir(parents=True)
    os.symlink(pki, str(work / "build" / "pki"))
    bindir = tmp_path / "bin"
    bindir.mkdir()
    os.symlink(checktool.TOOL, str(bindir / "polyprov-check"))
    env = dict(os.environ, PATH="%s:%s" % (bindir, os.environ["PATH"]))
    env.setdefault("ASAN_OPTIONS", "detect_leaks=1")
    rc = None
    for cmd, expect in examples:
        if cmd == "echo $?":
            got = "%d" % rc
        else:
            assert shlex.split(cmd)[0] in ("polyprov-check", "printf",
                                           "head"), cmd
            p = subprocess.run(["bash", "-c", cmd], cwd=str(work), env=env,
                               capture_output=True, text=True, timeout=60)
            assert not checktool.CRASH.search(p.stderr), p.stderr
            rc = p.returncode
            got = p.stdout.rstrip("\n")
        assert mask(got).splitlines() == mask("\n".join(expect)).splitlines(), \
            "docs/operations.md example differs: %s\n--- docs/operations.md\n%s\n--- real\n%s" % (
                cmd, "\n".join(expect), got)


# -- PolyProvAllowExpired, and which CA a pin matches --------------------------

def test_allow_expired_is_the_directives_question(pki):
    mac = "0004f2000f06"
    args = ["--trusted-ca", "%s/polycom-chain.pem" % pki, "--cert",
            "%s/expired-day.chain.pem" % pki, "/%s.cfg" % mac]
    a = checktool.run(*args)
    assert a.rc == 1 and a.reason == "untrusted", a
    assert "PolyProvAllowExpired is not On" in a.out, a
    a = checktool.run(*(["--allow-expired"] + args))
    assert a.rc == 0 and a.reason == "ok", a
    assert "expired at " in a.out and "PolyProvAllowExpired is On" in a.out
    # nothing else is loosened: a not yet valid certificate stays refused
    a = checktool.run("--allow-expired", "--trusted-ca",
                      "%s/polycom-chain.pem" % pki, "--cert",
                      "%s/notyet-a.chain.pem" % pki, "/%s.cfg" % A)
    assert a.reason == "untrusted", a


def test_show_ca_says_which_certificate_each_pin_matches(pki, manifest):
    good = manifest["issuing2"]["sha256"]
    typo = good[:-1] + ("0" if good[-1] != "0" else "1")
    a = checktool.run("--show-ca", "%s/polycom-chain.pem" % pki,
                      "--issuer-fingerprint", "sha256:" + good)
    assert a.rc == 0, a
    assert re.search(r"^pin sha256:%s matches #4 /CN=Polycom Equipment "
                     r"Issuing CA 2 \(%s/polycom-chain.pem\)$" % (
                         ":".join(good[i:i + 2] for i in range(0, 64, 2))
                         .upper(), re.escape(pki)), a.out, re.M), a
    a = checktool.run("--show-ca", "%s/polycom-chain.pem" % pki,
                      "--issuer-fingerprint", "sha256:" + good,
                      "--issuer-fingerprint", "sha256:" + typo)
    assert a.rc == 1, a
    assert "matches NO certificate of these files" in a.out
    assert "configtest fails (PP123)" in a.err, a
