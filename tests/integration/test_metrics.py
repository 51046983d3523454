# SPDX-License-Identifier: Apache-2.0
"""Monitoring (docs/operations.md, Monitoring): the polyprov-metrics handler and
mod_status's figures.

Known sequences of requests, spread over several httpd processes, must
come out as exact counts (the counters live in shared memory that every
process adds to); the text must pass promtool; a graceful restart must
keep every counter; mod_status shows the same figures with ExtendedStatus
On, in HTML and ?auto, and none with it Off; the handler never answers in
a phones' scope."""

import concurrent.futures
import os
import re
import shutil
import subprocess
import time
import urllib.error
import urllib.request

import pytest

from tests.pphttpd.fixtures import FILES, lists_guard, populate
from tests.pphttpd.expect import A, B, C
from tests.pphttpd.httpd import free_port
from tests.pphttpd.readme import readme

METRICS = """
    <Location /polyprov-metrics>
        SetHandler polyprov-metrics
        Require ip 127.0.0.1
    </Location>"""

STATUS = """
    <Location /server-status>
        SetHandler server-status
        Require ip 127.0.0.1
    </Location>"""

# -- reading the exposition format --------------------------------------

SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$')
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def unescape(v):
    return re.sub(r'\\(.)', lambda m: "\n" if m.group(1) == "n"
                  else m.group(1), v)


def parse(text):
    """{(name, ((label, value), ...)): value} of every sample."""
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = SAMPLE.match(line)
        assert m, "not a sample: %r" % line
        labels = tuple(sorted((k, unescape(v))
                              for k, v in LABEL.findall(m.group(2) or "")))
        key = (m.group(1), labels)
        assert key not in out, "sample twice: %r" % line
        out[key] = float(m.group(3))
    return out


def val(m, name, **labels):
    return m[(name, tuple(sorted(labels.items())))]


def series(m, name):
    return {k[1]: v for k, v in m.items() if k[0] == name}


def scrape(h, path="/polyprov-metrics"):
    r = h.curl(path, tls=False)
    assert r.status == 200, (r, h.new_log()[-2000:])
    return r.body, parse(r.body)


def promtool(*args, text=None):
    exe = shutil.which("promtool")
    assert exe, "promtool is missing: sh tests/deps.sh test (Debian's " \
        "prometheus package)"
    return subprocess.run([exe] + list(args), input=text,
                          capture_output=True, text=True, timeout=60)


def log_count(h, number):
    return sum(1 for l in h.log_text().splitlines() if number + ":" in l)


# -- exact counts from several processes ------------------------------

def in_parallel(calls, workers=6):
    """Each call a curl of its own (its own connection), several at a
    time: under prefork, several children have to answer."""
    with concurrent.futures.ThreadPoolExecutor(workers) as ex:
        return list(ex.map(lambda c: c(), calls))


def pid_of(h, path):
    """The process that answered the request for path (unique by its
    query), from the access log."""
    deadline = time.time() + 3
    while time.time() < deadline:
        for line in h.access_lines():
            if ' %s HTTP/' % path in line:
                return int(re.search(r"pid=(\d+)", line).group(1))
        time.sleep(0.05)
    raise AssertionError("no access-log line for " + path)


