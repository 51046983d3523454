# SPDX-License-Identifier: Apache-2.0
"""Answers shared across clients.

The module decides who may ask for a URL; these attacks go after what
keeps or shows answers across clients instead.  The attacker holds one
genuine phone certificate (phone A) and wants anything of phone B's: its
files' content, its MAC, the names of its files.

 - mod_cache (cache_disk and cache_socache; its quick handler on and off;
   CacheIgnoreNoLastMod, CacheIgnoreCacheControl, CacheStorePrivate and a
   default lifetime, the most a cache will store): B's own file, and
   answers made for B under a shared name by SSI and by a CGI script
   (keyed on POLYPROV_MAC), must never reach A; shared files sent as they
   are stay cached (X-Cache: HIT) and served;
 - pages that show other clients' requests (mod_status, Debian's
   status.conf as shipped, mod_info; Require local, Require ip, and a
   forged PROXY header where RemoteIPProxyProtocol is on) and generated
   2xx pages that name another device;
 - the bootROM host (PolyProv SharedOnly, plain HTTP) against the TLS
   host over the same tree.

docs/deployment.md "Caches and pages that show other clients' requests"."""

import os
import shutil
import socket
import ssl
import tempfile
import time

import pytest

from tests.pphttpd.fixtures import FILES, checked, populate, serve
from tests.pphttpd.expect import A, B
from tests.pphttpd import tlsclient

# A phone's configuration written from POLYPROV_MAC by the operator's
# pages: names without a MAC, so shared names that keep their handlers.
SSI_PAGE = ('reg.1.address=<!--#echo var="POLYPROV_MAC" -->\n'
            'reg.1.auth.password=pw-<!--#echo var="POLYPROV_MAC" -->\n')
CGI_SCRIPT = """#!/bin/sh
echo "Content-Type: text/plain"
echo "Cache-Control: public, max-age=300"
echo "Last-Modified: Mon, 01 Jan 2024 00:00:00 GMT"
echo
echo "reg.1.address=$POLYPROV_MAC"
echo "reg.1.auth.password=pw-$POLYPROV_MAC"
"""
# an operator's page that names another device (a phone book of MACs)
PHONEBOOK = "extension 2: <!--#echo var=\"X\" -->" + B + "\n"

FIRMWARE = "3111-40250-001.sip.ld"


def get(h, path, phone="phone-a", tls=True, headers=()):
    """(status, headers, body) of one GET."""
    tmp = tempfile.mkdtemp(prefix="hdr-")
    hdr = os.path.join(tmp, "h")
    r = h.curl(path, phone=phone if tls else None, tls=tls,
               headers=headers, extra=("-D", hdr))
    head = {}
    try:
        with open(hdr, encoding="latin-1") as f:
            for line in f.read().splitlines()[1:]:
                k, _, v = line.partition(":")
                if k.strip():
                    head.setdefault(k.strip().lower(), []).append(v.strip())
    except OSError:
        pass
    shutil.rmtree(tmp, ignore_errors=True)
    return r.status, {k: ", ".join(v) for k, v in head.items()}, r.body


def nothing_of_b(status, headers, body):
    text = body + " ".join("%s: %s" % kv for kv in headers.items())
    assert B not in text and "secret of B" not in text, (status, headers,
                                                          body)


def age_files(h, days=30):
    """Files a month old: a cache gives them a heuristic lifetime of days
    (a share of their age), as it would to an operator's real files."""
    t = os.path.getmtime(h.docroot) - days * 86400
    for d, _, names in os.walk(h.docroot):
        for n in names:
            os.utime(os.path.join(d, n), (t, t))


# -- mod_cache ------------------------------------------------------------

CACHES = {
    # (provider, CacheQuickHandler)
    "disk-quick": ("disk", "On"),
    "disk-handler": ("disk", "Off"),
    "socache-quick": ("socache", "On"),
    "socache-handler": ("socache", "Off"),
}


