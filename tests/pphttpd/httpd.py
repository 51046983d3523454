# SPDX-License-Identifier: Apache-2.0
"""Drive a real Apache httpd with mod_polyprov, and curl as the phone.

The server gets a generated ServerRoot in a temporary directory, listens on
loopback ports only, and is started and stopped with ``apache2 -k``.  Used
by the integration tests, the demo and the benchmarks.
"""

import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time

HTTPD = os.environ.get("PP_HTTPD") or shutil.which("apache2") or \
    shutil.which("httpd") or "/usr/sbin/apache2"
MODDIR = os.environ.get("PP_MODDIR", "/usr/lib/apache2/modules")

BASE_MODULES = [
    "authz_core", "authz_host", "authn_core", "authn_file", "authz_user",
    "auth_digest", "mime", "alias", "dir", "autoindex", "env", "setenvif",
    "socache_shmcb", "ssl", "include", "rewrite", "negotiation", "dav",
    "dav_fs", "http2", "headers",
]

MPM_CONF = {
    "event": """
StartServers 2
ServerLimit 2
MinSpareThreads 4
MaxSpareThreads 16
ThreadsPerChild 8
MaxRequestWorkers 16
""",
    "worker": """
StartServers 2
ServerLimit 2
MinSpareThreads 4
MaxSpareThreads 16
ThreadsPerChild 8
MaxRequestWorkers 16
""",
    "prefork": """
StartServers 4
MinSpareServers 4
MaxSpareServers 8
ServerLimit 8
MaxRequestWorkers 8
""",
}

# Error-log lines that mean something went wrong, whatever the test.
BAD_LOG = re.compile(
    r"exit signal|Segmentation|AddressSanitizer|LeakSanitizer|"
    r"runtime error:|\[core:(crit|alert|emerg)\]|double free|"
    r"\[polyprov:(emerg|alert|crit)\]|Assertion")


