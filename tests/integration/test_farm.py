# SPDX-License-Identifier: Apache-2.0
"""A farm (docs/deployment.md, Running a farm): two httpd servers with the module
behind HAProxy in mode tcp (TLS passes through), PROXY protocol v2 to
mod_remoteip, one PostgreSQL inventory made with initdb for the test.
The phone connects from 127.0.0.2, so that its own address can be told
from HAProxy's (127.0.0.1) in the servers' logs."""

import copy
import re
import shutil
import subprocess
import threading
import time

import pytest

from tests.pphttpd.expect import A, B, C
from tests.pphttpd.fixtures import lists_guard, populate, skip_or_fail
from tests.pphttpd.httpd import free_port
from tests.pphttpd.readme import readme
from tests.pphttpd.sqldb import Postgres, causes, dbd_server, wait_for

INTERVAL = 1
PHONE_IP = "127.0.0.2"
ALLOW = 'dbd "SELECT mac FROM phones WHERE enabled"'


def haproxy_config(port, backends):
    """docs/deployment.md's HAProxy configuration, on loopback ports, with health
    checks every half second."""
    m = re.search(r"<!-- farm-haproxy:begin -->\s*```haproxy\n(.*?)```",
                  readme(), re.S)
    assert m, "docs/deployment.md's farm-haproxy markers are missing"
    text = m.group(1)
    text = text.replace("bind :443", "bind 127.0.0.1:%d" % port)
    text = text.replace("10.0.0.11:443", "127.0.0.1:%d" % backends[0])
    text = text.replace("10.0.0.12:443", "127.0.0.1:%d" % backends[1])
    text = text.replace("inter 2s fall 2 rise 2", "inter 300ms fall 1 rise 1")
    assert str(backends[0]) in text and str(backends[1]) in text, text
    return text


class Farm:
    def __init__(self, servers, pki, pg):
        self.pg = pg
        self.h1 = servers()
        self.h2 = servers()
        self.h2.docroot = self.h1.docroot      # shared storage
        populate(self.h1)
        for h in (self.h1, self.h2):
            h.write(modules=["dbd", "remoteip"], server=dbd_server(pg),
                    vhost="RemoteIPProxyProtocol On\n" + lists_guard(
                        h, pki, INTERVAL, allow=ALLOW).replace(
                        "PolyProv On", "PolyProv On\n    Dav On"),
                    loglevel="warn polyprov:info remoteip:warn")
            h.start()
        self.port = free_port()
        self.cfg = self.h1.root + "/haproxy.cfg"
        with open(self.cfg, "w") as f:
            f.write(haproxy_config(self.port, [self.h1.port, self.h2.port]))
        p = subprocess.run(["haproxy", "-c", "-f", self.cfg],
                           capture_output=True, text=True)
        assert p.returncode == 0, p.stdout + p.stderr
        self.haproxy = subprocess.Popen(["haproxy", "-db", "-f", self.cfg],
                                        stdout=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL)
        # the phone's view: h1's curl, to HAProxy's port
        self.phone = copy.copy(self.h1)
        self.phone.port = self.port
        time.sleep(0.5)
        assert self.haproxy.poll() is None

    def get(self, path, phone, **kw):
        return self.phone.curl(path, phone=phone,
                               extra=("--interface", PHONE_IP), **kw)

    def close(self):
        self.haproxy.terminate()
        try:
            self.haproxy.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.haproxy.kill()


@pytest.fixture
def farm(servers, pki):
    if not shutil.which("haproxy"):
        skip_or_fail("HAProxy is not installed (apt install haproxy)")
    pg = Postgres()
    try:
        pg.set_phones([A, B], disabled=[C])
        f = Farm(servers, pki, pg)
        try:
            yield f
        finally:
            f.close()
    finally:
        pg.remove()


def served_by(h, mac, status, since):
    """Access-log lines of h since line `since` for mac with status, from
    the phone's own address."""
    return [l for l in h.access_lines()[since:]
            if l.startswith(PHONE_IP + " ") and "mac=%s" % mac in l
            and '" %d ' % status in l]


