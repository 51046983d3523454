# SPDX-License-Identifier: Apache-2.0
"""No escape through subrequests or internal redirects.

httpd skips the access phase of a subrequest or internal redirect whose
per-directory configuration is its parent's (ap_process_request_internal
in server/request.c).  Within one <Directory>, an SSI include, an
ErrorDocument, a per-directory RewriteRule and mod_dav's Destination lookup
would all escape an access hook alone, whatever its registration flag; the
module registers AP_AUTH_INTERNAL_PER_CONF, which keeps httpd's shortcut
for every host (an include into another directory that matches the same
sections skips the access phase too), and decides what was skipped in its
fixups hook.

The same tests run against a test-only build with the access hook alone
(make weak): there they must find the leak, which shows they can fail."""

import base64
import hashlib
import os

import pytest

from tests.pphttpd.fixtures import FILES, checked, populate, serve, skip_or_fail
from tests.pphttpd.expect import A, B

SSI_PAGE = '<!--#include virtual="/{target}" -->END\n'


def configure(h, pki):
    populate(h)
    # the operator's pages (shared: no MAC in their names); a page named
    # after a device is that device's data and is never parsed
    h.put("page-b.shtml", SSI_PAGE.format(target=B + ".cfg"))
    h.put("own.shtml", SSI_PAGE.format(target="${POLYPROV_MAC}.cfg"))
    h.put("shared.shtml", SSI_PAGE.format(target="site.cfg"))
    h.put("status.shtml", SSI_PAGE.format(target=B + ".cfg"))
    h.put("file-b.shtml",
          '<!--#include file="{b}.cfg" -->END\n'.format(b=B))
    h.put("%s-page.shtml" % A, SSI_PAGE.format(target=B + ".cfg"))
    h.put("pub/readme.txt", "a public directory\n")
    h.put("e403/%s.cfg" % B, "secret of B in e403/\n")
    h.put("e403/0004f2000c03.cfg", "secret of C in e403/\n")
    h.put("a/page-b.shtml", SSI_PAGE.format(target="b/%s.cfg" % B))
    h.put("b/%s.cfg" % B, "secret of B in b/\n")
    # x/ and y/ have no sections of their own: an include from one into
    # the other gets its parent's configuration, and httpd skips its
    # access phase (one authorisation pass, counted by authz_core:debug)
    h.put("x/page-b.shtml", SSI_PAGE.format(target="y/%s.cfg" % B))
    h.put("y/%s.cfg" % B, "secret of B in y/\n")
    # a shared page that includes one from a SharedOnly directory, served
    # only if its subrequest's environment holds no POLYPROV_MAC (an SSI
    # #echo cannot tell: mod_include shows nested pages the base page's)
    h.put("env.shtml", SSI_PAGE.format(target="so/env.txt"))
    h.put("so/env.txt", "no MAC here\n")
    h.write(loglevel="warn polyprov:debug authz_core:debug", vhost="""
    <Directory {d}>
        Options +Includes
        AddOutputFilter INCLUDES .shtml
        Dav On
        PolyProv On
        PolyProvTrustedCA {p}/polycom-chain.pem
        ErrorDocument 404 /{b}.cfg
        RewriteEngine On
        RewriteRule ^alias-(.*)$ /{b}.cfg
    </Directory>
    <Directory {d}/a>
        PolyProvReloadInterval 6
    </Directory>
    <Directory {d}/b>
        PolyProvReloadInterval 7
        RewriteEngine On
        RewriteRule ^hop-(.*)$ /{b}.cfg
    </Directory>
    # SharedOnly: no certificate looked at, no MAC known
    <Directory {d}/so>
        PolyProv SharedOnly
        PolyProvSharedFiles *.txt
        RewriteEngine On
        RewriteCond %{{ENV:POLYPROV_MAC}} .
        RewriteRule ^ - [F]
    </Directory>
    # the page for a refusal is a third phone's file
    <Directory {d}/e403>
        ErrorDocument 403 /e403/0004f2000c03.cfg
    </Directory>
    # a listing outside the module's scope whose header is B's file:
    # mod_autoindex fetches it by a subrequest into the guarded directory
    <Directory {d}/pub>
        PolyProv Off
        Options +Indexes
        IndexOptions FancyIndexing
        HeaderName /{b}.cfg
        ReadmeName /b/{b}.cfg
    </Directory>
""".format(d=h.docroot, p=pki, b=B))


