# SPDX-License-Identifier: Apache-2.0
"""Allow and deny lists at run time: reload without a restart, a broken
version keeps the last good list, and every httpd process agrees within
PolyProvReloadInterval + 1 s, idle ones included, under each MPM."""

import os
import re
import subprocess
import time

import pytest

from tests.pphttpd.fixtures import lists_guard, need_root, populate
from tests.pphttpd.expect import A, B, C, expect_refused

INTERVAL = 1


def start(servers, pki, mpm="event", allow="%s\n" % A, deny="# none\n",
          interval=INTERVAL):
    h = servers(mpm=mpm)
    populate(h)
    h.allow = h.list_file("allow.txt", allow)
    h.deny = h.list_file("deny.txt", deny)
    h.write(mpm=mpm, loglevel="warn polyprov:info",
            vhost=lists_guard(h, pki, interval, h.allow, h.deny))
    h.start()
    h.mark()
    return h


def settle():
    """Longer than PolyProvReloadInterval + 1 s."""
    time.sleep(INTERVAL + 1.3)


def statuses(h, phone, path, n):
    """n requests, each on a new connection; status and serving pid."""
    out = []
    for _ in range(n):
        r = h.curl(path, phone=phone)
        out.append(r.status)
    return out


def pids_of_requests(h, path):
    pids = set()
    for line in h.access_lines():
        if " %s HTTP/" % path in line or " %s?" % path in line:
            m = re.search(r"pid=(\d+)", line)
            if m:
                pids.add(int(m.group(1)))
    return pids


def test_reload_without_restart(servers, pki):
    h = start(servers, pki)
    assert h.curl("/%s.cfg" % C, phone="phone-c").status == 403
    pid = h.pid()
    h.list_file("allow.txt", "%s\n%s\n" % (A, C))
    settle()
    assert h.curl("/%s.cfg" % C, phone="phone-c").status == 200
    assert h.curl("/%s.cfg" % A, phone="phone-a").status == 200
    assert h.pid() == pid                       # no restart
    assert re.search(r"list .*allow.txt reloaded: 2 MACs", h.new_log())
    # the deny list too
    h.list_file("deny.txt", "00:04:f2:00:0c:03\n")
    settle()
    r = h.curl("/%s.cfg" % C, phone="phone-c")
    assert r.status == 403
    assert any("reason=deny-list" in l for l in h.refusals())


def test_broken_version_keeps_last_good(servers, pki):
    h = start(servers, pki, allow="%s\n%s\n" % (A, C))
    h.list_file("allow.txt", "%s\n%s\nnot-a-mac\n" % (A, B))
    settle()
    # still the last good list: C allowed, B not
    assert statuses(h, "phone-c", "/%s.cfg" % C, 4) == [200] * 4
    assert statuses(h, "phone-b", "/%s.cfg" % B, 2) == [403] * 2
    log = h.new_log()
    assert "%s:3: 'not-a-mac' is not a MAC address" % h.allow in log
    assert "keeping the last good list (2 MACs)" in log
    time.sleep(INTERVAL + 0.5)
    h.curl("/%s.cfg" % C, phone="phone-c")
    assert h.new_log().count("'not-a-mac'") == 1      # logged once


@pytest.mark.parametrize("change", ["truncate", "delete", "unreadable"])
def test_vanishing_list_keeps_last_good(servers, pki, change):
    h = start(servers, pki, allow="%s\n%s\n" % (A, C))
    if change == "truncate":
        open(h.allow, "w").close()
        expect = "empty (0 bytes)"
    elif change == "delete":
        os.unlink(h.allow)
        expect = "cannot stat"
    else:
        need_root("the children run as another user")
        os.chmod(h.allow, 0o600)             # root's, children are www-data
        os.utime(h.allow)
        expect = "Permission denied"
    settle()
    assert statuses(h, "phone-c", "/%s.cfg" % C, 3) == [200] * 3
    assert statuses(h, "phone-b", "/%s.cfg" % B, 2) == [403] * 2
    assert expect in h.new_log()


