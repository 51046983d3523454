# SPDX-License-Identifier: Apache-2.0
"""Directives: where they may appear, how scopes merge, and the errors
`apachectl configtest` reports (directive, file and, for lists, line)."""

import os
import re
import shutil
import subprocess
import time

import pytest

from tests.pphttpd.fixtures import FILES, need_root, populate
from tests.pphttpd.httpd import HTTPD
from tests.pphttpd.expect import (A, B, C, expect_allowed, expect_refused,
                                  handshake_refused)


def configtest(h, vhost="", server="", **kw):
    h.write(vhost=vhost, server=server, **kw)
    return h.configtest()


def bad(h, snippet, *expected, where="vhost"):
    """configtest must fail and name each expected string."""
    rc, out = configtest(h, **{where: snippet})
    assert rc != 0, "configtest passed:\n" + out
    for e in expected:
        assert e in out, "%r not in:\n%s" % (e, out)
    return out


def line_of(h, text):
    with open(h.conf) as f:
        for n, line in enumerate(f, 1):
            if text in line:
                return n
    raise AssertionError(text)


@pytest.fixture
def h(servers):
    return servers()


def test_good_configuration_passes(h, pki, manifest):
    allow = h.list_file("allow.txt", "%s\n" % A)
    rc, out = configtest(h, vhost="""
    PolyProv On
    PolyProvTrustedCA {p}/polycom-chain.pem
    PolyProvCRL {p}/crl-all.pem
    PolyProvIssuerFingerprint sha256:{fp} \\
        sha256:{fp2}
    PolyProvCNPattern "^([0-9A-Fa-f]{{12}})$"
    PolyProvAllowList {allow}
    PolyProvDenyList {allow}
    PolyProvSharedFiles 000000000000*.cfg *.ld
    PolyProvReloadInterval 0
""".format(p=pki, allow=allow, fp=manifest["issuing1"]["sha256"],
           fp2=":".join(manifest["issuing2"]["sha256"][i:i + 2].upper()
                        for i in range(0, 64, 2))))
    assert rc == 0, out
    assert "Syntax OK" in out


def test_missing_ca_file(h):
    out = bad(h, "PolyProv On\nPolyProvTrustedCA /nonexistent/chain.pem",
              "PolyProvTrustedCA", "/nonexistent/chain.pem",
              "No such file or directory")
    n = line_of(h, "PolyProvTrustedCA /nonexistent/chain.pem")
    assert "line %d of %s" % (n, h.conf) in out


def test_ca_file_without_certificate(h):
    path = os.path.join(h.root, "empty.pem")
    with open(path, "w") as f:
        f.write("# not a certificate\n")
    bad(h, "PolyProvTrustedCA %s" % path, "PolyProvTrustedCA", path,
        "contains no PEM certificate")


def test_ca_file_with_a_device_certificate(h, pki):
    bad(h, "PolyProvTrustedCA %s/phone-a.crt" % pki, "PolyProvTrustedCA",
        "phone-a.crt", "is not a CA certificate")


def test_ca_bundle_without_root(h, pki):
    bad(h, "PolyProvTrustedCA %s/issuing1.crt" % pki, "PolyProvTrustedCA",
        "no self-signed root")


def der(h, pki, name):
    """A DER copy of one certificate of the test PKI."""
    out = os.path.join(h.root, name.replace(".crt", ".der"))
    subprocess.run(["openssl", "x509", "-in", os.path.join(pki, name),
                    "-outform", "DER", "-out", out], check=True)
    return out


def test_trusted_ca_in_der_one_file_per_certificate(servers, pki):
    """PolyProvTrustedCA takes several files, each a PEM bundle or one DER
    certificate (as CA certificates are often downloaded)."""
    h = servers()
    populate(h)
    files = [der(h, pki, n) for n in ("root.crt", "policy.crt",
                                      "issuing1.crt", "issuing2.crt")]
    h.write(loglevel="warn polyprov:debug", vhost="""
    PolyProv On
    PolyProvTrustedCA {f0} {f1} \\
        {f2} {f3}""".format(f0=files[0], f1=files[1], f2=files[2],
                           f3=files[3]))
    rc, out = h.configtest()
    assert rc == 0, out
    h.start()
    h.mark()
    expect_allowed(h, h.curl("/%s.cfg" % A, phone="phone-a"), A,
                   "/%s.cfg" % A)
    expect_allowed(h, h.curl("/%s.cfg" % C, phone="phone-c"), C,
                   "/%s.cfg" % C)
    expect_refused(h, h.curl("/%s.cfg" % B, phone="phone-a"), "not-owner",
                   "/%s.cfg" % B)


