# SPDX-License-Identifier: Apache-2.0
"""polyprov-check gives the module's answers: the decision table's matrix
(every row, the cases of test_decision.py and more: phones, look-alike
certificates, CN forms, CRLs, issuer pins, allow and deny lists, a list
that never loaded, directories, shared and not-shared files, writes, COPY
and MOVE Destinations, PROPPATCH, dot-files, path spellings, SharedOnly)
is sent to a running httpd with the module over real TLS (curl as the
phone) and given to the tool with the same settings, certificate and
DocumentRoot; the reason of each is compared case by case.

The module's reason is read from its PP001 line and from POLYPROV_REASON
in the access log (which must agree); an allowed request has neither
(reason "ok").  The tool's is the reason= of its last line.  The main host
says SSLVerifyClient require; a second one, optional_no_ca, carries the
rows mod_ssl would otherwise end in the handshake (no certificate, a
self-signed one), and the plain-HTTP host the no-tls and SharedOnly rows.
Requests that httpd itself refuses before any module runs (a bad escape,
an encoded '/', '..' above the root) must be usage errors of the tool
(exit 2, with the status httpd answers)."""

import os
import re
import time

import pytest

from tests.pphttpd import checktool
from tests.pphttpd.expect import A, B, C
from tests.pphttpd.fixtures import FILES, populate, serve
from tests.pphttpd.httpd import free_port

D, R = "0004f2000d04", "0004f2000e05"   # signed by the root; revoked
PATTERN = "^Phone ([0-9A-Fa-f]{12}) desk$"
SHAREDCFG = "000000000000*.cfg *.ld"
SCOPES = ("pinned", "listed", "noshare", "sharedcfg", "pattern", "crl",
          "broken", "brokendeny", "bootrom")


class Env:
    """The server and what the tool needs to be told about its scopes."""

    def __init__(self, h, pki, manifest):
        self.h, self.pki = h, pki
        self.pin = manifest["issuing1"]["sha256"]
        self.allow = h.list_file("allow.txt", "# the fleet\n%s\n%s\n"
                                 % (A, B))
        self.deny = h.list_file("deny.txt", "%s\n" % B.upper())
        self.broken = h.list_file("broken.txt", "%s\nnot a mac\n" % A)
        # a third port, none of the server's two
        self.optional_port = free_port()
        while self.optional_port in (h.port, h.http_port):
            self.optional_port = free_port()

    def tool_options(self, scope):
        """The directives of a scope, as polyprov-check's options."""
        base = ["--trusted-ca", "%s/polycom-chain.pem" % self.pki,
                "--docroot", self.h.docroot]
        return base + {
            "root": [],
            "pinned": ["--issuer-fingerprint", "sha256:" + self.pin],
            "listed": ["--allow-list", self.allow, "--deny-list", self.deny],
            "noshare": ["--shared-files", "none"],
            "sharedcfg": ["--shared-files", SHAREDCFG],
            "pattern": ["--cn-pattern", PATTERN],
            "crl": ["--crl", "%s/crl-all.pem" % self.pki],
            "broken": ["--allow-list", self.broken],
            "brokendeny": ["--deny-list", self.broken],
            "bootrom": ["--shared-only"],
        }[scope]


