# SPDX-License-Identifier: Apache-2.0
"""List reloads in the background (docs/deployment.md, List files): a mod_watchdog
thread in every child checks the files, one process parses each new
version and publishes it, every process maps it, and no request waits
for a parse.  The tests make no request while a change is picked up, and
read from the error log which process and thread parsed it."""

import re
import time

import pytest

from tests.pphttpd.expect import A, B, C, expect_refused
from tests.pphttpd.fixtures import lists_guard, populate
from tests.pphttpd.httpd import snapshots_mapped

INTERVAL = 1
# kernel thread ids (%{g}T): under prefork a request runs in the child's
# main thread, whose id is the child's pid
LOGFORMAT = 'ErrorLogFormat "[%-m:%l] [pid %P:tid %{g}T] %F: %M"'


def start(servers, pki, mpm, allow, interval=INTERVAL):
    h = servers(mpm=mpm)
    populate(h)
    h.allow = h.list_file("allow.txt", allow)
    h.write(mpm=mpm, loglevel="warn polyprov:info", server=LOGFORMAT,
            vhost=lists_guard(h, pki, interval, h.allow))
    h.start()
    return h


def wait_for(cond, timeout):
    deadline = time.time() + timeout
    while time.time() < deadline:
        got = cond()
        if got:
            return got
        time.sleep(0.05)
    return cond()


def log_lines(h, needle):
    return [l for l in h.new_log().splitlines() if needle in l]


@pytest.mark.parametrize("mpm", ["prefork", "event"])
def test_every_process_picks_up_a_change_with_no_request(servers, pki, mpm):
    h = start(servers, pki, mpm, "%s\n" % A)
    assert h.curl("/%s.cfg" % C, phone="phone-c").status == 403
    children = h.child_pids()
    assert len(children) >= 2, children
    log = h.log_text()
    assert re.search(r"PP071: list %s is checked in the background every "
                     r"1 s" % re.escape(h.allow), log), log
    version1 = {p: snapshots_mapped(p) for p in children}
    assert all(any(s.endswith("-0-1.snap") for s in v)
               for v in version1.values()), version1
    h.mark()
    requests = len(h.access_lines())
    changed = time.time()
    h.list_file("allow.txt", "%s\n%s\n" % (A, C))

    def everyone_maps_v2():
        return all(any(s.endswith("-0-2.snap") for s in snapshots_mapped(p))
                   for p in children)
    # within PolyProvReloadInterval + 1 s (the second a new file settles),
    # with a little slack for a busy machine; idle processes included
    assert wait_for(everyone_maps_v2, INTERVAL + 1 + 1.5), \
        {p: snapshots_mapped(p) for p in children}
    took = time.time() - changed
    assert took <= INTERVAL + 1 + 1.5, took
    # no request was made meanwhile: the parse was nobody's request
    assert len(h.access_lines()) == requests
    reloads = log_lines(h, "PP038")
    assert len(reloads) == 1, reloads                 # one process parsed
    m = re.search(r"\[pid (\d+):tid (\d+)\] .*PP038: list %s reloaded: 2 "
                  r"MACs \(version 2\); read and published in [\d.]+ s in "
                  r"the background" % re.escape(h.allow), reloads[0])
    assert m, reloads[0]
    pid, tid = int(m.group(1)), int(m.group(2))
    assert pid in children
    assert tid != pid          # not a process's main thread (prefork's
    #                            request thread): the watchdog's
    # every process now serves C
    served = set()
    for i in range(30):
        assert h.curl("/%s.cfg?n=%d" % (C, i), phone="phone-c").status == 200
        for line in h.access_lines()[-1:]:
            served.add(re.search(r"pid=(\d+)", line).group(1))
        if len(served) >= 2:
            break
    assert len(served) >= 2, served


def test_a_broken_version_is_found_in_the_background_and_kept_out(servers,
                                                                  pki):
    h = start(servers, pki, "event", "%s\n%s\n" % (A, C))
    h.mark()
    h.list_file("allow.txt", "%s\n%s\nnot-a-mac\n" % (A, B))
    lines = wait_for(lambda: log_lines(h, "'not-a-mac'"), INTERVAL + 2.5)
    assert lines, h.new_log()
    assert "PP036" in lines[0] and "keeping the last good list (2 MACs)" \
        in lines[0], lines
    assert h.curl("/%s.cfg" % C, phone="phone-c").status == 200
    assert h.curl("/%s.cfg" % B, phone="phone-b").status == 403
    time.sleep(INTERVAL + 0.5)
    assert len(log_lines(h, "'not-a-mac'")) == 1        # logged once


def test_a_list_that_never_loaded_is_retried_in_the_background(servers,
                                                               pki):
    h = servers()
    populate(h)
    allow = h.list_file("allow.txt", "%s\nbroken\n" % A)
    h.write(loglevel="warn polyprov:info", server=LOGFORMAT,
            vhost=lists_guard(h, pki, INTERVAL, allow))
    h.start()
    h.mark()
    expect_refused(h, h.curl("/%s.cfg" % A, phone="phone-a"),
                   "list-unavailable", "/%s.cfg" % A, mac=A)
    h.list_file("allow.txt", "%s\n" % A)
    lines = wait_for(lambda: log_lines(h, "PP033"), INTERVAL + 2.5)
    assert lines and "in the background" in lines[0], h.new_log()
    assert h.curl("/%s.cfg" % A, phone="phone-a").status == 200


def test_each_list_is_checked_at_the_shortest_interval_asked(servers, pki):
    """PP071 says how often; a <Location> of the host asking for 3 s
    counts for the lists the host uses, a host asking for 0 checks none."""
    h = servers()
    populate(h)
    allow = h.list_file("allow.txt", "%s\n" % A)
    deny = h.list_file("deny.txt", "# none\n")
    other = h.list_file("other.txt", "%s\n" % B)
    h.write(loglevel="warn polyprov:info", vhost="""
    PolyProvReloadInterval 30
    <Directory {d}>
        PolyProv On
        PolyProvTrustedCA {p}/polycom-chain.pem
        PolyProvAllowList {a}
    </Directory>
    <Location /fast>
        PolyProvReloadInterval 3
    </Location>
    <Location /deny>
        PolyProvDenyList {n}
        PolyProvReloadInterval 7
    </Location>
""".format(d=h.docroot, p=pki, a=allow, n=deny), plain_vhost="""
    PolyProvReloadInterval 0
    <Directory {d}>
        PolyProv On
        PolyProvTrustedCA {p}/polycom-chain.pem
        PolyProvAllowList {o}
    </Directory>
""".format(d=h.docroot, p=pki, o=other))
    h.start()
    log = h.log_text()
    for path, how in ((allow, "checked in the background every 3 s"),
                      (deny, "checked in the background every 3 s"),
                      (other, r"not checked for changes \(PolyProvReload"
                              r"Interval 0\)")):
        assert re.search(r"PP071: list %s is %s" % (re.escape(path), how),
                         log), log
