# SPDX-License-Identifier: Apache-2.0
"""make bench: docs/performance.md's performance targets, measured and printed (never asserted).

1. Keep-alive GETs over mutual TLS, and one new connection (full
   handshake) per GET, with PolyProv On against the same server Off:
   a. httpd's instructions per request under callgrind (httpd -X, one
      process): repeatable whatever else the machine does;
   b. requests per second with ab, alternating Off and On runs, medians:
      what an operator sees, but noisy on a shared two-core machine.
2. Allow lists of 1,000,000 and 10,000,000 MACs (bench/listbench.c).
3. The boot storm (bench/storm.c): a fleet of 10,000 phones, each with a
   certificate of its own, each file on a new TLS handshake; On, Off and
   Poly's <If> recipe:
   a. instructions per request under callgrind, and where the module's
      share goes (mod_ssl's handshake, the module's X509_verify_cert,
      decoding SSL_CLIENT_CERT, the rest);
   b. what the other ways of checking a phone would cost
      (bench/verifybench.c), and the Off/On they would give;
   c. phones per second, alternating rounds, medians and spread: the
      requests interleaved so that no verification is a cache hit, and
      a real storm (each phone's files back to back).
4. p99 latency of a keep-alive load while a 10,000,000-MAC allow list is
   reloaded in the background, against the same load in steady state:
   one run in alternating cycles (a new version at the start of every
   other), percentiles over all requests of each kind, and where the slow
   ones fell (during a parse, just after, elsewhere).
5. Memory: RSS of each httpd process with a 10,000,000-MAC allow list,
   before and after serving 10,000 phones.
6. Lists from a database (bench/dbbench.py): the refresh of a
   1,000,000-row PostgreSQL inventory, a lookup, and keep-alive On/Off
   with that allow list (skipped where PostgreSQL is missing).

    /usr/bin/python3 -m bench.bench [--quick] [--sections 1,2,3,4,5,6]
    (3c alone: --sections 3c)
"""

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, TOP)

from tests.pphttpd.httpd import HTTPD, Httpd  # noqa: E402
from bench import stormbench  # noqa: E402

PKI = os.environ.get("PP_PKI", os.path.join(TOP, "build", "pki"))
MODULE = os.environ.get("PP_MODULE",
                        os.path.join(TOP, "build", "mod_polyprov.so"))
FILE = "/0004f2000a01.cfg"


def combo_pem(tmp):
    """ab -E wants the certificate chain and the key in one file."""
    path = os.path.join(tmp, "phone-a.pem")
    with open(path, "w") as out:
        for name in ("phone-a.chain.pem", "phone-a.key"):
            with open(os.path.join(PKI, name)) as f:
                out.write(f.read())
    return path


def server(on, mpm="event"):
    h = Httpd(MODULE, PKI, mpm=mpm)
    h.put(FILE, "x" * 1000)
    h.write(loglevel="warn", protocols="http/1.1", mpm=mpm, vhost="""
    <Directory {d}>
        PolyProv {on}
        PolyProvTrustedCA {p}/polycom-chain.pem
    </Directory>""".format(d=h.docroot, p=PKI, on="On" if on else "Off"))
    return h


def ab(url, pem, n, keepalive, c=4):
    args = ["ab", "-q", "-n", str(n), "-c", str(c), "-E", pem]
    if keepalive:
        args.append("-k")
    out = subprocess.run(args + [url], capture_output=True, text=True).stdout
    m = re.search(r"Requests per second:\s+([\d.]+)", out)
    non2xx = re.search(r"Non-2xx responses:\s+(\d+)", out)
    if not m or non2xx:
        raise RuntimeError("ab failed:\n" + out)
    return float(m.group(1))


def as_child_user(h):
    """httpd -X started as root would switch users and could not write
    its profile: run it as www-data outright.  Returns the command
    prefix."""
    if os.geteuid() != 0:
        return []
    with open(h.conf) as f:
        conf = f.read().replace("User www-data\nGroup www-data\n", "")
    with open(h.conf, "w") as f:
        f.write(conf)
    subprocess.run(["chown", "-R", "www-data:www-data", h.root], check=True)
    return ["runuser", "-u", "www-data", "--"]


def callgrind_total(on, pem, n, keepalive, tmp):
    """Instructions of a whole httpd -X session under callgrind that serves
    n GETs (keep-alive on one connection, or a connection each)."""
    h = server(on, mpm="prefork")
    if os.geteuid() == 0:
        # httpd -X started as root would switch users and could not write
        # its profile: run it as www-data outright
        with open(h.conf) as f:
            conf = f.read().replace("User www-data\nGroup www-data\n", "")
        with open(h.conf, "w") as f:
            f.write(conf)
        subprocess.run(["chown", "-R", "www-data:www-data", h.root],
                       check=True)
        as_user = ["runuser", "-u", "www-data", "--"]
    else:
        as_user = []
    out = os.path.join(tmp, "cg-%s-%d-%d" % ("on" if on else "off", n,
                                             keepalive))
    try:
        with h.foreground(as_user + ["valgrind", "--tool=callgrind",
                                     "--callgrind-out-file=" + out]):
            time.sleep(2)
            ab("https://127.0.0.1:%d%s" % (h.port, FILE), pem, n, keepalive,
               c=1)
    finally:
        shutil.rmtree(h.root, ignore_errors=True)
    ann = subprocess.run(["callgrind_annotate", out], capture_output=True,
                         text=True).stdout
    m = re.search(r"([\d,]+)\s+(\([\d.]+%\)\s+)?PROGRAM TOTALS", ann)
    if not m:
        raise RuntimeError("no callgrind profile in " + out)
    return int(m.group(1).replace(",", ""))


