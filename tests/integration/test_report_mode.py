# SPDX-License-Identifier: Apache-2.0
"""PolyProv Report: decided as under PolyProv On, logged and counted, never
refused by the module.

A server (SSLVerifyClient optional_no_ca, as the migration guide has it,
and one with require) holds the decision table's files under several prefixes of one document
root whose <Directory> says PolyProv Report:

  ""             PolyProv Report
  /on/           PolyProv On nested in the Report scope: enforces
  /bare/         PolyProv Off: the same host as without the module
  /recipe/       Report, with Poly's <If> recipe as the host's access control
  /recipe-bare/  the recipe alone
  /own/          Report, with a Require of the host's own that refuses us
  /own-bare/     that Require alone

Every row of the decision table is sent to each: the reason PolyProv
Report gives (PP140 line, POLYPROV_REASON, POLYPROV_MODE=report) is the one
PolyProv On gives (PP001), and the status is the one the same host gives
without the module."""

import json
import os
import re
import subprocess
import time

import pytest

from tests.pphttpd.fixtures import FILES, TOP, checked, populate, serve
from tests.pphttpd.expect import A, B, C
from tests.pphttpd.readme import local_site, readme

PREFIXES = ("", "/on", "/bare", "/recipe", "/recipe-bare", "/own",
            "/own-bare")
# (with the module, without it)
PAIRS = (("", "/bare"), ("/recipe", "/recipe-bare"), ("/own", "/own-bare"))

RECIPE = """
        Require all denied
        <If "%{REQUEST_URI} -strcmatch '*%{SSL_CLIENT_S_DN_CN}*'">
            Require all granted
        </If>"""

SSI = '<!--#include virtual="{target}" -->END\n'


def config(h, pki, manifest):
    pin = manifest["issuing1"]["sha256"]
    allow = h.list_file("allow.txt", "%s\n%s\n" % (A, B))
    deny = h.list_file("deny.txt", "%s\n" % B)
    for prefix in PREFIXES:
        tree = dict(FILES)
        for sub in ("pinned", "listed", "noshare", "pattern"):
            tree.update({"%s/%s" % (sub, k): v for k, v in FILES.items()})
        tree["sub/%s.cfg" % A] = "in a directory\n"
        populate(h, {prefix.lstrip("/") + "/" + k if prefix else k: v
                     for k, v in tree.items()})
    # SSI pages (operator's: no MAC in their names)
    h.put("page-b.shtml", SSI.format(target="/%s.cfg" % B))
    h.put("page-on-b.shtml", SSI.format(target="/on/%s.cfg" % B))
    h.put("on/page-b.shtml", SSI.format(target="/%s.cfg" % B))
    h.put("bare/page-b.shtml", SSI.format(target="/bare/%s.cfg" % B))
    h.put("err/site.cfg", "site\n")
    h.put("on/err/site.cfg", "site\n")
    # an error page too large for the guard to read (over 1 MB)
    h.put("big-error.txt", "x" * (1536 * 1024) + "\n")
    h.put("big/site.cfg", "site\n")
    h.put("hdr/site.cfg", "site\n")
    h.put("on/hdr/site.cfg", "site\n")
    h.put("on/big/site.cfg", "site\n")
    return """
    <Directory {d}>
        PolyProv Report
        PolyProvTrustedCA {p}/polycom-chain.pem
        Options +Includes
        AddOutputFilter INCLUDES .shtml
    </Directory>
    <Directory {d}/err>
        ErrorDocument 404 "no such file; try {b}.cfg"
    </Directory>
    <Directory {d}/on/err>
        ErrorDocument 404 "no such file; try {b}.cfg"
    </Directory>
    <Directory {d}/hdr>
        RewriteEngine On
        RewriteRule ^moved\\.cfg$ /{b}.cfg [R=302,L]
    </Directory>
    <Directory {d}/on/hdr>
        RewriteEngine On
        RewriteRule ^moved\\.cfg$ /{b}.cfg [R=302,L]
    </Directory>
    <Directory {d}/big>
        ErrorDocument 404 /big-error.txt
    </Directory>
    <Directory {d}/on/big>
        ErrorDocument 404 /big-error.txt
    </Directory>
    <LocationMatch "^(/[a-z-]+)?/pinned/">
        PolyProvIssuerFingerprint sha256:{pin}
    </LocationMatch>
    <LocationMatch "^(/[a-z-]+)?/listed/">
        PolyProvAllowList {allow}
        PolyProvDenyList {deny}
    </LocationMatch>
    <LocationMatch "^(/[a-z-]+)?/noshare/">
        PolyProvSharedFiles none
    </LocationMatch>
    <LocationMatch "^(/[a-z-]+)?/pattern/">
        PolyProvCNPattern "^Phone ([0-9A-Fa-f]{{12}}) desk$"
    </LocationMatch>
    <Location /on/>
        PolyProv On
    </Location>
    <Location /bare/>
        PolyProv Off
    </Location>
    <Location /recipe/>{recipe}
    </Location>
    <Location /recipe-bare/>
        PolyProv Off{recipe}
    </Location>
    <Location /own/>
        Require ip 192.0.2.1
    </Location>
    <Location /own-bare/>
        PolyProv Off
        Require ip 192.0.2.1
    </Location>
    <Location /polyprov-metrics>
        PolyProv Off
        SetHandler polyprov-metrics
    </Location>
    <Location /report-metrics>
        SetHandler polyprov-metrics
    </Location>
    <Location /server-status>
        PolyProv Off
        SetHandler server-status
    </Location>
""".format(d=h.docroot, p=pki, pin=pin, allow=allow, deny=deny,
           recipe=RECIPE, b=B)