def test_trusted_ca_der_errors(h, pki):
    # a single DER root is a complete (if short) bundle
    rc, out = configtest(h, vhost="PolyProvTrustedCA %s"
                         % der(h, pki, "root.crt"))
    assert rc == 0, out
    # an intermediate alone has no root, in DER as in PEM
    bad(h, "PolyProvTrustedCA %s" % der(h, pki, "issuing1.crt"),
        "PolyProvTrustedCA", "issuing1.der", "no self-signed root")
    # two DER certificates glued into one file: the conversion is named
    glued = os.path.join(h.root, "glued.der")
    with open(glued, "wb") as f:
        for n in ("root.crt", "policy.crt"):
            with open(der(h, pki, n), "rb") as g:
                f.write(g.read())
    out = bad(h, "PolyProvTrustedCA %s" % glued, "PolyProvTrustedCA",
              glued, "a DER file holds one certificate",
              "openssl x509 -inform DER -in FILE")
    assert "line %d of %s" % (line_of(h, "PolyProvTrustedCA"), h.conf) in out


def test_unreadable_files(h, pki, module):
    """A file the reading user cannot open: configtest run as an
    unprivileged user (root reads everything)."""
    secret = os.path.join(h.root, "secret.pem")
    shutil.copy(os.path.join(pki, "polycom-chain.pem"), secret)
    os.chmod(secret, 0)
    # that user must be able to read the module and the server's keys,
    # wherever the clone is (/root is 0700)
    h.module = os.path.join(h.root, "mod_polyprov.so")
    shutil.copy(module, h.module)
    os.chmod(h.module, 0o755)
    h.pki = os.path.join(h.root, "pki")
    shutil.copytree(pki, h.pki)
    h.write(vhost="PolyProvTrustedCA %s" % secret)
    cmd = [HTTPD, "-t", "-f", h.conf]
    if os.geteuid() == 0:
        cmd = ["runuser", "-u", "www-data", "--"] + cmd
        os.chmod(h.conf, 0o644)
    env = dict(os.environ)
    env.update(h.sanitizer_env())
    p = subprocess.run(cmd, capture_output=True, text=True, env=env)
    out = p.stdout + p.stderr
    assert p.returncode != 0, out
    assert "PolyProvTrustedCA" in out and "Permission denied" in out, out


def list_warning(h, snippet, *expected):
    """A list is data: a problem with one is a configtest warning (PP029)
    naming the directive, its line and the list's file:line; configtest
    passes (it used to fail, which blocked apachectl stop/graceful)."""
    rc, out = configtest(h, vhost=snippet)
    assert rc == 0, out
    assert "Syntax OK" in out
    lines = [l for l in out.splitlines() if "PP029:" in l]
    assert len(lines) == 1, out
    for e in expected:
        assert e in lines[0], "%r not in:\n%s" % (e, lines[0])
    assert "list-unavailable" in lines[0]
    return lines[0]


def test_malformed_allow_list_names_file_and_line(h):
    path = h.list_file("allow.txt", "# fleet\n%s\n\nnot-a-mac\n" % A)
    list_warning(h, "PolyProvAllowList %s" % path,
                 "PolyProvAllowList at %s:" % h.conf,
                 "%s:4: 'not-a-mac' is not a MAC address" % path)
    line = list_warning(h, "PolyProvAllowList %s" % path)
    assert "PolyProvAllowList at %s:%d" % (
        h.conf, line_of(h, "PolyProvAllowList")) in line


def test_malformed_deny_list(h):
    path = h.list_file("deny.txt", "%s\n00:04:f2:00:0b\n" % A)
    list_warning(h, "PolyProvDenyList %s" % path, "PolyProvDenyList",
                 "%s:2:" % path)


def test_empty_list_file(h):
    path = h.list_file("allow.txt", "")
    list_warning(h, "PolyProvAllowList %s" % path, "PolyProvAllowList",
                 "empty (0 bytes)")


def test_missing_list_file(h):
    """A path with no file behind it is a mistake in the configuration,
    not data: configtest fails (PP120, test_configtest_fleet.py)."""
    bad(h, "PolyProvAllowList /nonexistent/allow.txt",
        "PP120: PolyProvAllowList at %s:" % h.conf, "/nonexistent/allow.txt",
        "does not exist")


def test_bad_regex(h):
    bad(h, 'PolyProvCNPattern "^([0-9A-F]{12}$"', "PolyProvCNPattern",
        "bad regular expression", "offset")


@pytest.mark.parametrize("fp", ["5A:9A:1F", "sha1:" + "ab" * 20,
                                "sha256:" + "zz" * 32, "ab" * 32,
                                "sha256:" + "ab" * 31])
def test_malformed_fingerprint(h, fp):
    bad(h, "PolyProvIssuerFingerprint %s" % fp, "PolyProvIssuerFingerprint")


def test_crl_errors(h):
    bad(h, "PolyProvCRL /nonexistent.crl", "PolyProvCRL", "/nonexistent.crl")
    junk = os.path.join(h.root, "junk.crl")
    with open(junk, "w") as f:
        f.write("junk")
    bad(h, "PolyProvCRL %s" % junk, "PolyProvCRL", "contains no CRL")


