# SPDX-License-Identifier: Apache-2.0
"""Ownership (step 9) through real request paths: encodings, dot segments,
path info, parameters, queries, directories, Alias, mod_rewrite and content
negotiation mapping one name onto another device's file."""

import pytest

from tests.pphttpd.fixtures import FILES, checked, populate, serve
from tests.pphttpd.expect import A, B, expect_refused


@pytest.fixture(scope="module")
def paths_server(module, pki):
    def configure(h):
        populate(h)
        populate(h, {"pi/" + k: v for k, v in FILES.items()})
        h.put("mv/config.%s.cfg" % B, "negotiated secret of B\n")
        h.put("mv/%s.cfg" % A, "negotiated own file of A\n")
        h.put("idx/index.html", "an index\n")
        h.put("list/%s.cfg" % A, "listed\n")
        h.write(loglevel="warn polyprov:debug", vhost="""
        Alias /mine/{a}.cfg {d}/{b}.cfg
        Alias /innocent.cfg {d}/{b}.cfg
        RewriteEngine On
        RewriteRule ^/attack/{a}\\.cfg$ {d}/{b}.cfg
        RewriteRule ^/attack-pt/{a}\\.cfg$ /{b}.cfg [PT]
        RewriteRule ^/innocent-rw\\.cfg$ {d}/{b}.cfg
        RewriteRule ^/innocent-pt\\.cfg$ /{b}.cfg [PT]
        <Directory {d}>
            PolyProv On
            PolyProvTrustedCA {p}/polycom-chain.pem
            AcceptPathInfo Off
        </Directory>
        <Directory {d}/pi>
            AcceptPathInfo On
        </Directory>
        <Directory {d}/mv>
            Options +MultiViews
            MultiviewsMatch Any
        </Directory>
        <Directory {d}/idx>
            DirectoryIndex index.html
        </Directory>
        <Directory {d}/list>
            Options +Indexes
        </Directory>
    """.format(d=h.docroot, p=pki, a=A, b=B))
    yield from serve(module, pki, configure)


@pytest.fixture
def h(paths_server):
    yield from checked(paths_server)


@pytest.mark.parametrize("path", [
    "/%30004f2000b02.cfg",            # percent-encoded digit
    "/0004f2000%62%30%32.cfg",
    "/./0004f2000b02.cfg",
    "/x/../0004f2000b02.cfg",
    "//0004f2000b02.cfg",
    "/0004F2000B02.cfg",               # upper case is the same device
])
def test_encoded_and_dotted_paths_of_another_device(h, path):
    r = h.curl(path, phone="phone-a")
    assert r.status == 403, r
    assert "secret of B" not in r.body
    assert any("reason=not-owner" in l for l in h.refusals())


@pytest.mark.parametrize("path", [
    "/%30004f2000a01.cfg", "/./0004f2000a01.cfg", "//0004f2000a01.cfg",
    "/0004f2000a01.cfg?mac=0004f2000b02",
])
def test_encoded_and_dotted_paths_of_own_file(h, path):
    r = h.curl(path, phone="phone-a")
    assert r.status == 200, r
    assert r.body == FILES[A + ".cfg"]


def test_query_naming_the_requester_does_not_help(h):
    r = h.curl("/%s.cfg?%s" % (B, A), phone="phone-a")
    expect_refused(h, r, "not-owner", "/%s.cfg?%s" % (B, A))


def test_path_info_refused(h):
    # with AcceptPathInfo On the file would be served with path info
    for path in ("/pi/%s.cfg/%s.cfg" % (B, A), "/pi/000000000000.cfg/%s" % A,
                 "/pi/%s.cfg/x" % A):
        r = h.curl(path, phone="phone-a")
        expect_refused(h, r, "not-owner", path)
    # without it (the default for files) too
    r = h.curl("/%s.cfg/x" % A, phone="phone-a")
    assert r.status == 403


@pytest.mark.parametrize("path", [
    "/%s.cfg;%s" % (A, B),                  # a ';' parameter
    "/%s-%s.cfg" % (A, B),                  # two MACs, separated
    "/%s%s.cfg" % (A, B),                   # glued: one run of 24
    "/%sa.cfg" % A,                          # 13 hex digits
])
def test_names_with_two_or_ambiguous_macs(h, path):
    r = h.curl(path, phone="phone-a")
    expect_refused(h, r, "not-owner", path)


def test_directory_listing_and_index_refused(h):
    expect_refused(h, h.curl("/list/", phone="phone-a"), "directory",
                   "/list/")
    r = h.curl("/idx/", phone="phone-a")
    expect_refused(h, r, "directory", "/idx/")
    assert "an index" not in r.body


def test_alias_onto_another_device(h):
    # the URI names the requester, the file it maps to names B
    r = h.curl("/mine/%s.cfg" % A, phone="phone-a")
    line = expect_refused(h, r, "not-owner", "/mine/%s.cfg" % A)
    assert "secret of B" not in r.body
    # the log line names the file the URI mapped to
    assert 'file="/%s.cfg"' % B in line, line


def test_rewrite_onto_another_device(h):
    r = h.curl("/attack/%s.cfg" % A, phone="phone-a")
    assert r.status == 403 and "secret of B" not in r.body
    r = h.curl("/attack-pt/%s.cfg" % A, phone="phone-a")
    assert r.status == 403 and "secret of B" not in r.body
    assert len([l for l in h.refusals() if "reason=not-owner" in l]) >= 2


