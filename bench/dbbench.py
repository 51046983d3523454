# SPDX-License-Identifier: Apache-2.0
"""make bench, section 6: lists from a database (docs/deployment.md, Lists from a
database), on a PostgreSQL cluster made with initdb for the run (skipped,
with a message, where PostgreSQL or apr_dbd's pgsql driver is missing):

a. the refresh of a 1,000,000-row inventory: query, fetch through apr_dbd,
   parse, sort and publish, as the server's background does it (its
   PP038 line);
b. a lookup in that list (bench/dblookup.c, the core's pp_listset_lookup
   on the snapshot);
c. keep-alive GETs with the allow list from the database, On against Off
   (ab -k, alternating runs, medians), refreshed every 30 s."""

import glob
import os
import re
import statistics
import subprocess
import time

from bench import bench
from tests.pphttpd import sqldb
from tests.pphttpd.httpd import Httpd

ROWS = 1000000
MAC_A = "0004f2000a01"
QUERY = "SELECT mac FROM phones WHERE enabled"
INTERVAL_C = 30


def available():
    if not sqldb._pg_bin("initdb") or not sqldb._pg_bin("pg_ctl"):
        return "PostgreSQL is not installed (apt install postgresql)"
    if not glob.glob("/usr/lib/*/apr-util-1/apr_dbd_pgsql*.so"):
        return "libaprutil1-dbd-pgsql is not installed"
    return None


def fill(pg, rows):
    pg.sql("TRUNCATE phones",
           "INSERT INTO phones (mac) SELECT '0004' || lpad(to_hex(x), 8, '0')"
           " FROM generate_series(1, %d) x" % (rows - 1),
           "INSERT INTO phones (mac) VALUES ('%s')" % MAC_A, "ANALYZE phones")


def server(pg, on, interval=1):
    h = Httpd(bench.MODULE, bench.PKI)
    h.put(bench.FILE, "x" * 1000)
    lines = "PolyProv On\n        PolyProvTrustedCA %s/polycom-chain.pem\n" \
        "        PolyProvAllowList dbd \"%s\"\n" \
        "        PolyProvReloadInterval %d" % (bench.PKI, QUERY, interval) \
        if on else "PolyProv Off"
    h.write(loglevel="warn polyprov:notice", protocols="http/1.1",
            modules=["dbd"], server=sqldb.dbd_server(pg),
            vhost="<Directory %s>\n        %s\n    </Directory>"
            % (h.docroot, lines))
    return h


def section(q, tmp, pem):
    print("\n6. lists from a database (PostgreSQL %s rows, apr_dbd pgsql; "
          "targets: lookup < 1 us, keep-alive On/Off >= 0.97):" % "{:,}"
          .format(ROWS))
    why = available()
    if why:
        print("    skipped: %s" % why)
        return
    pg = sqldb.Postgres()
    try:
        t0 = time.time()
        fill(pg, ROWS)
        print("    inventory of %d rows made in %.1f s" % (ROWS,
                                                          time.time() - t0))
        # a. the refresh, as the background makes it
        h = server(pg, True)
        try:
            t0 = time.time()
            h.start()
            print("    httpd start with the list queried by the parent: "
                  "%.2f s" % (time.time() - t0))
            times = []
            for i in range(2 if q else 4):
                h.mark()
                pg.sql("UPDATE phones SET enabled = NOT enabled WHERE mac = "
                       "'0004%08x'" % (i + 1))
                line = sqldb.wait_for(
                    lambda: re.search(r"PP038: .* read and published in "
                                      r"([\d.]+) s", h.new_log()), 30)
                if not line:
                    raise RuntimeError("no PP038:\n" + h.new_log())
                times.append(float(line.group(1)))
            print("6a. refresh of %s rows in the background (query, fetch, "
                  "parse, sort, publish; PP038):\n        %s s (median "
                  "%.2f s)" % ("{:,}".format(ROWS),
                               ", ".join("%.2f" % t for t in times),
                               statistics.median(times)))
        finally:
            h.cleanup()
        # b. the lookup, on the core
        rows = os.path.join(tmp, "rows.txt")
        with open(rows, "w") as out:
            out.write(pg.psql("COPY (%s) TO STDOUT" % QUERY))
        out = subprocess.run([os.path.join(bench.TOP, "build", "dblookup"),
                              rows, os.path.join(tmp, "dbstate")],
                             capture_output=True, text=True)
        print("6b. " + bench.textindent(out.stdout + out.stderr).strip())
        # c. keep-alive On/Off with the list from the database
        # at the interval docs/deployment.md advises for such an inventory: each
        # refresh costs a fetch of every row (6a) on one core
        hs = {on: server(pg, on, INTERVAL_C) for on in (False, True)}
        res = {False: [], True: []}
        try:
            for h in hs.values():
                h.start()
            n, runs = (20000, 3) if q else (40000, 7)
            for _ in range(runs):
                for on in (False, True):
                    url = "https://127.0.0.1:%d%s" % (hs[on].port,
                                                     bench.FILE)
                    res[on].append(bench.ab(url, pem, n, True))
        finally:
            for h in hs.values():
                h.cleanup()
        off, on = (statistics.median(res[x]) for x in (False, True))
        print("6c. keep-alive GET (ab -k -c 4, alternating runs, medians; "
              "PolyProvReloadInterval %d):\n        Off %10.1f   On %10.1f   On/Off %.3f  (target >= "
              "0.97)" % (INTERVAL_C, off, on, on / off))
        print("        runs Off %s" % ", ".join("%.0f" % x for x in res[False]))
        print("        runs On  %s" % ", ".join("%.0f" % x for x in res[True]))
    finally:
        pg.remove()