def test_a_farm_behind_haproxy(farm):
    h1, h2 = farm.h1, farm.h2
    # the servers take only connections that start with a PROXY header
    assert h1.curl("/%s.cfg" % A, phone="phone-a").status == 0
    # served through HAProxy by both servers, which see the phone's address
    n1, n2 = len(h1.access_lines()), len(h2.access_lines())
    for i in range(6):
        r = farm.get("/%s.cfg?n=%d" % (A, i), "phone-a")
        assert r.status == 200 and r.body == "secret of A\n", r
    assert served_by(h1, A, 200, n1) and served_by(h2, A, 200, n2)
    for i in range(4):
        assert farm.get("/%s.cfg" % C, "phone-c").status == 403
    for h in (h1, h2):
        assert re.search(r"PP001: refused reason=allow-list mac=%s .*"
                         r"client=%s " % (C, re.escape(PHONE_IP)),
                         h.log_text()), h.log_text()

    # a MAC disabled in the database: refused by both within the interval
    # plus a second
    n1, n2 = len(h1.access_lines()), len(h2.access_lines())
    farm.pg.sql("UPDATE phones SET enabled = false WHERE mac = '%s'" % A)
    time.sleep(INTERVAL + 1)
    for i in range(4):
        assert farm.get("/%s.cfg?d=%d" % (A, i), "phone-a").status == 403
    assert served_by(h1, A, 403, n1) and served_by(h2, A, 403, n2)
    assert not served_by(h1, A, 200, n1) and not served_by(h2, A, 200, n2)

    # the database stopped: both keep their last good list and serve
    h1.mark()
    h2.mark()
    farm.pg.stop()
    n1, n2 = len(h1.access_lines()), len(h2.access_lines())
    for h in (h1, h2):
        assert wait_for(lambda: "PP081" in h.new_log(), INTERVAL + 2), \
            h.new_log()
    for i in range(4):
        assert farm.get("/%s.cfg?p=%d" % (B, i), "phone-b").status == 200
    for i in range(2):
        assert farm.get("/%s.cfg?p=%d" % (A, i), "phone-a").status == 403
    assert served_by(h1, B, 200, n1) and served_by(h2, B, 200, n2)
    # ... and pick up changes when it is back
    farm.pg.start()
    farm.pg.sql("UPDATE phones SET enabled = true WHERE mac = '%s'" % C)
    n1, n2 = len(h1.access_lines()), len(h2.access_lines())
    time.sleep(INTERVAL + 1)
    for i in range(4):
        assert farm.get("/%s.cfg?r=%d" % (C, i), "phone-c").status == 200
    assert served_by(h1, C, 200, n1) and served_by(h2, C, 200, n2)
    for h in (h1, h2):
        assert 1 <= len(causes(h.new_log())) <= 3, h.new_log()

    # uploads on shared storage: whichever server takes a PUT, both serve
    # the newest version
    n1, n2 = len(h1.access_lines()), len(h2.access_lines())
    for v in range(4):
        body = "override %d of B\n" % v
        r = farm.get("/%s-phone.cfg" % B, "phone-b", method="PUT", data=body)
        assert r.status in (201, 204), r
        for i in range(2):
            got = farm.get("/%s-phone.cfg?v=%d%d" % (B, v, i), "phone-b")
            assert got.status == 200 and got.body == body, got
    puts = [[l for l in h.access_lines()[n:] if '"PUT /' in l]
            for h, n in ((h1, n1), (h2, n2))]
    assert puts[0] and puts[1], puts

    # one server stopped in the middle of a load: phones keep being served
    results, first_failures = [], []

    def phone_loop(stop_at):
        while time.time() < stop_at:
            for attempt in range(2):          # a phone tries again
                r = farm.get("/%s.cfg" % B, "phone-b", timeout=10)
                if r.status == 200:
                    break
                first_failures.append(r)
            results.append(r.status)

    stop_at = time.time() + 3.0
    threads = [threading.Thread(target=phone_loop, args=(stop_at,))
               for _ in range(4)]
    for t in threads:
        t.start()
    time.sleep(1.0)
    n1 = len(h1.access_lines())
    h2.stop()
    for t in threads:
        t.join()
    assert len(results) >= 20, results
    assert all(s == 200 for s in results), (results, first_failures)
    assert len(first_failures) <= 2, first_failures
    assert len(served_by(h1, B, 200, n1)) >= 10