def configure_cache(h, pki, provider, quick):
    populate(h)
    h.put("phone.shtml", SSI_PAGE)
    h.put("phonebook.shtml", PHONEBOOK)
    h.put("gen.cgi", CGI_SCRIPT, mode=0o755)
    age_files(h)
    os.makedirs(os.path.join(h.root, "cache"), exist_ok=True)
    if os.geteuid() == 0:
        shutil.chown(os.path.join(h.root, "cache"), "www-data", "www-data")
    store = ("CacheRoot %s/cache\n    CacheDirLevels 1\n    "
             "CacheDirLength 1" % h.root if provider == "disk" else
             "CacheSocache shmcb:%s/run/cache(1048576)" % h.root)
    h.write(modules=["cache", "cache_%s" % provider, "cgid"],
            server="ScriptSock %s/run/cgid.sock" % h.root, vhost="""
    {store}
    CacheEnable {prov} /
    CacheQuickHandler {quick}
    CacheIgnoreNoLastMod On
    CacheIgnoreCacheControl On
    CacheStorePrivate On
    CacheDefaultExpire 300
    CacheLastModifiedFactor 0.5
    CacheHeader On
    CacheDetailHeader On
    <Directory {d}>
        Options +Includes +ExecCGI
        AddOutputFilter INCLUDES .shtml
        AddHandler cgi-script .cgi
        PolyProv On
        PolyProvTrustedCA {p}/polycom-chain.pem
    </Directory>
""".format(store=store, prov=provider, quick=quick, d=h.docroot, p=pki))


@pytest.fixture(scope="module", params=sorted(CACHES))
def cache_server(request, module, pki):
    provider, quick = CACHES[request.param]
    yield from serve(module, pki,
                     lambda h: configure_cache(h, pki, provider, quick))


@pytest.fixture
def ch(cache_server):
    yield from checked(cache_server)


def test_cache_never_serves_b_file_to_a(ch):
    seen = []
    for _ in range(3):
        st, hd, body = get(ch, "/%s.cfg" % B, phone="phone-b")
        assert st == 200 and body == FILES[B + ".cfg"]
        seen.append(hd)
    st, hd, body = get(ch, "/%s.cfg" % B)
    assert st == 403, (st, body)
    nothing_of_b(st, hd, body)
    # kept from mod_cache and from caches beyond httpd
    for hd in seen:
        assert "private" in hd.get("cache-control", ""), hd
        assert "HIT" not in hd.get("x-cache", ""), hd


@pytest.mark.parametrize("page", ["phone.shtml", "gen.cgi"])
def test_cache_never_serves_b_generated_page_to_a(ch, page):
    # B asks first (and again: a second request is where a cache answers)
    seen = []
    for _ in range(2):
        st, hd, body = get(ch, "/" + page, phone="phone-b")
        assert st == 200 and "reg.1.address=%s" % B in body, body
        seen.append(hd)
    st, hd, body = get(ch, "/" + page)
    assert st == 200 and "reg.1.address=%s" % A in body, (st, hd, body)
    nothing_of_b(st, hd, body)
    assert "HIT" not in hd.get("x-cache", ""), hd
    for hd in seen + [hd]:
        assert "private" in hd.get("cache-control", ""), hd


def test_cache_over_http2(ch):
    """The same over HTTP/2: B's file and B's page never reach A."""
    for _ in range(2):
        ch.curl("/%s.cfg" % B, phone="phone-b", http2=True)
        ch.curl("/phone.shtml", phone="phone-b", http2=True)
    r = ch.curl("/%s.cfg" % B, phone="phone-a", http2=True)
    assert r.status == 403 and "secret of B" not in r.body, r
    r = ch.curl("/phone.shtml", phone="phone-a", http2=True)
    assert r.status == 200 and B not in r.body and A in r.body, r
    assert r.meta.split()[2] == "2", r.meta      # (it was HTTP/2)


def test_shared_file_still_cached_and_served(ch):
    bodies, caches = [], []
    for phone in ("phone-b", "phone-b", "phone-a", "phone-a"):
        st, hd, body = get(ch, "/" + FIRMWARE, phone=phone)
        assert st == 200, (st, body)
        assert "private" not in hd.get("cache-control", ""), hd
        bodies.append(body)
        caches.append(hd.get("x-cache", ""))
    assert set(bodies) == {FILES[FIRMWARE]}
    # stored at the first request, then served from the cache
    assert any("HIT" in c for c in caches[1:]), caches


