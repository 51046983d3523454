# SPDX-License-Identifier: Apache-2.0
"""Attack class: neighbouring modules (docs/decisions.md, "How the module decides":
"Other modules in the same scope", and the decision table).

Phone A reaches for phone B's files through the other modules a
provisioning host may run in the same scope: mod_include (#include
file/virtual, #fsize, #flastmod, #exec), mod_negotiation (type maps,
MultiViews, variant lists and Alternates), mod_speling, mod_dir,
mod_autoindex, mod_rewrite (-F/-U lookups, [PT]), mod_alias (Redirect),
mod_actions, mod_cgid, mod_asis, mod_imagemap, ErrorDocument, PHP-FPM over
mod_proxy_fcgi, mod_dav (PROPFIND, PROPPATCH, COPY/MOVE, MKCOL), a
WebDAV backend behind mod_proxy, mod_deflate and HTTP/2; and a crawl of
the whole tree with every module of Debian's apache2 loaded.

The tests expect these rules of docs/decisions.md:

1. every subrequest and internal redirect is decided again, also file
   subrequests no <Location> matches (PP001 ... via=subrequest/redirect);
2. ownership is judged on the whole path below the document root:
   docroot/<B>/contacts.xml is B's;
3. device files (a path naming the requester) are served as plain data by
   the default handler or mod_dav, through no other handler and no
   resource-level output filter;
4. a generated response naming another device's file (Location,
   Content-Location, Alternates, Link; the body when the status is >= 300
   and not 304) is replaced by a 403 with reason foreign-name;
5. writes: the Destination of COPY/MOVE is checked by the module itself
   (not-owner, shared-readonly; missing or unparsable: not-owner), a write
   to a name with a segment starting with '.' is refused (dot-file),
   PROPPATCH by a phone is refused (method);
6. MKCOL and the collection methods give the same answer with and without
   a trailing slash.

Each case asserts that nothing of B's reaches A: no secret (content, size,
date) and no file name of B (or of another phone) in any notation, in the
headers or the body.  The one exception is a 200 whose body is exactly
what A itself uploaded (item 3: served raw, it may name B)."""

import gzip
import http.client
import os
import re
import shutil
import socket
import subprocess
import time
import urllib.parse

import pytest

from tests.pphttpd import tlsclient
from tests.pphttpd.expect import A, B, C, expect_allowed, expect_refused
from tests.pphttpd.fixtures import checked, serve, skip_or_fail
from tests.pphttpd.httpd import BASE_MODULES, MODDIR, Httpd

B3 = "0004f2000b03"              # a third phone, next to B's name
FOREIGN = (B, B3, C)


def _notations(mac):
    """B's MAC in any case, with or without separators between bytes
    (0004f2000b02, 00:04:F2:00:0B:02, 00-04-f2-00-0b-02, 0004.f200.0b02)."""
    pairs = [mac[i:i + 2] for i in range(0, 12, 2)]
    return r"[-:._ ]?".join(pairs)


FOREIGN_NAME = re.compile("|".join(_notations(m) for m in FOREIGN), re.I)
# what only B's files hold: their text, the size of B's contacts.xml
# (7777 bytes) and its date (1999-12-31)
SECRET = re.compile(r"secret of|7,777|7\.6K|\b7777\b|1999|31-Dec", re.I)
SECRET_HEAD = re.compile(r"content-length:\s*7777\b|length\s+7777\b|1999",
                         re.I)
# markers only a run (not the source) of an uploaded program prints
RAN = re.compile(r"EXEC-42|CGI-42|TPL-42|PHP-RAN")

CONTACTS_SIZE = 7777
CONTACTS_MTIME = 946641600       # 1999-12-31 12:00 UTC

EXECUTABLE = ('<?xml version="1.0"?><D:propertyupdate xmlns:D="DAV:">'
              '<D:set><D:prop><executable xmlns="http://apache.org/dav/'
              'props/">T</executable></D:prop></D:set></D:propertyupdate>')
PROPS = ('<?xml version="1.0"?><D:propertyupdate xmlns:D="DAV:">'
         '<D:set><D:prop><x xmlns="urn:t">1</x></D:prop></D:set>'
         '</D:propertyupdate>')
LOCK = ('<?xml version="1.0"?><D:lockinfo xmlns:D="DAV:">'
        '<D:lockscope><D:exclusive/></D:lockscope>'
        '<D:locktype><D:write/></D:locktype></D:lockinfo>')


# -- the phone: keep-alive HTTP/1.1 over mutual TLS, every header seen --

class Resp:
    def __init__(self, path, status, headers, body, before):
        self.path, self.status, self.headers = path, status, headers
        self.body, self.before = body, before
        self.head = "".join("%s: %s\n" % kv for kv in headers)

    def header(self, name):
        return [v for k, v in self.headers if k.lower() == name.lower()]

    def __repr__(self):
        return "<Resp %s %s %s %r>" % (self.path, self.status,
                                       self.head.replace("\n", " | "),
                                       self.body[:300])


class _Conn(http.client.HTTPSConnection):
    def connect(self):
        raw = socket.create_connection(("127.0.0.1", self.port),
                                       self.timeout)
        # headers and body go in two writes: no Nagle delay between them
        raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock = self._context.wrap_socket(raw,
                                              server_hostname="localhost")


def _access_count(h, path):
    return sum(1 for l in h.access_lines() if ' %s HTTP/' % path in l)


class Phone:
    """One phone on one kept-alive connection (reopened when the server
    closes it)."""

    def __init__(self, h, name="phone-a", timeout=20):
        self.h = h
        self.ctx = tlsclient.context(h.pki, name)
        self.timeout = timeout
        self.conn = None

    def request(self, method, path, body=None, headers=(), count=True):
        hdrs = dict(headers)
        if body is not None and "Content-Type" not in hdrs:
            hdrs["Content-Type"] = "application/octet-stream"
        before = _access_count(self.h, path) if count else 0
        for attempt in (0, 1):
            if self.conn is None:
                self.conn = _Conn("localhost", self.h.port, context=self.ctx,
                                  timeout=self.timeout)
            try:
                self.conn.request(method, path, body=body, headers=hdrs)
                resp = self.conn.getresponse()
                data = resp.read()
                if resp.will_close:
                    self.close()
                if resp.getheader("Content-Encoding") == "gzip" and data:
                    data = gzip.decompress(data)     # mod_deflate's
                return Resp(path, resp.status, resp.getheaders(),
                            data.decode("utf-8", "replace"), before)
            except (http.client.RemoteDisconnected, BrokenPipeError,
                    ConnectionResetError):
                self.close()
                if attempt:
                    raise

    def get(self, path, headers=()):
        return self.request("GET", path, headers=headers)

    def close(self):
        if self.conn is not None:
            self.conn.close()
            self.conn = None