def configure(h, pki, env):
    populate(h)
    for sub in SCOPES:
        populate(h, {"%s/%s" % (sub, k): v for k, v in FILES.items()})
    h.put("sub/%s.cfg" % A, "in a directory\n")
    h.put("phones/%s/contacts.xml" % A, "<contacts/>\n")
    h.put("phones/%s/contacts.xml" % B, "<contacts/>\n")
    h.put("%s.cfg" % D, "secret of D\n")
    h.put("%s.cfg" % R, "secret of R\n")
    guarded = """
    <Directory {docroot}>
        PolyProv On
        PolyProvTrustedCA {pki}/polycom-chain.pem
    </Directory>
    <Location /pinned/>
        PolyProvIssuerFingerprint sha256:{pin}
    </Location>
    <Location /listed/>
        PolyProvAllowList {allow}
        PolyProvDenyList {deny}
    </Location>
    <Location /noshare/>
        PolyProvSharedFiles none
    </Location>
    <Location /sharedcfg/>
        PolyProvSharedFiles {sharedcfg}
    </Location>
    <Location /pattern/>
        PolyProvCNPattern "{pattern}"
    </Location>
    <Location /crl/>
        PolyProvCRL {pki}/crl-all.pem
    </Location>
    <Location /broken/>
        PolyProvAllowList {broken}
    </Location>
    <Location /brokendeny/>
        PolyProvDenyList {broken}
    </Location>
    <Location /bootrom/>
        PolyProv SharedOnly
    </Location>
""".format(docroot=h.docroot, pki=pki, pin=env.pin, allow=env.allow,
           deny=env.deny, sharedcfg=SHAREDCFG, pattern=PATTERN,
           broken=env.broken)
    vhosts = h._default_vhosts(guarded, "require", "h2 http/1.1", "",
                               guarded)
    # the same scopes where the module is the only judge of the chain
    vhosts += """
<VirtualHost 127.0.0.1:{port}>
    ServerName localhost
    SSLEngine on
    SSLCertificateFile {pki}/server.crt
    SSLCertificateKeyFile {pki}/server.key
    SSLCACertificateFile {pki}/ssl-client-ca.pem
    SSLVerifyClient optional_no_ca
    SSLVerifyDepth 5
    DocumentRoot {docroot}
    <Directory {docroot}>
        Require all granted
    </Directory>
{guarded}
</VirtualHost>
""".format(port=env.optional_port, pki=pki, docroot=h.docroot,
           guarded=guarded)
    h.write(vhosts=vhosts, server="Listen 127.0.0.1:%d" % env.optional_port,
            loglevel="warn polyprov:info")
    # the broken list is expected to be reported at start-up
    h.expect_log(r"broken\.txt")


@pytest.fixture(scope="module")
def env(module, pki, manifest):
    holder = {}

    def setup(h):
        holder["env"] = Env(h, pki, manifest)
        configure(h, pki, holder["env"])

    for h in serve(module, pki, setup):
        yield holder["env"]


# ---------------------------------------------------------------------------
# The cases: (host, scope, phone, method, path, destination).  host is
# "require", "optional" (optional_no_ca) or "plain"; phone None is no
# certificate; destination None is no Destination header.

def case(path, phone="phone-a", method="GET", dest=None, host="require",
         scope=None):
    if scope is None:
        first = path.split("/")[1]
        scope = first if first in SCOPES else "root"
    return (host, scope, phone, method, path, dest)


BAD_CN = ["two-cn", "no-cn", "cn-zero", "cn-13hex", "cn-colons", "cn-words",
          "cn-nul", "cn-nul-lead", "cn-newline", "cn-tab", "cn-space",
          "cn-fullwidth", "san-only", "san-other-cn"]