@pytest.mark.parametrize("value", ["abc", "-1", "86401", "5s", ""])
def test_bad_reload_interval(h, value):
    bad(h, 'PolyProvReloadInterval "%s"' % value, "PolyProvReloadInterval")


@pytest.mark.parametrize("value,msg", [("none *.cfg", "must stand alone"),
                                       ("fw/*.ld", "may not contain '/'")])
def test_bad_shared_files(h, value, msg):
    bad(h, "PolyProvSharedFiles %s" % value, "PolyProvSharedFiles", msg)


def test_flag_must_be_on_or_off(h):
    bad(h, "PolyProv maybe", "PolyProv")


def test_on_without_any_trusted_ca(h):
    out = bad(h, "PolyProv On", "PolyProv On at %s:" % h.conf,
              "no PolyProvTrustedCA")
    assert "the virtual host defined at %s:" % h.conf in out
    assert "Configuration check failed" in out


def test_on_in_a_section_without_any_trusted_ca(h):
    bad(h, "<Location /prov/>\n PolyProv On\n</Location>",
        "no PolyProvTrustedCA")


def test_on_with_ca_only_in_another_scope_is_accepted(h, pki):
    # the CA may come from an enclosing scope: not an error at parse time
    rc, out = configtest(h, vhost="""
    PolyProvTrustedCA {p}/polycom-chain.pem
    <Location /prov/>
        PolyProv On
    </Location>""".format(p=pki))
    assert rc == 0, out


def test_not_allowed_in_htaccess(servers, pki):
    """An .htaccess cannot switch the checks off."""
    h = servers()
    populate(h)
    h.put(".htaccess", "PolyProv Off\n")
    h.expect_log(r"\.htaccess: PolyProv not allowed here")
    h.write(vhost="""
    <Directory {d}>
        AllowOverride All
        PolyProv On
        PolyProvTrustedCA {p}/polycom-chain.pem
    </Directory>""".format(d=h.docroot, p=pki))
    h.start()
    h.mark()
    r = h.curl("/%s.cfg" % B, phone="phone-a")
    assert r.status == 500
    assert "not allowed here" in h.new_log()
    assert "secret" not in r.body


# -- scopes and merging ------------------------------------------------------

def run(servers, pki, vhost="", server="", files=FILES):
    h = servers()
    populate(h, files)
    h.write(vhost=vhost, server=server, loglevel="warn polyprov:debug")
    h.start()
    h.mark()
    return h


@pytest.mark.parametrize("scope", ["server", "vhost"])
def test_server_config_and_virtualhost_scope(servers, pki, scope):
    conf = """
    PolyProv On
    PolyProvTrustedCA {p}/polycom-chain.pem
""".format(p=pki)
    h = run(servers, pki, **{scope: conf})
    expect_allowed(h, h.curl("/%s.cfg" % A, phone="phone-a"), A,
                   "/%s.cfg" % A)
    expect_refused(h, h.curl("/%s.cfg" % B, phone="phone-a"), "not-owner",
                   "/%s.cfg" % B)
    plain = h.curl("/%s.cfg" % B, tls=False)
    if scope == "server":
        # the server config reaches every virtual host, the plain one too
        assert plain.status == 403
    else:
        # the plain vhost is another scope: not guarded
        assert plain.status == 200


def test_location_scope_and_inheritance(servers, pki):
    files = dict(FILES)
    files.update({"prov/" + k: v for k, v in FILES.items()})
    h = run(servers, pki, files=files, vhost="""
    PolyProvTrustedCA {p}/polycom-chain.pem
    <Location /prov/>
        PolyProv On
    </Location>
""".format(p=pki))
    expect_refused(h, h.curl("/prov/%s.cfg" % B, phone="phone-a"),
                   "not-owner", "/prov/%s.cfg" % B)
    # outside the Location the module does not act
    assert h.curl("/%s.cfg" % B, phone="phone-a").status == 200