@pytest.mark.parametrize("mpm", ["prefork", "event"])
def test_exact_counts_from_every_process(servers, pki, mpm):
    """Allowed and refused requests by reason, certificate verifications,
    cache hits and misses: exactly what was sent, whichever process
    answered; refusals and allowances are the PP001 and PP002 lines."""
    h = servers(mpm=mpm)
    populate(h)
    allow = h.list_file("allow.txt", "%s\n%s\n" % (A, B))
    guarded = """
    <Location /guarded/>
        PolyProv On
        PolyProvTrustedCA %s/polycom-chain.pem
    </Location>""" % pki
    h.write(mpm=mpm, loglevel="warn polyprov:debug",
            vhost=lists_guard(h, pki, 5, allow),
            plain_vhost=METRICS + guarded)
    h.expect_log(r"PP023")                 # PolyProv On on plain HTTP
    h.start()
    want = 3 if mpm == "prefork" else 2
    children = h.child_pids(at_least=want)
    assert len(children) >= want, children

    sent = []          # (path, identity, status, reason) per connection
    corp = (h.pkifile("corp-a.chain.pem"), h.pkifile("corp-a.key"))

    def req(path, phone=None, cert=None, method=None, tls=True):
        def call():
            r = h.curl(path, phone=phone, method=method, tls=tls,
                       cert=cert and cert[0], key=cert and cert[1])
            return path, phone or ("corp" if cert else None), r.status
        return call

    n = 0
    rounds = 0
    while True:
        calls = []
        for _ in range(6):
            calls.append(req("/%s.cfg?n=%d" % (A, n), "phone-a"))
            n += 1
        calls.append(req("/%s.cfg?n=%d" % (B, n), "phone-a"))   # not-owner
        n += 1
        calls.append(req("/%s.cfg?n=%d" % (C, n), "phone-c"))   # allow-list
        n += 1
        calls.append(req("/%s.cfg?n=%d" % (B, n), "phone-b"))
        n += 1
        calls.append(req("/000000000000.cfg?n=%d" % n, "phone-b",
                         method="PUT"))                         # read-only
        n += 1
        sent += in_parallel(calls)
        rounds += 1
        pids = {pid_of(h, p) for p, _, _ in sent}
        if len(pids) >= want or rounds == 5:
            break
    assert len(pids) >= want, pids
    # keep-alive: five requests, one connection, one certificate check
    ka = ["/%s-phone.cfg?k=%d" % (A, i) for i in range(5)]
    rs = h.curl(ka, phone="phone-a")
    assert [r.status for r in rs] == [200] * 5
    assert [r.meta.split()[1] for r in rs] == ["1", "0", "0", "0", "0"]
    # plain HTTP into a PolyProv On scope
    for i in range(2):
        assert h.curl("/guarded/x.cfg?p=%d" % i, tls=False).status == 403
    # a certificate mod_ssl accepts and the module does not (last: its
    # negative cache entry lasts 60 s)
    sent += in_parallel([req("/%s.cfg?n=%d" % (A, n + i), cert=corp)
                         for i in range(2)])

    statuses = {}
    for path, who, status in sent:
        statuses.setdefault((path.split("?")[0], who), []).append(status)
    own = statuses[("/%s.cfg" % A, "phone-a")]
    assert own == [200] * len(own)
    assert set(statuses[("/%s.cfg" % B, "phone-a")]) == {403}
    assert set(statuses[("/%s.cfg" % C, "phone-c")]) == {403}
    assert set(statuses[("/%s.cfg" % B, "phone-b")]) == {200}
    assert set(statuses[("/000000000000.cfg", "phone-b")]) == {403}
    assert set(statuses[("/%s.cfg" % A, "corp")]) == {403}

    text, m = scrape(h)
    p = promtool("check", "metrics", text=text)
    assert p.returncode == 0, p.stdout + p.stderr

    allowed = len(own) + rounds + 5
    assert val(m, "polyprov_requests_allowed_total") == allowed
    refused = {r: 0 for r in ("no-tls", "no-cert", "untrusted", "issuer",
                              "bad-cn", "deny-list", "allow-list",
                              "directory", "not-owner", "shared-readonly",
                              "not-shared", "internal", "dot-file", "method",
                              "foreign-name", "device-file",
                              "list-unavailable", "quota")}
    refused.update({"not-owner": rounds, "allow-list": rounds,
                    "shared-readonly": rounds, "no-tls": 2, "untrusted": 2})
    got = {dict(k)["reason"]: v
           for k, v in series(m, "polyprov_requests_refused_total").items()}
    assert got == refused
    # every decision is one log line
    time.sleep(0.3)
    assert log_count(h, "PP002") == allowed
    assert log_count(h, "PP001") == sum(refused.values())

    # the certificate checks: one per connection (a verdict lasts as long
    # as its connection); each process has its own cache, so a phone's
    # first connection to a process is a miss and a verification, the
    # next ones hits.  Two connections of one phone that reach one process
    # at the same moment may both miss (the cache is filled once the
    # verification is done): every miss is still exactly one verification.
    firsts = {(pid_of(h, path), who) for path, who, _ in sent}
    conns = len(sent) + 1                          # + the keep-alive one
    ka_pid = pid_of(h, ka[0])
    firsts.add((ka_pid, "phone-a"))
    corp_conns = sum(1 for _, who, _ in sent if who == "corp")
    misses = val(m, "polyprov_cert_cache_misses_total")
    ok = val(m, "polyprov_cert_verifications_total", result="ok")
    untrusted = val(m, "polyprov_cert_verifications_total",
                    result="untrusted")
    assert val(m, "polyprov_cert_verifications_total",
               result="internal") == 0
    assert misses == ok + untrusted
    assert val(m, "polyprov_cert_cache_hits_total") == conns - misses
    assert len({x for x in firsts if x[1] == "corp"}) <= untrusted \
        <= corp_conns
    assert len({x for x in firsts if x[1] != "corp"}) <= ok \
        <= conns - corp_conns
    # sequentially, one connection at a time, the count is exact: a phone
    # new to every process misses once per process, then only hits
    before = misses
    for i in range(4):
        assert h.curl("/%s-phone.cfg?s=%d" % (B, i),
                      phone="phone-b").status == 200
    seq = {pid_of(h, "/%s-phone.cfg?s=%d" % (B, i)) for i in range(4)}
    _, m = scrape(h)
    assert val(m, "polyprov_cert_cache_misses_total") == before + len(
        seq - {p for p, who in firsts if who == "phone-b"})
    assert val(m, "polyprov_cert_cache_hits_total") + \
        val(m, "polyprov_cert_cache_misses_total") == conns + 4