CASES = [
    # phones of the real-shaped chain, each its own file
    case("/%s.cfg" % A), case("/%s-phone.cfg" % A),
    case("/%s.cfg" % B, phone="phone-b"), case("/%s.cfg" % C, phone="phone-c"),
    case("/%s.cfg" % D, phone="phone-d-root"),
    case("/%s.cfg" % R, phone="phone-revoked"),
    case("/%s.cfg" % B), case("/%s.cfg" % A, phone="phone-b"),
    # certificates mod_ssl lets through that the module refuses
    case("/%s.cfg" % A, phone="forged-a"), case("/%s.cfg" % A, phone="corp-a"),
    case("/%s.cfg" % A, phone="ca-as-device"),
] + [case("/%s.cfg" % A, phone=p) for p in BAD_CN] + [
    case("/000000000000.cfg", phone="no-cn"),
    case("/000000000000.cfg", phone="two-cn"),
    # the MAC in each string type a CN may carry
] + [case("/%s.cfg" % A, phone=p)
     for p in ("cn-bmp", "cn-utf8", "cn-printable", "cn-universal")] + [
    # shared files, every read method
    case("/000000000000.cfg"), case("/000000000000-license.cfg"),
    case("/site.cfg"), case("/3111-40250-001.sip.ld"),
    case("/site.cfg", phone="phone-c"), case("/site.cfg", method="HEAD"),
    case("/site.cfg", method="OPTIONS"),
    # directories
    case("/"), case("/sub/"), case("/sub"), case("/sub/", method="PROPFIND"),
    case("/%s-dir/" % A, method="MKCOL"), case("/sub/%s.cfg" % A),
    # writes
    case("/%s-app.log" % A, method="PUT"),
    case("/000000000000.cfg", method="PUT"), case("/site.cfg", method="PUT"),
    case("/%s-app.log" % B, method="PUT"),
    case("/%s-phone.cfg" % A, method="DELETE"),
    case("/%s.cfg" % B, method="DELETE"), case("/site.cfg", method="DELETE"),
    case("/%s-x" % A, method="MKCOL"), case("/x", method="MKCOL"),
    case("/.htaccess", method="PUT"),
    case("/%s/.htaccess" % A, method="PUT"),
    case("/.%s.cfg" % A, method="PUT"),
    case("/.htaccess"),
    case("/%s.cfg" % A, method="POST"), case("/%s.cfg" % B, method="POST"),
    # PROPPATCH comes last: the file's owner is judged first
    case("/%s.cfg" % A, method="PROPPATCH"),
    case("/%s.cfg" % B, method="PROPPATCH"),
    case("/site.cfg", method="PROPPATCH"),
    # COPY and MOVE: the Destination is judged as a write
    case("/%s.cfg" % A, method="COPY", dest="/%s-copy.cfg" % A),
    case("/%s.cfg" % A, method="COPY",
         dest="https://localhost/%s-copy.cfg" % A),
    case("/%s.cfg" % A, method="COPY", dest="/%s-copy.cfg" % B),
    case("/%s.cfg" % A, method="COPY", dest="/000000000000.cfg"),
    case("/%s.cfg" % A, method="COPY", dest="/.htaccess"),
    case("/%s.cfg" % A, method="COPY", dest="/%s/.x" % A),
    case("/%s.cfg" % A, method="COPY", dest="/x/../%s.cfg" % B),
    case("/%s.cfg" % A, method="COPY", dest="/%s%%2fb" % A),
    case("/%s.cfg" % A, method="COPY", dest="/%s.cfg;x" % A),
    case("/%s.cfg" % A, method="COPY", dest="/%s-x.cfg?q=1" % A),
    case("/%s.cfg" % A, method="COPY", dest="%s-rel.cfg" % A),
    case("/%s.cfg" % A, method="COPY"),
    case("/%s.cfg" % A, method="MOVE", dest="/%s-moved.cfg" % A),
    case("/%s.cfg" % A, method="MOVE", dest="/%s-moved.cfg" % B),
    case("/000000000000.cfg", method="MOVE", dest="/%s.cfg" % A),
    case("/%s.cfg" % B, method="COPY", dest="/%s.cfg" % A),
    case("/%s.cfg" % A, method="COPY", dest="/%s-copy.cfg" % A,
         phone="forged-a"),
    # a Destination on a method that has none is not looked at
    case("/%s.cfg" % A, method="PUT", dest="/%s.cfg" % B),
    # path spellings
    case("/%s.cfg/%s" % (B, A.upper())), case("/%s.cfg/extra" % A),
    case("/%s.cfg/" % A),
    case("/%s%s.cfg" % (A, B)), case("/%s-%s.cfg" % (A, B)),
    case("/%s.cfg" % A.upper()), case("/%s1.cfg" % A),
    case("/%30004f2000b02.cfg"), case("/x/../%s.cfg" % B),
    case("//%s.cfg" % A), case("/./%s.cfg" % A),
    case("/%s.cfg?mac=%s" % (A, B)), case("/%s.cfg?mac=%s" % (B, A)),
    case("/phones/%s/contacts.xml" % A), case("/phones/%s/contacts.xml" % B),
    case("/phones/%s/new.xml" % A, method="PUT"),
    case("/missing/%s.cfg" % A), case("/missing/x/%s.cfg" % B),
    # issuer pins
    case("/pinned/%s.cfg" % A), case("/pinned/%s.cfg" % C, phone="phone-c"),
    case("/pinned/%s.cfg" % D, phone="phone-d-root"),
    case("/pinned/site.cfg", phone="phone-c"),
    # allow and deny lists (B is on both: the deny list wins)
    case("/listed/%s.cfg" % A), case("/listed/%s.cfg" % B, phone="phone-b"),
    case("/listed/%s.cfg" % C, phone="phone-c"),
    case("/listed/000000000000.cfg", phone="phone-c"),
    case("/listed/%s.cfg" % A, phone="forged-a"),
    case("/listed/%s.cfg" % B, phone="no-cn"),
    # a list that never loaded, as an allow and as a deny list
    case("/broken/%s.cfg" % A), case("/brokendeny/%s.cfg" % A),
    case("/broken/%s.cfg" % A, phone="corp-a"),
    # shared files narrowed
    case("/noshare/000000000000.cfg"), case("/noshare/%s.cfg" % A),
    case("/sharedcfg/site.cfg"), case("/sharedcfg/000000000000.cfg"),
    case("/sharedcfg/000000000000-license.cfg"),
    case("/sharedcfg/3111-40250-001.sip.ld"),
    case("/sharedcfg/%s.cfg" % A),
    # the CN pattern
    case("/pattern/%s.cfg" % A, phone="cn-words"), case("/pattern/%s.cfg" % A),
    # CRLs
    case("/crl/%s.cfg" % R, phone="phone-revoked"), case("/crl/%s.cfg" % A),
    case("/crl/%s.cfg" % C, phone="phone-c"),
    # PolyProv SharedOnly: no certificate is looked at
    case("/bootrom/000000000000.cfg"), case("/bootrom/%s.cfg" % A),
    case("/bootrom/site.cfg", method="PUT"), case("/bootrom/"),
    case("/bootrom/site.cfg", phone="forged-a"),
    case("/bootrom/%s.cfg" % B, phone="phone-b"),
    # where the module is the only judge of the chain
    case("/%s.cfg" % A, phone=None, host="optional"),
    case("/000000000000.cfg", phone=None, host="optional"),
    case("/%s.cfg" % A, phone="selfsigned-a", host="optional"),
    case("/%s.cfg" % A, host="optional"),
    case("/bootrom/site.cfg", phone=None, host="optional"),
    # plain HTTP
    case("/%s.cfg" % A, phone=None, host="plain"),
    case("/000000000000.cfg", phone=None, host="plain"),
    case("/bootrom/000000000000.cfg", phone=None, host="plain"),
    case("/bootrom/%s.cfg" % A, phone=None, host="plain"),
    case("/bootrom/site.cfg", phone=None, method="PUT", host="plain"),
]