def test_cache_hit_still_decided(ch):
    """A shared file in the cache is not served where the decision
    refuses (a certificate whose CN names no device)."""
    for _ in range(2):
        get(ch, "/site.cfg", phone="phone-b")
    st, _, body = get(ch, "/site.cfg", phone="cn-words")
    assert st == 403, (st, body)
    assert any("reason=bad-cn" in l and "/site.cfg" in l
               for l in ch.refusals())


@pytest.mark.parametrize("quick", ["On", "Off"])
def test_entry_stored_before_the_module_never_served(servers, pki, quick):
    """A cache filled while the tree had no PolyProv (B's file stored),
    then the module enabled over it: the stored answer is never served to
    A, neither to its request nor to an SSI include of it."""
    h = servers()
    configure_cache(h, pki, "disk", quick)
    h.put("inc.shtml", '<!--#include virtual="/%s.cfg" -->END\n' % B)
    age_files(h)
    with open(h.conf) as f:
        on = f.read()
    with open(h.conf, "w") as f:
        f.write(on.replace("PolyProv On", "PolyProv Off"))
    h.start()
    for _ in range(3):
        st, hd, body = get(h, "/%s.cfg" % B)
    assert st == 200 and "HIT" in hd.get("x-cache", ""), hd   # stored
    h.stop()
    with open(h.conf, "w") as f:
        f.write(on)
    h.start()
    st, hd, body = get(h, "/%s.cfg" % B)
    assert st == 403, (st, hd, body)
    nothing_of_b(st, hd, body)
    st, hd, body = get(h, "/inc.shtml")
    nothing_of_b(st, hd, body)


def test_generated_answer_stored_before_never_served(servers, pki):
    """A script's answer cached while the tree had no PolyProv (made for
    nobody), then the module enabled: a phone's request for it gets a
    fresh answer made for the phone (mod_cache may answer a shared name
    only for a file sent as it is).  An SSI include of it (a subrequest)
    too; mod_cache did not answer that subrequest from its cache in these
    runs with or without the module, so that part shows no guard."""
    h = servers()
    configure_cache(h, pki, "disk", "On")
    h.put("incgen.shtml", '<!--#include virtual="/gen.cgi" -->END\n')
    age_files(h)
    with open(h.conf) as f:
        on = f.read()
    with open(h.conf, "w") as f:
        f.write(on.replace("PolyProv On", "PolyProv Off"))
    h.start()
    for _ in range(3):
        st, hd, body = get(h, "/gen.cgi")
    assert st == 200 and "HIT" in hd.get("x-cache", ""), hd   # stored
    assert "reg.1.address=\n" in body, body
    h.stop()
    with open(h.conf, "w") as f:
        f.write(on)
    h.start()
    st, hd, body = get(h, "/incgen.shtml")
    assert st == 200 and "reg.1.address=%s" % A in body, (st, hd, body)
    st, hd, body = get(h, "/gen.cgi")
    assert st == 200 and "reg.1.address=%s" % A in body, (st, hd, body)


def test_generated_page_naming_another_device_refused(ch):
    st, hd, body = get(ch, "/phonebook.shtml", phone="phone-a")
    assert st == 403, (st, body)
    nothing_of_b(st, hd, body)
    assert any("reason=foreign-name" in l for l in ch.refusals())


def test_cache_warning_names_both_lines(ch):
    rc, out = ch.configtest()
    assert rc == 0, out
    assert "PP101: CacheEnable" in out and "reaches PolyProv On at " + \
        ch.conf in out, out


# -- pages that show other clients' requests ------------------------------

# Debian's mods-available/status.conf and info.conf, as shipped
STATUS_CONF = """
<Location /server-status>
	SetHandler server-status
	Require local
</Location>
ExtendedStatus On
<Location /server-info>
	SetHandler server-info
	Require local
</Location>
"""