MODE_LOG = "logs/mode.log"


@pytest.fixture(scope="module", params=["optional_no_ca", "require"])
def server(request, module, pki, manifest):
    def configure(h):
        g = config(h, pki, manifest)
        h.verify = request.param
        h.write(vhost=g, plain_vhost=g, verify=request.param,
                loglevel="warn", modules=["status"],
                server='CustomLog %s/%s "%%h \\"%%r\\" %%>s '
                       'mode=%%{POLYPROV_MODE}e reason=%%{POLYPROV_REASON}e '
                       'mac=%%{POLYPROV_MAC}e"' % (h.root, MODE_LOG))
    yield from serve(module, pki, configure)


@pytest.fixture
def h(server):
    yield from checked(server)


def mode_entry(h, path, n_before, timeout=10.0):
    """The mode log's line for path written after n_before lines."""
    deadline = time.time() + timeout
    want = ' %s HTTP/' % path
    while True:
        try:
            with open(os.path.join(h.root, MODE_LOG)) as f:
                lines = f.read().splitlines()
        except OSError:
            lines = []
        hits = [l for l in lines[n_before:] if want in l]
        if hits or time.time() > deadline:
            return hits[-1] if hits else None
        time.sleep(0.05)


def mode_lines(h):
    try:
        with open(os.path.join(h.root, MODE_LOG)) as f:
            return len(f.read().splitlines())
    except OSError:
        return 0


def send(h, row, prefix):
    """One request of a row under prefix: (result, new error-log text,
    mode-log line)."""
    path = prefix + row["path"]
    before = mode_lines(h)
    h.mark()
    r = h.curl(path, phone=row.get("phone"), method=row.get("method"),
               data=row.get("data"), tls=row.get("tls", True))
    entry = mode_entry(h, path, before) if r.status else None
    return r, h.new_log(), entry


def reason_of(log, number):
    m = re.findall(r"%s: (?:refused|would refuse) reason=(\S+) mac=(\S+)"
                   % number, log)
    return m


# The decision table (tests/integration/test_decision.py), as requests.
ROWS = [
    dict(id="allowed", phone="phone-a", path="/%s.cfg" % A, reason=None),
    dict(id="shared", phone="phone-c", path="/000000000000.cfg", reason=None),
    dict(id="no-tls", tls=False, path="/%s.cfg" % A, reason="no-tls"),
    dict(id="no-cert", path="/%s.cfg" % A, reason="no-cert"),
    dict(id="forged", phone="forged-a", path="/%s.cfg" % A,
         reason="untrusted", cn_mac=A),
    dict(id="corp", phone="corp-a", path="/%s.cfg" % A, reason="untrusted",
         cn_mac=A),
    dict(id="selfsigned", phone="selfsigned-a", path="/%s.cfg" % A,
         reason="untrusted"),
    dict(id="ca-as-device", phone="ca-as-device", path="/%s.cfg" % A,
         reason="untrusted"),
    dict(id="issuer", phone="phone-c", path="/pinned/%s.cfg" % C,
         reason="issuer"),
    dict(id="two-cn", phone="two-cn", path="/%s.cfg" % A, reason="bad-cn"),
    dict(id="cn-zero", phone="cn-zero", path="/000000000000.cfg",
         reason="bad-cn"),
    dict(id="pattern", phone="phone-a", path="/pattern/%s.cfg" % A,
         reason="bad-cn"),
    dict(id="deny-list", phone="phone-b", path="/listed/%s.cfg" % B,
         reason="deny-list", mac=B),
    dict(id="allow-list", phone="phone-c", path="/listed/%s.cfg" % C,
         reason="allow-list", mac=C),
    dict(id="directory", phone="phone-a", path="/sub/", reason="directory"),
    dict(id="directory-noslash", phone="phone-a", path="/sub",
         reason="directory"),
    dict(id="dot-file", phone="phone-a", path="/.htaccess", method="PUT",
         data="x", reason="dot-file"),
    dict(id="not-owner", phone="phone-a", path="/%s.cfg" % B,
         reason="not-owner", mac=A),
    dict(id="shared-readonly", phone="phone-a", path="/000000000000.cfg",
         method="PUT", data="x", reason="shared-readonly", mac=A),
    dict(id="not-shared", phone="phone-a", path="/noshare/000000000000.cfg",
         reason="not-shared", mac=A),
    dict(id="method", phone="phone-a", path="/%s.cfg" % A,
         method="PROPPATCH", data="<x/>", reason="method", mac=A),
]