# Requests httpd answers itself before any module: the tool must refuse
# them as input errors, naming the status.
HTTPD_ERRORS = [
    ("/%s%%2f%s.cfg" % (A, B), 404),   # an encoded '/'
    ("/%s.cfg%%00" % A, 404),          # an encoded NUL
    ("/%%zz%s.cfg" % A, 400),          # a bad escape
    ("/../%s.cfg" % A, 400),           # above the root
]


def tool_answer(env, host, scope, phone, method, path, dest, options=None):
    args = env.tool_options(scope) if options is None else options
    if host == "plain":
        args = args + ["--no-tls"]
    if phone:
        args = args + ["--cert", "%s/%s.chain.pem" % (env.pki, phone)]
    elif host != "plain" and scope != "bootrom":
        args = args + ["--no-cert"]
    args = args + ["--method", method]
    if dest is not None:
        args = args + ["--destination", dest]
    return checktool.run(*(args + ["--", path]))


def curl(env, host, phone, method, path, dest):
    h = env.h
    headers = ["Destination: %s" % dest] if dest is not None else []
    extra = ["-I"] if method == "HEAD" else []
    if host != "optional":
        return h.curl(path, phone=phone, method=None if method in (
            "GET", "HEAD") else method, headers=headers, extra=extra,
            tls=host != "plain")
    saved = h.port
    h.port = env.optional_port
    try:
        return h.curl(path, phone=phone, method=None if method in (
            "GET", "HEAD") else method, headers=headers, extra=extra)
    finally:
        h.port = saved