def test_promtool_catches_a_bad_exposition(servers, pki):
    """The check above can fail: promtool refuses the handler's own text
    once it is damaged (an unescaped quote in a label, a counter without
    its _total), and accepts it as served."""
    h = servers()
    h.write(plain_vhost=METRICS)
    h.start()
    text, _ = scrape(h)
    assert promtool("check", "metrics", text=text).returncode == 0
    bad = text.replace('reason="no-tls"', 'reason="no"tls"')
    assert promtool("check", "metrics", text=bad).returncode != 0
    bad = text.replace("polyprov_requests_allowed_total",
                       "polyprov_requests_allowed")
    assert promtool("check", "metrics", text=bad).returncode != 0


# -- across a graceful restart ------------------------------------------

def phones(h, own, foreign):
    for i in range(own):
        assert h.curl("/%s.cfg?o=%d" % (A, i), phone="phone-a").status == 200
    for i in range(foreign):
        assert h.curl("/%s.cfg?f=%d" % (B, i), phone="phone-a").status == 403


@pytest.mark.parametrize("mpm", ["prefork", "event"])
def test_graceful_restart_keeps_every_counter(servers, pki, mpm):
    """The counters belong to httpd's parent, not to a configuration
    generation: after two graceful restarts nothing went back, and new
    requests add to the old figures.  A list broken at a restart counts
    one load error (PP030)."""
    h = servers(mpm=mpm)
    populate(h)
    allow = h.list_file("allow.txt", "%s\n%s\n" % (A, B))
    h.write(mpm=mpm, vhost=lists_guard(h, pki, 5, allow),
            plain_vhost=METRICS)
    h.start()
    phones(h, 5, 2)
    _, m1 = scrape(h)
    assert val(m1, "polyprov_requests_allowed_total") == 5
    assert val(m1, "polyprov_list_load_errors_total", list=allow) == 0
    h.list_file("allow.txt", "garbage\n")
    h.graceful()
    h.graceful()
    _, m2 = scrape(h)
    assert val(m2, "polyprov_start_time_seconds") == \
        val(m1, "polyprov_start_time_seconds")
    assert val(m2, "polyprov_config_load_time_seconds") > \
        val(m1, "polyprov_config_load_time_seconds")
    for key, v in m1.items():
        if key[0].endswith("_total"):
            assert m2[key] >= v, key
    assert val(m2, "polyprov_requests_allowed_total") == 5
    assert val(m2, "polyprov_requests_refused_total", reason="not-owner") == 2
    assert val(m2, "polyprov_cert_cache_misses_total") == \
        val(m1, "polyprov_cert_cache_misses_total")
    # kept the last good version at each restart: two load errors
    assert val(m2, "polyprov_list_load_errors_total", list=allow) == 2
    assert val(m2, "polyprov_list_failing", list=allow) == 1
    assert val(m2, "polyprov_list_entries", list=allow) == 2
    assert val(m2, "polyprov_list_version", list=allow) == 1
    phones(h, 3, 1)
    _, m3 = scrape(h)
    assert val(m3, "polyprov_requests_allowed_total") == 8
    assert val(m3, "polyprov_requests_refused_total", reason="not-owner") == 3


# -- lists and CRLs -------------------------------------------------------

def settle():
    time.sleep(2.3)                  # PolyProvReloadInterval 1 + 1 s