def settle(h, r, timeout=3.0):
    """Wait for the access-log line of this very request."""
    deadline = time.time() + timeout
    while _access_count(h, r.path) <= r.before and time.time() < deadline:
        time.sleep(0.02)


def refused(h, r, reason, via=None):
    settle(h, r)
    line = expect_refused(h, r, reason, r.path, via=via)
    no_leak(r)
    return line


def refused_in_a_redirect(h, r, reason):
    """A 403 with a PP001 line giving the reason, for a response made by
    an internal redirect (an ErrorDocument): which request's environment
    carries POLYPROV_REASON into the access log is left open."""
    settle(h, r)
    assert r.status == 403, (r, h.new_log()[-2000:])
    assert any("reason=%s " % reason in l for l in h.refusals()), \
        h.new_log()
    no_leak(r)


def allowed_raw(h, r, raw):
    """Item 3: a device file served as it was uploaded."""
    settle(h, r)
    assert r.status == 200, (r, h.new_log()[-2000:])
    assert r.body == raw, r
    expect_allowed(h, r, A, r.path)
    no_leak(r, own=raw)


def no_leak(r, own=None):
    """Nothing of B's: no secret anywhere, no foreign file name in the
    headers, nor in the body unless the body is exactly A's own upload."""
    assert not RAN.search(r.body), r
    assert not SECRET.search(r.body), r
    assert not SECRET_HEAD.search(r.head), r
    for text, where in ((r.head, "headers"), (r.body, "body")):
        if where == "body" and own is not None and r.status == 200 \
                and r.body == own:
            continue
        for t in (text, urllib.parse.unquote(text)):
            m = FOREIGN_NAME.search(t)
            assert not m, "%s name %r in the %s: %r" % (
                "foreign", m.group(0), where, r)


def upload(p, path, content):
    r = p.request("PUT", path, body=content.encode())
    assert r.status in (201, 204), r
    return content


# -- the tree ----------------------------------------------------------

def victims(h, d):
    """B's (and two more phones') files in directory d of the docroot,
    A's own file and two shared files."""
    h.put("%s/%s.cfg" % (d, B), "secret of B in %s\n" % d)
    h.put("%s/%s-phone.cfg" % (d, B), "secret of B: phone settings\n")
    h.put("%s/%s.cfg" % (d, B3), "secret of phone b03\n")
    h.put("%s/%s.cfg" % (d, C), "secret of C\n")
    h.put("%s/sub/%s.cfg" % (d, B), "secret of B in sub/\n")
    head = "<contacts>secret of B: contacts "
    tail = "</contacts>\n"
    path = h.put("%s/%s/contacts.xml" % (d, B),
                 head + "x" * (CONTACTS_SIZE - len(head) - len(tail)) + tail)
    os.utime(path, (CONTACTS_MTIME, CONTACTS_MTIME))
    h.put("%s/%s.cfg" % (d, A), "own file of A\n")
    h.put("%s/000000000000.cfg" % d, "shared master config\n")
    h.put("%s/site.cfg" % d, "shared site file\n")


SSI_CONFIG = ('<!--#config errmsg="[ERR]" sizefmt="bytes" '
              'timefmt="%Y-%m-%d" -->\n')

# A's own upload: every directive mod_include has for reaching a file
SSI_DEVICE = SSI_CONFIG + """\
F1:<!--#include file="{b}/contacts.xml" -->
F2:<!--#include file="sub/{b}.cfg" -->
V:<!--#include virtual="{b}.cfg" -->
S:<!--#fsize file="{b}/contacts.xml" -->
D:<!--#flastmod file="{b}/contacts.xml" -->
X:<!--#exec cmd="echo EXEC-$((40+2)); cat {b}.cfg" -->
END
""".format(b=B)

# the operator's shared page (no MAC in its name)
SSI_SHARED = SSI_CONFIG + """\
F1:<!--#include file="{b}/contacts.xml" -->
F2:<!--#include file="sub/{b}.cfg" -->
V1:<!--#include virtual="{b}.cfg" -->
V2:<!--#include virtual="{b}/contacts.xml" -->
S1:<!--#fsize file="{b}/contacts.xml" -->
S2:<!--#fsize virtual="{b}/contacts.xml" -->
D1:<!--#flastmod file="{b}/contacts.xml" -->
D2:<!--#flastmod virtual="{b}/contacts.xml" -->
OWN:<!--#include file="{a}.cfg" -->
END
""".format(a=A, b=B)
SSI_SHARED_ERRORS = 8

TYPE_MAP = """URI: {a}-probe

URI: {b}.cfg
Content-Type: text/plain

URI: {b}-phone.cfg
Content-Type: text/html

URI: {b3}.cfg
Content-Type: application/xml
""".format(a=A, b=B, b3=B3)

SHARED_MAP = """URI: menu

URI: {b}.cfg
Content-Type: text/plain

URI: {b}-phone.cfg
Content-Type: text/html
""".format(b=B)

CGI = """#!/bin/sh
printf 'Content-Type: text/plain\\n\\n'
echo "CGI-$((40+2))"
cat ./{b}.cfg
""".format(b=B)

TEMPLATE_ENGINE = """#!/bin/sh
printf 'Content-Type: text/plain\\n\\n'
echo "TPL-$((6*7))"
dir=$(dirname "$PATH_TRANSLATED")
while read -r f; do cat "$dir/$f"; done < "$PATH_TRANSLATED"
"""

TEMPLATE = "{b}.cfg\nsub/{b}.cfg\n{b}/contacts.xml\n".format(b=B)

IMAGE_MAP = """default /imap/{b}.cfg
rect /imap/{b}-phone.cfg 0,0 10,10
""".format(b=B)

AS_IS = """Status: 302 Found
Location: /asis/{b}.cfg
Content-Location: /asis/{b}-phone.cfg
Link: </asis/{b}.cfg>; rel=preload
Content-Type: text/plain

moved
""".format(b=B)

ERROR_PAGE = '<!--#include file="{b}.cfg" -->ERRPAGE\n'.format(b=B)

