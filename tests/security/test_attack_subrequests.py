# SPDX-License-Identifier: Apache-2.0
"""No escape through subrequests or internal redirects.

httpd skips the access phase of a subrequest or internal redirect whose
per-directory configuration equals its parent's (ap_process_request_internal
in server/request.c), whatever the hook's registration flag.  Within one
<Directory>, an SSI include, an ErrorDocument, a per-directory RewriteRule
and mod_dav's Destination lookup would all escape an access hook alone.

The same tests run against a test-only build with the access hook alone
(make weak): there they must find the leak, which shows they can fail."""

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
    h.write(loglevel="warn polyprov:debug", vhost="""
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


def test_ssi_include_across_directories(h):
    # another <Directory>: httpd runs the access phase, refused there
    r = h.curl("/a/page-b.shtml", phone="phone-a")
    assert r.status == 200 and r.body == SSI_ERROR + "END\n", r
    assert any("via=subrequest" in l for l in h.refusals())


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
                          "ssi-include-file", "error-document-403"}, \
        found