def test_replaced_by_rename(servers, pki):
    h = start(servers, pki)
    tmp = h.allow + ".new"
    with open(tmp, "w") as f:
        f.write("%s\n" % C)
    os.chmod(tmp, 0o644)
    os.rename(tmp, h.allow)
    settle()
    assert h.curl("/%s.cfg" % C, phone="phone-c").status == 200
    assert h.curl("/%s.cfg" % A, phone="phone-a").status == 403


def test_interval_zero_reloads_only_on_restart(servers, pki):
    h = start(servers, pki, interval=0)
    h.list_file("allow.txt", "%s\n" % C)
    settle()
    assert h.curl("/%s.cfg" % C, phone="phone-c").status == 403
    h.graceful()
    assert h.curl("/%s.cfg" % C, phone="phone-c").status == 200


def test_broken_list_at_restart_keeps_server_running(servers, pki):
    """A list is data: a broken one no longer blocks a graceful restart;
    the new generation keeps the last good version and says so (PP030,
    with file:line)."""
    h = start(servers, pki)
    h.list_file("allow.txt", "garbage\n")
    p = h._run("-k", "graceful")
    assert p.returncode == 0, p.stdout + p.stderr
    time.sleep(1.0)
    h._wait_listening()
    assert h.curl("/%s.cfg" % A, phone="phone-a").status == 200
    assert h.curl("/%s.cfg" % C, phone="phone-c").status == 403
    assert re.search(r"\[polyprov:error\] .*PP030: PolyProvAllowList at "
                     r"\S+httpd.conf:\d+: %s:1: 'garbage' is not a MAC "
                     r".*keeping the last good version from before the "
                     r"restart \(1 MACs\)" % re.escape(h.allow), h.new_log())


@pytest.mark.parametrize("mpm", ["prefork", "worker", "event"])
def test_all_processes_agree(servers, pki, mpm):
    """v1 allows A; v2 (good) adds C and is seen by one request only;
    v3 is broken.  A process that kept its own copy and missed v2 would
    fall back to v1 and refuse C.  Every process must use v2."""
    h = start(servers, pki, mpm=mpm)
    children = h.child_pids(at_least=2)
    assert len(children) >= 2, children
    want = min(3, len(children))
    h.list_file("allow.txt", "%s\n%s\n" % (A, C))            # v2
    settle()
    assert h.curl("/%s.cfg" % C, phone="phone-c").status == 200
    h.list_file("allow.txt", "%s\n%s\nbroken\n" % (A, C))    # v3
    settle()
    got = []
    while len(got) < 100:
        got += statuses(h, "phone-c", "/%s.cfg?n=%d" % (C, len(got)), 10)
        # until several processes (the idle ones of v2) have answered
        if len(got) >= 30 and len(pids_of_requests(h, "/%s.cfg" % C)) >= want:
            break
    assert got == [200] * len(got), got
    served_by = pids_of_requests(h, "/%s.cfg" % C)
    assert len(served_by) >= want, served_by   # the v2 one and idle ones


@pytest.mark.parametrize("mpm", ["prefork", "event"])
def test_lists_are_shared_not_copied(servers, pki, mpm):
    """Every process maps the same published snapshot read-only and
    shared, instead of holding a private copy of the list."""
    big = "".join("0004f2%06x\n" % i for i in range(50000)) + "%s\n" % A
    h = start(servers, pki, mpm=mpm, allow=big)
    for _ in range(12):
        assert h.curl("/%s.cfg" % A, phone="phone-a").status == 200
    snaps = {}
    for pid in h.child_pids():
        with open("/proc/%d/maps" % pid) as f:
            for line in f:
                if line.rstrip().endswith(".snap"):
                    fields = line.split()
                    assert fields[1].startswith("r") and \
                        fields[1].endswith("s"), line     # read-only, shared
                    snaps.setdefault(fields[-1], set()).add(pid)
    # the allow list (the first list configured) is one file for everyone
    allow = [p for p in snaps if re.search(r"-0-\d+\.snap$", p)]
    assert len(allow) == 1, snaps
    assert len(snaps[allow[0]]) >= 2, snaps         # mapped by several
    # A is one of the 50000 already: 8 bytes per distinct MAC
    assert os.path.getsize(allow[0]) == 32 + 8 * 50000


# -- a list is data, not configuration ---------------------------------------