# The neighbours' settings, one directory of the tree each; every form
# puts them in its own kind of section.
FEATURES = {
    "ssi": "Options +Includes\nAddOutputFilter INCLUDES .shtml",
    "var": "AddHandler type-map var",
    "mv": "Options +MultiViews",
    "spel": "CheckSpelling On",
    "cgi": "Options +ExecCGI\nAddHandler cgi-script .cgi",
    "act": "Action tpl-handler /cgi-bin/tpl.cgi\nAddHandler tpl-handler .tpl",
    "imap": "AddHandler imap-file map",
    "asis": "AddHandler send-as-is asis",
    "idx": "DirectoryIndex {a}-index.shtml {b}.cfg",
    "ix": "Options +Indexes\nIndexOptions FancyIndexing\n"
          "HeaderName {b}.cfg\nReadmeName sub/{b}.cfg",
    "rw": """RewriteEngine On
RewriteCond %{{QUERY_STRING}} ^f=(.+)$
RewriteCond {d}/rw/%1 -F
RewriteRule probe-F$ /rw/yes.txt [L]
RewriteCond %{{QUERY_STRING}} ^u=(.+)$
RewriteCond /rw/%1 -U
RewriteRule probe-U$ /rw/yes.txt [L]
RewriteRule probe-[FU]$ /rw/no.txt [L]
RewriteRule fallback-[^/]*$ /rw/{b}.cfg [PT,L]""",
    "al": "Redirect /al/go /al/{b}.cfg\n"
          "RedirectMatch ^/al/m-(.*)$ /al/{b}-$1",
    "err": "Options +Includes\nAddOutputFilter INCLUDES .shtml\n"
           "ErrorDocument 404 /err/{a}-err.shtml",
    "err2": "ErrorDocument 404 /err2/{b}.cfg",
}

FORMS = ["directory", "location", "files", "htaccess"]

NEIGHBOUR_MODULES = ["cgid", "actions", "asis", "imagemap", "speling",
                     "filter", "deflate"]


def scope_conf(h, pki, form, features=FEATURES, extra=""):
    """PolyProv On (and Dav On) over the whole document root, and each
    feature's settings in a section of the same kind under it; for the
    .htaccess form the settings go into .htaccess files (AllowOverride
    All), PolyProv On staying in the <Directory>."""
    d = h.docroot
    guard = "PolyProv On\nPolyProvTrustedCA %s/polycom-chain.pem" % pki

    def indent(text, n):
        return "\n".join(" " * n + l for l in text.splitlines())

    out = []
    if form == "directory":
        out.append("<Directory %s>\n%s\n    Dav On\n%s\n</Directory>"
                   % (d, indent(guard, 4), indent(extra, 4)))
    elif form == "location":
        out.append("<Location />\n%s\n    Dav On\n%s\n</Location>"
                   % (indent(guard, 4), indent(extra, 4)))
    elif form == "files":
        out.append("<Directory %s>\n    Dav On\n    <Files \"*\">\n%s\n"
                   "%s\n    </Files>\n</Directory>"
                   % (d, indent(guard, 8), indent(extra, 8)))
    else:
        out.append("<Directory %s>\n%s\n    Dav On\n    AllowOverride All\n"
                   "%s\n</Directory>" % (d, indent(guard, 4),
                                         indent(extra, 4)))
    for name, settings in features.items():
        s = settings.format(a=A, b=B, d=d)
        if form == "directory":
            out.append("<Directory %s/%s>\n%s\n</Directory>"
                       % (d, name, indent(s, 4)))
        elif form == "location":
            out.append("<Location /%s/>\n%s\n</Location>"
                       % (name, indent(s, 4)))
        elif form == "files":
            out.append("<Directory %s/%s>\n    <Files \"*\">\n%s\n"
                       "    </Files>\n</Directory>" % (d, name, indent(s, 8)))
        else:
            h.put("%s/.htaccess" % name, s + "\n")
    return "\n".join(out)


def server_conf(h):
    """What a Debian host has at server level (mime.conf, deflate.conf,
    apache2.conf), and a template engine run by mod_actions."""
    cgibin = os.path.join(h.root, "cgi-bin")
    os.makedirs(cgibin, exist_ok=True)
    with open(os.path.join(cgibin, "tpl.cgi"), "w") as f:
        f.write(TEMPLATE_ENGINE)
    os.chmod(os.path.join(cgibin, "tpl.cgi"), 0o755)
    return """
AddHandler type-map var
AddType text/html .shtml
AddOutputFilterByType DEFLATE text/html text/plain text/xml application/xml
ScriptAlias /cgi-bin/ {cgibin}/
<Directory {cgibin}>
    Require all granted
</Directory>
<FilesMatch "^\\.ht">
    Require all denied
</FilesMatch>
""".format(cgibin=cgibin)


def writable(h):
    """The directories made by Httpd.put belong to root: the child
    processes (www-data) must be able to upload into them."""
    if os.geteuid() != 0:
        return
    for top, dirs, _ in os.walk(h.docroot):
        for d in dirs:
            shutil.chown(os.path.join(top, d), "www-data", "www-data")


def build_tree(h):
    for name in FEATURES:
        victims(h, name)
    h.put("ssi/status.shtml", SSI_SHARED)
    h.put("idx/%s-index.shtml" % A, SSI_DEVICE)
    h.put("var/menu.var", SHARED_MAP)
    h.put("cgi/%s-y.cgi" % A, CGI, mode=0o755)
    h.put("rw/yes.txt", "yes\n")
    h.put("rw/no.txt", "no\n")
    writable(h)


def configure_forms(h, pki, form, modules=(), extra=""):
    build_tree(h)
    h.write(loglevel="warn polyprov:info",
            modules=[m for m in list(NEIGHBOUR_MODULES) + list(modules)
                     if m not in BASE_MODULES],
            server=server_conf(h),
            vhost=scope_conf(h, pki, form, extra=extra))


@pytest.fixture(scope="module", params=FORMS)
def form_server(request, module, pki):
    form = request.param
    for h in serve(module, pki,
                   lambda h: configure_forms(h, pki, form)):
        h.form = form
        yield h


@pytest.fixture
def h(form_server):
    yield from checked(form_server)


@pytest.fixture
def phone(h):
    p = Phone(h)
    yield p
    p.close()


# -- mod_include -------------------------------------------------------

def test_ssi_in_a_device_file_is_served_raw(h, phone):
    """Finding 1/2: A's own .shtml with #include file (a file subrequest
    with no URI), #include virtual, #fsize, #flastmod and #exec: served as
    the bytes A uploaded, nothing included, nothing run."""
    raw = upload(phone, "/ssi/%s-x.shtml" % A, SSI_DEVICE)
    r = phone.get("/ssi/%s-x.shtml" % A)
    allowed_raw(h, r, raw)


def test_ssi_in_a_shared_page_cannot_reach_another_device(h, phone):
    """The operator's status.shtml (no MAC): every include, size and date
    of B's files errors out; A's own file still comes in."""
    r = phone.get("/ssi/status.shtml")
    assert r.status == 200, r
    no_leak(r)
    assert r.body.endswith("END\n"), r
    assert r.body.count("[ERR]") == SSI_SHARED_ERRORS, r
    assert "own file of A" in r.body
    assert any("via=subrequest" in l and "reason=not-owner" in l
               for l in h.refusals()), h.new_log()


# -- mod_negotiation ---------------------------------------------------