def new_access_entry(h, before, method, path, timeout=5.0):
    """This request's access-log line: among those written after `before`
    lines (it is written after the response, so wait for it)."""
    want = '"%s %s HTTP/' % (method, path)
    deadline = time.time() + timeout
    while True:
        hits = [l for l in h.access_lines()[before:] if want in l]
        if hits or time.time() > deadline:
            return hits[-1] if hits else None
        time.sleep(0.02)


def module_answer(env, host, phone, method, path, dest):
    """The module's reason: its PP001 line and POLYPROV_REASON agree."""
    h = env.h
    h.mark()
    before = len(h.access_lines())
    r = curl(env, host, phone, method, path, dest)
    assert r.status != 0, "no HTTP answer: %r" % r
    lines = [l for l in h.refusals() if "via=" not in l]
    entry = new_access_entry(h, before, method, path)
    assert entry is not None, "no access-log line for %s %s" % (method, path)
    env_reason = re.search(r" reason=(\S+)", entry).group(1)
    if lines:
        assert len(lines) == 1, lines
        reason = re.search(r"reason=(\S+) ", lines[0]).group(1)
        assert r.status == 403, (r, lines)
        assert env_reason == reason, (entry, lines)
        return reason, r.status
    assert env_reason == "-", entry
    return "ok", r.status


OBSERVED = {}


def case_id(c):
    host, scope, phone, method, path, dest = c
    return "%s:%s:%s:%s%s" % (host, phone or "-", method, path,
                              "->" + dest if dest is not None else "")


@pytest.mark.parametrize("c", CASES, ids=[case_id(c) for c in CASES])
def test_same_reason_as_the_module(env, c):
    host, scope, phone, method, path, dest = c
    # the tool first: nothing the request does can change what it sees
    tool = tool_answer(env, *c)
    assert tool.rc in (0, 1), tool
    module, status = module_answer(env, host, phone, method, path, dest)
    OBSERVED[c] = (module, tool.reason)
    assert tool.reason == module, "module: %s (HTTP %d)\ntool: %r" % (
        module, status, tool)


@pytest.mark.parametrize("path,status", HTTPD_ERRORS)
def test_what_httpd_refuses_first_is_an_input_error(env, path, status):
    tool = tool_answer(env, "require", "root", "phone-a", "GET", path, None)
    assert tool.rc == 2, tool
    assert "httpd answers %d" % status in tool.err, tool
    env.h.mark()
    r = curl(env, "require", "phone-a", "GET", path, None)
    assert r.status == status, r
    assert not env.h.refusals()


def test_every_reason_of_the_table_was_compared(env):
    """Run after the cases: every reason of docs/decisions.md's decision table
    that a request can get (all but foreign-name, another module's
    response, and internal) came up, from both, and the case count."""
    want = {"ok", "no-tls", "no-cert", "untrusted", "issuer", "bad-cn",
            "deny-list", "allow-list", "list-unavailable", "directory",
            "dot-file", "not-owner", "shared-readonly", "not-shared",
            "method", "device-file"}
    assert len(OBSERVED) == len(CASES), "run the whole file"
    seen = {m for m, t in OBSERVED.values() if m == t}
    assert want <= seen, want - seen
    print("\n%d cases compared, reasons: %s" % (
        len(OBSERVED), ", ".join(sorted(seen))))


# -- the same, with the directives from the server's own configuration ---------

@pytest.fixture(scope="module")
def dumped(env, tmp_path_factory):
    """apachectl -t -D DUMP_POLYPROV of the running server's configuration:
    the tool is told nothing else of its scopes."""
    import subprocess
    from tests.pphttpd.httpd import HTTPD
    e = dict(os.environ)
    e.update(env.h.sanitizer_env())
    p = subprocess.run([HTTPD, "-f", env.h.conf, "-t", "-D",
                        "DUMP_POLYPROV"], capture_output=True, text=True,
                       env=e, timeout=60)
    assert p.returncode == 0 and p.stdout, p.stderr
    path = tmp_path_factory.mktemp("dump") / "polyprov.jsonl"
    path.write_text(p.stdout)
    return str(path)


def dump_options(env, dumped, host):
    port = {"require": env.h.port, "optional": env.optional_port,
            "plain": env.h.http_port}[host]
    return ["--dump", dumped, "--host", "localhost:%d" % port]


