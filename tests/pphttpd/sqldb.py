# SPDX-License-Identifier: Apache-2.0
"""Throwaway inventories for the lists from a database (docs/deployment.md, Lists
from a database): an SQLite file, and a PostgreSQL cluster made with
initdb in a temporary directory, on a Unix socket there, removed after."""

import glob
import os
import pwd
import shutil
import sqlite3
import subprocess
import tempfile
import time

from tests.pphttpd.fixtures import skip_or_fail
from tests.pphttpd.httpd import free_port

SCHEMA = ("CREATE TABLE phones (mac TEXT, enabled BOOLEAN NOT NULL "
          "DEFAULT TRUE)")


class Sqlite:
    """An SQLite inventory next to a server's lists; the children (User)
    read it."""

    driver = "sqlite3"

    def __init__(self, h, name="inventory.db"):
        if not glob.glob("/usr/lib/*/apr-util-1/apr_dbd_sqlite3*.so"):
            skip_or_fail("libaprutil1-dbd-sqlite3 is not installed")
        self.path = os.path.join(h.root, "lists", name)
        self.sql(SCHEMA)
        os.chmod(self.path, 0o644)

    @property
    def params(self):
        return self.path

    def sql(self, *statements):
        con = sqlite3.connect(self.path, timeout=10)
        try:
            for s in statements:
                if isinstance(s, tuple):
                    con.execute(*s)
                else:
                    con.execute(s)
            con.commit()
        finally:
            con.close()

    def set_phones(self, macs, disabled=()):
        rows = [(m, 1) for m in macs] + [(m, 0) for m in disabled]
        self.sql("DELETE FROM phones",
                 *[("INSERT INTO phones VALUES (?, ?)", r) for r in rows])

    def stop(self):
        """"The database is down": the file goes away (unreadable)."""
        os.rename(self.path, self.path + ".away")

    def start(self):
        os.rename(self.path + ".away", self.path)


def _pg_bin(name):
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/" + name))
    return found[-1] if found else shutil.which(name)


class Postgres:
    """A PostgreSQL cluster of its own: initdb in a temporary directory,
    listening on a Unix socket in it (no TCP), trust authentication, run
    as the postgres user when the tests run as root (initdb refuses root).
    """

    driver = "pgsql"

    def __init__(self, tcp=False):
        if not _pg_bin("initdb") or not _pg_bin("pg_ctl"):
            skip_or_fail("PostgreSQL is not installed (apt install "
                         "postgresql)")
        if not glob.glob("/usr/lib/*/apr-util-1/apr_dbd_pgsql*.so"):
            skip_or_fail("libaprutil1-dbd-pgsql is not installed")
        self.user = None
        if os.geteuid() == 0:
            try:
                pwd.getpwnam("postgres")
            except KeyError:
                skip_or_fail("no postgres user to run initdb as")
            self.user = "postgres"
        self.dir = tempfile.mkdtemp(prefix="polyprov-pg-")
        os.chmod(self.dir, 0o755)    # the socket, for httpd's children
        self.data = os.path.join(self.dir, "data")
        self.log = os.path.join(self.dir, "postgres.log")
        self.port = free_port()
        self.tcp = tcp
        if self.user:
            shutil.chown(self.dir, self.user, self.user)
        self._as(_pg_bin("initdb"), "-D", self.data, "-A", "trust",
                 "-U", "postgres", "--no-sync", "-E", "UTF8")
        self.running = False
        self.start()
        self.psql(SCHEMA)

    def _as(self, *cmd, check=True, timeout=120):
        cmd = list(cmd)
        if self.user:
            cmd = ["runuser", "-u", self.user, "--"] + cmd
        p = subprocess.run(cmd, capture_output=True, text=True,
                           timeout=timeout, cwd=self.dir)
        if check and p.returncode != 0:
            raise RuntimeError("%s: %s%s" % (cmd, p.stdout, p.stderr))
        return p

    @property
    def params(self):
        host = "127.0.0.1" if self.tcp else self.dir
        return ("host=%s port=%d user=postgres dbname=postgres "
                "connect_timeout=2" % (host, self.port))

    def start(self):
        opts = "-k %s -p %d -c listen_addresses=%s -c fsync=off" % (
            self.dir, self.port, "127.0.0.1" if self.tcp else "''")
        self._as(_pg_bin("pg_ctl"), "-D", self.data, "-l", self.log,
                 "-o", opts, "-w", "-t", "60", "start")
        self.running = True

    def stop(self):
        self._as(_pg_bin("pg_ctl"), "-D", self.data, "-m", "fast", "-w",
                 "stop")
        self.running = False

    def psql(self, *statements, stdin=None):
        args = [_pg_bin("psql") or "psql", "-X", "-q", "-v",
                "ON_ERROR_STOP=1", "-h", self.dir, "-p", str(self.port),
                "-U", "postgres", "-d", "postgres"]
        for s in statements:
            args += ["-c", s]
        cmd = args if not self.user else \
            ["runuser", "-u", self.user, "--"] + args
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=300,
                           input=stdin, cwd=self.dir)
        if p.returncode != 0:
            raise RuntimeError("psql: %s%s" % (p.stdout, p.stderr))
        return p.stdout

    def set_phones(self, macs, disabled=()):
        rows = ["('%s', true)" % m for m in macs] + \
               ["('%s', false)" % m for m in disabled]
        stmts = ["BEGIN", "DELETE FROM phones"]
        if rows:
            stmts.append("INSERT INTO phones VALUES " + ", ".join(rows))
        stmts.append("COMMIT")
        self.psql(*stmts)

    def sql(self, *statements):
        self.psql(*statements)

    def remove(self):
        if self.running:
            try:
                self.stop()
            except Exception:
                pass
        shutil.rmtree(self.dir, ignore_errors=True)


def dbd_server(db, extra=""):
    """The server-level lines: mod_dbd's driver and parameters."""
    return 'DBDriver %s\nDBDParams "%s"\nDBDPersist Off\n%s' % (
        db.driver, db.params, extra)


def wait_for(cond, timeout, step=0.05):
    deadline = time.time() + timeout
    while time.time() < deadline:
        got = cond()
        if got:
            return got
        time.sleep(step)
    return cond()


def causes(log, tag="PP081"):
    """The messages of tag in an error log, in order: each cause once (a
    database going down may say "shutting down", then "no such file")."""
    import re
    found = re.findall(r"%s: (.*?); keeping" % tag, log)
    assert len(found) == len(set(found)), found
    return found