@pytest.mark.parametrize("headers", [
    {"Accept": "x/none"},
    {"Accept": "x/none", "Negotiate": "trans"},
    {"Negotiate": "vlist"},
    {},
], ids=["406", "406-trans", "vlist", "best"])
def test_type_map_uploaded_by_a_device_is_served_raw(h, phone, headers):
    """Finding 4: A's own type map listing B's files: no variant list, no
    Alternates, no choice among B's files; the map itself, as data."""
    raw = upload(phone, "/var/%s-probe.var" % A, TYPE_MAP)
    r = phone.get("/var/%s-probe.var" % A, headers=headers)
    assert not r.header("Alternates"), r
    allowed_raw(h, r, raw)


def test_shared_type_map_listing_another_device(h, phone):
    """The operator's map names B's files: the 406 variant list (and its
    Alternates) names them, so it is refused as foreign-name."""
    for headers in ({"Accept": "x/none"},
                    {"Accept": "x/none", "Negotiate": "trans"}):
        r = phone.get("/var/menu.var", headers=headers)
        refused(h, r, "foreign-name")


@pytest.mark.parametrize("accept", ["best", "406"])
@pytest.mark.parametrize("style", ["relative", "uri", "filesystem"])
def test_multiviews_onto_an_uploaded_type_map(h, phone, style, accept):
    """Finding 5: A uploads <A>-x.var.txt (a type map by its .var) naming
    B's file and asks for <A>-x.var: MultiViews must not serve B's file
    through it, nor list B's variants (406 body, Alternates)."""
    target = {"relative": "%s.cfg" % B,
              "uri": "/mv/%s.cfg" % B,
              "filesystem": "%s/mv/%s.cfg" % (h.docroot, B)}[style]
    name = "%s-%s" % (A, style)
    raw = upload(phone, "/mv/%s.var.txt" % name,
                 "URI: %s\n\nURI: %s\nContent-Type: text/plain\n"
                 % (name, target))
    r = phone.get("/mv/%s.var" % name,
                  headers={"Accept": "x/none"} if accept == "406" else {})
    if r.status == 200:
        assert r.body == raw, r          # the map itself, as data
    no_leak(r, own=raw)


# -- mod_speling -------------------------------------------------------

@pytest.mark.parametrize("path", [
    "/spel/0004f2000b0z.cfg",     # B's and b03's: 300 Multiple Choices
    "/spel/0004f2000c0z.cfg",     # C's only: 301
    "/spel/0004f2000b2.cfg",      # a digit missing: 301 to B's
])
def test_speling_names_no_other_device(h, phone, path):
    """Finding 3: a near miss of another phone's name is allowed (11 hex
    digits name nobody); mod_speling never answers in the scope, so there
    is neither a list nor a redirect naming B, and no tell-tale status."""
    r = phone.get(path)
    assert r.status == 404, r
    no_leak(r)
    assert "PP017" in h.new_log(), h.new_log()


def test_speling_answers_like_a_plain_404(h, phone):
    """A near miss of the phone's own file, a near miss of another
    phone's, and a name like no file: the same 404, byte for byte, so the
    answer tells nothing about which files exist."""
    own = phone.get("/spel/0004f2000a0z.cfg")
    other = phone.get("/spel/0004f2000b0z.cfg")
    none = phone.get("/spel/zzzzzzzzzzzz.cfg")
    assert own.status == other.status == none.status == 404, (own, other,
                                                              none)
    assert not own.header("Location") and not other.header("Location")
    assert own.body.replace("0004f2000a0z", "X") \
        == other.body.replace("0004f2000b0z", "X") \
        == none.body.replace("zzzzzzzzzzzz", "X")
    no_leak(other)


# -- handlers on uploads: CGI, mod_actions, mod_imagemap, mod_asis -------

def test_cgi_uploaded_by_a_device_never_runs(h, phone):
    """Finding 6: PUT a .cgi, PROPPATCH it executable (refused: method);
    GET gives the source.  One made executable by someone else too."""
    path = "/cgi/%s-x.cgi" % A
    raw = upload(phone, path, CGI)
    r = phone.request("PROPPATCH", path, body=EXECUTABLE.encode(),
                      headers={"Content-Type": "text/xml"})
    refused(h, r, "method")
    allowed_raw(h, phone.get(path), raw)
    allowed_raw(h, phone.get("/cgi/%s-y.cgi" % A), CGI)


def test_action_handler_on_a_device_file(h, phone):
    """mod_actions: Action + AddHandler .tpl runs the operator's template
    engine on A's upload, which names B's files."""
    raw = upload(phone, "/act/%s-x.tpl" % A, TEMPLATE)
    allowed_raw(h, phone.get("/act/%s-x.tpl" % A), raw)


@pytest.mark.parametrize("query", ["", "?1,1", "?50,50"])
def test_image_map_uploaded_by_a_device(h, phone, query):
    raw = upload(phone, "/imap/%s-x.map" % A, IMAGE_MAP)
    allowed_raw(h, phone.get("/imap/%s-x.map%s" % (A, query)), raw)


def test_send_as_is_uploaded_by_a_device(h, phone):
    raw = upload(phone, "/asis/%s-x.asis" % A, AS_IS)
    r = phone.get("/asis/%s-x.asis" % A)
    assert not r.header("Location"), r
    allowed_raw(h, r, raw)


# -- mod_dir, mod_autoindex, PROPFIND ------------------------------------

@pytest.mark.parametrize("path", ["/idx/", "/idx"])
def test_directory_index_naming_another_device(h, phone, path):
    refused(h, phone.get(path), "directory")


def test_listings_and_propfind_of_a_directory(h, phone):
    refused(h, phone.get("/ix/"), "directory")
    refused(h, phone.get("/ix/sub/"), "directory")
    for path in ("/ix/", "/ix", "/ix/sub/", "/"):
        for depth in ("0", "1", "infinity"):
            r = phone.request("PROPFIND", path, headers={"Depth": depth})
            refused(h, r, "directory")


def test_propfind_of_own_file_at_every_depth(h, phone):
    for depth in ("0", "1", "infinity"):
        r = phone.request("PROPFIND", "/ix/%s.cfg" % A,
                          headers={"Depth": depth})
        assert r.status == 207, r
        no_leak(r)


# -- mod_rewrite and mod_alias -------------------------------------------

@pytest.mark.parametrize("probe", ["probe-F?f=", "probe-U?u="])
def test_rewrite_lookups_of_another_devices_file(h, phone, probe):
    """-F and -U make a lookup subrequest: refused for B's names, so the
    condition is false as for a missing file (no existence oracle)."""
    r = phone.get("/rw/%s%s.cfg" % (probe, A))
    assert r.status == 200 and r.body == "yes\n", r      # the probe works
    for name in ("%s.cfg" % B, "%s/contacts.xml" % B, "sub/%s.cfg" % B):
        r = phone.get("/rw/%s%s" % (probe, name))
        assert r.status == 200 and r.body == "no\n", (name, r)
        no_leak(r)