def callgrind_costs(on, pem, quick, tmp):
    """Instructions per request, as the difference of two sessions that
    differ only in the number of requests: start-up, the first handshake
    and shut-down cancel out."""
    costs = []
    for keepalive, (n1, n2) in ((True, (200, 1200) if quick else (500, 3000)),
                                (False, (20, 60) if quick else (50, 200))):
        i1 = callgrind_total(on, pem, n1, keepalive, tmp)
        i2 = callgrind_total(on, pem, n2, keepalive, tmp)
        costs.append((i2 - i1) / (n2 - n1))
    return costs


def throughput(pem, n, runs, keepalive):
    hs = {on: server(on) for on in (False, True)}
    for h in hs.values():
        h.start()
    res = {False: [], True: []}
    try:
        for _ in range(runs):
            for on in (False, True):
                url = "https://127.0.0.1:%d%s" % (hs[on].port, FILE)
                res[on].append(ab(url, pem, n, keepalive))
    finally:
        for h in hs.values():
            h.cleanup()
    return res


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true",
                    help="fewer requests and runs")
    ap.add_argument("--sections", default="1,2,3,4,5,6",
                    help="which sections to run (default: all)")
    args = ap.parse_args()
    sections = set(args.sections.split(","))
    for tool in ("ab", "valgrind", "callgrind_annotate"):
        if not shutil.which(tool):
            sys.exit("bench needs %s (apt-get install apache2-utils "
                     "valgrind)" % tool)
    tmp = tempfile.mkdtemp(prefix="ppbench-")
    os.chmod(tmp, 0o777)
    pem = combo_pem(tmp)
    q = args.quick
    print("mod_polyprov benchmarks (%s)" % time.strftime("%Y-%m-%d %H:%M"))
    print("httpd: %s; PKI: RSA-4096 CAs, chain root -> policy -> issuing "
          "-> device\n" % subprocess.run([HTTPD, "-v"], capture_output=True,
                                         text=True).stdout.split("\n")[0])
    try:
        if "1" in sections:
            section_one(pem, q, tmp)
        if "2" in sections:
            section_two(q, tmp)
        if "3c" in sections and "3" not in sections:
            stormbench.section_throughput(q)
        if "3" in sections:
            print("\n3. the boot storm (bench/storm.c): %d phones, each "
                  "with a certificate of its own,\n   each file on a new "
                  "TLS handshake" % stormbench.fleet_size())
            per = stormbench.section_callgrind(q, tmp, as_child_user)
            print()
            stormbench.section_alternatives(per, tmp)
            print()
            stormbench.section_throughput(q)
        if "4" in sections:
            print()
            stormbench.section_reload(q, tmp)
        if "5" in sections:
            print()
            stormbench.section_memory(q, tmp)
        if "6" in sections:
            from bench import dbbench
            dbbench.section(q, tmp, pem)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def section_one(pem, q, tmp):
    """1. keep-alive and new-connection GETs, On against Off."""
    print("1a. httpd instructions per request (callgrind, httpd -X):")
    off = callgrind_costs(False, pem, q, tmp)
    on = callgrind_costs(True, pem, q, tmp)
    for i, what in enumerate(("keep-alive GET:",
                              "new connection per GET:")):
        print("    %-28s Off %10.0f   On %10.0f   Off/On %.3f  "
              "(target >= 0.97)" % (what, off[i], on[i], off[i] / on[i]))
    print("\n1b. requests per second (ab -c 4, alternating runs, "
          "medians):")
    for keepalive, n, runs in ((True, 20000 if q else 40000, 3 if q else 7),
                               (False, 600 if q else 1500, 3 if q else 5)):
        res = throughput(pem, n, runs, keepalive)
        off, on = (statistics.median(res[x]) for x in (False, True))
        print("    %-28s Off %10.1f   On %10.1f   On/Off %.3f  "
              "(target >= 0.97)" % (
                  "keep-alive GET:" if keepalive
                  else "new connection per GET:", off, on, on / off))
        print("        runs Off %s" % ", ".join("%.0f" % x
                                                for x in res[False]))
        print("        runs On  %s" % ", ".join("%.0f" % x
                                                for x in res[True]))


def section_two(q, tmp):
    """2. the list figures (bench/listbench.c)."""
    print("\n2. allow lists (bench/listbench.c; targets: load < 1 s, "
          "<= 16 bytes per MAC per process, lookup < 1 us):")
    listbench = os.path.join(TOP, "build", "listbench")
    for count in ((1000000,) if q else (1000000, 10000000)):
        out = subprocess.run([listbench, str(count), tmp],
                             capture_output=True, text=True)
        print(textindent(out.stdout + out.stderr))


def textindent(s):
    return "\n".join("    " + line for line in s.rstrip().splitlines())


if __name__ == "__main__":
    main()