def configure_status(h, pki):
    populate(h)
    h.write(modules=["status", "info", "remoteip"], server=STATUS_CONF,
            vhost="""
    RemoteIPProxyProtocol On
    <Location /status-ip>
        SetHandler server-status
        Require ip 192.0.2.0/24 127.0.0.0/8
    </Location>
    <Directory {d}>
        PolyProv On
        PolyProvTrustedCA {p}/polycom-chain.pem
    </Directory>
    # the operators' corner of the host, guarded by address alone
    <Directory {d}/ops>
        PolyProv Off
        Require ip 192.0.2.0/24
    </Directory>
""".format(d=h.docroot, p=pki))
    h.put("ops/runbook.txt", "the operators' runbook\n")


@pytest.fixture(scope="module")
def status_server(module, pki):
    yield from serve(module, pki, lambda h: configure_status(h, pki))


@pytest.fixture
def sh(status_server):
    yield from checked(status_server)


def proxied_get(h, pki, path, claimed, phone="phone-a", addr="127.0.0.1"):
    """A phone that reaches the port directly and sends its own PROXY
    header, claiming the address `claimed`."""
    ctx = tlsclient.context(pki, phone)
    with socket.create_connection((addr, h.port), timeout=10) as s:
        s.sendall(("PROXY TCP4 %s 127.0.0.1 40000 %d\r\n"
                   % (claimed, h.port)).encode())
        with ctx.wrap_socket(s, server_hostname="localhost") as ss:
            ss.sendall(("GET %s HTTP/1.0\r\nHost: localhost\r\n\r\n"
                        % path).encode())
            data = b""
            while True:
                try:
                    chunk = ss.recv(65536)
                except (ssl.SSLError, ConnectionError):
                    break
                if not chunk:
                    break
                data += chunk
    return tlsclient.parse_responses(data)[0]


@pytest.mark.parametrize("path", ["/server-status", "/server-status?auto",
                                  "/server-info", "/status-ip"])
def test_status_pages_refused_in_scope(sh, pki, path):
    # B's requests are on the scoreboard
    proxied_get(sh, pki, "/%s.cfg?%s" % (B, B), "127.0.0.1", phone="phone-b")
    for claimed in ("127.0.0.1", "192.0.2.10"):
        r = proxied_get(sh, pki, path, claimed)
        assert r.status == 403, r
        nothing_of_b(r.status, r.headers, r.body)
    assert any("PP100:" in l for l in sh.log_text().splitlines()[-50:])


def test_status_pages_refused_without_proxy_protocol(servers, pki):
    """Debian's status.conf and info.conf as shipped (Require local: a
    phone on the same host, here loopback), and the balancer manager,
    reached directly."""
    h = servers()
    populate(h)
    h.write(modules=["status", "info", "proxy", "proxy_balancer",
                     "slotmem_shm", "lbmethod_byrequests"],
            server=STATUS_CONF, vhost="""
    <Location /balancer-manager>
        SetHandler balancer-manager
        Require local
    </Location>
    <Directory {d}>
        PolyProv On
        PolyProvTrustedCA {p}/polycom-chain.pem
    </Directory>
""".format(d=h.docroot, p=pki))
    h.start()
    h.curl("/%s.cfg?%s" % (B, B), phone="phone-b")
    for path in ("/server-status", "/server-status?auto", "/server-info",
                 "/balancer-manager"):
        st, hd, body = get(h, path)
        assert st == 403, (path, st, body[:200])
        nothing_of_b(st, hd, body)
    assert len([l for l in h.log_text().splitlines() if "PP100:" in l]) == 4


def test_status_page_outside_scope_still_served(sh):
    """The monitoring host (here the plain-HTTP one, no PolyProv) keeps
    its page."""
    r = sh.curl("/server-status?auto", tls=False)
    assert r.status == 200 and "Total Accesses" in r.body, r


def test_forged_proxy_header_is_believed(sh, pki):
    """docs/deployment.md "Running a farm": with RemoteIPProxyProtocol On, a client
    that reaches the port directly claims any address, and whatever the
    host guards by address alone believes it (the module's decisions do
    not rest on the address)."""
    r = proxied_get(sh, pki, "/ops/runbook.txt", "192.0.2.77")
    assert r.status == 200 and "runbook" in r.body, r
    r = proxied_get(sh, pki, "/ops/runbook.txt", "198.51.100.7")
    assert r.status == 403, r
    assert any(l.startswith("192.0.2.77 ") and "/ops/runbook.txt" in l
               for l in sh.access_lines()), sh.access_lines()[-3:]
    # the phone's own files are still decided by its certificate
    r = proxied_get(sh, pki, "/%s.cfg" % B, "127.0.0.1")
    assert r.status == 403 and "secret of B" not in r.body, r