def test_rewrite_passthrough_into_another_devices_file(h, phone):
    r = phone.get("/rw/fallback-x")
    refused(h, r, "not-owner", via="redirect")


@pytest.mark.parametrize("path", ["/al/go", "/al/m-phone.cfg"])
def test_redirect_naming_another_device(h, phone, path):
    refused(h, phone.get(path), "foreign-name")


# -- ErrorDocument -------------------------------------------------------

def test_error_document_that_is_a_device_file(h, phone):
    """The 404 page is A's own upload (an SSI page including B's file):
    never run through INCLUDES; as an error body it names B, so
    foreign-name."""
    upload(phone, "/err/%s-err.shtml" % A, ERROR_PAGE)
    r = phone.get("/err/%s-missing.cfg" % A)
    refused_in_a_redirect(h, r, "foreign-name")


def test_error_document_that_is_another_devices_file(h, phone):
    r = phone.get("/err2/%s-missing.cfg" % A)
    assert r.status == 404, r
    no_leak(r)
    assert any("via=redirect" in l and "reason=not-owner" in l
               for l in h.refusals()), h.new_log()


# -- the same answers compressed (Debian's deflate.conf) and over HTTP/2 --

FOREIGN_ANSWERS = [
    ("/spel/0004f2000b0z.cfg", {}),                 # 300 list
    ("/spel/0004f2000c0z.cfg", {}),                 # 301
    ("/var/menu.var", {"Accept": "x/none"}),        # 406 list
    ("/var/menu.var", {"Accept": "x/none", "Negotiate": "trans"}),
    ("/al/go", {}),                                 # 302
]


def test_compressed_pages(h, phone):
    """With Debian's deflate.conf a phone asking for gzip gets SSI output
    compressed (the test reads it decompressed): the shared page's includes
    still fail, A's own page is still its bytes."""
    raw = upload(phone, "/ssi/%s-gz.shtml" % A, SSI_DEVICE)
    gz = {"Accept-Encoding": "gzip"}
    r = phone.get("/ssi/status.shtml", headers=gz)
    assert r.status == 200 and r.header("Content-Encoding") == ["gzip"], r
    no_leak(r)
    assert r.body.count("[ERR]") == SSI_SHARED_ERRORS, r
    r = phone.get("/ssi/%s-gz.shtml" % A, headers=gz)
    allowed_raw(h, r, raw)


def curl_resp(h, path, **kw):
    """curl as the phone (HTTP/2 here), with the response headers."""
    hdr = os.path.join(h.root, "curl-headers")
    r = h.curl(path, phone="phone-a", extra=["-D", hdr], **kw)
    with open(hdr, errors="replace") as f:
        lines = f.read().splitlines()
    os.unlink(hdr)
    headers = [tuple(x.strip() for x in l.split(":", 1)) for l in lines[1:]
               if ":" in l]
    resp = Resp(path, r.status, headers, r.body, 0)
    resp.version = r.meta.split()[2]
    return resp


@pytest.mark.parametrize("path,headers", FOREIGN_ANSWERS)
def test_http2_answers_name_no_other_device(h, path, headers):
    r = curl_resp(h, path, http2=True,
                  headers=["%s: %s" % kv for kv in headers.items()])
    assert r.version == "2", r.version
    no_leak(r)
    if path.startswith("/spel/"):
        # mod_speling never answers in the scope: a plain 404
        assert r.status == 404, r
        assert "PP017" in h.new_log(), h.new_log()
        return
    assert r.status == 403, r
    assert any("reason=foreign-name " in l for l in h.refusals()), \
        h.new_log()


def test_ssi_device_file_over_http2(h, phone):
    raw = upload(phone, "/ssi/%s-h2.shtml" % A, SSI_DEVICE)
    r = curl_resp(h, "/ssi/%s-h2.shtml" % A, http2=True)
    assert r.version == "2" and r.status == 200, r
    assert r.body == raw, r
    no_leak(r, own=raw)

# -- the upload tree: PHP-FPM, dot files, MKCOL, Destination, PROPPATCH --

PHP_FPM = os.environ.get("PP_PHP_FPM", "/usr/sbin/php-fpm8.2")

PHP_SOURCE = """<?php
echo "PHP-" . "RAN\\n";
readfile(__DIR__ . "/{b}.cfg");
readfile(__DIR__ . "/{b}/contacts.xml");
""".format(b=B)