def test_list_figures_follow_reloads(servers, pki):
    """Entries, version, whether the file is in force, the last load and
    the load errors of each list, as the children reload it (prefork:
    whichever child notices a change counts for everyone)."""
    h = servers(mpm="prefork")
    populate(h)
    allow = h.list_file("allow.txt", "%s\n%s\n" % (A, B))
    missing = os.path.join(h.root, "lists", "deny.txt")
    t0 = time.time()
    h.write(mpm="prefork", vhost=lists_guard(h, pki, 1, allow) + """
    <Location /other/>
        PolyProvDenyList %s
    </Location>""" % missing, plain_vhost=METRICS)
    h.start()
    text, m = scrape(h)
    assert promtool("check", "metrics", text=text).returncode == 0
    assert val(m, "polyprov_list_entries", list=allow) == 2
    assert val(m, "polyprov_list_version", list=allow) == 1
    assert val(m, "polyprov_list_failing", list=allow) == 0
    assert val(m, "polyprov_list_load_errors_total", list=allow) == 0
    loaded = val(m, "polyprov_list_last_load_time_seconds", list=allow)
    assert t0 - 1 <= loaded <= time.time()
    # never loaded (PP031): one error, version 0, no load time
    assert val(m, "polyprov_list_version", list=missing) == 0
    assert val(m, "polyprov_list_entries", list=missing) == 0
    assert val(m, "polyprov_list_failing", list=missing) == 1
    assert val(m, "polyprov_list_load_errors_total", list=missing) == 1
    assert val(m, "polyprov_list_last_load_time_seconds", list=missing) == 0

    h.list_file("allow.txt", "%s\nbroken\n" % A)
    settle()
    phones(h, 3, 0)
    settle()
    phones(h, 3, 0)                  # logged once, counted once
    _, m = scrape(h)
    assert val(m, "polyprov_list_load_errors_total", list=allow) == 1
    assert val(m, "polyprov_list_failing", list=allow) == 1
    assert val(m, "polyprov_list_version", list=allow) == 1
    assert val(m, "polyprov_list_entries", list=allow) == 2
    assert val(m, "polyprov_list_last_load_time_seconds", list=allow) == \
        loaded
    os.unlink(allow)
    settle()
    phones(h, 2, 0)
    _, m = scrape(h)
    assert val(m, "polyprov_list_load_errors_total", list=allow) == 2

    t1 = time.time()
    h.list_file("allow.txt", "%s\n%s\n%s\n" % (A, B, C))
    settle()
    assert h.curl("/%s.cfg" % C, phone="phone-c").status == 200
    _, m = scrape(h)
    assert val(m, "polyprov_list_version", list=allow) == 2
    assert val(m, "polyprov_list_entries", list=allow) == 3
    assert val(m, "polyprov_list_failing", list=allow) == 0
    assert val(m, "polyprov_list_load_errors_total", list=allow) == 2
    assert t1 <= val(m, "polyprov_list_last_load_time_seconds",
                     list=allow) <= time.time()


def test_crl_figures(servers, pki):
    """The nextUpdate of every CRL in force, and how many have passed it,
    after a graceful restart onto an expired one."""
    h = servers()
    populate(h)

    def configure(crl):
        h.write(vhost="""
    <Directory {d}>
        PolyProv On
        PolyProvTrustedCA {p}/polycom-chain.pem
        PolyProvCRL {p}/{crl}
    </Directory>""".format(d=h.docroot, p=pki, crl=crl),
                plain_vhost=METRICS)

    configure("crl-all.pem")
    h.start()
    now = time.time()
    text, m = scrape(h)
    assert promtool("check", "metrics", text=text).returncode == 0
    crls = series(m, "polyprov_crl_next_update_time_seconds")
    issuers = sorted(dict(k)["issuer"] for k in crls)
    assert issuers == ["/CN=Polycom Equipment Issuing CA 1",
                       "/CN=Polycom Equipment Issuing CA 2",
                       "/CN=Polycom Equipment Policy CA",
                       "/CN=Polycom Root CA"]
    assert {dict(k)["file"] for k in crls} == {pki + "/crl-all.pem"}
    assert all(now + 20 * 86400 < v < now + 40 * 86400
               for v in crls.values()), crls
    assert val(m, "polyprov_crls_expired") == 0

    configure("crl-expired.pem")
    h.graceful()
    _, m = scrape(h)
    assert val(m, "polyprov_crls_expired") == 1
    crls = series(m, "polyprov_crl_next_update_time_seconds")
    stale = {dict(k)["issuer"]: v for k, v in crls.items()
             if v < time.time()}
    assert list(stale) == ["/CN=Polycom Equipment Issuing CA 1"], crls
    assert "PP021" in h.log_text()