def _alive(pid):
    """True while pid runs.  The daemonised parent is reaped by whatever
    runs as PID 1, which may take a while: a zombie counts as gone."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")


def snapshots_mapped(pid):
    """The list snapshots a process maps: {file name}."""
    try:
        with open("/proc/%d/maps" % pid) as f:
            return {os.path.basename(l.split()[-1]) for l in f
                    if l.rstrip().endswith(".snap")}
    except OSError:
        return set()


def _port_range():
    """Where test servers' ports come from: outside the kernel's ephemeral
    range (net.ipv4.ip_local_port_range), which every client connection
    (curl, the TLS client, another pytest worker's requests) takes its
    local port from; one block of it per pytest-xdist worker.  (low, high)
    exclusive, or None where the ephemeral range leaves no room."""
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            eph_low, eph_high = (int(x) for x in f.read().split())
    except (OSError, ValueError):
        return None
    if eph_low - 10000 >= 2000:
        low, high = 10000, eph_low
    elif 65536 - (eph_high + 1) >= 2000:
        low, high = eph_high + 1, 65536
    else:
        return None
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    count = os.environ.get("PYTEST_XDIST_WORKER_COUNT", "")
    if worker.startswith("gw") and worker[2:].isdigit() and count.isdigit():
        size = (high - low) // max(int(count), 1)
        low += int(worker[2:]) % max(int(count), 1) * size
        high = low + size
    return low, high


_ports = {}


def free_port():
    """A loopback TCP port nothing listens on or is bound to now, for a
    server about to start.  Not one the kernel would hand out to a client
    connection in the meantime: in a parallel run (pytest -n) another
    worker's curl could otherwise take it before httpd binds it."""
    rng = _port_range()
    if rng is None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            return s.getsockname()[1]
    low, high = rng
    if rng not in _ports:
        _ports[rng] = low + (os.getpid() * 7919) % (high - low)
    for _ in range(high - low):
        port = _ports[rng]
        _ports[rng] = low + (port + 1 - low) % (high - low)
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        return port
    raise RuntimeError("no free port in %d-%d" % (low, high - 1))


class Result:
    def __init__(self, status, body, rc, stderr, meta=""):
        self.status, self.body, self.rc = status, body, rc
        self.stderr, self.meta = stderr, meta

    def __repr__(self):
        return "<Result %s rc=%s %r>" % (self.status, self.rc,
                                         self.body[:80])


class Httpd:
    """One throwaway server: ``write()`` a configuration, ``start()``."""

    def __init__(self, module, pki, root=None, mpm="event"):
        self.module = module
        self.pki = pki
        self.root = root or tempfile.mkdtemp(prefix="polyprov-")
        os.chmod(self.root, 0o755)
        self.mpm = mpm
        self.port = free_port()
        self.http_port = free_port()
        self.docroot = os.path.join(self.root, "htdocs")
        self.conf = os.path.join(self.root, "httpd.conf")
        for d in ("htdocs", "logs", "run", "lists", "dav", "cores"):
            os.makedirs(os.path.join(self.root, d), exist_ok=True)
        if os.geteuid() == 0:
            # the child processes run as www-data: they write uploads and
            # must be able to read the lists they reload
            shutil.chown(os.path.join(self.root, "dav"), "www-data",
                         "www-data")
            # core dumps, if the kernel writes any, stay in this root
            shutil.chown(os.path.join(self.root, "cores"), "www-data",
                         "www-data")
            shutil.chown(self.docroot, "www-data", "www-data")
        self.error_log = os.path.join(self.root, "logs", "error.log")
        self.access_log = os.path.join(self.root, "logs", "access.log")
        self._mark = 0
        self._access_want = 0        # lines the requests made so far log
        self.running = False
        self.extra_modules = []
        self.expected_log = []       # regexes of lines a test expects

    # -- files -----------------------------------------------------------
    def pkifile(self, name):
        return os.path.join(self.pki, name)

    def put(self, relpath, content, mode=0o644):
        path = os.path.join(self.docroot, relpath.lstrip("/"))
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w" if isinstance(content, str) else "wb") as f:
            f.write(content)
        os.chmod(path, mode)
        if os.geteuid() == 0:
            shutil.chown(path, "www-data", "www-data")
        return path

    def read(self, relpath):
        with open(os.path.join(self.docroot, relpath.lstrip("/")), "rb") as f:
            return f.read()

    def exists(self, relpath):
        return os.path.exists(os.path.join(self.docroot, relpath.lstrip("/")))

    def list_file(self, name, content):
        path = os.path.join(self.root, "lists", name)
        tmp = path + ".tmp"
        with open(tmp, "w") as f:
            f.write(content)
        os.chmod(tmp, 0o644)
        os.rename(tmp, path)
        return path

    # -- configuration ---------------------------------------------------
    def write(self, vhost="", server="", verify="require", mpm=None,
              modules=(), loglevel="warn polyprov:info", plain_vhost="",
              protocols="h2 http/1.1", vhost_ssl_extra="",
              load_polyprov=True, mpm_conf=None, vhosts=None,
              random_seed="startup builtin"):
        self.mpm = mpm or self.mpm
        mods = list(BASE_MODULES) + list(modules) + self.extra_modules
        lines = ["LoadModule mpm_%s_module %s/mod_mpm_%s.so"
                 % (self.mpm, MODDIR, self.mpm)]
        for m in mods:
            lines.append("LoadModule %s_module %s/mod_%s.so" % (m, MODDIR, m))
        if load_polyprov:
            lines.append("LoadModule polyprov_module %s" % self.module)
        user = ""
        if os.geteuid() == 0:
            user = "User www-data\nGroup www-data\n"
        text = f"""
ServerRoot "{self.root}"
ServerName localhost
{os.linesep.join(lines)}
{user}
PidFile {self.root}/run/httpd.pid
DefaultRuntimeDir {self.root}/run
CoreDumpDirectory {self.root}/cores
Mutex file:{self.root}/run default
ErrorLog {self.error_log}
LogLevel {loglevel}
LogFormat "%h \\"%r\\" %>s mac=%{{POLYPROV_MAC}}e reason=%{{POLYPROV_REASON}}e expired=%{{POLYPROV_CERT_EXPIRED}}e pid=%P" pp
CustomLog {self.access_log} pp
TypesConfig /etc/mime.types
AddType text/plain .cfg .log .ld
Listen 127.0.0.1:{self.port}
Listen 127.0.0.1:{self.http_port}
Timeout 20
GracefulShutdownTimeout 3
KeepAlive On
MaxKeepAliveRequests 1000
{mpm_conf if mpm_conf is not None else MPM_CONF[self.mpm]}
SSLSessionCache shmcb:{self.root}/run/scache(512000)
SSLRandomSeed {random_seed}
DavLockDB {self.root}/dav/lockdb
<Directory />
    AllowOverride None
    Require all denied
</Directory>
{server}
{vhosts if vhosts is not None else self._default_vhosts(
    vhost, verify, protocols, vhost_ssl_extra, plain_vhost)}
"""
        with open(self.conf, "w") as f:
            f.write(text)
        return text

    def _default_vhosts(self, vhost, verify, protocols, vhost_ssl_extra,
                        plain_vhost):
        pki = self.pki
        return f"""
<VirtualHost 127.0.0.1:{self.port}>
    ServerName localhost
    Protocols {protocols}
    SSLEngine on
    SSLCertificateFile {pki}/server.crt
    SSLCertificateKeyFile {pki}/server.key
    SSLCACertificateFile {pki}/ssl-client-ca.pem
    SSLVerifyClient {verify}
    SSLVerifyDepth 5
    {vhost_ssl_extra}
    DocumentRoot {self.docroot}
    <Directory {self.docroot}>
        Require all granted
    </Directory>
{vhost}
</VirtualHost>
<VirtualHost 127.0.0.1:{self.http_port}>
    ServerName localhost
    DocumentRoot {self.docroot}
    <Directory {self.docroot}>
        Require all granted
    </Directory>
{plain_vhost}
</VirtualHost>
"""

    # -- control ---------------------------------------------------------
    def _run(self, *args, env=None):
        e = dict(os.environ)
        e.update(self.sanitizer_env())
        e.update(env or {})
        return subprocess.run([HTTPD, "-f", self.conf] + list(args),
                              capture_output=True, text=True, env=e,
                              timeout=60)

    def configtest(self):
        return self.configtest_with({})

    def configtest_with(self, env):
        p = self._run("-t", env=env)
        return p.returncode, p.stdout + p.stderr

    def pidfile(self):
        return os.path.join(self.root, "run", "httpd.pid")

    def pid(self):
        try:
            with open(self.pidfile()) as f:
                return int(f.read().strip())
        except (OSError, ValueError):
            return None

    def sanitizer_env(self):
        """LD_PRELOAD and options to run an ASan/UBSan build of the module
        in Debian's (uninstrumented) httpd; reports go to logs/asan.*."""
        if not os.environ.get("PP_ASAN"):
            return {}
        libasan = subprocess.run(["gcc", "-print-file-name=libasan.so"],
                                 capture_output=True, text=True).stdout.strip()
        log = os.path.join(self.root, "logs", "asan")
        return {
            "LD_PRELOAD": libasan,
            "ASAN_OPTIONS": "detect_leaks=0:log_path=%s" % log,
            "UBSAN_OPTIONS": "print_stacktrace=1:log_path=%s" % log,
        }

    def sanitizer_reports(self):
        logs = os.path.join(self.root, "logs")
        out = []
        for name in sorted(os.listdir(logs)):
            if name.startswith("asan"):
                with open(os.path.join(logs, name), errors="replace") as f:
                    out.append(f.read())
        return out

    def start(self, env=None):
        assert not self.running
        p = self._run("-k", "start", env=env)
        if p.returncode != 0:
            raise RuntimeError("httpd failed to start:\n%s%s\n%s" % (
                p.stdout, p.stderr, self.log_text()[-3000:]))
        self.running = True
        self._wait_listening()

    def _wait_listening(self, timeout=20, proc=None):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if proc is not None and proc.poll() is not None:
                break                              # it exited instead
            if self.pid():
                try:
                    with socket.create_connection(("127.0.0.1", self.port),
                                                  timeout=0.5):
                        return
                except OSError:
                    pass
            time.sleep(0.05)
        raise RuntimeError("httpd did not come up:\n" + self.log_text())

    @contextlib.contextmanager
    def foreground(self, wrapper=(), timeout=120):
        """httpd -X (one process, not daemonised) under a wrapper such as
        valgrind, for the time of a with block; SIGTERM on leaving it."""
        proc = subprocess.Popen(list(wrapper) + [HTTPD, "-X", "-f", self.conf],
                                stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        try:
            self._wait_listening(timeout, proc)
            yield proc
        finally:
            # every connection closed first: one the server still holds
            # at SIGTERM (a keep-alive or lingering close under valgrind's
            # slow pace) ends with the process, its SSL never freed, and
            # memcheck would call that a leak
            self.wait_connections_closed(timeout=10)
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                proc.kill()

    # the TCP states in which the server may still hold a connection:
    # established, SYN received, closing its side (lingering close), and
    # closed by the client only
    _HELD = {"01", "03", "04", "05", "08"}

    def open_connections(self):
        """How many TCP connections to the server's ports are not yet
        closed by it (/proc/net/tcp: loopback, IPv4)."""
        ports = {"%04X" % p for p in (self.port, self.http_port)}
        n = 0
        try:
            with open("/proc/net/tcp") as f:
                next(f)
                for line in f:
                    fields = line.split()
                    local, state = fields[1], fields[3]
                    if local.rsplit(":", 1)[1] in ports and \
                            state in self._HELD:
                        n += 1
        except (OSError, StopIteration, IndexError):
            return 0
        return n

    def wait_connections_closed(self, timeout=10.0):
        """Until the server holds no connection, for at most timeout
        seconds (then the caller goes on, and whatever it checks sees
        it)."""
        deadline = time.monotonic() + timeout
        while self.open_connections() and time.monotonic() < deadline:
            time.sleep(0.05)

    def stop(self):
        """A graceful stop (SIGWINCH, as `apache2 -k graceful-stop`, by
        signal: `-k` would re-read the configuration and refuse while a list
        file is broken), bounded by GracefulShutdownTimeout.  Not SIGTERM:
        the event MPM's children then die from a signal handler that
        destroys their pools while their threads run, and now and then one
        ends in SIGSEGV inside httpd, which the log check would report
        (seen four times in full runs on a busy machine, each time a child
        killed at stop, one with no connection at all)."""
        if not self.running:
            return
        pid = self.pid()
        if pid:
            try:
                os.kill(pid, signal.SIGWINCH)
            except ProcessLookupError:
                pid = None
        deadline = time.time() + 20
        while pid and time.time() < deadline:
            if not _alive(pid):
                break
            time.sleep(0.02)
        else:
            if pid:
                os.kill(pid, signal.SIGKILL)
        self.running = False

    def graceful(self):
        p = self._run("-k", "graceful")
        assert p.returncode == 0, p.stderr
        time.sleep(1.0)
        self._wait_listening()

    def child_pids(self, at_least=0, timeout=20.0):
        """The parent's children; with at_least, wait (up to timeout
        seconds: under ASan on a busy machine they come slowly) until there
        are that many."""
        deadline = time.time() + timeout
        while True:
            out = subprocess.run(["ps", "-o", "pid=", "--ppid",
                                  str(self.pid())],
                                 capture_output=True, text=True).stdout
            pids = [int(x) for x in out.split()]
            if len(pids) >= at_least or time.time() > deadline:
                return pids
            time.sleep(0.1)

    # -- logs ------------------------------------------------------------
    def log_text(self):
        try:
            with open(self.error_log, errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def mark(self):
        self._mark = len(self.log_text())

    def new_log(self):
        return self.log_text()[self._mark:]

    def refusals(self):
        return [l for l in self.new_log().splitlines() if "PP001:" in l]

    def expect_log(self, regex):
        """A line matching regex is expected, not a failure."""
        self.expected_log.append(re.compile(regex))

    def bad_log_lines(self):
        bad = [l for l in self.new_log().splitlines() if BAD_LOG.search(l)
               and not any(e.search(l) for e in self.expected_log)]
        return bad + self.sanitizer_reports()

    def _access_read(self):
        try:
            with open(self.access_log) as f:
                return f.read().splitlines()
        except OSError:
            return []

    def access_lines(self, timeout=5.0):
        """The access log's lines, once it holds a line for every request
        curl() got an HTTP answer to (httpd logs a request after sending
        its answer: a busy machine may not have written it yet)."""
        deadline = time.monotonic() + timeout
        lines = self._access_read()
        while len(lines) < self._access_want and \
                time.monotonic() < deadline:
            time.sleep(0.02)
            lines = self._access_read()
        return lines

    # -- the phone -------------------------------------------------------
    def url(self, path, tls=True):
        if tls:
            return "https://localhost:%d%s" % (self.port, path)
        return "http://localhost:%d%s" % (self.http_port, path)

    def curl(self, paths, phone=None, method=None, data=None, headers=(),
             http2=False, tls=True, extra=(), cert=None, key=None,
             timeout=20):
        """Request one path, or several on one connection (keep-alive).

        Returns a Result (or a list of them for several paths); status is
        0 when no HTTP response came back (e.g. a refused handshake)."""
        single = isinstance(paths, str)
        paths = [paths] if single else list(paths)
        tmp = tempfile.mkdtemp(prefix="curl-")
        cmd = ["curl", "-sS", "--max-time", str(timeout), "--path-as-is",
               "--resolve", "localhost:%d:127.0.0.1" % self.port,
               "--resolve", "localhost:%d:127.0.0.1" % self.http_port,
               "--cacert", self.pkifile("server-ca.crt")]
        cmd += ["--http2"] if http2 else ["--http1.1"]
        if phone:
            cmd += ["--cert", self.pkifile(phone + ".chain.pem"),
                    "--key", self.pkifile(phone + ".key")]
        if cert:
            cmd += ["--cert", cert, "--key", key]
        if method:
            cmd += ["-X", method]
        if data is not None:
            cmd += ["--data-binary", data]
        for h in headers:
            cmd += ["-H", h]
        cmd += list(extra)
        outs = []
        for i, p in enumerate(paths):
            out = os.path.join(tmp, "body%d" % i)
            outs.append(out)
            cmd += ["-o", out, "-w", "%{http_code} %{num_connects} "
                    "%{http_version} %{url_effective}\\n", self.url(p, tls)]
        logged = len(self._access_read())
        proc = subprocess.run(cmd, capture_output=True, text=True,
                              timeout=timeout + 10)
        # parallel transfers (-Z) report in completion order: match by URL
        urls = [self.url(p, tls) for p in paths]
        metas = [None] * len(paths)
        for line in proc.stdout.splitlines():
            parts = line.split(" ", 3)
            for i, u in enumerate(urls):
                if metas[i] is None and len(parts) == 4 and parts[3] == u:
                    metas[i] = " ".join(parts[:3])
                    break
        results = []
        for i, out in enumerate(outs):
            try:
                with open(out, "rb") as f:
                    body = f.read().decode("utf-8", "replace")
            except OSError:
                body = ""
            meta = metas[i] or "000 0 0"
            status = int(meta.split()[0]) if meta.split() else 0
            results.append(Result(status, body, proc.returncode, proc.stderr,
                                  meta))
        shutil.rmtree(tmp, ignore_errors=True)
        self._access_want = logged + sum(1 for r in results if r.status)
        return results[0] if single else results

    def cleanup(self):
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)