def leaks(h):
    """What another device's secret can be obtained by phone A."""
    found = []
    for name, path in (("ssi-include", "/page-b.shtml"),
                       ("ssi-include-from-shared-page", "/status.shtml"),
                       ("error-document", "/%s-missing.cfg" % A),
                       ("rewrite-redirect", "/alias-x"),
                       ("ssi-include-file", "/file-b.shtml"),
                       ("ssi-include-access-phase-skipped",
                        "/x/page-b.shtml"),
                       ("error-document-403", "/e403/%s.cfg" % B)):
        if "secret of" in h.curl(path, phone="phone-a").body:
            found.append(name)
    h.curl("/%s.cfg" % A, phone="phone-a", method="COPY",
           headers=["Destination: " + h.url("/%s.cfg" % B),
                    "Overwrite: T"])
    if h.read(B + ".cfg").decode() != FILES[B + ".cfg"]:
        found.append("dav-copy-destination")
        h.put(B + ".cfg", FILES[B + ".cfg"])
    h.curl("/%s-app.log" % A, phone="phone-a", method="PUT", data="x")
    h.curl("/%s-app.log" % A, phone="phone-a", method="MOVE",
           headers=["Destination: " + h.url("/000000000000.cfg"),
                    "Overwrite: T"])
    if h.read("000000000000.cfg").decode() != FILES["000000000000.cfg"]:
        found.append("dav-move-onto-shared")
        h.put("000000000000.cfg", FILES["000000000000.cfg"])
    return found


@pytest.fixture(scope="module")
def sub_server(module, pki):
    yield from serve(module, pki, lambda h: configure(h, pki))


@pytest.fixture
def h(sub_server):
    yield from checked(sub_server)


SSI_ERROR = "[an error occurred while processing this directive]"


def test_ssi_include_of_another_device(h):
    r = h.curl("/page-b.shtml", phone="phone-a")
    assert r.status == 200
    # SSI ran (its error message stands where the include was) and the
    # include was refused
    assert r.body == SSI_ERROR + "END\n", r
    assert any("via=subrequest" in l and "reason=not-owner" in l
               and 'uri="/%s.cfg"' % B in l for l in h.refusals()), h.new_log()


def test_ssi_include_from_a_shared_page(h):
    r = h.curl("/status.shtml", phone="phone-a")
    assert r.status == 200 and r.body == SSI_ERROR + "END\n", r
    # and phone B, whose file it is, gets it through the same page
    r = h.curl("/status.shtml", phone="phone-b")
    assert r.status == 200 and r.body == FILES[B + ".cfg"] + "END\n", r


def test_ssi_include_of_own_and_shared_files(h):
    # SSI ran: the requester's own file by its POLYPROV_MAC, a shared one
    r = h.curl("/own.shtml", phone="phone-a")
    assert r.body == FILES[A + ".cfg"] + "END\n"
    r = h.curl("/own.shtml", phone="phone-b")
    assert r.body == FILES[B + ".cfg"] + "END\n"
    r = h.curl("/shared.shtml", phone="phone-a")
    assert r.body == FILES["site.cfg"] + "END\n"


def test_a_page_named_after_the_device_is_data(h):
    # what a phone may have uploaded itself is served as it is, not parsed
    r = h.curl("/%s-page.shtml" % A, phone="phone-a")
    assert r.status == 200
    assert r.body == SSI_PAGE.format(target=B + ".cfg")
    assert any("PP015" in l and "includes" in l.lower()
               for l in h.new_log().splitlines()), h.new_log()


