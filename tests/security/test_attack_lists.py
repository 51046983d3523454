# SPDX-License-Identifier: Apache-2.0
"""Attack class: lists under change.

While phones hammer the server, the allow and deny lists are rewritten in
place (slowly, in chunks), replaced by rename, truncated to zero bytes,
made unreadable, deleted, broken in the middle, and left half-written.
Every version on disk is either the last good list again or broken, and
some are valid prefixes of a good list that lack the denied MAC.  So:

* phone B (on the deny list of every good version, and on the allow
  list) never gets a 200;
* phone C (on the allow list of no good version) never gets a 200;
* phone A (allowed by every good version) always gets its file: the last
  good lists stay in force whatever is on disk.

At the end a valid version frees B and admits C: they must then get their
files, which shows the hammer would have seen a leak."""

import os
import random
import re
import threading
import time

import pytest

from tests.pphttpd import tlsclient
from tests.pphttpd.expect import A, B, C
from tests.pphttpd.fixtures import (FILES, checked, lists_guard, populate,
                                    serve, skip_or_fail)
from tests.pphttpd.sqldb import Sqlite, dbd_server

INTERVAL = 1


def padding(n, seed):
    rnd = random.Random(seed)
    return "".join("00%010x\n" % rnd.getrandbits(40) for _ in range(n))


def deny_version(seed, with_b=True):
    # B last: any prefix of the file is a valid list without B
    return "# deny\n" + padding(20000, seed) + (B + "\n" if with_b else "")


def allow_version(seed, with_c=False):
    return "# allow\n%s\n%s\n" % (A, B) + padding(20000, seed) + (
        C + "\n" if with_c else "")


@pytest.fixture(scope="module")
def server(module, pki):
    def configure(h):
        populate(h)
        h.allow = h.list_file("allow.txt", allow_version(1))
        h.deny = h.list_file("deny.txt", deny_version(2))
        h.write(loglevel="warn polyprov:info",
                vhost=lists_guard(h, pki, INTERVAL, h.allow, h.deny))
    yield from serve(module, pki, configure)


@pytest.fixture
def h(server):
    yield from checked(server)


class Hammer:
    """Threads asking, each on new connections, for their own file."""

    def __init__(self, h, pki, phones):
        self.h, self.stop = h, threading.Event()
        self.seen = {p: [] for p in phones}
        self.ctx = {p: tlsclient.context(pki, p) for p in phones}
        self.threads = [threading.Thread(target=self.run, args=(p,))
                        for p in phones]

    def run(self, phone):
        path = "/%s.cfg" % self.h.manifest[phone]["mac"].lower()
        while not self.stop.is_set():
            ex = tlsclient.exchange(self.ctx[phone], self.h.port, [path])
            self.seen[phone].append(
                (time.time(), ex.statuses[0] if ex.statuses else 0))

    def __enter__(self):
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        for t in self.threads:
            t.join()


def write_in_place(path, text, lines=2000, pause=0.15):
    """An editor or a script that takes its time: truncate, then write
    whole lines, a batch at a time; between batches the file is a valid,
    shorter list (without the MAC that comes last)."""
    rows = text.splitlines(keepends=True)
    with open(path, "r+") as f:
        f.truncate(0)
        f.flush()
        for i in range(0, len(rows), lines):
            f.write("".join(rows[i:i + lines]))
            f.flush()
            time.sleep(pause)


def replace(path, text):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(text)
    os.chmod(tmp, 0o644)
    os.rename(tmp, path)


def settle():
    time.sleep(INTERVAL + 1.3)