def test_inner_scope_overrides_outer(servers, pki, manifest):
    files = dict(FILES)
    for sub in ("open", "strict", "other", "pin2"):
        files.update({"%s/%s" % (sub, k): v for k, v in FILES.items()})
    outer_allow = None
    h = servers()
    outer_allow = h.list_file("outer.txt", "%s\n%s\n" % (A, B))
    inner_allow = h.list_file("inner.txt", "%s\n" % C)
    populate(h, files)
    h.write(loglevel="warn polyprov:debug", vhost="""
    <Directory {d}>
        PolyProv On
        PolyProvTrustedCA {p}/polycom-chain.pem
        PolyProvAllowList {outer}
        PolyProvSharedFiles none
        PolyProvIssuerFingerprint sha256:{ic1}
    </Directory>
    <Location /open/>
        PolyProv Off
    </Location>
    <Location /strict/>
        PolyProvSharedFiles 000000000000*.cfg
    </Location>
    <Location /other/>
        PolyProvAllowList {inner}
    </Location>
    <Location /pin2/>
        PolyProvIssuerFingerprint sha256:{ic2}
    </Location>
""".format(d=h.docroot, p=pki, outer=outer_allow, inner=inner_allow,
           ic1=manifest["issuing1"]["sha256"],
           ic2=manifest["issuing2"]["sha256"]))
    h.start()
    h.mark()
    # outer: allow list A, B; no shared files; issuer CA 1 pinned
    expect_refused(h, h.curl("/000000000000.cfg", phone="phone-a"),
                   "not-shared", "/000000000000.cfg")
    expect_refused(h, h.curl("/%s.cfg" % C, phone="phone-c"), "issuer",
                   "/%s.cfg" % C)
    # PolyProv Off inside: the module steps aside
    assert h.curl("/open/%s.cfg" % B, phone="phone-a").status == 200
    # a wildcard list replaces "none", everything else inherited
    expect_allowed(h, h.curl("/strict/000000000000.cfg", phone="phone-a"), A,
                   "/strict/000000000000.cfg")
    expect_refused(h, h.curl("/strict/site.cfg", phone="phone-a"),
                   "not-shared", "/strict/site.cfg")
    expect_refused(h, h.curl("/strict/%s.cfg" % B, phone="phone-a"),
                   "not-owner", "/strict/%s.cfg" % B)
    # another allow list replaces the outer one (C is pinned out by issuer
    # first; A is not on the inner list)
    expect_refused(h, h.curl("/other/%s.cfg" % A, phone="phone-a"),
                   "allow-list", "/other/%s.cfg" % A)
    # another pin replaces the outer one
    expect_refused(h, h.curl("/pin2/%s.cfg" % A, phone="phone-a"), "issuer",
                   "/pin2/%s.cfg" % A)


def test_pins_add_up_within_a_scope(servers, pki, manifest):
    h = run(servers, pki, vhost="""
    PolyProv On
    PolyProvTrustedCA {p}/polycom-chain.pem
    PolyProvIssuerFingerprint sha256:{ic1}
    PolyProvIssuerFingerprint sha256:{ic2}
""".format(p=pki, ic1=manifest["issuing1"]["sha256"],
           ic2=manifest["issuing2"]["sha256"]))
    assert h.curl("/%s.cfg" % A, phone="phone-a").status == 200
    assert h.curl("/%s.cfg" % C, phone="phone-c").status == 200
    expect_refused(h, h.curl("/0004f2000d04.cfg", phone="phone-d-root"),
                   "issuer", "/0004f2000d04.cfg")


def test_runtime_without_trusted_ca_fails_closed(servers, pki):
    """PolyProv On where the CA comes from a scope that does not cover the
    request: configtest cannot know, the request is refused and logged."""
    files = dict(FILES)
    files.update({"ca/" + k: v for k, v in FILES.items()})
    h = run(servers, pki, files=files, vhost="""
    <Location /ca/>
        PolyProvTrustedCA {p}/polycom-chain.pem
    </Location>
    <Location />
        PolyProv On
    </Location>
""".format(p=pki))
    r = h.curl("/%s.cfg" % A, phone="phone-a")
    line = expect_refused(h, r, "untrusted", "/%s.cfg" % A)
    assert "no PolyProvTrustedCA applies here" in line
    expect_allowed(h, h.curl("/ca/%s.cfg" % A, phone="phone-a"), A,
                   "/ca/%s.cfg" % A)


def test_relative_paths_are_under_server_root(servers, pki):
    h = servers()
    shutil.copy(os.path.join(pki, "polycom-chain.pem"),
                os.path.join(h.root, "chain.pem"))
    rc, out = configtest(h, vhost="PolyProv On\nPolyProvTrustedCA chain.pem")
    assert rc == 0, out


# -- start-up messages -------------------------------------------------------

def test_version_at_notice_and_in_the_server_description(servers, pki):
    """PP012 names the version at notice (shown at the default LogLevel
    warn, like httpd's own start-up notices), and the module adds
    mod_polyprov/VERSION to the server description: the start-up notice,
    the Server header under ServerTokens Full, mod_info and mod_status."""
    h = servers()
    populate(h)
    h.write(loglevel="warn", vhost="""
    PolyProv On
    PolyProvTrustedCA {p}/polycom-chain.pem""".format(p=pki))
    h.start()
    # the parent writes it as it starts the children: not always before
    # the port answers
    deadline = time.monotonic() + 10
    while "resuming normal operations" not in h.log_text() and \
            time.monotonic() < deadline:
        time.sleep(0.05)
    log = h.log_text()
    assert re.search(r"\[polyprov:notice\] .*PP012: mod_polyprov \d+\.\d+\.\d+"
                     r" ready", log), log
    assert re.search(r"configured -- resuming normal operations", log)
    line = [l for l in log.splitlines() if "resuming normal" in l][-1]
    assert re.search(r"mod_polyprov/\d+\.\d+\.\d+", line), line
    hdrs = os.path.join(h.root, "headers.txt")
    h.curl("/%s.cfg" % A, phone="phone-a", extra=["-D", hdrs])
    with open(hdrs) as f:
        server = [l for l in f if l.lower().startswith("server:")]
    assert server and "mod_polyprov/" in server[0], server