def test_multiviews_cannot_reach_another_device(h):
    r = h.curl("/mv/config", phone="phone-a")
    # B's variant is refused as a subrequest; with nothing else to offer
    # negotiation finds no file at all
    assert r.status == 404, r
    assert "secret of B" not in r.body
    assert any('uri="/mv/config.%s.cfg"' % B in l and "via=subrequest" in l
               and "reason=not-owner" in l for l in h.refusals()), \
        h.new_log()
    # negotiation still works for the requester's own file
    r = h.curl("/mv/%s" % A, phone="phone-a")
    assert r.status == 200, r
    assert r.body == "negotiated own file of A\n"


# More spellings of B's file, each with the status it must get.  403 comes
# from the module (reason not-owner); 400 and 404 from httpd's own URI
# handling before any file is mapped.
SPELLINGS = [
    ("/x/%2e%2e/0004f2000b02.cfg", 403),        # encoded dot segment
    ("/x/%2E%2E/0004f2000b02.cfg", 403),
    ("/x/.%2e/0004f2000b02.cfg", 403),
    ("/../0004f2000b02.cfg", 400),              # above the root
    ("/x%2f..%2f0004f2000b02.cfg", 404),        # encoded slash
    ("/pi///0004f2000b02.cfg", 403),            # repeated slashes
    ("/0004f2000b02.cfg%00.html", 404),         # encoded NUL
    ("/0004f2000b02.cfg;0004f2000a01", 403),    # a parameter naming A
    ("/0004f2000b02.cfg?0004f2000a01", 403),    # a query naming A
    ("/0004f2000b02.cfg#0004f2000a01", 403),    # a fragment (sent as-is)
    ("/0004f2000b02.cfg.", 403),
    ("/0004F2000b02.CFG", 403),                 # mixed case
    ("/%s/../0004f2000b02.cfg" % A, 403),        # the own MAC as a segment
]


@pytest.mark.parametrize("path,status", SPELLINGS)
def test_other_spellings_of_another_devices_file(h, path, status):
    r = h.curl(path, phone="phone-a")
    assert r.status == status, (r, h.new_log()[-1500:])
    assert "secret of B" not in r.body
    if status == 403:
        assert any("reason=not-owner" in l for l in h.refusals())


@pytest.mark.parametrize("path", ["/innocent.cfg", "/innocent-rw.cfg",
                                  "/innocent-pt.cfg"])
def test_shared_looking_uri_mapped_onto_another_device(h, path):
    # the URI names nobody, the file it maps to names B
    r = h.curl(path, phone="phone-a")
    expect_refused(h, r, "not-owner", path)
    assert "secret of B" not in r.body


@pytest.mark.parametrize("path", [
    "/%30004f2000b02.cfg", "/x/%2e%2e/0004f2000b02.cfg", "//0004f2000b02.cfg",
    "/0004f2000b02.cfg;0004f2000a01", "/mine/%s.cfg" % A,
    "/pi/%s.cfg/%s.cfg" % (B, A)])
def test_spellings_over_http2(h, path):
    # mod_http2 builds the request from :path; the decision is the same
    r = h.curl(path, phone="phone-a", http2=True)
    assert r.meta.split()[2] == "2", r.meta
    expect_refused(h, r, "not-owner", path)
    assert "secret of B" not in r.body


@pytest.mark.parametrize("target,status", [
    ("https://localhost/0004f2000b02.cfg", 403),     # absolute form
    ("https://localhost/%s.cfg/../0004f2000b02.cfg" % A, 403),
    ("http://elsewhere.test/0004f2000b02.cfg", 403),   # another host
])
def test_absolute_form_request_targets(h, pki, target, status):
    from tests.pphttpd import tlsclient
    ctx = tlsclient.context(pki, "phone-a")
    ex = tlsclient.exchange(ctx, h.port, [target])
    assert ex.statuses == [status], ex
    assert "secret of B" not in ex.responses[0].body
    assert any("reason=not-owner" in l and 'uri="/%s.cfg"' % B in l
               for l in h.refusals()), h.refusals()


def test_handler_without_a_file_is_judged_by_its_uri(servers, pki):
    """docs/security.md, not defended: a handler that serves no file, inside the
    scope, counts as a shared file; PolyProvSharedFiles narrows it."""
    h = servers()
    populate(h)
    h.put("narrow/site.cfg", "shared site file\n")   # the directory exists
    # (mod_reflector answers a request with its own body: no file; the
    # pages that show other clients' requests are refused, PP100)
    h.write(modules=["reflector"], loglevel="warn polyprov:debug", vhost="""
    PolyProv On
    PolyProvTrustedCA {p}/polycom-chain.pem
    <Location /echo>
        SetHandler reflector
    </Location>
    <Location /narrow/>
        PolyProvSharedFiles *.cfg *.ld
    </Location>
    <Location /narrow/echo>
        SetHandler reflector
    </Location>
""".format(p=pki))
    h.start()
    # allowed, a shared name: the handler answers (405: it takes POST
    # alone, and a POST is a write, refused on a shared name)
    r = h.curl("/echo", phone="phone-a")
    assert r.status == 405 and not h.refusals(), r
    r = h.curl("/narrow/echo", phone="phone-a")
    expect_refused(h, r, "not-shared", "/narrow/echo")
