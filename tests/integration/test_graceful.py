# SPDX-License-Identifier: Apache-2.0
"""Graceful restarts and a graceful stop while phones are being served.

httpd's processes of an older generation finish what they hold after a
graceful restart: a request in flight, and under prefork a kept-alive
connection (the event MPM closes idle kept-alive connections at once).
Each generation publishes its own list snapshots, and a start removes
those older than the previous generation's, so a process two generations
old must still decide right when it serves the next request of such a
connection, after a list change.  Under load, with two quick graceful
restarts, list changes and a graceful stop at the end: every answer is the
right decision (never a 5xx, never a wrong 200 or 403, a list change
honoured within PolyProvReloadInterval + 1 s), or, once the graceful stop
has begun, a closed connection."""

import itertools
import re
import threading
import time

import pytest

from tests.pphttpd import tlsclient
from tests.pphttpd.expect import A, B, C, access_entry
from tests.pphttpd.fixtures import FILES, lists_guard, populate
from tests.pphttpd.httpd import _alive

INTERVAL = 1
SHARED = "000000000000.cfg"

# room in the scoreboard for three generations at once
MPM_CONF = {
    "prefork": """
StartServers 3
MinSpareServers 2
MaxSpareServers 6
ServerLimit 24
MaxRequestWorkers 24
""",
    "event": """
StartServers 2
ServerLimit 8
MinSpareThreads 4
MaxSpareThreads 16
ThreadsPerChild 8
MaxRequestWorkers 16
""",
}

_tokens = itertools.count(1)


def tokened(path):
    return "%s?q=%d" % (path, next(_tokens))


def start(servers, pki, mpm, allow, deny="# none\n"):
    h = servers(mpm=mpm)
    populate(h)
    h.allow = h.list_file("allow.txt", allow)
    h.deny = h.list_file("deny.txt", deny)
    # kept-alive connections outlast the test's pauses
    h.write(mpm=mpm, mpm_conf=MPM_CONF[mpm], server="KeepAliveTimeout 30\n",
            loglevel="warn polyprov:info",
            vhost=lists_guard(h, pki, INTERVAL, h.allow, h.deny))
    h.start()
    h.mark()
    return h


def served_by(h, path):
    entry = access_entry(h, path)
    assert entry is not None, path
    return int(re.search(r"pid=(\d+)", entry).group(1)), entry


def two_quick_gracefuls(h):
    for _ in range(2):
        p = h._run("-k", "graceful")
        assert p.returncode == 0, p.stdout + p.stderr
        time.sleep(0.3)
    time.sleep(1.0)
    h._wait_listening()


# -- an old process two generations later ------------------------------------