@pytest.mark.parametrize("row", ROWS, ids=[r["id"] for r in ROWS])
def test_decision_table(h, row):
    on, on_log, on_entry = send(h, row, "/on")
    reason = row["reason"]
    if on.status == 0:
        # mod_ssl ends the handshake (require): with the module or without
        # it, in every scope; on a host with a Report scope the module logs
        # it (PP141), except for a client that sends no certificate
        assert h.verify == "require", on
        for prefix in ("", "/bare", "/recipe", "/own"):
            r, log, _ = send(h, row, prefix)
            assert r.status == 0, (prefix, r)
            assert "PP140" not in log and "PP001" not in log, log
            if row["id"] == "no-cert":
                assert "PP141" not in log, log
            else:
                assert re.search(r"PP141: would refuse reason=untrusted "
                                 r"mac=(%s|-) " % A, log), log
        return
    # PolyProv On (nested in the Report scope) enforces
    if reason is None:
        assert on.status == 200, (on, on_log)
        assert "PP001" not in on_log and "PP140" not in on_log, on_log
    else:
        assert on.status == 403, (on, on_log)
        assert [x[0] for x in reason_of(on_log, "PP001")] == [reason], on_log
        assert "PP140" not in on_log, on_log
        assert "mode=- reason=%s " % reason in on_entry, on_entry
    prefixes = PAIRS if row.get("tls", True) else PAIRS[:1]
    for with_module, without in prefixes:
        rep, rep_log, rep_entry = send(h, row, with_module)
        bare, bare_log, _ = send(h, row, without)
        # the same status as the host without the module
        assert rep.status == bare.status, (with_module, rep, bare, rep_log)
        assert rep.body.replace(with_module, "") == \
            bare.body.replace(without, ""), (rep.body, bare.body)
        assert "PP" not in bare_log.replace("PP141", ""), bare_log
        # the reason PolyProv On gives, in the log and the environment
        assert "PP001" not in rep_log, rep_log
        got = reason_of(rep_log, "PP140")
        if reason is None:
            assert got == [], rep_log
            assert "mode=report reason=- " in rep_entry, rep_entry
            continue
        assert [x[0] for x in got] == [reason], rep_log
        assert "mode=report reason=%s " % reason in rep_entry, rep_entry
        if row.get("mac"):
            assert got[0][1] == row["mac"]
            assert "mac=%s" % row["mac"] in rep_entry, rep_entry
        if row.get("cn_mac"):
            # the MAC the CN names, though the certificate is refused
            assert got[0][1] == row["cn_mac"], rep_log
        line = [l for l in rep_log.splitlines() if "PP140:" in l][0]
        assert "[polyprov:notice]" in line, line
        assert 'uri="%s%s"' % (with_module, row["path"]) in line, line
        assert re.search(r" report=\S+:\d+$", line), line