# -- CRLs --------------------------------------------------------------------

CRL_CAS = ["Polycom Root CA", "Polycom Equipment Policy CA",
           "Polycom Equipment Issuing CA 1", "Polycom Equipment Issuing CA 2"]


def split_crls(h, pki, name="crl-all.pem"):
    """One file per CRL of the test PKI's bundle (root, policy, issuing CA
    1, issuing CA 2), as Polycom publishes them."""
    with open(os.path.join(pki, name)) as f:
        blocks = f.read().split("-----END X509 CRL-----")[:-1]
    out = []
    for i, b in enumerate(blocks):
        path = os.path.join(h.root, "crl-%d.pem" % i)
        with open(path, "w") as f:
            f.write(b.strip() + "\n-----END X509 CRL-----\n")
        out.append(path)
    assert len(out) == 4
    return out


def test_crls_add_up_within_a_scope(servers, pki):
    """One PolyProvCRL per CA, as downloaded: together they cover the chain
    (the last one alone would refuse every phone)."""
    h = servers()
    populate(h, dict(FILES, **{"0004f2000e05.cfg": "revoked\n"}))
    crls = split_crls(h, pki)
    h.write(loglevel="warn polyprov:debug", vhost="""
    PolyProv On
    PolyProvTrustedCA {p}/polycom-chain.pem
    PolyProvCRL {c[0]}
    PolyProvCRL {c[1]}
    PolyProvCRL {c[2]}
    PolyProvCRL {c[3]}""".format(p=pki, c=crls))
    rc, out = h.configtest()
    assert rc == 0, out
    h.start()
    h.mark()
    expect_allowed(h, h.curl("/%s.cfg" % A, phone="phone-a"), A,
                   "/%s.cfg" % A)
    expect_allowed(h, h.curl("/%s.cfg" % C, phone="phone-c"), C,
                   "/%s.cfg" % C)
    line = expect_refused(h, h.curl("/0004f2000e05.cfg",
                                    phone="phone-revoked"),
                          "untrusted", "/0004f2000e05.cfg")
    assert "revoked" in line, line


def test_inner_scope_crls_replace_the_outer_set(servers, pki):
    h = servers()
    files = dict(FILES)
    files.update({"strict/" + k: v for k, v in FILES.items()})
    populate(h, files)
    crls = split_crls(h, pki)
    h.write(loglevel="warn polyprov:debug", vhost="""
    PolyProv On
    PolyProvTrustedCA {p}/polycom-chain.pem
    PolyProvCRL {c[0]}
    PolyProvCRL {c[1]}
    PolyProvCRL {c[2]}
    PolyProvCRL {c[3]}
    <Location /strict/>
        PolyProvCRL {p}/crl-revoke-a.pem
    </Location>""".format(p=pki, c=crls))
    h.start()
    h.mark()
    assert h.curl("/%s.cfg" % A, phone="phone-a").status == 200
    line = expect_refused(h, h.curl("/strict/%s.cfg" % A, phone="phone-a"),
                          "untrusted", "/strict/%s.cfg" % A)
    assert "revoked" in line, line
    assert h.curl("/strict/%s.cfg" % B, phone="phone-b").status == 200


def test_a_ca_without_crl_fails_configtest_naming_it(h, pki):
    """A CRL of one CA only: configtest names every other CA of the
    bundle, with both directives' file and line."""
    out = bad(h, """
    PolyProvTrustedCA {p}/polycom-chain.pem
    <Location /prov/>
        PolyProv On
        PolyProvCRL {p}/crl-issuing1.der
    </Location>""".format(p=pki), "PP020")
    lines = [l for l in out.splitlines() if "PP020" in l]
    named = sorted(cn for cn in CRL_CAS for l in lines if "CN=%s," % cn in l)
    assert named == sorted(["Polycom Root CA", "Polycom Equipment Policy CA",
                            "Polycom Equipment Issuing CA 2"]), out
    crl_at = "PolyProvCRL at %s:%d (%s/crl-issuing1.der)" % (
        h.conf, line_of(h, "PolyProvCRL"), pki)
    ca_at = "PolyProvTrustedCA at %s:%d (%s/polycom-chain.pem)" % (
        h.conf, line_of(h, "PolyProvTrustedCA"), pki)
    for l in lines:
        assert crl_at in l and ca_at in l, l