def test_listening_only_where_haproxy_reaches(servers, pki):
    """The way to close it: the server listens only on the address
    HAProxy reaches (here 127.0.0.2, on loopback); a client on another
    address of the host gets no connection at all."""
    h = servers()
    configure_status(h, pki)
    with open(h.conf) as f:
        text = f.read()
    with open(h.conf, "w") as f:
        f.write(text.replace("127.0.0.1:%d" % h.port,
                             "127.0.0.2:%d" % h.port))

    def wait_listening(**_):
        deadline = time.time() + 20
        while time.time() < deadline:
            try:
                socket.create_connection(("127.0.0.2", h.port),
                                         timeout=0.5).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("httpd did not come up:\n" + h.log_text())
    h._wait_listening = wait_listening
    h.start()
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", h.port), timeout=5).close()
    r = proxied_get(h, pki, "/site.cfg", "192.0.2.77", addr="127.0.0.2")
    assert r.status == 200 and r.body == FILES["site.cfg"], r


# -- the bootROM host against the TLS host --------------------------------

def configure_bootrom(h, pki, where):
    populate(h)
    h.put("alice.cfg", "user profile of alice, password hunter2\n")
    h.put("notes.txt", "the operator's notes\n")
    shared = "PolyProvSharedFiles 000000000000*.cfg *.sip.ld site.cfg"
    h.write(server=shared if where == "server" else "", vhost="""
    <Directory {d}>
        PolyProv On
        PolyProvTrustedCA {p}/polycom-chain.pem
        {tls_shared}
    </Directory>
""".format(d=h.docroot, p=pki,
           tls_shared=shared if where in ("tls-host", "wider") else ""),
        plain_vhost="""
    <Directory {d}>
        PolyProv SharedOnly
        {plain_shared}
    </Directory>
""".format(d=h.docroot,
           plain_shared="PolyProvSharedFiles *" if where == "wider" else ""))


@pytest.mark.parametrize("where", ["tls-host", "server"])
def test_bootrom_host_shares_no_more_than_tls_host(servers, pki, where):
    h = servers()
    configure_bootrom(h, pki, where)
    h.start()
    for name in ("alice.cfg", "notes.txt", B + ".cfg"):
        assert h.curl("/" + name, phone="phone-a").status == 403
        r = h.curl("/" + name, tls=False)
        assert r.status == 403 and "alice" not in r.body, (name, r)
    # the set where both inherit it: the bootROM host serves it too;
    # set in the TLS host alone: the bootROM host has none, and shares
    # nothing (its default)
    want = 200 if where == "server" else 403
    for name in ("000000000000.cfg", FIRMWARE, "site.cfg"):
        assert h.curl("/" + name, phone="phone-a").status == 200
        assert h.curl("/" + name, tls=False).status == want, name
    # neither shares more than the other: no PP102
    rc, out = h.configtest()
    assert rc == 0 and "PP102" not in out, out


def test_bootrom_host_wider_set_warned(servers, pki):
    h = servers()
    configure_bootrom(h, pki, "wider")
    rc, out = h.configtest()
    assert rc == 0, out
    assert "PP102: PolyProv SharedOnly at " + h.conf in out, out
    assert "than PolyProv On at " + h.conf in out, out


# -- what one phone may write ---------------------------------------------

def configure_uploads(h, pki):
    populate(h)
    for d in ("up/names", "up/cols", "up/inside", "up/big", "dflt"):
        os.makedirs(os.path.join(h.docroot, d), exist_ok=True)
        if os.geteuid() == 0:
            shutil.chown(os.path.join(h.docroot, d), "www-data", "www-data")
    h.write(vhost="""
    <Directory {d}>
        PolyProv On
        PolyProvTrustedCA {p}/polycom-chain.pem
    </Directory>
    <Directory {d}/up>
        Dav On
        PolyProvSharedFiles none
        PolyProvDeviceQuota 1M 8
        LimitRequestBody 262144
    </Directory>
    # no PolyProvDeviceQuota: the default, 64M 256
    <Directory {d}/dflt>
        Dav On
        PolyProvSharedFiles none
    </Directory>
""".format(d=h.docroot, p=pki))