def test_subrequest_does_not_inherit_its_parents_verdict(h):
    """A subrequest starts with a copy of its parent's environment: what
    its own decision does not know (here no MAC: PolyProv SharedOnly) is
    removed, not left as the parent's."""
    r = h.curl("/env.shtml", phone="phone-a")
    assert r.status == 200, r
    assert r.body == "no MAC here\nEND\n", r.body


def test_ssi_include_across_directories(h):
    # another <Directory>: httpd runs the access phase, refused there
    r = h.curl("/a/page-b.shtml", phone="phone-a")
    assert r.status == 200 and r.body == SSI_ERROR + "END\n", r
    assert any("via=subrequest" in l for l in h.refusals())


def authz_passes(lines, require):
    """The authorisation passes the lines show: authz_core logs one
    AH01626 line for the Require directive per pass it evaluates it."""
    return [l for l in lines if "AH01626" in l
            and "authorization result of %s" % require in l]


def test_subrequest_whose_access_phase_httpd_skipped(h):
    # the page (a shared file) is allowed; its include of B's file in
    # another directory has the page's configuration: httpd runs no
    # access phase for it, the module decides it in fixups.  For B, whose
    # file it is: one authorisation pass in all (the page's), the include
    # allowed in the fixups phase
    r = h.curl("/x/page-b.shtml", phone="phone-b")
    assert r.status == 200 and r.body == "secret of B in y/\nEND\n", r
    lines = h.new_log().splitlines()
    assert len(authz_passes(lines, "Require all granted: granted")) == 1, \
        lines
    assert any("PP002: allowed mac=%s" % B in l
               and 'uri="/y/%s.cfg" phase=fixups' % B in l
               for l in lines), lines
    assert not h.refusals(), lines
    # for A the same include is refused (a build without the fixups guard
    # serves it: test_the_tests_catch_a_plain_access_hook)
    h.mark()
    r = h.curl("/x/page-b.shtml", phone="phone-a")
    assert r.status == 200 and r.body == SSI_ERROR + "END\n", r
    assert any("via=subrequest" in l and "reason=not-owner" in l
               and 'uri="/y/%s.cfg"' % B in l for l in h.refusals()), \
        h.new_log()


def test_error_document_of_another_device(h):
    r = h.curl("/%s-missing.cfg" % A, phone="phone-a")
    assert "secret of B" not in r.body
    assert any("via=redirect" in l and "reason=not-owner" in l
               for l in h.refusals()), h.new_log()


def test_error_document_for_the_refusal_is_another_device(h):
    # A is refused B's file; the page shown for that 403 is C's file
    r = h.curl("/e403/%s.cfg" % B, phone="phone-a")
    assert r.status == 403
    assert "secret of" not in r.body
    lines = h.refusals()
    assert any('uri="/e403/%s.cfg"' % B in l and "via=" not in l
               for l in lines), lines
    assert any('uri="/e403/0004f2000c03.cfg"' in l and "via=redirect" in l
               for l in lines), lines


def test_rewrite_internal_redirect(h):
    r = h.curl("/alias-x", phone="phone-a")
    assert r.status == 403
    assert "secret of B" not in r.body
    assert any("via=redirect" in l for l in h.refusals()), h.new_log()


def test_ssi_include_file_of_another_device(h):
    r = h.curl("/file-b.shtml", phone="phone-a")
    assert r.status == 200 and r.body == SSI_ERROR + "END\n", r
    assert any("via=subrequest" in l and "reason=not-owner" in l
               for l in h.refusals()), h.new_log()


def test_autoindex_header_and_readme_from_another_directory(h):
    r = h.curl("/pub/", phone="phone-a")
    assert r.status == 200 and "readme.txt" in r.body, r
    assert "secret of B" not in r.body
    refused = [l for l in h.refusals() if "via=subrequest" in l]
    assert len(refused) >= 2, h.new_log()


def test_rewrite_redirect_across_directories(h):
    r = h.curl("/b/hop-x", phone="phone-a")
    assert r.status == 403
    assert "secret of B" not in r.body
    assert any("via=redirect" in l and "reason=not-owner" in l
               for l in h.refusals()), h.new_log()