@pytest.mark.parametrize("mpm,held,change", [
    ("prefork", "idle", "allow"),
    ("prefork", "in-flight", "allow"),
    ("event", "idle", "allow"),
    ("event", "in-flight", "allow"),
    ("prefork", "in-flight", "deny"),
    ("event", "in-flight", "deny"),
])
def test_old_process_two_gracefuls_later_decides_by_the_new_list(
        servers, pki, mpm, held, change):
    """Phone C holds a connection to process Y (kept alive and idle, or
    with half a request sent).  A list change is published by another
    process X of the same generation, which Y has not mapped yet.  Two
    quick graceful restarts follow; then C's request reaches Y, two
    generations old: it must be decided by the new list (allow: C added,
    200; deny: C added, 403 deny-list), not refused `internal` because
    the snapshot Y needs was removed with its generation's files.  An idle
    connection the server closes instead (event) is a clean close: the
    request then goes to a new process, and must be right there too."""
    if change == "allow":
        h = start(servers, pki, mpm, allow="%s\n" % A)
        v2 = ("allow.txt", "%s\n%s\n" % (A, C))
        want = (200, "-")
    else:
        h = start(servers, pki, mpm, allow="%s\n%s\n" % (A, C))
        v2 = ("deny.txt", "%s\n" % C)
        want = (403, "deny-list")
    ctx_a = tlsclient.context(pki, "phone-a")
    ctx_c = tlsclient.context(pki, "phone-c")
    y = tlsclient.Connection(ctx_c, h.port)
    p = tokened("/%s.cfg" % C)
    assert y.get(p).status == (403 if change == "allow" else 200)
    pid_y = served_by(h, p)[0]
    # A's connection on another process of the same generation
    x = None
    for _ in range(30):
        conn = tlsclient.Connection(ctx_a, h.port)
        p = tokened("/%s.cfg" % A)
        assert conn.get(p).status == 200
        if served_by(h, p)[0] != pid_y:
            x = conn
            break
        conn.close()
    assert x is not None, "no second process took a connection"
    # the change, published by X (Y is not asked meanwhile)
    h.list_file(*v2)
    deadline = time.time() + INTERVAL + 4
    while not re.search(r"PP038: list \S+%s reloaded" % v2[0], h.new_log()):
        assert time.time() < deadline, h.new_log()
        time.sleep(0.3)
        assert x.get(tokened("/%s.cfg" % A)).status == 200
    path = tokened("/%s.cfg" % C)
    if held == "in-flight":
        y.send("GET %s HTTP/1.1\r\n" % path)
        time.sleep(0.3)
    two_quick_gracefuls(h)
    if held == "in-flight":
        y.send("Host: localhost\r\n\r\n")
        r = y.response()
        # the request went to Y, two generations old
        assert served_by(h, path)[0] == pid_y
    else:
        try:
            r = y.get(path)
            assert served_by(h, path)[0] == pid_y
        except (ConnectionError, OSError):
            # closed by the server while idle: a new connection
            assert mpm == "event", "prefork closed a kept-alive connection"
            r = tlsclient.Connection(ctx_c, h.port).get(path)
    y.close()
    x.close()
    entry = access_entry(h, path)
    got = (r.status, re.search(r"reason=(\S+)", entry).group(1))
    assert got == want, (got, entry, h.new_log()[-3000:])
    if r.status == 200:
        assert r.body == FILES[C + ".cfg"]
    # and the new generation agrees
    fresh = tlsclient.Connection(ctx_c, h.port)
    assert fresh.get(tokened("/%s.cfg" % C)).status == want[0]
    fresh.close()


# -- a graceful stop ---------------------------------------------------------

@pytest.mark.parametrize("mpm", ["prefork", "event"])
def test_graceful_stop_finishes_requests_in_flight(servers, pki, mpm):
    """`apache2 -k graceful-stop` with a request half sent and another
    connection kept alive and idle: the request in flight gets its right
    answer (A's own file, and B's refused not-owner on the same
    connection if it stays open), the idle connection is answered right or
    closed, a new connection is refused, and httpd exits."""
    h = start(servers, pki, mpm, allow="%s\n%s\n" % (A, B))
    ctx_a = tlsclient.context(pki, "phone-a")
    busy = tlsclient.Connection(ctx_a, h.port)
    idle = tlsclient.Connection(tlsclient.context(pki, "phone-b"), h.port)
    assert busy.get(tokened("/%s.cfg" % A)).status == 200
    assert idle.get(tokened("/%s.cfg" % B)).status == 200
    path = tokened("/%s.cfg" % A)
    busy.send("GET %s HTTP/1.1\r\n" % path)
    time.sleep(0.3)
    parent = h.pid()
    proc = h._run("-k", "graceful-stop")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    time.sleep(1.0)
    busy.send("Host: localhost\r\n\r\n")
    r = busy.response()
    assert (r.status, r.body) == (200, FILES[A + ".cfg"]), r
    try:
        r = busy.get(tokened("/%s.cfg" % B))
        assert r.status == 403 and "secret of B" not in r.body, r
    except (OSError, ConnectionError):
        pass                              # closed after the request
    try:
        r = idle.get(tokened("/%s.cfg" % A))
        assert r.status == 403 and "secret of A" not in r.body, r
    except (OSError, ConnectionError):
        pass                              # closed, unanswered
    with pytest.raises(OSError):
        tlsclient.Connection(ctx_a, h.port, timeout=3).get("/" + SHARED)
    busy.close()
    idle.close()
    deadline = time.time() + 20
    while _alive(parent) and time.time() < deadline:
        time.sleep(0.1)
    assert not _alive(parent), "httpd did not stop"
    h.running = False
    for line in h.access_lines():
        m = re.search(r'" (\d+) mac=(\S+) reason=(\S+)', line)
        assert m and int(m.group(1)) < 500 and m.group(3) not in (
            "internal", "list-unavailable"), line