@pytest.fixture(scope="module")
def upload_server(module, pki):
    yield from serve(module, pki, lambda h: configure_uploads(h, pki))


@pytest.fixture
def uh(upload_server):
    yield from checked(upload_server)


def quota_lines(h, mac):
    return [l for l in h.new_log().splitlines()
            if "reason=quota" in l and "mac=%s" % mac in l]


def body_file(h, size):
    path = os.path.join(h.root, "body-%d" % size)
    with open(path, "wb") as f:
        f.write(b"x" * size)
    return "@" + path


def test_many_names_bounded(uh):
    paths = ["/up/names/%s-n%02d.log" % (A, i) for i in range(20)]
    rs = uh.curl(paths, phone="phone-a", method="PUT", data="log line\n")
    assert [r.status for r in rs] == [201] * 8 + [507] * 12, rs
    assert not uh.exists("/up/names/%s-n08.log" % A)
    # one line per refused write, with the MAC and the reason
    assert len(quota_lines(uh, A)) == 12
    # B's bound is B's own
    r = uh.curl("/up/names/%s-n00.log" % B, phone="phone-b", method="PUT",
                data="log line\n")
    assert r.status == 201, r
    # a file replaced in place adds no entry
    r = uh.curl(paths[0], phone="phone-a", method="PUT", data="again\n")
    assert r.status == 204, r


def test_many_collections_bounded(uh):
    paths = ["/up/cols/%s-d%02d/" % (A, i) for i in range(12)]
    rs = uh.curl(paths, phone="phone-a", method="MKCOL")
    assert [r.status for r in rs] == [201] * 8 + [507] * 4, rs
    # what is inside the device's collections counts too
    r = uh.curl("/up/inside/%s-d/" % A, phone="phone-a", method="MKCOL")
    rs = uh.curl(["/up/inside/%s-d/f%d.log" % (A, i) for i in range(10)],
                 phone="phone-a", method="PUT", data="x\n")
    assert r.status == 201, r
    assert [r.status for r in rs] == [201] * 7 + [507] * 3, rs


def test_large_bodies_bounded(uh):
    big = body_file(uh, 200 * 1024)
    rs = uh.curl(["/up/big/%s-b%d.log" % (A, i) for i in range(8)],
                 phone="phone-a", method="PUT", data=big)
    # 1 MiB holds five bodies of 200 KiB
    assert [r.status for r in rs] == [201] * 5 + [507] * 3, rs
    # one body past LimitRequestBody: httpd's 413
    r = uh.curl("/up/big/%s-huge.log" % A, phone="phone-a", method="PUT",
                data=body_file(uh, 300 * 1024))
    assert r.status == 413, r


def test_default_bound_counts_entries(uh):
    paths = ["/dflt/%s-%03d.log" % (A, i) for i in range(258)]
    rs = uh.curl(paths, phone="phone-a", method="PUT", data="x\n")
    assert [r.status for r in rs] == [201] * 256 + [507] * 2, \
        [r.status for r in rs][250:]


def test_cache_file_warning(servers, pki):
    """PP101 for a CacheFile (mod_file_cache) in a PolyProv <Directory>,
    with both lines; none for one outside it."""
    h = servers()
    populate(h)
    outside = os.path.join(h.root, "outside.txt")
    with open(outside, "w") as f:
        f.write("not the phones'\n")
    h.write(modules=["file_cache"], server="CacheFile %s\nCacheFile %s"
            % (os.path.join(h.docroot, "site.cfg"), outside), vhost="""
    <Directory {d}>
        PolyProv On
        PolyProvTrustedCA {p}/polycom-chain.pem
    </Directory>
""".format(d=h.docroot, p=pki))
    rc, out = h.configtest()
    assert rc == 0, out
    lines = [l for l in out.splitlines() if "PP101:" in l]
    assert len(lines) == 1 and "CacheFile %s at %s:" % (
        os.path.join(h.docroot, "site.cfg"), h.conf) in lines[0] \
        and "reaches PolyProv On at %s:" % h.conf in lines[0], out