@pytest.mark.parametrize("c", CASES, ids=[case_id(c) for c in CASES])
def test_same_reason_from_the_servers_dump(env, dumped, c):
    """polyprov-check --dump: the scopes that apply to the request are
    taken from the server's configuration, and the verdict is the
    server's (the module's answer observed above, else asked again)."""
    host, scope, phone, method, path, dest = c
    tool = tool_answer(env, *c, options=dump_options(env, dumped, host))
    assert tool.rc in (0, 1), tool
    if c in OBSERVED:
        module = OBSERVED[c][0]
    else:
        module, _ = module_answer(env, host, phone, method, path, dest)
    assert tool.reason == module, "module: %s\ntool: %r" % (module, tool)


def test_a_wrong_dump_is_caught(env, dumped, tmp_path):
    """The comparison can fail: the tool follows the dump it is given.
    Without --host, a dump of several hosts is a usage error; the right
    host names the scopes it merged; a dump without the <Location> of the
    pin gives another verdict than the server's."""
    args = ["--cert", "%s/phone-c.chain.pem" % env.pki, "/pinned/%s.cfg" % C]
    tool = checktool.run("--dump", dumped, *args)
    assert tool.rc == 2 and "--host" in tool.err, tool
    tool = checktool.run(*(dump_options(env, dumped, "require") + args))
    assert tool.reason == "issuer", tool
    assert "scope        Directory %s/; Location /pinned/ (localhost:%d)" % (
        env.h.docroot, env.h.port) in tool.out, tool
    with open(dumped) as f:
        rows = [l for l in f if '"path":"/pinned/"' not in l]
    less = tmp_path / "less.jsonl"
    less.write_text("".join(rows))
    tool = checktool.run(*(dump_options(env, str(less), "require") + args))
    assert tool.reason == "ok", tool


def test_readme_tells_the_case_count():
    from tests.pphttpd.readme import readme
    text = readme()
    section = text[text.index("\n## The check tool\n"):]
    assert "matrix (%d cases:" % len(CASES) in section.replace("\n", " ")


# -- the comparison can fail ------------------------------------------------

@pytest.mark.parametrize("c,wrong", [
    # the tool told less than the scope says: the pin, the lists, the
    # narrowed shared files, the SharedOnly mode, the CRL
    (case("/pinned/%s.cfg" % C, phone="phone-c"), "root"),
    (case("/listed/%s.cfg" % B, phone="phone-b"), "root"),
    (case("/noshare/000000000000.cfg"), "root"),
    (case("/bootrom/%s.cfg" % A), "root"),
    (case("/crl/%s.cfg" % R, phone="phone-revoked"), "root"),
])
def test_a_wrong_scope_is_caught(env, c, wrong):
    host, scope, phone, method, path, dest = c
    tool = tool_answer(env, host, wrong, phone, method, path, dest)
    module, _ = module_answer(env, host, phone, method, path, dest)
    assert tool.reason != module, (module, tool)


def test_without_docroot_directories_are_not_seen(env):
    """Without --docroot the URI is the file's path, not looked up: a
    directory is then not one, and the comparison sees the difference."""
    opts = [o for o in env.tool_options("root")]
    i = opts.index("--docroot")
    del opts[i:i + 2]
    tool = tool_answer(env, "require", "root", "phone-a", "GET", "/sub",
                       None, options=opts)
    module, _ = module_answer(env, "require", "phone-a", "GET", "/sub", None)
    assert (module, tool.reason) == ("directory", "ok")


def test_the_tool_is_not_the_module(env):
    """A sanity check of the harness itself: the module's reason really
    comes from the server (stopping nothing, a request the tool cannot
    see: a file created after the tool looked)."""
    h = env.h
    tool = tool_answer(env, "require", "root", "phone-a", "GET",
                       "/late-%s" % A, None)
    os.makedirs(os.path.join(h.docroot, "late-%s" % A))
    try:
        module, _ = module_answer(env, "require", "phone-a", "GET",
                                  "/late-%s" % A, None)
    finally:
        os.rmdir(os.path.join(h.docroot, "late-%s" % A))
    assert (tool.reason, module) == ("ok", "directory")