# -- under load --------------------------------------------------------------

# seconds from the start of the load
T_REMOVE_C = 1.0          # allow list without C (written, renamed)
T_GRACEFUL = 3.5          # two graceful restarts in quick succession
T_ADD_C = 5.5             # C back on the allow list
T_STOP = 9.0              # graceful stop
T_END = 10.0
# a change is in force this long after the rename (+ the requests' time)
WINDOW = INTERVAL + 1 + 0.5

# the requests of the phone whose connection idles across the events
SLOW = [0.2, T_REMOVE_C + 0.7, T_GRACEFUL + 0.7, T_ADD_C + 1.2, T_STOP - 0.3]

PHONES = {"phone-a": A, "phone-b": B, "phone-c": C}
OTHER = {A: B, B: C, C: A}


def c_allowed(t0, t1):
    """Whether C is on the allow list for a request sent at t0 and
    answered at t1; None while a change may or may not be in force."""
    for change in (T_REMOVE_C, T_ADD_C):
        if t1 >= change and t0 <= change + WINDOW:
            return None
    if t1 < T_REMOVE_C:
        return True
    if t1 < T_ADD_C:
        return False
    return True


class Phone(threading.Thread):
    """One phone asking for its file, another's and a shared one, in turn:
    on one kept-alive connection (a new one when the server closes it), or
    on a new connection per request.  With a schedule: only its own file,
    at those times, on one kept-alive connection idle in between."""

    def __init__(self, h, ctx, mac, keepalive, t0, schedule=()):
        super().__init__(daemon=True)
        self.h, self.ctx, self.mac, self.t0 = h, ctx, mac, t0
        self.schedule = list(schedule)
        self.keepalive = keepalive or bool(self.schedule)
        self.answers = []        # (path, what, t_sent, t_answered, response)
        self.errors = []         # (path, t_sent, t_failed, error)
        self.closed_idle = 0     # kept-alive connections the server closed

    def now(self):
        return time.time() - self.t0

    def requests(self):
        if self.schedule:
            for t in self.schedule:
                time.sleep(max(0.0, t - self.now()))
                yield "own", "/%s.cfg" % self.mac
            return
        kinds = itertools.cycle([("own", "/%s.cfg" % self.mac),
                                 ("other", "/%s.cfg" % OTHER[self.mac]),
                                 ("shared", "/" + SHARED)])
        while self.now() < T_END:
            yield next(kinds)
            time.sleep(0.02)

    def ask(self, conn, what, base):
        """One request; the connection to use next (None: a new one)."""
        while True:
            path = tokened(base)
            t_sent = self.now()
            fresh = conn is None
            try:
                if conn is None:
                    conn = tlsclient.Connection(self.ctx, self.h.port,
                                                timeout=15)
                r = conn.get(path)
            except (OSError, ConnectionError) as e:
                if conn is not None:
                    conn.close()
                conn = None
                if not fresh:
                    # a kept-alive connection closed between requests:
                    # HTTP allows it, and the phone asks again
                    self.closed_idle += 1
                    continue
                self.errors.append((path, t_sent, self.now(), e))
                time.sleep(0.05)
                return None
            self.answers.append((path, what, t_sent, self.now(), r))
            if not self.keepalive:
                conn.close()
                conn = None
            return conn

    def run(self):
        conn = None
        for what, base in self.requests():
            conn = self.ask(conn, what, base)
        if conn is not None:
            conn.close()


def right_answer(mac, what, allowed):
    """(status, reason) of the right decision."""
    if allowed is False:
        return 403, "allow-list"
    if what == "other":
        return 403, "not-owner"
    return 200, "-"