def test_report_never_loosens(h):
    """What the host refuses without the module it refuses with Report,
    also what the module would allow; what it serves, it serves."""
    # the host's own Require refuses everyone here
    r = h.curl("/own/%s.cfg" % A, phone="phone-a")
    assert r.status == 403
    # Poly's recipe refuses the shared files, which the module allows
    h.mark()
    r = h.curl("/recipe/000000000000.cfg", phone="phone-a")
    assert r.status == 403
    assert "PP140" not in h.new_log()
    # and serves a phone from a foreign CA whose CN is in the URI, as
    # without the module (the report says untrusted)
    h.mark()
    r = h.curl("/recipe/%s.cfg" % A, phone="forged-a")
    bare = h.curl("/recipe-bare/%s.cfg" % A, phone="forged-a")
    assert r.status == bare.status == 200
    assert r.body == bare.body == FILES[A + ".cfg"]
    assert reason_of(h.new_log(), "PP140") == [("untrusted", A)]


def test_subrequests(h):
    """An SSI page of the Report scope includes B's file: reported
    (via=subrequest), served as without the module.  A page of the On
    scope including a Report file, and a Report page including an On file,
    are enforced."""
    h.mark()
    r = h.curl("/page-b.shtml", phone="phone-a")
    bare = h.curl("/bare/page-b.shtml", phone="phone-a")
    assert r.status == bare.status == 200
    assert "secret of B" in r.body and r.body == bare.body
    lines = [l for l in h.new_log().splitlines() if "PP140:" in l]
    assert len(lines) == 1 and "reason=not-owner" in lines[0], lines
    assert "via=subrequest" in lines[0]

    for page in ("/on/page-b.shtml", "/page-on-b.shtml"):
        h.mark()
        r = h.curl(page, phone="phone-a")
        assert r.status == 200 and "secret of B" not in r.body, r
        assert "error occurred" in r.body
        log = h.new_log()
        assert re.search(r"PP001: refused reason=not-owner .*via=subrequest",
                         log), log
        assert "PP140" not in log, log


def test_response_guard(h):
    """A 404 page naming another device: PolyProv On replaces it
    (foreign-name); Report logs it and sends it as it is."""
    h.mark()
    r = h.curl("/on/err/missing.cfg", phone="phone-a")
    assert r.status == 403 and B not in r.body
    assert reason_of(h.new_log(), "PP001") == [("foreign-name", A)]
    before = mode_lines(h)
    h.mark()
    r = h.curl("/err/missing.cfg", phone="phone-a")
    assert r.status == 404 and B in r.body, r
    log = h.new_log()
    assert reason_of(log, "PP140") == [("foreign-name", A)], log
    assert "PP001" not in log
    entry = mode_entry(h, "/err/missing.cfg", before)
    assert "mode=report reason=foreign-name" in entry, entry


def test_response_guard_header(h):
    """A redirect whose Location names another device: PolyProv On
    replaces it; Report logs it and sends the redirect."""
    h.mark()
    r = h.curl("/on/hdr/moved.cfg", phone="phone-a")
    assert r.status == 403, r
    assert reason_of(h.new_log(), "PP001") == [("foreign-name", A)]
    h.mark()
    r = h.curl("/hdr/moved.cfg", phone="phone-a")
    assert r.status == 302, r
    log = h.new_log()
    assert reason_of(log, "PP140") == [("foreign-name", A)], log
    assert "Location header" in log


def test_response_guard_body_too_large(h):
    """An error page over the guard's 1 MB: PolyProv On refuses it
    unread; Report logs that and sends all of it."""
    h.mark()
    r = h.curl("/on/big/missing.cfg", phone="phone-a")
    assert r.status == 403 and len(r.body) < 1024, r.status
    assert reason_of(h.new_log(), "PP001") == [("foreign-name", A)]
    h.mark()
    r = h.curl("/big/missing.cfg", phone="phone-a")
    assert r.status == 404 and r.body == "x" * (1536 * 1024) + "\n"
    log = h.new_log()
    assert reason_of(log, "PP140") == [("foreign-name", A)], log
    assert "too large" in log


def metrics(h):
    r = h.curl("/polyprov-metrics", tls=False)
    assert r.status == 200, r
    return r.body


def sample(text, name, **labels):
    want = ",".join('%s="%s"' % kv for kv in sorted(labels.items()))
    m = re.search(r"^%s\{%s\} (\d+)$" % (re.escape(name), re.escape(want)),
                  text, re.M)
    return int(m.group(1)) if m else None