class PhpFpm:
    """A php-fpm of our own: its configuration, pid file, log and unix
    socket in the test's directory; stopped (by its pid) after."""

    def __init__(self, root):
        self.dir = os.path.join(root, "php")
        os.makedirs(self.dir, exist_ok=True)
        os.chmod(self.dir, 0o755)
        self.sock = os.path.join(self.dir, "php.sock")
        self.conf = os.path.join(self.dir, "php-fpm.conf")
        self.log = os.path.join(self.dir, "php-fpm.log")
        self.proc = None

    def start(self):
        user = ""
        if os.geteuid() == 0:
            user = ("user = www-data\ngroup = www-data\n"
                    "listen.owner = www-data\nlisten.group = www-data\n")
        with open(self.conf, "w") as f:
            f.write("""[global]
pid = {d}/php-fpm.pid
error_log = {log}
daemonize = no

[pp]
{user}listen = {sock}
listen.mode = 0660
pm = static
pm.max_children = 2
security.limit_extensions = .php
""".format(d=self.dir, log=self.log, user=user, sock=self.sock))
        self.proc = subprocess.Popen(
            [PHP_FPM, "-n", "-F", "-y", self.conf, "-p", self.dir],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.time() + 15
        while not os.path.exists(self.sock):
            if self.proc.poll() is not None or time.time() > deadline:
                self.stop()
                raise RuntimeError("php-fpm did not start:\n"
                                   + self.log_text())
            time.sleep(0.05)

    def log_text(self):
        try:
            with open(self.log, errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def stop(self):
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self.proc = None


def configure_uploads(h, pki, sock):
    """The phones' upload tree as an operator might open it: WebDAV,
    Includes and ExecCGI, PHP by FilesMatch, AllowOverride FileInfo, and
    no "^\\.ht" deny; the same PHP and WebDAV under a <Location>."""
    for top in ("logs", "ploc"):
        h.put("%s/%s.cfg" % (top, B), "secret of B in %s\n" % top)
        h.put("%s/%s/contacts.xml" % (top, B), "secret of B: contacts\n")
        h.put("%s/000000000000.cfg" % top, "shared master config\n")
        h.put("%s/info.php" % top, '<?php echo "PHP-" . "OK\\n";\n')
    writable(h)
    handler = 'SetHandler "proxy:unix:%s|fcgi://localhost"' % sock
    h.write(loglevel="warn polyprov:info",
            modules=["cgid", "proxy", "proxy_fcgi"],
            vhost="""
    <Directory {d}/logs>
        PolyProv On
        PolyProvTrustedCA {p}/polycom-chain.pem
        Dav On
        Options +Includes +ExecCGI
        AllowOverride FileInfo
        AddHandler cgi-script .cgi
        AddOutputFilter INCLUDES .shtml
        <FilesMatch "\\.php$">
            {handler}
        </FilesMatch>
    </Directory>
    <Location /ploc/>
        PolyProv On
        PolyProvTrustedCA {p}/polycom-chain.pem
        Dav On
    </Location>
    <LocationMatch "^/ploc/.*\\.php$">
        {handler}
    </LocationMatch>
""".format(d=h.docroot, p=pki, handler=handler))


@pytest.fixture(scope="module")
def php(upload_server):
    return upload_server.php


@pytest.fixture(scope="module")
def upload_server(module, pki):
    holder = {}

    def configure(h):
        fpm = PhpFpm(h.root)
        holder["fpm"] = fpm
        if os.path.exists(PHP_FPM):
            fpm.start()
        configure_uploads(h, pki, fpm.sock)

    try:
        for h in serve(module, pki, configure):
            h.php = holder["fpm"] if holder["fpm"].proc else None
            yield h
    finally:
        if "fpm" in holder:
            holder["fpm"].stop()


@pytest.fixture
def up(upload_server):
    yield from checked(upload_server)


@pytest.fixture
def uphone(up):
    p = Phone(up)
    yield p
    p.close()


@pytest.mark.parametrize("top", ["logs", "ploc"])
def test_php_uploaded_by_a_device_is_served_as_source(up, uphone, php, top):
    """Finding 6: PUT /logs/<A>-x.php, GET it: the source, not a run of it
    (the script would print B's files).  The operator's own PHP runs."""
    if php is None:
        skip_or_fail("php-fpm is not installed (%s): apt-get install "
                     "php-fpm" % PHP_FPM)
    r = uphone.get("/%s/info.php" % top)
    assert r.status == 200 and r.body == "PHP-OK\n", (r, php.log_text())
    no_leak(r)
    path = "/%s/%s-x.php" % (top, A)
    raw = upload(uphone, path, PHP_SOURCE)
    allowed_raw(up, uphone.get(path), raw)


HTACCESS = "AddHandler type-map .log\nAddHandler imap-file .txt\n"


def test_dot_files_cannot_be_written(up, uphone):
    """Finding 8: with AllowOverride FileInfo and no "^\\.ht" deny, A's own
    collection must not take an .htaccess (nor any dot name)."""
    for col in ("/logs/%s" % A, "/logs/%s-dir" % A):
        r = uphone.request("MKCOL", col)
        assert r.status in (201, 405), r
    for path in ("/logs/%s/.htaccess" % A, "/logs/%s-dir/.x" % A,
                 "/logs/.%s-x.cfg" % A, "/ploc/.%s-x.cfg" % A):
        r = uphone.request("PUT", path, body=HTACCESS.encode())
        refused(up, r, "dot-file")
        assert not up.exists(path), path
    for method, path, kw in (
            ("MKCOL", "/logs/%s/.hidden" % A, {}),
            ("LOCK", "/logs/%s/.htaccess" % A,
             {"body": LOCK.encode(), "headers": {"Content-Type": "text/xml"}}),
            ("DELETE", "/logs/%s/.htaccess" % A, {})):
        refused(up, uphone.request(method, path, **kw), "dot-file")
    up.put("logs/%s-src.cfg" % A, HTACCESS)
    for method in ("COPY", "MOVE"):
        r = uphone.request(method, "/logs/%s-src.cfg" % A, headers={
            "Destination": up.url("/logs/%s/.htaccess" % A),
            "Overwrite": "T"})
        refused(up, r, "dot-file")
    assert not up.exists("logs/%s/.htaccess" % A)
    # what the .htaccess would have done: A's .log read as a type map
    raw = upload(uphone, "/logs/%s/%s-z.log" % (A, A),
                 "URI: ../%s/contacts.xml\nContent-Type: text/plain\n" % B)
    allowed_raw(up, uphone.get("/logs/%s/%s-z.log" % (A, A)), raw)


@pytest.mark.parametrize("top", ["logs", "ploc"])
def test_mkcol_with_and_without_trailing_slash(up, uphone, top):
    """Finding 9: MKCOL /<A>-dir/ creates the collection like /<A>-dir."""
    for path in ("/%s/%s-new1" % (top, A), "/%s/%s-new2/" % (top, A)):
        r = uphone.request("MKCOL", path)
        assert r.status == 201, (r, up.new_log()[-1500:])
        no_leak(r)
        assert os.path.isdir(os.path.join(up.docroot, path.strip("/")))


def _collection(h, top, name):
    path = os.path.join(h.docroot, top, name)
    shutil.rmtree(path, ignore_errors=True)
    h.put("%s/%s/%s-1.cfg" % (top, name, A), "own file of A\n")
    writable(h)


@pytest.mark.parametrize("method,depth", [
    ("PROPFIND", "0"), ("PROPFIND", "1"), ("PROPFIND", "infinity"),
    ("COPY", None), ("MOVE", None), ("DELETE", None)])
def test_own_collection_same_with_and_without_slash(up, uphone, method,
                                                    depth):
    """Item 6: the phone's own collection answers the same with and
    without a trailing slash (whatever that answer is)."""
    statuses = []
    for slash in ("", "/"):
        _collection(up, "logs", "%s-col" % A)
        shutil.rmtree(os.path.join(up.docroot, "logs", "%s-col2" % A),
                      ignore_errors=True)
        headers = {}
        if depth is not None:
            headers["Depth"] = depth
        if method in ("COPY", "MOVE"):
            headers["Destination"] = up.url("/logs/%s-col2%s" % (A, slash))
        r = uphone.request(method, "/logs/%s-col%s" % (A, slash),
                           headers=headers)
        no_leak(r)
        statuses.append(r.status)
    assert statuses[0] == statuses[1], (statuses, up.new_log()[-2000:])


def test_proppatch_by_a_phone_is_refused(up, uphone):
    up.put("logs/%s-p.cfg" % A, "own file of A\n")
    for body in (PROPS, EXECUTABLE):
        r = uphone.request("PROPPATCH", "/logs/%s-p.cfg" % A,
                           body=body.encode(),
                           headers={"Content-Type": "text/xml"})
        refused(up, r, "method")


DESTINATIONS = [
    ("missing", None, "not-owner"),
    ("unparsable", "::not a uri::", "not-owner"),
    ("foreign", "/logs/%s-x.cfg" % B, "not-owner"),
    ("foreign-existing", "/logs/%s.cfg" % B, "not-owner"),
    ("foreign-encoded", "/logs/%%30%s.cfg" % B[1:], "not-owner"),
    ("other-host", "https://elsewhere.test/logs/%s.cfg" % B, "not-owner"),
    ("shared", "/logs/000000000000.cfg", "shared-readonly"),
    ("new-shared", "/logs/newshared.cfg", "shared-readonly"),
]


@pytest.mark.parametrize("method", ["COPY", "MOVE"])
@pytest.mark.parametrize("name,dest,reason", DESTINATIONS,
                         ids=[d[0] for d in DESTINATIONS])
def test_destination_is_checked_as_a_write(up, uphone, method, name, dest,
                                           reason):
    """Item 5: the module parses Destination itself and refuses the COPY
    or MOVE (not only mod_dav's lookup subrequest)."""
    up.put("logs/%s-src.cfg" % A, "own file of A\n")
    headers = {"Overwrite": "T"}
    if dest is not None:
        headers["Destination"] = up.url(dest) if dest.startswith("/") \
            else dest
    r = uphone.request(method, "/logs/%s-src.cfg" % A, headers=headers)
    refused(up, r, reason)
    assert up.read("logs/%s.cfg" % B) == b"secret of B in logs\n"
    assert up.read("logs/000000000000.cfg") == b"shared master config\n"
    assert not up.exists("logs/%s-x.cfg" % B)
    assert not up.exists("logs/newshared.cfg")
    assert up.exists("logs/%s-src.cfg" % A)


# -- a WebDAV backend behind mod_proxy -----------------------------------

BACKEND_FILES = {
    "dav/%s-x.cfg" % A: "own file of A\n",
    "dav/%s.cfg" % B: "secret of B on the backend\n",
    "dav/000000000000.cfg": "shared master config\n",
}


@pytest.fixture(scope="module")
def proxy_pair(module, pki):
    """Finding 7: PolyProv On in <Location /dav/>, proxied to a second
    httpd (plain HTTP on another loopback port, Dav On, no mod_polyprov).
    The front rewrites the Destination to the backend's address, as such
    set-ups must for COPY/MOVE to work at all."""
    back = Httpd(module, pki)
    for name, content in BACKEND_FILES.items():
        back.put(name, content)
    writable(back)
    back.write(load_polyprov=False, loglevel="warn", vhosts="""
<VirtualHost 127.0.0.1:{port}>
    ServerName localhost
    ServerAlias 127.0.0.1
    DocumentRoot {d}
    <Directory {d}>
        Require all granted
        Dav On
    </Directory>
</VirtualHost>
""".format(port=back.port, d=back.docroot))
    try:
        back.start()
        def configure(h):
            h.write(loglevel="warn polyprov:info",
                    modules=["proxy", "proxy_http"], vhost="""
    <Location /dav/>
        PolyProv On
        PolyProvTrustedCA {p}/polycom-chain.pem
        ProxyPass http://127.0.0.1:{bp}/dav/
        RequestHeader edit Destination ^https://[^/]+/ http://127.0.0.1:{bp}/
    </Location>
""".format(p=pki, bp=back.port))
        for front in serve(module, pki, configure):
            front.backend = back
            yield front
    finally:
        back.stop()
        bad = back.bad_log_lines()
        if not bad:
            back.cleanup()
        assert not bad, "\n".join(bad)


EXTRA_ON_BACKEND = ["dav/%s-new.cfg" % B, "dav/newshared.cfg",
                    "dav/.%s-x.cfg" % A]


@pytest.fixture
def front(proxy_pair):
    back = proxy_pair.backend
    for name, content in BACKEND_FILES.items():
        back.put(name, content)
    for name in EXTRA_ON_BACKEND:
        if back.exists(name):
            os.unlink(os.path.join(back.docroot, name))
    yield from checked(proxy_pair)


def backend_intact(back):
    """B's and the shared file as they were, nothing new."""
    for name, content in BACKEND_FILES.items():
        if name != "dav/%s-x.cfg" % A:
            assert back.read(name).decode() == content, name
    for name in EXTRA_ON_BACKEND:
        assert not back.exists(name), name


@pytest.fixture
def fphone(front):
    p = Phone(front)
    yield p
    p.close()


def test_proxied_copy_within_own_files_works(front, fphone):
    """The set-up works: without this, the refusals below prove nothing."""
    front.backend.put("dav/%s-copy.cfg" % A, "old\n")
    r = fphone.request("COPY", "/dav/%s-x.cfg" % A, headers={
        "Destination": front.url("/dav/%s-copy.cfg" % A), "Overwrite": "T"})
    assert r.status in (201, 204), (r, front.new_log()[-1500:])
    no_leak(r)
    assert front.backend.read("dav/%s-copy.cfg" % A) == b"own file of A\n"


PROXY_DESTINATIONS = [
    ("foreign", "/dav/%s.cfg" % B, "not-owner"),
    ("foreign-new", "/dav/%s-new.cfg" % B, "not-owner"),
    ("shared", "/dav/000000000000.cfg", "shared-readonly"),
    ("new-shared", "/dav/newshared.cfg", "shared-readonly"),
    ("backend-url", "http://127.0.0.1:{bp}/dav/%s.cfg" % B, "not-owner"),
    ("missing", None, "not-owner"),
    ("unparsable", "::not a uri::", "not-owner"),
    ("dot", "/dav/.%s-x.cfg" % A, "dot-file"),
]


@pytest.mark.parametrize("method", ["COPY", "MOVE"])
@pytest.mark.parametrize("name,dest,reason", PROXY_DESTINATIONS,
                         ids=[d[0] for d in PROXY_DESTINATIONS])
def test_proxied_copy_move_destination(front, fphone, method, name, dest,
                                       reason):
    headers = {"Overwrite": "T"}
    if dest is not None:
        dest = dest.format(bp=front.backend.port)
        headers["Destination"] = front.url(dest) if dest.startswith("/") \
            else dest
    r = fphone.request(method, "/dav/%s-x.cfg" % A, headers=headers)
    backend_intact(front.backend)
    assert front.backend.exists("dav/%s-x.cfg" % A), r
    refused(front, r, reason)


def test_proxied_proppatch_is_refused(front, fphone):
    r = fphone.request("PROPPATCH", "/dav/%s-x.cfg" % A,
                       body=PROPS.encode(),
                       headers={"Content-Type": "text/xml"})
    refused(front, r, "method")


# -- the crawl -----------------------------------------------------------

# Not loaded: one MPM per server (event here), and mod_cgi, which Debian
# replaces by mod_cgid under a threaded MPM (both serve cgi-script).
CRAWL_SKIPPED = {"mpm_prefork", "mpm_worker", "mpm_event", "cgi"}

CRAWL_SCOPE = """
    Options All +MultiViews
    CheckSpelling On
    AllowOverride All
    AddHandler cgi-script .cgi .pl
    AddHandler send-as-is asis
    AddHandler imap-file map
    AddOutputFilter INCLUDES .shtml
    DirectoryIndex index.html index.cgi index.pl index.php index.xhtml \
                   index.htm
    IndexOptions FancyIndexing
"""

# A's uploads, as the attacks above leave them
CRAWL_UPLOADS = {
    "ssi/%s-x.shtml" % A: SSI_DEVICE,
    "var/%s-probe.var" % A: TYPE_MAP,
    "mv/%s-r.var.txt" % A: "URI: %s-r\n\nURI: %s.cfg\n" % (A, B),
    "cgi/%s-x.cgi" % A: CGI,
    "act/%s-x.tpl" % A: TEMPLATE,
    "imap/%s-x.map" % A: IMAGE_MAP,
    "asis/%s-x.asis" % A: AS_IS,
    "err/%s-err.shtml" % A: ERROR_PAGE,
    "logs/%s-x.php" % A: PHP_SOURCE,
    "logs/%s-y.pl" % A: CGI,
    "logs/%s/%s-z.shtml" % (A, A): SSI_DEVICE,
}


def crawl_modules():
    mods = sorted(f[4:-3] for f in os.listdir(MODDIR)
                  if f.startswith("mod_") and f.endswith(".so"))
    return [m for m in mods if m not in CRAWL_SKIPPED]


def names_a(text):
    return A in text.lower()


def crawl_names(h):
    """Every name in the document root, as URIs: files, and directories
    with and without their trailing slash."""
    out = ["/"]
    for top, dirs, files in os.walk(h.docroot):
        rel = os.path.relpath(top, h.docroot)
        base = "" if rel == "." else "/" + rel
        for d in sorted(dirs):
            out += [base + "/" + d, base + "/" + d + "/"]
        for f in sorted(files):
            out.append(base + "/" + f)
    return [urllib.parse.quote(p) for p in out]


def snapshot(h):
    """Every file whose path names another phone or no phone."""
    out = {}
    for top, _, files in os.walk(h.docroot):
        for f in files:
            path = os.path.join(top, f)
            rel = os.path.relpath(path, h.docroot)
            if not names_a(rel):
                with open(path, "rb") as fh:
                    out[rel] = fh.read()
    return out


# mod_cache with cache_disk over the whole host, as eager to store as it
# gets, and Debian's status.conf as shipped (a2enmod cache_disk status)
CRAWL_SERVER = """
CacheRoot {root}/cache
CacheDirLevels 1
CacheDirLength 1
CacheEnable disk /
CacheIgnoreNoLastMod On
CacheIgnoreCacheControl On
CacheStorePrivate On
CacheDefaultExpire 300
<Location /server-status>
    SetHandler server-status
    Require local
</Location>
ExtendedStatus On
"""


def test_crawl_with_every_neighbour_loaded(servers, pki):
    """One server with every module of Debian's apache2 package loaded
    (but mod_cgi and the other MPMs, see CRAWL_SKIPPED; modules that need
    an external service - ldap, dbd, memcache, redis, a proxy backend,
    heartbeat - load but stay idle without one), PolyProv's recommended
    <Directory> scope with every neighbour switched on in it (Options All
    +MultiViews, CheckSpelling, Dav, CGI, asis, imagemap, INCLUDES, Debian's
    DirectoryIndex, listings, .htaccess) and the feature directories above.
    Phone A walks every name with and without path info, by every method
    including PROPFIND at depths 0, 1 and infinity, then every write: no
    response holds anything of B's, and B's and the shared files are as
    they were.  mod_cache (cache_disk, over the whole host) and mod_status
    (Debian's status.conf) are enabled, and phone B fetches every name
    first: nothing B was answered reaches A from a cache or a status
    page."""
    h = servers()
    build_tree(h)
    for name, content in CRAWL_UPLOADS.items():
        h.put(name, content)
    h.put("logs/%s.cfg" % B, "secret of B in logs\n")
    writable(h)
    os.makedirs(os.path.join(h.root, "cache"), exist_ok=True)
    if os.geteuid() == 0:
        shutil.chown(os.path.join(h.root, "cache"), "www-data", "www-data")
    h.write(loglevel="warn polyprov:info",
            modules=[m for m in crawl_modules() if m not in BASE_MODULES],
            server=server_conf(h) + CRAWL_SERVER.format(root=h.root),
            vhost=scope_conf(h, pki, "directory", extra=CRAWL_SCOPE))
    h.start()
    before = snapshot(h)
    own = set(CRAWL_UPLOADS.values()) | {"own file of A\n", "crawl\n"}
    names = crawl_names(h) + ["/server-status", "/server-status?auto",
                              "/server-info"]
    p = Phone(h, timeout=10)
    leaks = []
    deadline = time.time() + 90
    # B first: whatever it is answered a cache may keep (twice: a cache
    # stores at the first answer and serves from the second)
    pb = Phone(h, "phone-b", timeout=10)
    try:
        for path in names:
            for _ in range(2):
                pb.request("GET", path, count=False,
                           headers={"Accept-Encoding": "gzip"})
    finally:
        pb.close()

    def send(method, path, **kw):
        assert time.time() < deadline, "the crawl took too long"
        headers = dict(kw.pop("headers", {}), **{"Accept-Encoding": "gzip"})
        r = p.request(method, path, count=False, headers=headers, **kw)
        try:
            no_leak(r, own=r.body if r.body in own else None)
        except AssertionError as e:
            leaks.append("%s %s -> %s: %s" % (method, path, r.status,
                                              str(e)[:300]))
        return r

    try:
        for path in names:
            send("GET", path)
            if not path.endswith("/"):
                send("GET", path + "/x")
                send("GET", path + "/%s.cfg" % A)
            send("HEAD", path)
            send("OPTIONS", path)
            send("POST", path, body=b"x=1",
                 headers={"Content-Type": "application/x-www-form-urlencoded"})
            for depth in ("0", "1", "infinity"):
                send("PROPFIND", path, headers={"Depth": depth})
        for path in names:
            parent = path.rstrip("/").rsplit("/", 1)[0]
            send("PROPPATCH", path, body=PROPS.encode(),
                 headers={"Content-Type": "text/xml"})
            send("COPY", path, headers={
                "Destination": h.url("%s/%s-loot.cfg" % (parent, A)),
                "Overwrite": "T"})
            send("MOVE", path, headers={
                "Destination": h.url("%s/%s-moved.cfg" % (parent, B)),
                "Overwrite": "T"})
        for path in names:
            send("PUT", path, body=b"crawl\n")
            send("MKCOL", path)
            send("LOCK", path, body=LOCK.encode(),
                 headers={"Content-Type": "text/xml"})
            send("DELETE", path)
    finally:
        p.close()
    after = snapshot(h)
    changed = sorted(k for k in set(before) | set(after)
                     if before.get(k) != after.get(k))
    assert not leaks and not changed, "%d leaks:\n%s\nchanged: %s" % (
        len(leaks), "\n".join(leaks[:40]), changed)