def test_other_counters(servers, pki):
    """Device files served as data (PP015), missing files answered before
    mod_speling (PP017), responses refused for naming another device
    (foreign-name): each counted as logged."""
    h = servers()
    populate(h)
    h.put("%s-page.shtml" % A, '<!--#include virtual="/%s.cfg" -->\n' % B)
    h.put("spel/%s.cfg" % A, "A's\n")
    h.put("err/site.cfg", "site\n")
    h.write(modules=["speling"], vhost="""
    <Directory {d}>
        PolyProv On
        PolyProvTrustedCA {p}/polycom-chain.pem
        Options +Includes
        AddOutputFilter INCLUDES .shtml
    </Directory>
    <Directory {d}/spel>
        CheckSpelling On
    </Directory>
    <Directory {d}/err>
        ErrorDocument 404 "no such file; try {b}.cfg"
    </Directory>""".format(d=h.docroot, p=pki, b=B), plain_vhost=METRICS)
    h.start()
    r = h.curl("/%s-page.shtml" % A, phone="phone-a")
    assert r.status == 200 and "include" in r.body
    assert h.curl("/spel/%sx.cfg" % A, phone="phone-a").status == 404
    r = h.curl("/err/missing.cfg", phone="phone-a")
    assert r.status == 403 and B not in r.body
    time.sleep(0.3)
    _, m = scrape(h)
    assert log_count(h, "PP015") >= 1
    assert val(m, "polyprov_device_files_as_data_total") == \
        log_count(h, "PP015")
    assert val(m, "polyprov_speling_404_total") == log_count(h, "PP017") == 1
    assert val(m, "polyprov_requests_refused_total",
               reason="foreign-name") == 1
    assert val(m, "polyprov_requests_allowed_total") == 3


# -- mod_status -------------------------------------------------------------

def auto_lines(body):
    return dict(l.split(": ", 1) for l in body.splitlines() if ": " in l)


def test_mod_status_shows_the_figures(servers, pki):
    """ExtendedStatus On: the same figures as the handler, in the HTML
    page and in ?auto; ExtendedStatus Off: none of them."""
    h = servers()
    populate(h)
    allow = h.list_file("allow.txt", "%s\n%s\n" % (A, B))

    def configure(extended):
        h.write(modules=["status"], server="ExtendedStatus %s" % extended,
                vhost=lists_guard(h, pki, 5, allow),
                plain_vhost=METRICS + STATUS)

    configure("On")
    h.start()
    phones(h, 3, 2)
    _, m = scrape(h)
    html = h.curl("/server-status", tls=False)
    assert html.status == 200
    assert "<h2>mod_polyprov 1.0.0</h2>" in html.body
    assert "<dt>Requests allowed: 3</dt>" in html.body
    assert "<dt>Requests refused: 2</dt>" in html.body
    assert "<dd>refused not-owner: 2</dd>" in html.body
    assert "<dt>List %s: 2 MACs, version 1, last loaded " % allow \
        in html.body
    auto = h.curl("/server-status?auto", tls=False)
    assert auto.status == 200
    a = auto_lines(auto.body)
    assert a["PolyProvRequestsAllowed"] == "3"
    assert a["PolyProvRequestsRefused"] == "2"
    assert a["PolyProvRefused-not-owner"] == "2"
    assert a["PolyProvRefused-untrusted"] == "0"
    assert a["PolyProvList1"] == allow
    assert a["PolyProvList1Entries"] == "2"
    assert a["PolyProvList1LoadErrors"] == "0"
    assert int(a["PolyProvCertCacheMisses"]) == \
        val(m, "polyprov_cert_cache_misses_total") >= 1
    assert float(a["PolyProvStartTime"]) == \
        val(m, "polyprov_start_time_seconds")

    configure("Off")
    h.graceful()
    html = h.curl("/server-status", tls=False)
    auto = h.curl("/server-status?auto", tls=False)
    assert html.status == 200 and auto.status == 200
    assert "Requests allowed" not in html.body
    assert "<h2>mod_polyprov" not in html.body
    assert "PolyProv" not in auto.body
    # the handler still counts on
    _, m = scrape(h)
    assert val(m, "polyprov_requests_allowed_total") == 3


# -- who may read them ---------------------------------------------------