def test_metrics_by_mode(h):
    """Report decisions are counted under mode="report", apart from the
    enforced ones (the older series count only those); promtool accepts
    the text."""
    before = metrics(h)
    h.curl("/%s.cfg" % B, phone="phone-a")          # report: not-owner
    h.curl("/%s.cfg" % C, phone="phone-a")          # report: not-owner
    h.curl("/%s.cfg" % A, phone="phone-a")          # report: ok
    h.curl("/on/%s.cfg" % B, phone="phone-a")       # enforce: not-owner
    time.sleep(0.2)
    after = metrics(h)

    def delta(name, **labels):
        return sample(after, name, **labels) - sample(before, name, **labels)

    assert delta("polyprov_decisions_total", mode="report",
                 reason="not-owner") == 2
    assert delta("polyprov_decisions_total", mode="report", reason="ok") == 1
    assert delta("polyprov_decisions_total", mode="enforce",
                 reason="not-owner") == 1
    assert delta("polyprov_decisions_total", mode="enforce", reason="ok") == 0
    assert delta("polyprov_requests_refused_total", reason="not-owner") == 1
    assert sample(after, "polyprov_requests_refused_total",
                  reason="not-owner") == \
        sample(after, "polyprov_decisions_total", mode="enforce",
               reason="not-owner")
    # mod_status's lines
    auto = dict(l.split(": ", 1) for l in
                h.curl("/server-status?auto", tls=False).body.splitlines()
                if ": " in l)
    assert int(auto["PolyProvReportWouldRefuse-not-owner"]) == \
        sample(after, "polyprov_decisions_total", mode="report",
               reason="not-owner") >= 1
    assert int(auto["PolyProvReportAllowed"]) >= 1
    assert int(auto["PolyProvReportWouldRefuse"]) >= \
        int(auto["PolyProvReportWouldRefuse-not-owner"])
    html = h.curl("/server-status", tls=False).body
    assert re.search(r"PolyProv Report: allowed \d+, would refuse \d+", html)
    # not in a phones' scope, Report included (PP060)
    h.mark()
    assert h.curl("/report-metrics", phone="phone-a").status == 403
    assert "PP060" in h.new_log()
    exe = "/usr/bin/promtool"
    if os.path.exists(exe):
        p = subprocess.run([exe, "check", "metrics"], input=after,
                           capture_output=True, text=True, timeout=60)
        assert p.returncode == 0, p.stdout + p.stderr


# -- the readiness report -------------------------------------------------

def check_tool():
    return os.environ.get("PP_CHECK_TOOL",
                          os.path.join(TOP, "build", "polyprov-check"))


# The fleet: (phone, requests it makes), each phone several times.
FLEET = [
    ("phone-a", ["/listed/%s.cfg" % A, "/listed/000000000000.cfg"]),
    ("phone-b", ["/listed/%s.cfg" % B, "/listed/000000000000.cfg"]),
    ("phone-c", ["/listed/%s.cfg" % C]),
    ("expired-a", ["/listed/%s.cfg" % A]),
    ("corp-a", ["/listed/%s.cfg" % A]),
]