@pytest.mark.parametrize("mpm", ["prefork", "event"])
def test_load_through_two_gracefuls_list_changes_and_a_graceful_stop(
        servers, pki, mpm):
    """Three phones, each on a kept-alive connection and on a new
    connection per request, ask for their file, another's and a shared
    one for ten seconds; a fourth connection (phone A) asks only now and
    then and idles in between.  C leaves the allow list, two graceful
    restarts follow in quick succession, C comes back, and a graceful stop
    ends it.  Every answer must be the right decision for the list in
    force (either one within PolyProvReloadInterval + 1 s of a change),
    judged as the phone itself, never a 5xx nor a refusal for a fault;
    a connection may only fail once the graceful stop has begun."""
    h = start(servers, pki, mpm, allow="%s\n%s\n%s\n" % (A, B, C))
    t0 = time.time()
    phones = [Phone(h, tlsclient.context(pki, name), mac, keepalive, t0)
              for name, mac in PHONES.items() for keepalive in (True, False)]
    # and one that holds its kept-alive connection idle from before the
    # list change is published until after the graceful restarts
    phones.append(Phone(h, tlsclient.context(pki, "phone-a"), A, True, t0,
                        schedule=SLOW))
    for p in phones:
        p.start()
    events = {}

    def at(t):
        time.sleep(max(0.0, t0 + t - time.time()))
        return time.time() - t0

    events["remove C"] = at(T_REMOVE_C)
    h.list_file("allow.txt", "%s\n%s\n" % (A, B))
    events["graceful 1"] = at(T_GRACEFUL)
    for n in (1, 2):
        proc = h._run("-k", "graceful")
        assert proc.returncode == 0, proc.stdout + proc.stderr
        events["graceful %d done" % n] = time.time() - t0
    events["add C"] = at(T_ADD_C)
    h.list_file("allow.txt", "%s\n%s\n%s\n" % (A, B, C))
    parent = h.pid()
    events["graceful-stop"] = at(T_STOP)
    proc = h._run("-k", "graceful-stop")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for p in phones:
        p.join(timeout=30)
    deadline = time.time() + 20
    while _alive(parent) and time.time() < deadline:
        time.sleep(0.1)
    assert not _alive(parent), "httpd did not stop gracefully"
    h.running = False
    # the timetable held (a slow machine would blur the phases)
    assert events["graceful 2 done"] < T_ADD_C, events
    assert events["graceful-stop"] < T_STOP + 0.5, events

    reasons = {}
    for line in h.access_lines():
        m = re.search(r'"GET (\S+) HTTP/1.1" (\d+) mac=(\S+) reason=(\S+) '
                      r'(?:\S+=\S+ )*pid=(\d+)', line)
        if m:
            reasons[m.group(1)] = m.groups()[1:]
    wrong, checked_c = [], {True: 0, False: 0}
    for p in phones:
        for path, what, t_sent, t_got, r in p.answers:
            allowed = True if p.mac != C else c_allowed(t_sent, t_got)
            logged = reasons.get(path)
            line = "%6.2f-%6.2f %s %s %s -> %d %s" % (
                t_sent, t_got, p.mac, what, path, r.status, logged)
            if r.status >= 500 or r.status not in (200, 403):
                wrong.append(line + " (status)")
                continue
            if r.status == 200:
                want_body = FILES[SHARED if what == "shared"
                                  else p.mac + ".cfg"]
                if what == "other" or r.body != want_body:
                    wrong.append(line + " (served what it must not)")
                    continue
            if logged is None:
                wrong.append(line + " (not in the access log)")
                continue
            if logged[1] != p.mac:
                wrong.append(line + " (judged as another MAC)")
            if logged[2] in ("internal", "list-unavailable"):
                wrong.append(line + " (refused for a fault)")
                continue
            if allowed is None:
                continue                # either list may be in force
            if p.mac == C:
                checked_c[allowed] += 1
            want = right_answer(p.mac, what, allowed)
            if (r.status, logged[2]) != want:
                wrong.append(line + " (want %s)" % (want,))
        for path, t_sent, t_failed, e in p.errors:
            if t_failed < events["graceful-stop"]:
                wrong.append("%6.2f-%6.2f %s %s -> %r (a new connection "
                             "failed before the graceful stop)"
                             % (t_sent, t_failed, p.mac, path, e))
    answers = [a for p in phones for a in p.answers]
    assert not wrong, "%d of %d answers wrong (events %s):\n%s" % (
        len(wrong), len(answers), events, "\n".join(wrong[:40]))
    # the load ran through every phase, and saw both list versions for C
    assert checked_c[True] >= 5 and checked_c[False] >= 5, checked_c
    for since in ("graceful 2 done", "add C"):
        assert any(t_sent > events[since] for _, _, t_sent, _, _ in answers)
    pids = {reasons[a[0]][3] for a in answers if a[0] in reasons}
    assert len(pids) >= 3, pids