def test_never_in_a_phones_scope(servers, pki):
    """Where PolyProv is On or SharedOnly the handler refuses (403, PP060)
    and so is mod_status's page (403, PP100: it shows other clients'
    requests), whatever Require says; elsewhere Require decides."""
    h = servers()
    populate(h)
    h.write(modules=["status"], server="ExtendedStatus On", vhost="""
    <Directory {d}>
        PolyProv On
        PolyProvTrustedCA {p}/polycom-chain.pem
    </Directory>
    <Location /polyprov-metrics>
        SetHandler polyprov-metrics
    </Location>
    <Location /server-status>
        SetHandler server-status
    </Location>""".format(d=h.docroot, p=pki), plain_vhost=METRICS + """
    <Location /bootrom-metrics>
        PolyProv SharedOnly
        PolyProvSharedFiles bootrom-metrics
        SetHandler polyprov-metrics
        Require all granted
    </Location>
    <Location /monitoring-host-only>
        SetHandler polyprov-metrics
        Require ip 10.0.0.5
    </Location>""")
    h.start()
    h.mark()
    # a phone, in its scope
    r = h.curl("/polyprov-metrics", phone="phone-a")
    assert r.status == 403 and "polyprov_" not in r.body, r
    # the bootROM's host
    r = h.curl("/bootrom-metrics", tls=False)
    assert r.status == 403 and "polyprov_" not in r.body, r
    assert log_count(h, "PP060") == 2
    # mod_status, reached by a phone: refused before it shows anything
    r = h.curl("/server-status?auto", phone="phone-a")
    assert r.status == 403 and "PolyProv" not in r.body, r
    assert log_count(h, "PP100") == 1
    # Require
    r = h.curl("/monitoring-host-only", tls=False)
    assert r.status == 403 and "polyprov_" not in r.body, r
    assert log_count(h, "PP060") == 2
    # the monitoring host's location
    assert h.curl("/polyprov-metrics", tls=False, method="POST").status == 405
    _, m = scrape(h)
    assert val(m, "polyprov_monitoring_refused_total") == 3
    # the module allowed the phone's two requests and the bootROM's (names
    # of no device) before the handlers were refused
    assert val(m, "polyprov_requests_allowed_total") == 3


def readme_monitoring():
    m = re.search(r"<!-- monitoring:begin -->\s*```apache\n(.*?)```\s*"
                  r"<!-- monitoring:end -->", readme(), re.S)
    assert m, "docs/operations.md's monitoring markers are missing"
    return m.group(1)


def test_readme_monitoring_config(servers, pki):
    """docs/operations.md's monitoring host as written (its address and port made
    local): the monitoring host gets the figures, anyone else a 403."""
    h = servers()
    port = free_port()
    conf = readme_monitoring()
    assert "192.0.2.10:9180" in conf and "Require ip 10.0.0.5" in conf
    conf = conf.replace("192.0.2.10:9180", "127.0.0.1:%d" % port)

    def get(path):
        try:
            with urllib.request.urlopen("http://127.0.0.1:%d%s"
                                        % (port, path), timeout=10) as r:
                return r.status, r.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode()

    h.write(modules=["status"], server=conf)
    h.start()
    for path in ("/polyprov-metrics", "/server-status?auto"):
        status, body = get(path)
        assert status == 403 and "polyprov_" not in body, (path, body)
    h.stop()
    h.write(modules=["status"],
            server=conf.replace("Require ip 10.0.0.5",
                                "Require ip 127.0.0.1"))
    h.start()
    status, body = get("/polyprov-metrics")
    assert status == 200 and "polyprov_requests_allowed_total 0" in body
    status, body = get("/server-status?auto")
    assert status == 200 and "PolyProvRequestsAllowed: 0" in body


def test_readme_alert_rules(tmp_path):
    """docs/operations.md's example alert rules load in Prometheus (promtool), and
    name only metrics the module serves."""
    m = re.search(r"<!-- alerts:begin -->\s*```yaml\n(.*?)```\s*"
                  r"<!-- alerts:end -->", readme(), re.S)
    assert m, "docs/operations.md's alert markers are missing"
    rules = tmp_path / "polyprov.rules.yml"
    rules.write_text(m.group(1))
    p = promtool("check", "rules", str(rules))
    assert p.returncode == 0, p.stdout + p.stderr
    named = set(re.findall(r"\b(polyprov_[a-z_]+)", m.group(1)))
    assert named, m.group(1)
    with open(os.path.join(os.path.dirname(__file__), "..", "..",
                           "mod_polyprov", "mod_polyprov_metrics.c")) as f:
        code = f.read()
    for name in named:
        assert '"%s"' % name in code, name