def test_a_crl_signed_by_another_key_covers_nothing(h, pki):
    """The forged root's CRL carries the name 'Polycom Root CA' but not its
    signature."""
    forged = os.path.join(h.root, "forged-root.crl")
    cfg = os.path.join(h.root, "crl.cnf")
    with open(cfg, "w") as f:
        f.write("[ca]\ndefault_ca=x\n[x]\ndatabase=%s/index.txt\n"
                "default_md=sha256\ndefault_crl_days=30\n" % h.root)
    open(os.path.join(h.root, "index.txt"), "w").close()
    subprocess.run(["openssl", "ca", "-gencrl", "-config", cfg,
                    "-cert", os.path.join(pki, "forged-root.crt"),
                    "-keyfile", os.path.join(pki, "forged-root.key"),
                    "-out", forged], check=True, capture_output=True)
    crls = split_crls(h, pki)
    out = bad(h, """
    PolyProv On
    PolyProvTrustedCA {p}/polycom-chain.pem
    PolyProvCRL {f}
    PolyProvCRL {c[1]}
    PolyProvCRL {c[2]}
    PolyProvCRL {c[3]}""".format(p=pki, f=forged, c=crls), "PP020")
    lines = [l for l in out.splitlines() if "PP020" in l]
    assert len(lines) == 1 and "CN=Polycom Root CA," in lines[0], out


def test_an_expired_crl_is_an_error_at_every_start_and_restart(servers, pki):
    """configtest warns (PP022); the error log says so at error level at
    the start and at each graceful restart (PP021), with the issuer and the
    nextUpdate that passed."""
    from cryptography import x509
    with open(os.path.join(pki, "crl-expired.pem"), "rb") as f:
        text = f.read()
    stale = [c for c in (x509.load_pem_x509_crl(b + b"-----END X509 CRL-----\n")
                         for b in text.split(b"-----END X509 CRL-----")[:-1])
             if "Issuing CA 1" in c.issuer.rfc4514_string()][0]
    when = stale.next_update.strftime("%Y-%m-%d %H:%M:%S UTC")
    h = servers()
    populate(h)
    h.write(loglevel="warn", vhost="""
    PolyProv On
    PolyProvTrustedCA {p}/polycom-chain.pem
    PolyProvCRL {p}/crl-expired.pem""".format(p=pki))
    rc, out = h.configtest()
    assert rc == 0, out
    assert re.search(r"PP022: PolyProvCRL .*crl-expired\.pem: the CRL of "
                     r"/CN=Polycom Equipment Issuing CA 1 has expired", out), out
    assert when in out, (when, out)
    pattern = (r"\[polyprov:error\] .*PP021: PolyProvCRL .*crl-expired\.pem: "
               r"the CRL of /CN=Polycom Equipment Issuing CA 1 expired at "
               + re.escape(when))
    h.start()
    assert len(re.findall(pattern, h.log_text())) == 1, h.log_text()
    h.graceful()
    assert len(re.findall(pattern, h.log_text())) == 2, h.log_text()
    # only the expired one is named
    assert "CRL of /CN=Polycom Root CA expired" not in h.log_text()


# -- mod_ssl settings a PolyProv scope needs ----------------------------------

def warnings(out, number):
    return [l for l in out.splitlines() if "%s:" % number in l]


def test_no_ssl_warnings_for_a_sound_host(h, pki):
    rc, out = configtest(h, vhost="""
    PolyProv On
    PolyProvTrustedCA {p}/polycom-chain.pem""".format(p=pki))
    assert rc == 0, out
    assert not re.search(r"PP02[345]", out), out


def test_warns_for_a_host_without_sslengine(servers, pki):
    """PolyProv On at server level reaches the plain-HTTP host too: every
    request there would be refused (no-tls)."""
    h = servers()
    populate(h)
    h.write(server="""
PolyProv On
PolyProvTrustedCA {p}/polycom-chain.pem""".format(p=pki))
    rc, out = h.configtest()
    assert rc == 0, out
    lines = warnings(out, "PP023")
    assert len(lines) == 1, out
    plain = line_of(h, "<VirtualHost 127.0.0.1:%d>" % h.http_port)
    assert "PolyProv On at %s:%d" % (h.conf, line_of(h, "PolyProv On")) \
        in lines[0]
    assert "the virtual host 127.0.0.1:%d at %s:%d" % (
        h.http_port, h.conf, plain) in lines[0], lines[0]
    assert "no-tls" in lines[0]
    # also in the error log when httpd starts
    h.start()
    assert warnings(h.log_text(), "PP023"), h.log_text()


@pytest.mark.parametrize("how", ["missing", "none", "in-a-location"])
def test_warns_without_sslverifyclient_at_host_level(servers, pki, how):
    h = servers()
    vhosts = h._default_vhosts("""
    <Location />
        PolyProv On
        PolyProvTrustedCA {p}/polycom-chain.pem
        {inner}
    </Location>""".format(p=pki, inner="SSLVerifyClient require"
                          if how == "in-a-location" else ""),
        "none", "h2 http/1.1", "", "")
    if how != "none":
        vhosts = vhosts.replace("SSLVerifyClient none", "")
    h.write(vhosts=vhosts)
    rc, out = h.configtest()
    assert rc == 0, out
    lines = warnings(out, "PP024")
    assert len(lines) == 1, out
    assert "no-cert" in lines[0] and "virtual host 127.0.0.1:%d" % h.port \
        in lines[0], lines[0]
    if how == "none":
        assert "(%s:%d)" % (h.conf, line_of(h, "SSLVerifyClient none")) \
            in lines[0], lines[0]