def test_lists_under_change_while_phones_hammer(h, pki, manifest):
    h.manifest = manifest
    changes = []

    def step(name, action):
        action()
        settle()
        changes.append(name)

    with Hammer(h, pki, ["phone-a", "phone-b", "phone-c"]) as hammer:
        time.sleep(0.5)
        step("rewrite in place", lambda: (
            write_in_place(h.deny, deny_version(3)),
            write_in_place(h.allow, allow_version(4))))
        step("replace by rename", lambda: (
            replace(h.deny, deny_version(5)),
            replace(h.allow, allow_version(6))))
        step("truncate to zero bytes", lambda: (
            open(h.deny, "w").close(), open(h.allow, "w").close()))
        step("restore", lambda: (replace(h.deny, deny_version(7)),
                                 replace(h.allow, allow_version(8))))
        if os.geteuid() == 0:        # the children run as www-data
            step("unreadable", lambda: (
                os.chmod(h.deny, 0o600), os.chmod(h.allow, 0o600),
                os.utime(h.deny), os.utime(h.allow)))
            step("readable again", lambda: (
                os.chmod(h.deny, 0o644), os.chmod(h.allow, 0o644)))
        step("delete", lambda: (os.unlink(h.deny), os.unlink(h.allow)))
        # broken in the middle: without B, with C, and one bad line
        bad_deny = deny_version(9, with_b=False).replace(
            "\n00", "\nnot-a-mac\n00", 1)
        bad_allow = allow_version(10, with_c=True).replace(
            "\n00", "\n00:04:f2:zz:00:01\n00", 1)
        step("broken mid-file", lambda: (replace(h.deny, bad_deny),
                                         replace(h.allow, bad_allow)))
        # half-written and left so: the last line is cut mid-MAC
        half_deny = deny_version(11, with_b=False)[:-7]
        half_allow = allow_version(12, with_c=True)[:-5]
        step("half-written", lambda: (replace(h.deny, half_deny),
                                      replace(h.allow, half_allow)))
        freed_at = time.time()
        step("valid version freeing B and admitting C", lambda: (
            replace(h.deny, deny_version(13, with_b=False)),
            replace(h.allow, allow_version(14, with_c=True))))
        time.sleep(0.5)

    before = {p: [s for t, s in v if t < freed_at]
              for p, v in hammer.seen.items()}
    after = {p: [s for t, s in v if t > freed_at + INTERVAL + 1.2]
             for p, v in hammer.seen.items()}
    for phone in ("phone-a", "phone-b", "phone-c"):
        assert len(before[phone]) > 50, (phone, len(before[phone]))
    assert set(before["phone-b"]) == {403}, changes
    assert set(before["phone-c"]) == {403}, changes
    assert set(before["phone-a"]) == {200}, changes
    # the test can fail: once a good version frees them, they get in
    assert after["phone-b"] and set(after["phone-b"]) == {200}
    assert after["phone-c"] and set(after["phone-c"]) == {200}
    log = h.new_log()
    for expected in ("empty (0 bytes)", "cannot stat", "not-a-mac",
                     "00:04:f2:zz:00:01"):
        assert expected in log, expected


def test_state_directory_removed_under_the_server(servers, pki):
    """A tmp cleaner removes the module's snapshot directory: the lists in
    force stay in force (their mappings outlive the files), a new version
    cannot be published and says so, and a graceful restart recovers."""
    import glob
    import shutil
    h = servers()
    populate(h)
    allow = h.list_file("allow.txt", "%s\n%s\n" % (A, B))
    deny = h.list_file("deny.txt", "%s\n" % B)
    h.write(loglevel="warn polyprov:info",
            vhost=lists_guard(h, pki, INTERVAL, allow, deny))
    h.start()
    assert h.curl("/%s.cfg" % B, phone="phone-b").status == 403
    state = glob.glob(os.path.join(h.root, "run", "polyprov-*"))
    assert len(state) == 1, state
    h.mark()
    shutil.rmtree(state[0])
    replace(deny, "# nobody denied now\n")
    settle()
    for _ in range(3):
        assert h.curl("/%s.cfg" % B, phone="phone-b").status == 403
        assert h.curl("/%s.cfg" % A, phone="phone-a").status == 200, \
            h.new_log()[-1500:]
    log = h.new_log()
    assert "keeping the last good list" in log, log
    h.graceful()
    r = h.curl("/%s.cfg" % B, phone="phone-b")
    assert r.status == 200 and r.body == FILES[B + ".cfg"], r