def test_no_leak_at_all(h):
    assert leaks(h) == []


def test_the_tests_catch_a_plain_access_hook(servers, pki):
    """Against the module without its fixups guard every one of these
    escapes works: the tests above would fail on such a module."""
    weak = os.environ.get("PP_WEAK_MODULE")
    if not weak or not os.path.exists(weak):
        skip_or_fail("make weak builds the access-hook-only variant "
                     "(PP_WEAK_MODULE)")
    h = servers(module=weak)
    configure(h, pki)
    h.expect_log("PP013")
    h.start()
    found = leaks(h)
    # (a COPY or MOVE Destination is judged by the access check itself
    # now, so even this build refuses those)
    assert set(found) == {"ssi-include", "ssi-include-from-shared-page",
                          "error-document", "rewrite-redirect",
                          "ssi-include-file", "error-document-403",
                          "ssi-include-access-phase-skipped"}, found


# A host without PolyProv: an operator's page under Basic authentication
# that includes ten files, from its own directory and from ten others
# (all under one <Location>).
PRIVATE = """
    <Location /private>
        AuthType Basic
        AuthName private
        AuthBasicProvider file
        AuthUserFile {root}/htpasswd
        Require valid-user
    </Location>
    <Directory {d}/private>
        Options +Includes
        AddOutputFilter INCLUDES .shtml
    </Directory>
"""


def count_auth_passes(h, load_polyprov, pki):
    """Password checks for each page on the host without PolyProv (the
    plain-HTTP one), with mod_polyprov loaded (PolyProv On on the TLS host)
    or not loaded at all."""
    sha = base64.b64encode(hashlib.sha1(b"op-secret").digest()).decode()
    with open(os.path.join(h.root, "htpasswd"), "w") as f:
        f.write("op:{SHA}%s\n" % sha)
    pages = {
        "/private/index.shtml": "".join(
            '<!--#include virtual="/private/part%d.txt" -->' % i
            for i in range(10)),
        "/private/dirs.shtml": "".join(
            '<!--#include virtual="/private/d%d/part.txt" -->' % i
            for i in range(10)),
    }
    for i in range(10):
        h.put("private/part%d.txt" % i, "p%d " % i)
        h.put("private/d%d/part.txt" % i, "d%d " % i)
    for path, body in pages.items():
        h.put(path, body + "END\n")
    h.write(loglevel="warn authz_core:debug", modules=("auth_basic",),
            load_polyprov=load_polyprov,
            vhost="""
    <Directory {d}>
        PolyProv On
        PolyProvTrustedCA {p}/polycom-chain.pem
    </Directory>
""".format(d=h.docroot, p=pki) if load_polyprov else "",
            plain_vhost=PRIVATE.format(root=h.root, d=h.docroot))
    h.start()
    passes = {}
    for path in pages:
        h.mark()
        r = h.curl(path, tls=False, extra=("-u", "op:op-secret"))
        # every include ran
        want = "".join("p%d " % i for i in range(10)) \
            if path.endswith("index.shtml") \
            else "".join("d%d " % i for i in range(10))
        assert r.status == 200 and r.body == want + "END\n", r
        passes[path] = len(authz_passes(h.new_log().splitlines(),
                                        "Require valid-user : granted"))
    return passes


def test_loading_the_module_keeps_httpd_auth_shortcut(servers, pki):
    """httpd lets a subrequest whose configuration is its parent's reuse
    the parent's authentication, unless a loaded module registered an auth
    hook AP_AUTH_INTERNAL_PER_URI: then every include is authenticated
    again, on every host.  With the module loaded the host without
    PolyProv checks the password once per page, as without it."""
    without = count_auth_passes(servers(), False, pki)
    loaded = count_auth_passes(servers(), True, pki)
    assert without == {"/private/index.shtml": 1,
                       "/private/dirs.shtml": 1}, without
    assert loaded == without