def test_a_broken_list_never_blocks_configtest_graceful_or_stop(servers,
                                                                pki):
    """apachectl configtest, graceful and stop all re-read the
    configuration: a bad line in a list must stop none of them."""
    h = start(servers, pki)
    h.list_file("allow.txt", "%s\nnot-a-mac\n" % A)
    rc, out = h.configtest()
    assert rc == 0, out
    assert "PP029: PolyProvAllowList at" in out
    assert "%s:2: 'not-a-mac'" % h.allow in out
    p = h._run("-k", "graceful")
    assert p.returncode == 0, p.stdout + p.stderr
    time.sleep(1.0)
    h._wait_listening()
    assert h.curl("/%s.cfg" % A, phone="phone-a").status == 200
    pid = h.pid()
    p = h._run("-k", "stop")
    assert p.returncode == 0, p.stdout + p.stderr
    deadline = time.time() + 20
    while os.path.exists("/proc/%d" % pid) and time.time() < deadline:
        with open("/proc/%d/stat" % pid) as f:
            if f.read().rsplit(")", 1)[1].split()[0] == "Z":
                break
        time.sleep(0.05)
    h.running = False
    assert not h.pid() or not os.path.exists("/proc/%d/exe" % pid)


@pytest.mark.parametrize("which", ["allow", "deny"])
@pytest.mark.parametrize("problem", ["broken", "missing"])
def test_a_list_that_never_loaded_refuses_until_fixed(servers, pki, which,
                                                      problem):
    """Broken or missing at the first start: httpd starts, the scope that
    uses the list refuses every phone with its own reason (a missing deny
    list must not let everyone in), and the fixed file is picked up at
    the next interval."""
    h = servers()
    populate(h)
    path = os.path.join(h.root, "lists", "%s.txt" % which)
    if problem == "broken":
        h.list_file("%s.txt" % which, "%s\nbroken\n" % A)
    allow = path if which == "allow" else None
    deny = path if which == "deny" else None
    h.write(loglevel="warn polyprov:info",
            vhost=lists_guard(h, pki, INTERVAL, allow, deny))
    h.start()
    log = h.log_text()
    assert re.search(r"\[polyprov:error\] .*PP031: PolyProv%sList at \S+:\d+"
                     r": .*%s.*never loaded.*list-unavailable"
                     % (which.capitalize(), re.escape(path)), log), log
    h.mark()
    for phone, mac in (("phone-a", A), ("phone-c", C)):
        line = expect_refused(h, h.curl("/%s.cfg" % mac, phone=phone),
                              "list-unavailable", "/%s.cfg" % mac, mac=mac)
        assert "the %s list %s has never loaded" % (which, path) in line
    # fixed: A alone on the allow list, or C alone on the deny list
    h.list_file("%s.txt" % which, "%s\n" % (A if which == "allow" else C))
    settle()
    assert h.curl("/%s.cfg" % A, phone="phone-a").status == 200
    assert h.curl("/%s.cfg" % C, phone="phone-c").status == 403
    assert re.search(r"PP033: list %s loaded: 1 MACs" % re.escape(path),
                     h.new_log()), h.new_log()


def test_make_check_list(tmp_path):
    """The strict check for pipelines: non-zero with file:line."""
    from tests.pphttpd.fixtures import TOP
    good = tmp_path / "good.txt"
    good.write_text("# fleet\n%s\n00:04:f2:00:0b:02\n" % A)
    bad = tmp_path / "bad.txt"
    bad.write_text("%s\n\n00:04:f2:00:0b\n" % A)
    ok = subprocess.run(["make", "-s", "--no-print-directory", "check-list",
                         "LIST=%s" % good], cwd=TOP, capture_output=True,
                        text=True)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "%s: OK, 2 MACs" % good in ok.stdout
    ko = subprocess.run(["make", "-s", "--no-print-directory", "check-list",
                         "LIST=%s" % bad], cwd=TOP, capture_output=True,
                        text=True)
    assert ko.returncode != 0
    assert "%s:3: '00:04:f2:00:0b' is not a MAC address" % bad in ko.stderr
    gone = subprocess.run(["make", "-s", "--no-print-directory", "check-list",
                           "LIST=%s" % (tmp_path / "nope.txt")], cwd=TOP,
                          capture_output=True, text=True)
    assert gone.returncode != 0 and "nope.txt" in gone.stderr
