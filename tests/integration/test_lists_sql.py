# SPDX-License-Identifier: Apache-2.0
"""Lists from a database (docs/deployment.md, Lists from a database): a query through
apr_dbd with mod_dbd's DBDriver and DBDParams, on SQLite and on a
PostgreSQL cluster of the test's own; the same snapshot every process
maps as a list file, refreshed in the background, the last good list kept
through every failure."""

import re
import time

import pytest

from tests.pphttpd.expect import A, B, C, expect_refused
from tests.pphttpd.fixtures import lists_guard, populate
from tests.pphttpd.httpd import snapshots_mapped
from tests.pphttpd.sqldb import (Postgres, Sqlite, causes, dbd_server,
                                 wait_for)

INTERVAL = 1
ALLOW = 'dbd "SELECT mac FROM phones WHERE enabled"'


@pytest.fixture(scope="module")
def pg():
    db = Postgres()
    yield db
    db.remove()


@pytest.fixture(params=["sqlite3", "pgsql"])
def db(request, servers):
    """A fresh inventory of either kind, and a server to use it."""
    h = servers()
    populate(h)
    if request.param == "sqlite3":
        d = Sqlite(h)
    else:
        d = request.getfixturevalue("pg")
        if not d.running:
            d.start()
        d.sql("DROP TABLE IF EXISTS phones2", "DELETE FROM phones")
    d.h = h
    return d


def start(h, db, pki, mpm="event", allow=ALLOW, deny=None,
          interval=INTERVAL, server=""):
    h.write(mpm=mpm, modules=["dbd"], server=dbd_server(db, server),
            vhost=lists_guard(h, pki, interval, allow=allow, deny=deny))
    h.start()


def status(h, mac, phone):
    return h.curl("/%s.cfg" % mac, phone=phone).status


def log_lines(h, needle):
    return [l for l in h.new_log().splitlines() if needle in l]


# both databases and both kinds of MPM, in two runs
@pytest.mark.parametrize("db,mpm", [("sqlite3", "prefork"),
                                    ("pgsql", "event")], indirect=["db"])
def test_adds_and_removals_reach_every_process(db, pki, mpm):
    h = db.h
    db.set_phones([A, "00:04:F2:00:0B:02"], disabled=[C])
    start(h, db, pki, mpm=mpm)
    assert status(h, A, "phone-a") == 200
    assert status(h, B, "phone-b") == 200        # another notation
    expect_refused(h, h.curl("/%s.cfg" % C, phone="phone-c"), "allow-list",
                   "/%s.cfg" % C)
    children = h.child_pids(at_least=2)
    assert len(children) >= 2, children
    assert all(any(s.endswith("-0-1.snap") for s in snapshots_mapped(p))
               for p in children)
    h.mark()
    changed = time.time()
    db.set_phones(["0004.f200.0c03", "  %s " % B], disabled=[A])

    def everyone_maps_v2():
        return all(any(s.endswith("-0-2.snap") for s in snapshots_mapped(p))
                   for p in children)
    # within the interval plus a second, with no request meanwhile, idle
    # processes included
    assert wait_for(everyone_maps_v2, INTERVAL + 1), \
        {p: snapshots_mapped(p) for p in children}
    assert time.time() - changed <= INTERVAL + 1.5
    reloads = log_lines(h, "PP038")
    assert len(reloads) == 1, reloads                 # one process queried
    assert re.search(r'PP038: list dbd:%s "SELECT mac FROM phones WHERE '
                     r'enabled" reloaded: 2 MACs \(version 2\); read and '
                     r'published in [\d.]+ s in the background'
                     % db.driver, reloads[0]), reloads
    assert status(h, C, "phone-c") == 200
    assert status(h, B, "phone-b") == 200
    assert status(h, A, "phone-a") == 403
    # the same result again is no new version
    time.sleep(INTERVAL + 0.5)
    assert len(log_lines(h, "PP038")) == 1