def test_chunked_upload_counts_limit_request_body(uh):
    """A chunked PUT counts as much as LimitRequestBody lets through:
    within the quota where it is set (256 KiB of 1 MiB), refused where
    httpd's default (1 GiB) applies."""
    chunked = ["Transfer-Encoding: chunked"]
    r = uh.curl("/up/names/%s-chunked.log" % B, phone="phone-b", method="PUT",
                data="x\n", headers=chunked)
    assert r.status == 201, r
    r = uh.curl("/dflt/%s-chunked.log" % B, phone="phone-b", method="PUT",
                data="x\n", headers=chunked)
    assert r.status == 507, r
    assert quota_lines(uh, B)


def test_cache_warning_only_where_it_reaches(servers, pki):
    """PP101 compares URL spaces with <Location> scopes: a cached
    /firmware does not reach <Location /phones>; /phones/x does."""
    h = servers()
    populate(h)
    os.makedirs(os.path.join(h.root, "cache"), exist_ok=True)
    h.write(modules=["cache", "cache_disk"], vhost="""
    CacheRoot {r}/cache
    CacheEnable disk /firmware
    CacheEnable disk /phones/x
    <Location /phones>
        PolyProv On
        PolyProvTrustedCA {p}/polycom-chain.pem
    </Location>
""".format(r=h.root, p=pki))
    rc, out = h.configtest()
    assert rc == 0, out
    lines = [l for l in out.splitlines() if "PP101:" in l]
    assert len(lines) == 1 and "CacheEnable disk /phones/x at" in lines[0], \
        out


@pytest.mark.parametrize("args", ["lots 5", "1M many", "-1 5", "1T 5",
                                  "1M -2", "1M"])
def test_quota_syntax_stops_configtest(servers, pki, args):
    h = servers()
    populate(h)
    h.write(vhost="""
    <Directory {d}>
        PolyProv On
        PolyProvTrustedCA {p}/polycom-chain.pem
        PolyProvDeviceQuota {a}
    </Directory>
""".format(d=h.docroot, p=pki, a=args))
    rc, out = h.configtest()
    assert rc != 0 and "PolyProvDeviceQuota" in out and h.conf in out, out


# -- PolyProv Report: what On would refuse here is logged, not refused -----

def test_report_mode_logs_quota_and_status_page(servers, pki):
    """Under PolyProv Report a write past PolyProvDeviceQuota and a status
    page are what On refuses (507, PP100): logged at notice (PP140
    reason=quota, PP100 'would be refused') and answered as the host
    answers without the module."""
    h = servers()
    populate(h)
    os.makedirs(os.path.join(h.docroot, "up"), exist_ok=True)
    if os.geteuid() == 0:
        shutil.chown(os.path.join(h.docroot, "up"), "www-data", "www-data")
    h.write(modules=["status"], vhost="""
    <Location /status-here>
        SetHandler server-status
        Require ip 127.0.0.0/8
    </Location>
    <Directory {d}>
        PolyProv Report
        PolyProvTrustedCA {p}/polycom-chain.pem
    </Directory>
    <Directory {d}/up>
        Dav On
        PolyProvSharedFiles none
        PolyProvDeviceQuota 1M 2
    </Directory>
""".format(d=h.docroot, p=pki))
    h.start()
    h.mark()
    paths = ["/up/%s-r%d.log" % (A, i) for i in range(4)]
    rs = h.curl(paths, phone="phone-a", method="PUT", data="log line\n")
    assert [r.status for r in rs] == [201] * 4, rs
    log = h.new_log()
    would = [l for l in log.splitlines() if "PP140: would refuse "
             "reason=quota mac=%s" % A in l and "[polyprov:notice]" in l]
    assert len(would) == 2, log
    assert "PP001" not in log, log
    assert "reason=quota" in h.access_lines()[-1]
    h.mark()
    status, _, body = get(h, "/status-here?auto")
    assert status == 200 and "ServerUptime" in body, (status, body[:200])
    log = h.new_log()
    assert "PP100: server-status page would be refused" in log, log