def test_a_list_change_applies_to_the_next_request_on_a_connection(servers,
                                                                   pki):
    """The connection keeps the verdict on its certificate, not on the
    lists: a phone denied while its connection is open is refused at its
    next request on it."""
    h = servers()
    populate(h)
    deny = h.list_file("deny.txt", "# nobody\n")
    h.write(loglevel="warn polyprov:info",
            vhost=lists_guard(h, pki, INTERVAL, deny=deny))
    h.start()
    conn = tlsclient.Connection(tlsclient.context(pki, "phone-b"), h.port)
    try:
        assert conn.get("/%s.cfg" % B).status == 200
        replace(deny, "%s\n" % B)
        settle()
        r = conn.get("/%s.cfg" % B)
        assert r.status == 403 and "secret" not in r.body, r
    finally:
        conn.close()
    assert any("reason=deny-list" in l for l in h.refusals())


def sql_server(servers, pki, allow=None, deny=None, rows=(), disabled=()):
    """A server whose lists come from an SQLite inventory (docs/deployment.md, Lists
    from a database)."""
    h = servers()
    populate(h)
    db = Sqlite(h)
    db.set_phones(list(rows), disabled=list(disabled))
    h.write(loglevel="warn polyprov:info", modules=["dbd"],
            server=dbd_server(db),
            vhost=lists_guard(h, pki, INTERVAL, allow=allow, deny=deny))
    h.start()
    return h, db


def test_a_sql_deny_list_applies_to_the_next_request_on_a_connection(
        servers, pki):
    """As for a list file: a phone denied in the database while its
    connection is open is refused at its next request on it."""
    h, db = sql_server(servers, pki, rows=[A, B],
                       deny='dbd "SELECT mac FROM phones WHERE NOT enabled"')
    conn = tlsclient.Connection(tlsclient.context(pki, "phone-b"), h.port)
    try:
        assert conn.get("/%s.cfg" % B).status == 200
        db.set_phones([A], disabled=[B])
        time.sleep(INTERVAL + 1)
        r = conn.get("/%s.cfg" % B)
        assert r.status == 403 and "secret" not in r.body, r
    finally:
        conn.close()
    assert any("reason=deny-list" in l for l in h.refusals())


@pytest.mark.parametrize("query,reason", [
    # no rows: a list of no MACs, which allows nobody
    ("SELECT mac FROM phones WHERE enabled", "allow-list"),
    # only a NULL, or a query that fails: never loaded, refused
    ("SELECT NULL FROM phones", "list-unavailable"),
    ("SELECT mac FROM no_such_table", "list-unavailable"),
])
def test_a_query_returning_nothing_is_not_allow_everyone(servers, pki,
                                                         query, reason):
    h, db = sql_server(servers, pki, allow='dbd "%s"' % query,
                       disabled=[A])
    for phone, mac in (("phone-a", A), ("phone-b", B)):
        r = h.curl("/%s.cfg" % mac, phone=phone)
        assert r.status == 403 and "secret" not in r.body, r
        r = h.curl("/000000000000.cfg", phone=phone)
        assert r.status == 403, r
    assert all("reason=%s " % reason in l for l in h.refusals()), \
        h.refusals()


def test_without_the_background_a_query_runs_at_start_only(servers, pki):
    """No query ever runs in a request: where no background thread reloads
    lists (no mod_watchdog; the fault-injection build has none either), a
    list from a database is read at start and never again, and the log
    says so (PP080)."""
    module = os.environ.get("PP_FAULT_MODULE")
    if not module or not os.path.exists(module):
        skip_or_fail("make faults builds the fault-injection variant "
                     "(PP_FAULT_MODULE)")
    h = servers(module=module)
    populate(h)
    db = Sqlite(h)
    db.set_phones([A, B])
    h.write(loglevel="warn polyprov:info", modules=["dbd"],
            server=dbd_server(db),
            vhost=lists_guard(h, pki, INTERVAL, deny='dbd "SELECT mac FROM '
                              'phones WHERE NOT enabled"'))
    h.expect_log("PP018")
    h.start()
    assert re.search(r"PP080: list dbd:sqlite3 \"SELECT mac FROM phones "
                     r"WHERE NOT enabled\" is queried at start and graceful "
                     r"restart only", h.log_text()), h.log_text()
    assert h.curl("/%s.cfg" % B, phone="phone-b").status == 200
    db.set_phones([A], disabled=[B])
    time.sleep(INTERVAL + 1)
    for i in range(3):
        assert h.curl("/%s.cfg?n=%d" % (B, i), phone="phone-b").status == 200
    h.graceful()
    assert h.curl("/%s.cfg" % B, phone="phone-b").status == 403