def test_readiness(module, pki, manifest, servers):
    """Good (A, own file), wrong file (A's request for B's file), denied
    (B), not listed (C), expired (handshake), foreign CA (corp): each phone
    counted once per reason however often it asked."""
    h = servers()
    g = config(h, pki, manifest)
    h.write(vhost=g, verify="optional_no_ca", loglevel="warn")
    h.start()
    for _ in range(3):
        for phone, paths in FLEET:
            for p in paths:
                h.curl(p, phone=phone)
        h.curl("/listed/%s.cfg" % B, phone="phone-a")
    time.sleep(0.3)
    p = subprocess.run([check_tool(), "--readiness", h.error_log, "--json"],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 1, p.stdout + p.stderr   # some would be refused
    rep = json.loads(p.stdout)
    by = {g["reason"]: {m["mac"]: m for m in g["phones"]}
          for g in rep["reasons"]}
    assert set(by) == {"not-owner", "deny-list", "allow-list", "untrusted"}
    assert set(by["not-owner"]) == {A}
    assert by["not-owner"][A]["requests"] == 3
    assert set(by["deny-list"]) == {B}
    assert by["deny-list"][B]["requests"] == 6
    assert set(by["allow-list"]) == {C}
    # expired (in the handshake) and corp (by the module) both claim A
    assert set(by["untrusted"]) == {A}
    assert by["untrusted"][A]["requests"] == 3
    assert by["untrusted"][A]["handshakes"] == 3
    assert rep["phones"] == 3
    # the text form: one line per phone and reason
    p = subprocess.run([check_tool(), "--readiness", h.error_log],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 1
    lines = [l for l in p.stdout.splitlines() if re.match(r"\s+[0-9a-f]{12}",
                                                          l)]
    assert len(lines) == 4, p.stdout
    assert "3 phone(s) would be refused" in p.stdout, p.stdout


def test_readiness_reads_only_the_module_lines():
    """A URI another module logs cannot pass for a would-be refusal; an
    empty log says so and exits 0; a missing one is an error (2)."""
    genuine = ('[Mon Dec 07 16:02:42.110209 2026] [polyprov:notice] '
               '[pid 1:tid 2] [client 10.0.0.7:5] PP140: would refuse '
               'reason=not-owner mac=%s method=GET uri="/x] PP140: would '
               'refuse reason=fake mac=0004f2ffffff" client=10.0.0.7 '
               'report=/etc/httpd.conf:3\n' % A)
    forged = ('[Mon Dec 07 16:02:43.110209 2026] [core:warn] [pid 1:tid 2] '
              '[client 10.0.0.7:5] AH00000: "/x] PP140: would refuse '
              'reason=fake mac=0004f2eeeeee client=1"\n'
              '[Mon Dec 07 16:02:43.110209 2026] [core:error] [pid 1] '
              'x [polyprov:notice] y] PP140: would refuse reason=fake '
              'mac=0004f2dddddd client=1\n'
              '[Mon Dec 07 16:02:43.110209 2026] [ssl:warn] [pid 1:tid 2] '
              '[client 10.0.0.7:5] PP140: would refuse reason=fake '
              'mac=0004f2cccccc client=1\n')
    no_mac = ('[Mon Dec 07 16:02:44.0 2026] [polyprov:notice] [pid 1:tid 2] '
              '[client 10.0.0.8:5] PP140: would refuse reason=no-cert '
              'mac=- method=GET uri="/%s.cfg" client=10.0.0.8 report=a:1\n'
              % A)
    p = subprocess.run([check_tool(), "--readiness", "--json", "-"],
                       input=genuine + forged + no_mac + genuine,
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 1, p.stderr
    rep = json.loads(p.stdout)
    assert rep["refusals"] == 3 and rep["phones"] == 1
    assert rep["clients_without_mac"] == 1
    assert [g["reason"] for g in rep["reasons"]] == ["no-cert", "not-owner"]
    assert rep["reasons"][1]["phones"] == [
        {"mac": A, "client": None, "requests": 2, "handshakes": 0,
         "first": "Mon Dec 07 16:02:42.110209 2026",
         "last": "Mon Dec 07 16:02:42.110209 2026",
         "example": 'GET /x] PP140: would refuse reason=fake '
                    'mac=0004f2ffffff'}]
    assert rep["reasons"][0]["phones"][0]["client"] == "10.0.0.8"
    p = subprocess.run([check_tool(), "--readiness", "-"], input=forged,
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 0 and "no would-be refusal" in p.stdout, p.stdout
    # (and says that it skipped lines that look like the module's)
    assert "3 line(s) name PP140 or PP141" in p.stderr, p.stderr
    p = subprocess.run([check_tool(), "--readiness", "/nonexistent/log"],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 2 and "nonexistent" in p.stderr


# -- docs/deployment.md's migration guide, as written -------------------------------

def guide_block(name, lang):
    m = re.search(r"<!-- %s:begin -->\s*```%s\n(.*?)```\s*<!-- %s:end -->"
                  % (name, lang, name), readme(), re.S)
    assert m, "the documents' %s markers are missing" % name
    return m.group(1)


def guide_sample():
    """docs/deployment.md's example output of --readiness: the block after the
    readiness command."""
    text = readme()
    at = text.index("<!-- migrate-readiness:end -->")
    return re.search(r"```\n(.*?)```", text[at:], re.S).group(1)


def localise_guide(h, pki, text):
    """The guide's paths and ports made the test server's (see
    local_site, which must have been called for h)."""
    for old, new in [
            ("*:443", "127.0.0.1:%d" % h.port),
            ("/srv/provisioning", h.docroot),
            ("/etc/apache2/provisioning.htdigest",
             os.path.join(h.root, "provisioning.htdigest")),
            ("/etc/ssl/certs/prov.example.com.pem", pki + "/server.crt"),
            ("/etc/ssl/private/prov.example.com.key", pki + "/server.key"),
            ("/etc/ssl/polycom/polycom-chain.pem",
             pki + "/polycom-chain.pem"),
            ("${APACHE_LOG_DIR}", os.path.join(h.root, "logs")),
            ("/var/log/apache2/error.log", h.error_log),
            ("/var/log/apache2/provisioning.log",
             os.path.join(h.root, "logs", "provisioning.log")),
            ("/etc/apache2/polyprov/", os.path.join(h.root, "lists") + "/"),
            ("polyprov-check ", check_tool() + " ")]:
        text = text.replace(old, new)
    return text


def sh(text):
    return subprocess.run(["bash", "-c", "set -e\n" + text],
                          capture_output=True, text=True, timeout=60)


DIGEST = ["--digest", "-u", "bootrom:pw"]


def mask_times(text):
    return re.sub(r"last \w{3} \w{3} \d\d \d\d:\d\d:\d\d\.\d+ \d{4}",
                  "last <time>", text)


def test_guide_from_one_password(servers, pki):
    """Steps 3 to 7 from a fleet on one password: the report host serves
    whom the password lets in and reports; the readiness report is the
    docs/deployment.md's sample; the allow list from the phones seen; PolyProv On."""
    h = servers()
    populate(h)
    local_site(h, pki)
    conf = localise_guide(h, pki, guide_block("migrate-password", "apache"))
    h.write(vhosts=conf)
    rc, out = h.configtest()
    assert rc == 0, out
    h.start()
    for _ in range(3):
        # the password decides: served, and reported
        r = h.curl("/%s.cfg" % A, phone="phone-a", extra=DIGEST)
        assert r.status == 200 and r.body == FILES[A + ".cfg"]
        assert h.curl("/%s.cfg" % B, phone="phone-a",
                      extra=DIGEST).status == 200
        assert h.curl("/%s.cfg" % C, phone="phone-c",
                      extra=DIGEST).status == 200
        assert h.curl("/%s.cfg" % A, phone="corp-a",
                      extra=DIGEST).status == 200
        assert h.curl("/%s.cfg" % A, phone="phone-a").status == 401
        assert h.curl("/site.cfg", extra=DIGEST).status == 200
        # mod_ssl ends the expired phone's handshake (PP141)
        assert h.curl("/%s.cfg" % A, phone="expired-a").status == 0
    time.sleep(0.3)
    assert "PP001" not in h.log_text()

    cmd = localise_guide(h, pki, guide_block("migrate-readiness", "sh"))
    p = sh(cmd)
    assert p.returncode == 1, p.stdout + p.stderr
    assert mask_times(p.stdout) == mask_times(guide_sample()), p.stdout

    p = sh(localise_guide(h, pki, guide_block("migrate-allow", "sh")))
    assert p.returncode == 0, p.stdout + p.stderr
    with open(os.path.join(h.root, "lists", "allow.txt")) as f:
        assert f.read() == "%s\n%s\n" % (A, C)

    h.stop()
    conf = localise_guide(h, pki, guide_block("migrate-on", "apache"))
    h.write(vhosts=conf)
    rc, out = h.configtest()
    assert rc == 0, out
    h.start()
    h.mark()
    assert h.curl("/%s.cfg" % A, phone="phone-a").status == 200
    assert h.curl("/%s.cfg" % B, phone="phone-a").status == 403
    assert h.curl("/%s.cfg" % C, phone="phone-c").status == 200
    assert h.curl("/%s.cfg" % B, phone="phone-b").status == 403  # unlisted
    r = h.curl("/%s.cfg" % A, phone="expired-a")    # PolyProvAllowExpired
    assert r.status == 200 and r.body == FILES[A + ".cfg"]
    assert h.curl("/%s.cfg" % A, phone="corp-a").status == 0
    assert h.curl("/%s.cfg" % A).status == 0
    reasons = re.findall(r"PP001: refused reason=(\S+)", h.new_log())
    assert reasons == ["not-owner", "allow-list"], reasons


def recipe_requests(h):
    return [h.curl("/%s.cfg" % A, phone="phone-a").status,
            h.curl("/%s.cfg" % B, phone="phone-a").status,
            h.curl("/000000000000.cfg", phone="phone-a").status,
            h.curl("/%s.cfg" % A, phone="corp-a").status,
            h.curl("/%s.cfg" % A).status]


def test_guide_from_polys_recipe(servers, pki):
    """Step 3 from Poly's recipe: with optional_no_ca and PolyProv
    Report the host serves what the recipe under require served, and
    refuses the rest (with a 403 where mod_ssl ended the handshake)."""
    h = servers()
    populate(h)
    local_site(h, pki)
    conf = localise_guide(h, pki, guide_block("migrate-recipe", "apache"))
    # the recipe as it was: SSLVerifyClient require, no module
    old = conf.replace("SSLVerifyClient optional_no_ca",
                       "SSLVerifyClient require").replace(
        "Require ssl-verify-client", "Require all granted").replace(
        "PolyProv Report", "PolyProv Off")
    assert old != conf
    h.write(vhosts=old)
    h.start()
    before = recipe_requests(h)
    assert before == [200, 403, 403, 0, 0], before
    h.stop()
    h.write(vhosts=conf)
    rc, out = h.configtest()
    assert rc == 0, out
    h.start()
    h.mark()
    now = recipe_requests(h)
    assert now == [200, 403, 403, 403, 403], now
    assert re.findall(r"PP140: would refuse reason=(\S+)", h.new_log()) == \
        ["not-owner", "untrusted", "no-cert"]
    # the recipe's <If> alone, under optional_no_ca: a client without a
    # certificate would get every file (why the guide adds the verdict)
    h.stop()
    h.write(vhosts=conf.replace("Require ssl-verify-client",
                                "Require all granted"))
    h.start()
    r = h.curl("/%s.cfg" % B)
    assert r.status == 200 and r.body == FILES[B + ".cfg"]


def test_expired_waiver_never_reaches_a_report_scope(servers, pki):
    """On a host where PolyProvAllowExpired lets an expired certificate
    through the handshake for a PolyProv On scope, a Report scope of the
    same host refuses it (PP046), as mod_ssl would have without the
    module; the On scope serves it."""
    h = servers()
    populate(h)
    h.put("report/%s.cfg" % A, "A in report\n")
    h.write(verify="optional_no_ca", vhost="""
    <Directory {d}>
        PolyProv On
        PolyProvTrustedCA {p}/polycom-chain.pem
        PolyProvAllowExpired On
    </Directory>
    <Directory {d}/report>
        PolyProv Report
    </Directory>""".format(d=h.docroot, p=pki))
    h.start()
    h.mark()
    r = h.curl("/%s.cfg" % A, phone="expired-a")
    assert r.status == 200 and r.body == FILES[A + ".cfg"]
    r = h.curl("/report/%s.cfg" % A, phone="expired-a")
    assert r.status == 403 and "A in report" not in r.body
    assert "PP046: refused reason=untrusted" in h.new_log()
    # the same phone's certificate, before it expired, is served there
    r = h.curl("/report/%s.cfg" % A, phone="phone-a")
    assert r.status == 200 and r.body == "A in report\n"


def test_report_alone_lets_no_expired_certificate_through(servers, pki):
    """PolyProvAllowExpired with PolyProv Report and no On: mod_ssl still
    ends the expired phone's handshake (logged, PP141); Report never
    loosens the handshake.  Both lines are notices, which httpd logs
    under the quietest LogLevel too."""
    h = servers()
    populate(h)
    h.write(verify="optional_no_ca", loglevel="crit", vhost="""
    <Directory {d}>
        PolyProv Report
        PolyProvTrustedCA {p}/polycom-chain.pem
        PolyProvAllowExpired On
    </Directory>""".format(d=h.docroot, p=pki))
    h.start()
    h.mark()
    r = h.curl("/%s.cfg" % A, phone="expired-a")
    assert r.status == 0 and r.rc != 0, r
    assert re.search(r"PP141: would refuse reason=untrusted mac=%s .*"
                     r"verify error 10 at depth 0" % A, h.new_log())
    assert h.curl("/%s.cfg" % A, phone="phone-a").status == 200
    h.mark()
    assert h.curl("/%s.cfg" % B, phone="phone-a").status == 200
    assert reason_of(h.new_log(), "PP140") == [("not-owner", A)]


def test_configtest(servers, pki):
    """PolyProv Report without any PolyProvTrustedCA stops configtest
    (PP005, naming the directive's place), as PolyProv On does; a value
    that is not one of the four names them all."""
    h = servers()
    h.write(vhost="""
    <Directory {d}>
        PolyProv Report
    </Directory>""".format(d=h.docroot))
    rc, out = h.configtest()
    assert rc != 0
    assert re.search(r"PP005: PolyProv Report at %s:\d+: no "
                     r"PolyProvTrustedCA" % re.escape(h.conf), out), out
    h.write(vhost="""
    <Directory {d}>
        PolyProv Reporting
        PolyProvTrustedCA {p}/polycom-chain.pem
    </Directory>""".format(d=h.docroot, p=pki))
    rc, out = h.configtest()
    assert rc != 0
    assert "'Reporting' is not On, Off, SharedOnly or Report" in out, out