def test_bad_row_and_failing_query_keep_the_last_good_list(db, pki):
    h = db.h
    db.sql("CREATE TABLE phones2 (mac TEXT)")
    db.sql("INSERT INTO phones2 VALUES ('%s')" % C)
    db.set_phones([A, B])
    start(h, db, pki, deny='dbd "SELECT mac FROM phones2"')
    assert status(h, A, "phone-a") == 200
    assert status(h, C, "phone-c") == 403
    h.mark()
    # a row that is no MAC: logged once with the row, the last good list
    # stays (B still allowed, C still not)
    db.set_phones([A, "not-a-mac"])
    lines = wait_for(lambda: log_lines(h, "'not-a-mac'"), INTERVAL + 2)
    assert lines, h.new_log()
    assert "PP082" in lines[0] and "row 2: 'not-a-mac' is not a MAC" \
        in lines[0] and "keeping the last good list (2 MACs)" in lines[0], \
        lines
    assert status(h, B, "phone-b") == 200
    time.sleep(INTERVAL + 0.5)
    assert len(log_lines(h, "'not-a-mac'")) == 1
    # a failing query (the deny list's table is gone): the deny list stays
    db.sql("DROP TABLE phones2")
    lines = wait_for(lambda: log_lines(h, "PP081"), INTERVAL + 2)
    assert lines and "phones2" in lines[0] and \
        "keeping the last good list (1 MACs)" in lines[0], h.new_log()
    assert status(h, C, "phone-c") == 403
    time.sleep(INTERVAL + 0.5)
    assert len(log_lines(h, "PP081")) == 1
    # both fixed: the allow list changed (PP038), the deny list did not
    # (PP083)
    db.set_phones([A])
    db.sql("CREATE TABLE phones2 (mac TEXT)",
           "INSERT INTO phones2 VALUES ('%s')" % C)
    assert wait_for(lambda: log_lines(h, "PP083"), INTERVAL + 2), h.new_log()
    assert wait_for(lambda: log_lines(h, "PP038"), INTERVAL + 2), h.new_log()
    assert status(h, B, "phone-b") == 403
    assert status(h, A, "phone-a") == 200


def test_a_query_returning_nothing_allows_nobody(db, pki):
    h = db.h
    db.set_phones([], disabled=[A])
    start(h, db, pki)
    expect_refused(h, h.curl("/%s.cfg" % A, phone="phone-a"), "allow-list",
                   "/%s.cfg" % A)
    assert status(h, B, "phone-b") == 403


def test_database_stopped_and_restarted(pg, servers, pki):
    h = servers(mpm="prefork")
    populate(h)
    if not pg.running:
        pg.start()
    pg.set_phones([A, B])
    start(h, pg, pki, mpm="prefork")
    assert status(h, B, "phone-b") == 200
    h.mark()
    pg.stop()
    lines = wait_for(lambda: log_lines(h, "PP081"), INTERVAL + 2)
    assert lines and "cannot connect to the database" in lines[0], \
        h.new_log()
    for i in range(5):
        assert status(h, B, "phone-b") == 200          # the last good list
    time.sleep(INTERVAL + 0.5)
    # once per cause (going down, then down: a few causes at most)
    assert 1 <= len(causes(h.new_log())) <= 3, h.new_log()
    pg.start()
    pg.set_phones([A, C])
    assert wait_for(lambda: status(h, C, "phone-c") == 200, INTERVAL + 3)
    assert status(h, B, "phone-b") == 403
    h.expect_log(r"PP081")


def test_database_down_at_start_fails_closed(pg, servers, pki):
    h = servers()
    populate(h)
    if not pg.running:
        pg.start()
    pg.set_phones([A])
    pg.stop()
    h.write(modules=["dbd"], server=dbd_server(pg),
            vhost=lists_guard(h, pki, INTERVAL, allow=ALLOW))
    rc, out = h.configtest()
    assert rc == 0, out                   # configtest is not the database's
    h.expect_log(r"PP031|PP081|PP032|dbd:error|AH00633|AH00629")
    h.start()
    log = h.log_text()
    assert re.search(r"PP031: PolyProvAllowList at .*httpd.conf:\d+: cannot "
                     r"connect to the database \(DBDriver pgsql\): .*"
                     r"list-unavailable", log), log
    expect_refused(h, h.curl("/%s.cfg" % A, phone="phone-a"),
                   "list-unavailable", "/%s.cfg" % A)
    h.mark()
    pg.start()
    assert wait_for(lambda: status(h, A, "phone-a") == 200, INTERVAL + 3)
    assert log_lines(h, "PP033")
    # a graceful restart with the database down keeps the last good list
    pg.stop()
    h.mark()
    h.graceful()
    assert re.search(r"PP030: PolyProvAllowList at .*cannot connect to the "
                     r"database.*keeping the last good version", h.new_log()), \
        h.new_log()
    assert status(h, A, "phone-a") == 200
    assert status(h, C, "phone-c") == 403
    h.expect_log(r"PP030")