@pytest.mark.parametrize("depth", [None, 2])
def test_warns_when_sslverifydepth_is_below_the_chain(servers, pki, depth):
    """The test chain is Polycom-shaped: device, Issuing CA, Policy CA,
    Root CA needs SSLVerifyDepth 3.  With less, mod_ssl refuses the phone
    in the handshake: no 403, no PP001; only this warning explains it."""
    h = servers()
    populate(h)
    vhosts = h._default_vhosts("""
    PolyProv On
    PolyProvTrustedCA {p}/polycom-chain.pem""".format(p=pki),
        "require", "h2 http/1.1", "", "")
    vhosts = vhosts.replace("SSLVerifyDepth 5", "" if depth is None
                            else "SSLVerifyDepth %d" % depth)
    h.write(vhosts=vhosts)
    rc, out = h.configtest()
    assert rc == 0, out
    lines = warnings(out, "PP025")
    assert len(lines) == 1, out
    shown = "mod_ssl's default" if depth is None else "%s:%d" % (
        h.conf, line_of(h, "SSLVerifyDepth"))
    assert "SSLVerifyDepth is %d (%s)" % (depth or 1, shown) in lines[0], \
        lines[0]
    assert "PolyProvTrustedCA at %s:%d" % (
        h.conf, line_of(h, "PolyProvTrustedCA")) in lines[0]
    assert "needs 3" in lines[0] and "SSLVerifyDepth 3" in lines[0]
    h.expect_log(r"Certificate Verification: Certificate Chain too long")
    h.start()
    h.mark()
    r = h.curl("/%s.cfg" % A, phone="phone-a")
    assert handshake_refused(r), r
    assert not h.refusals()             # the module never saw it


# -- PolyProvAllowExpired ---------------------------------------------------

E = "0004f2000f06"                  # expired a day ago


def test_allow_expired_takes_on_or_off(h):
    bad(h, "PolyProvAllowExpired maybe", "PolyProvAllowExpired")


@pytest.mark.parametrize("where", ["server", "vhost", "directory",
                                   "location"])
def test_allow_expired_is_allowed_in_every_scope(h, pki, where):
    body = "PolyProv On\nPolyProvTrustedCA %s/polycom-chain.pem\n" \
           "PolyProvAllowExpired On" % pki
    if where == "directory":
        body = "<Directory %s>\n%s\n</Directory>" % (h.docroot, body)
    elif where == "location":
        body = "<Location /ok/>\n%s\n</Location>" % body
    rc, out = configtest(h, **{"server" if where == "server" else "vhost":
                               body})
    assert rc == 0, out
    assert not re.search(r"PP04[345]", out), out


def test_allow_expired_scopes_merge(servers, pki):
    """On for the host, Off for a directory, On again for a location in
    it: an inner scope overrides what it sets."""
    files = {E + ".cfg": "secret of E\n"}
    files.update({"sub/" + k: v for k, v in files.items()})
    files.update({"sub/on/" + E + ".cfg": "secret of E\n"})
    h = servers()
    populate(h, files)
    h.write(loglevel="warn polyprov:debug", vhost="""
    PolyProvAllowExpired On
    <Directory {d}>
        PolyProv On
        PolyProvTrustedCA {p}/polycom-chain.pem
    </Directory>
    <Directory {d}/sub>
        PolyProvAllowExpired Off
    </Directory>
    <Location /sub/on/>
        PolyProvAllowExpired On
    </Location>
""".format(d=h.docroot, p=pki))
    h.start()
    h.mark()
    assert h.curl("/%s.cfg" % E, phone="expired-day").status == 200
    r = h.curl("/sub/%s.cfg" % E, phone="expired-day")
    line = expect_refused(h, r, "untrusted", "/sub/%s.cfg" % E)
    assert "PolyProvAllowExpired is not On here" in line, line
    assert h.curl("/sub/on/%s.cfg" % E, phone="expired-day").status == 200


def test_allow_expired_without_any_trusted_ca(h):
    out = bad(h, "PolyProvAllowExpired On", "PP043:",
              "PolyProvAllowExpired On at %s:" % h.conf,
              "no PolyProvTrustedCA is configured")
    n = line_of(h, "PolyProvAllowExpired On")
    assert "%s:%d" % (h.conf, n) in out
    assert "Configuration check failed" in out


def test_allow_expired_on_a_host_without_sslengine(h, pki):
    out = bad(h, """
    PolyProv On
    PolyProvTrustedCA {p}/polycom-chain.pem
    PolyProvAllowExpired On""".format(p=pki), "PP044:",
              "no 'SSLEngine on'", where="plain_vhost")
    assert "the virtual host 127.0.0.1:%d" % h.http_port in out, out