def test_a_slow_query_times_out_and_keeps_the_last_good_list(pg, servers,
                                                             pki):
    h = servers()
    populate(h)
    if not pg.running:
        pg.start()
    pg.set_phones([A])
    pg.sql("DROP TABLE IF EXISTS delay", "CREATE TABLE delay (s FLOAT)",
           "INSERT INTO delay VALUES (0)")
    h.write(modules=["dbd"], server='DBDriver pgsql\nDBDParams "%s '
            "options='-c statement_timeout=500'\"" % pg.params,
            vhost=lists_guard(h, pki, INTERVAL, allow='dbd "SELECT mac FROM '
                              'phones, (SELECT pg_sleep(s) FROM delay) d '
                              'WHERE enabled"'))
    h.start()
    assert status(h, A, "phone-a") == 200
    h.mark()
    pg.sql("UPDATE delay SET s = 3", "DELETE FROM phones")
    lines = wait_for(lambda: log_lines(h, "PP081"), INTERVAL + 4)
    assert lines and "statement timeout" in lines[0], h.new_log()
    assert status(h, A, "phone-a") == 200
    h.expect_log(r"PP081")


def test_configtest_checks_the_directive(servers, pki):
    h = servers()
    populate(h)
    Sqlite(h)

    def configtest(server, arg):
        h.write(modules=["dbd"], server=server,
                vhost=lists_guard(h, pki, 1, allow=arg))
        return h.configtest()

    rc, out = configtest("", ALLOW)
    assert rc != 0 and "PP004: PolyProvAllowList: dbd needs mod_dbd's " \
        "DBDriver" in out and "httpd.conf" in out, out
    # mod_dbd itself refuses a driver apr_dbd cannot load
    rc, out = configtest("DBDriver nosuchdb\n", ALLOW)
    assert rc != 0 and "Can't load driver file apr_dbd_nosuchdb.so" in out, \
        out
    rc, out = configtest("DBDriver sqlite3\n", 'sql "SELECT mac"')
    assert rc != 0 and "'sql': a second argument is a query, after the " \
        "word dbd" in out, out
    rc, out = configtest("DBDriver sqlite3\n", 'a.txt "SELECT mac" "v"')
    assert rc != 0 and "takes a file, or dbd" in out, out
    rc, out = configtest("DBDriver sqlite3\n", 'dbd ""')
    assert rc != 0 and "dbd needs a query" in out, out
    # in a virtual host: its own DBDriver and DBDParams win over the main
    # server's
    db = Sqlite(h, "vhost.db")
    db.set_phones([A])
    h.write(modules=["dbd"], server='DBDriver pgsql\nDBDParams "host=/nonexistent"\n',
            vhost="DBDriver sqlite3\nDBDParams %s\n%s" % (
                db.path, lists_guard(h, pki, 1, allow=ALLOW)))
    rc, out = h.configtest()
    assert rc == 0, out
    h.start()
    assert status(h, A, "phone-a") == 200
    assert status(h, B, "phone-b") == 403
    assert 'dbd:sqlite3 "SELECT mac' in h.log_text()


@pytest.mark.parametrize("db", ["pgsql"], indirect=True)
def test_a_version_query_spares_the_list_query(db, pki):
    """With a change check, the list is queried only when the version
    query's answer changes: a change of the rows alone is not seen, the
    version's is."""
    h = db.h
    db.sql("CREATE TABLE inventory_version (v INTEGER)",
           "INSERT INTO inventory_version VALUES (1)")
    db.set_phones([A])
    start(h, db, pki, allow=ALLOW + ' "SELECT v FROM inventory_version"')
    assert status(h, A, "phone-a") == 200
    h.mark()
    db.set_phones([B])
    time.sleep(INTERVAL + 1)
    assert status(h, A, "phone-a") == 200         # not queried again
    assert not log_lines(h, "PP038")
    db.sql("UPDATE inventory_version SET v = 2")
    assert wait_for(lambda: log_lines(h, "PP038"), INTERVAL + 1.5), \
        h.new_log()
    assert status(h, B, "phone-b") == 200
    assert status(h, A, "phone-a") == 403
    # a failing version query is a failing refresh
    db.sql("DROP TABLE inventory_version")
    lines = wait_for(lambda: log_lines(h, "PP081"), INTERVAL + 2)
    assert lines and "the version query failed" in lines[0], h.new_log()
    assert status(h, B, "phone-b") == 200