def test_allow_expired_without_mod_ssl(h, pki):
    h.write(vhosts="""
<VirtualHost 127.0.0.1:{port}>
    ServerName localhost
    DocumentRoot {d}
    PolyProv On
    PolyProvTrustedCA {p}/polycom-chain.pem
    PolyProvAllowExpired On
</VirtualHost>
""".format(port=h.port, d=h.docroot, p=pki))
    with open(h.conf) as f:
        conf = [l for l in f if not re.match(
            r"\s*(LoadModule ssl_module|SSLSessionCache|SSLRandomSeed)", l)]
    with open(h.conf, "w") as f:
        f.writelines(conf)
    rc, out = h.configtest()
    assert rc != 0, out
    assert "PP044:" in out and "mod_ssl is not loaded" in out, out


def test_allow_expired_at_server_level_spares_plain_hosts(h, pki):
    """A server-level On reaches the bootROM's plain-HTTP host too, where
    no PolyProv On applies: no error, no warning for it."""
    rc, out = configtest(h, server="PolyProvAllowExpired On", vhost="""
    PolyProv On
    PolyProvTrustedCA {p}/polycom-chain.pem""".format(p=pki),
                         plain_vhost="PolyProv SharedOnly")
    assert rc == 0, out
    assert not re.search(r"PP04[345]", out), out


def test_allow_expired_at_server_level_for_no_tls_host(h, pki):
    """Server-level, and PolyProv On only in the plain-HTTP host: no host
    could ever let an expired phone through."""
    out = bad(h, "PolyProvAllowExpired On", "PP044:", "(server level)",
              "applies to no host with 'SSLEngine on' and PolyProv On",
              where="server")
    assert "PolyProvAllowExpired On at %s:%d" % (
        h.conf, line_of(h, "PolyProvAllowExpired On")) in out, out


def test_allow_expired_without_polyprov_on_is_a_warning(h, pki):
    rc, out = configtest(h, vhost="""
    PolyProvTrustedCA {p}/polycom-chain.pem
    PolyProvAllowExpired On""".format(p=pki))
    assert rc == 0, out
    lines = warnings(out, "PP045")
    assert len(lines) == 1 and "has no effect" in lines[0], out


def test_allow_expired_not_in_htaccess(servers, pki):
    h = servers()
    h.put(".htaccess", "PolyProvAllowExpired On\n")
    h.put(E + ".cfg", "secret of E\n")
    h.expect_log(r"\.htaccess: PolyProvAllowExpired not allowed here")
    h.write(vhost="""
    <Directory {d}>
        AllowOverride All
        PolyProv On
        PolyProvTrustedCA {p}/polycom-chain.pem
    </Directory>""".format(d=h.docroot, p=pki))
    h.start()
    # without the directive the phone does not even get through the
    # handshake; the .htaccess is never read for it
    assert handshake_refused(h.curl("/%s.cfg" % E, phone="expired-day"))
    r = h.curl("/%s.cfg" % A, phone="phone-a")
    assert r.status == 500 and "not allowed here" in h.log_text()


# -- files the children (User www-data) cannot read ----------------------------

@pytest.fixture
def needs_root_fixture():
    need_root("the children run as www-data only when httpd starts as root")


needs_root = pytest.mark.usefixtures("needs_root_fixture")


# (a list they cannot read fails configtest and is not put in force at a
# start: test_configtest_fleet.py)


@needs_root
def test_a_list_made_unreadable_is_reported_at_a_graceful_restart(servers,
                                                                   pki):
    """At a restart the server keeps running (the last good list stays in
    force) and says why changes will not be picked up."""
    h = servers()
    populate(h)
    path = h.list_file("allow.txt", "%s\n" % A)
    h.write(vhost="""
    PolyProv On
    PolyProvTrustedCA {p}/polycom-chain.pem
    PolyProvAllowList {a}""".format(p=pki, a=path))
    h.start()
    os.chmod(path, 0o600)
    h.mark()
    h.graceful()
    log = h.new_log()
    assert re.search(r"\[polyprov:error\] .*PP026: list file %s .*user "
                     r"www-data" % re.escape(path), log), log
    assert h.curl("/%s.cfg" % A, phone="phone-a").status == 200


@needs_root
def test_a_ca_file_the_children_cannot_read_is_a_warning(servers, pki):
    h = servers()
    populate(h)
    ca = os.path.join(h.root, "chain.pem")
    shutil.copy(os.path.join(pki, "polycom-chain.pem"), ca)
    os.chmod(ca, 0o600)
    h.write(vhost="""
    PolyProv On
    PolyProvTrustedCA {ca}""".format(ca=ca))
    h.start()
    assert re.search(r"\[polyprov:warn\] .*PP027: PolyProvTrustedCA file %s "
                     r"cannot be read by the user www-data"
                     % re.escape(ca), h.log_text()), h.log_text()
    assert len(re.findall("PP027", h.log_text())) == 1
    assert h.curl("/%s.cfg" % A, phone="phone-a").status == 200
