# SPDX-License-Identifier: Apache-2.0
"""make bench, sections 3 to 5: the boot storm against a real httpd.

The load comes from bench/storm.c (build/storm) with the fleet of
build/fleet (10,000 phones of the test PKI sharing one key pair).  Every
figure is printed, none is asserted.  On a shared machine the wall-clock
figures vary from run to run: each comparison alternates its runs and
prints every run besides the medians; the instruction counts (callgrind)
do not depend on the machine's load."""

import json
import os
import re
import shutil
import statistics
import subprocess
import tempfile
import threading
import time

from tests.pphttpd.httpd import Httpd

TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
PKI = os.environ.get("PP_PKI", os.path.join(TOP, "build", "pki"))
MODULE = os.environ.get("PP_MODULE",
                        os.path.join(TOP, "build", "mod_polyprov.so"))
STORM = os.environ.get("PP_STORM", os.path.join(TOP, "build", "storm"))
FLEET = os.environ.get("PP_FLEET", os.path.join(TOP, "build", "fleet"))

KINDS = ("off", "on", "recipe")
NAMES = {"off": "PolyProv Off", "on": "PolyProv On",
         "recipe": "Poly's <If>"}
FIRMWARE_KB = 2048
CONCURRENCY = 8
STEPS = 5

# the storm's server: event, two processes of 16 threads (the test
# harness's shape, wider), no keep-alive limit for the keep-alive load
STORM_MPM = """
StartServers 2
ServerLimit 2
MinSpareThreads 8
MaxSpareThreads 32
ThreadsPerChild 16
MaxRequestWorkers 32
"""


def fleet_size():
    with open(os.path.join(FLEET, "macs.txt")) as f:
        return sum(1 for line in f if not line.startswith("#"))


def vhost(kind, docroot, allow=None, interval=None):
    if kind == "recipe":
        # Poly's recipe (tests/demo.py), with the shared files granted:
        # the recipe alone refuses them, and the phones need them
        return """
    <Directory {d}>
        Dav On
        <If "%{{REQUEST_URI}} -strcmatch '*%{{SSL_CLIENT_S_DN_CN}}*' || %{{REQUEST_URI}} in {{'/000000000000.cfg', '/3111-40250-001.sip.ld'}}">
            Require all granted
        </If>
        <Else>
            Require all denied
        </Else>
    </Directory>""".format(d=docroot)
    lines = ["Dav On", "PolyProv %s" % ("On" if kind == "on" else "Off"),
             "PolyProvTrustedCA %s/polycom-chain.pem" % PKI]
    if allow:
        lines.append("PolyProvAllowList %s" % allow)
    if interval is not None:
        lines.append("PolyProvReloadInterval %d" % interval)
    return "\n    <Directory %s>\n        %s\n    </Directory>" % (
        docroot, "\n        ".join(lines))


def populate(h, firmware_kb=FIRMWARE_KB, count=0):
    subprocess.run([STORM, "populate", "--fleet", FLEET, "--docroot",
                    h.docroot, "--firmware-kb", str(firmware_kb), "--count",
                    str(count)], check=True, capture_output=True)


def server(kind, mpm="event", allow=None, interval=None,
           firmware_kb=FIRMWARE_KB, mpm_conf=STORM_MPM, loglevel="warn",
           start=True, runtime_dir=None):
    h = Httpd(MODULE, PKI, mpm=mpm)
    populate(h, firmware_kb)
    extra = "MaxKeepAliveRequests 0\n"
    if runtime_dir:
        # where the list snapshots go: tmpfs, as /run/apache2 on Debian
        extra += "DefaultRuntimeDir %s\n" % runtime_dir
    h.write(loglevel=loglevel, protocols="http/1.1", mpm=mpm,
            mpm_conf=mpm_conf if mpm != "prefork" else None,
            server=extra, vhost=vhost(kind, h.docroot, allow, interval))
    if start:
        h.start()
    return h


def storm(h, *args, firmware_kb=FIRMWARE_KB, command="run"):
    p = subprocess.run([STORM, command, "--fleet", FLEET, "--port",
                        str(h.port), "--json", "--firmware-kb",
                        str(firmware_kb)] + [str(a) for a in args],
                       capture_output=True, text=True, timeout=3600)
    try:
        out = json.loads(p.stdout)
    except ValueError:
        raise RuntimeError("storm failed: %s%s" % (p.stdout, p.stderr))
    if out["errors"]:
        print("        (storm errors: %d, e.g. %s)" % (
            out["errors"], "; ".join(out["error_samples"][:2])))
    return out


def spread(xs, fmt="%.1f"):
    return "median %s, from %s to %s, runs %s" % (
        fmt % statistics.median(xs), fmt % min(xs), fmt % max(xs),
        ", ".join(fmt % x for x in xs))


def shm_dir():
    """A directory on tmpfs for the list snapshots (Debian's
    DefaultRuntimeDir, /run/apache2, is one), writable by the children."""
    d = tempfile.mkdtemp(prefix="ppbench-run-", dir="/dev/shm")
    os.chmod(d, 0o755)
    if os.geteuid() == 0:
        shutil.chown(d, "www-data", "www-data")
    return d


def server_cpu(h):
    """CPU seconds httpd has used so far: the parent, its children, and
    children that exited (the parent's cutime and cstime)."""
    tck = os.sysconf("SC_CLK_TCK")
    total = 0
    parent = h.pid()
    for pid in [parent] + h.child_pids():
        try:
            with open("/proc/%d/stat" % pid) as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        # utime, stime (fields 14, 15), and for the parent cutime, cstime
        total += int(fields[11]) + int(fields[12])
        if pid == parent:
            total += int(fields[13]) + int(fields[14])
    return total / float(tck)


def load_average():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


# ---------------------------------------------------------------------------
# 3a. instructions under callgrind, and where they go

def callgrind_profile(kind, n, tmp, as_child_user, order="interleaved"):
    """Instructions of an httpd -X session under callgrind that serves the
    first n requests of the storm: interleaved (each a new phone: no
    verification is a cache hit in a single process's 1,024), or with each
    phone's five files back to back (n / 5 phones)."""
    h = server(kind, mpm="prefork", start=False)
    prefix = as_child_user(h)
    out = os.path.join(tmp, "cg-storm-%s-%s-%d" % (kind, order, n))
    count = n if order == "interleaved" else n // STEPS
    try:
        with h.foreground(prefix + ["valgrind", "--tool=callgrind",
                                    "--callgrind-out-file=" + out],
                          timeout=600):
            time.sleep(2)
            r = storm(h, "--order", order, "--count", count,
                      "--concurrency", 1, "--duration", 3000)
            if r["requests_ok"] != n:
                raise RuntimeError("storm under callgrind: %r" % r)
    finally:
        shutil.rmtree(h.root, ignore_errors=True)
    return out


def callgrind_functions(path):
    """{function: (inclusive Ir, {caller: Ir})} and the program total."""
    text = subprocess.run(["callgrind_annotate", "--inclusive=yes",
                           "--tree=caller", "--threshold=100", path],
                          capture_output=True, text=True).stdout
    total = int(re.search(r"([\d,]+)\s+(\([\d.]+%\)\s+)?PROGRAM TOTALS",
                          text).group(1).replace(",", ""))
    funcs, callers = {}, {}
    line_re = re.compile(r"^\s*([\d,]+) \(\s*[\d.]+%\)\s+([<*])\s+(\S+)")
    for line in text.splitlines():
        m = line_re.match(line)
        if not m:
            if not line.strip():
                callers = {}
            continue
        cost = int(m.group(1).replace(",", ""))
        name = m.group(3).split(":", 1)[-1]
        if m.group(2) == "<":
            callers[name] = callers.get(name, 0) + cost
        else:
            funcs[name] = (max(cost, funcs.get(name, (0, {}))[0]), callers)
            callers = {}
    return total, funcs


MODULE_VERIFY = ("verify", "verify_and_keep", "pp_cert_examine_x509",
                 "pp_cert_examine_pem")


def where(path):
    """The storm's costs in one profile (Ir): total, mod_ssl's handshake,
    its chain verification, and the module's parts."""
    total, f = callgrind_functions(path)

    def incl(name):
        return f.get(name, (0, {}))[0]

    def from_callers(name, names, invert=False):
        callers = f.get(name, (0, {}))[1]
        return sum(c for k, c in callers.items()
                   if (k in names) != invert)
    return {
        "total": total,
        "handshake": incl("SSL_do_handshake"),
        "ssl_verify": from_callers("X509_verify_cert", MODULE_VERIFY,
                                   invert=True),
        "ssl_client_cert": incl("ap_ssl_var_lookup"),
        "examine": incl("pp_cert_examine_x509") + incl("pp_cert_examine_pem"),
        "pp_verify": from_callers("X509_verify_cert", MODULE_VERIFY),
        "pp_d2i": from_callers("d2i_X509", MODULE_VERIFY),
    }


def section_callgrind(quick, tmp, as_child_user):
    n1, n2 = (10, 30) if quick else (25, 100)
    print("3a. the storm in instructions (callgrind, httpd -X, prefork): "
          "requests %d to %d of the\n    interleaved storm, each a new TLS "
          "handshake of a phone not verified before;\n    per request, "
          "as the difference of two sessions:" % (n1, n2))
    per = {}
    for kind in KINDS:
        a, b = (where(callgrind_profile(kind, n, tmp, as_child_user))
                for n in (n1, n2))
        per[kind] = {k: (b[k] - a[k]) / (n2 - n1) for k in a}
    off, on = per["off"]["total"], per["on"]["total"]
    for kind in KINDS:
        print("    %-14s %12.0f instructions per request" % (
            NAMES[kind], per[kind]["total"]))
    print("    Off/On %.3f (target >= 0.99); Off/<If> %.3f" % (
        off / on, off / per["recipe"]["total"]))
    b2b = {}
    for kind in ("off", "on"):
        a, b = (where(callgrind_profile(kind, n, tmp, as_child_user,
                                        order="phones"))
                for n in (n1, n2))
        b2b[kind] = (b["total"] - a["total"]) / (n2 - n1)
    print("    each phone's five files back to back: Off %.0f, On %.0f "
          "instructions per request,\n    Off/On %.3f" % (
              b2b["off"], b2b["on"], b2b["off"] / b2b["on"]))
    o, p = per["on"], per["off"]
    extra = on - off
    rows = [
        ("mod_ssl's handshake (SSL_do_handshake), On", o["handshake"]),
        ("  of which its verification of the chain", o["ssl_verify"]),
        ("the module's extra instructions (On - Off)", extra),
        ("  SSL_CLIENT_CERT: mod_ssl writes the PEM", o["ssl_client_cert"]),
        ("  the module's certificate check, all of it", o["examine"]),
        ("    X509_verify_cert (a full verification)", o["pp_verify"]),
        ("    d2i_X509 (a PEM's DER to an X509)", o["pp_d2i"]),
        ("    the rest: SHA-256, cache, CN, the handshake's chain",
         o["examine"] - o["pp_verify"] - o["pp_d2i"]),
        ("  the rest of the module (decision, guards)",
         extra - o["examine"] - o["ssl_client_cert"]),
    ]
    print("    where a request's instructions go, On (Off's handshake: "
          "%.0f):" % p["handshake"])
    for what, v in rows:
        print("      %-48s %11.0f  %5.1f%% of On" % (what, v, 100 * v / on))
    return per


# ---------------------------------------------------------------------------
# 3b. the ways the module could check a phone, and what they would give

VERIFYBENCH = os.path.join(os.path.dirname(STORM), "verifybench")
WAYS = (("pem_d2i", "SSL_CLIENT_CERT's PEM to an X509 (before)"),
        ("verify_full", "X509_verify_cert, 3 signatures (full)"),
        ("verify_partial", "intermediates verified at load, 1 signature"),
        ("leaf_signature", "the leaf's signature alone"),
        ("chain_match", "the handshake's verified chain matched"))


def section_alternatives(per, tmp):
    n = 50
    native = subprocess.run([VERIFYBENCH, PKI, FLEET, "200"],
                            capture_output=True, text=True).stdout
    us = dict(re.findall(r"^\s+(\w+)\s+([\d.]+) us per phone", native,
                         re.M))
    out = os.path.join(tmp, "cg-verifybench")
    subprocess.run(["valgrind", "--tool=callgrind",
                    "--callgrind-out-file=" + out, VERIFYBENCH, PKI, FLEET,
                    str(n)], capture_output=True, check=True)
    total, f = callgrind_functions(out)
    ir = {w: f.get("op_" + w, (0, {}))[0] / (3.0 * n) for w, _ in WAYS}
    print("3b. checking one phone's certificate, OpenSSL alone "
          "(bench/verifybench.c):")
    for w, what in WAYS:
        print("      %-46s %10.0f instructions  %7s us" % (
            what, ir[w], us.get(w, "?")))
    print("    the module takes the handshake's verified chain where it "
          "can (docs/decisions.md, How step 3\n    is checked): chain_match; a full "
          "verification (pem_d2i before 1.1, then verify_full)\n    where "
          "it cannot (a resumed session, PolyProvCRL, a chain to another "
          "CA).")


# ---------------------------------------------------------------------------
# 3c. phones per second, alternating rounds

def section_throughput(quick):
    # many short runs rather than a few long ones: the machine's noise
    # comes in bursts, and the more often the sides alternate, the more
    # evenly the bursts fall on them
    rounds = 3 if quick else 12
    nfleet = fleet_size()
    jobs = 1000 if quick else 1500             # requests per run
    phones = jobs // STEPS
    print("3c. phones per second (storm -c %d, %d KiB firmware, event MPM "
          "2 x 16 threads,\n    %d alternating rounds; load average "
          "before: %s)" % (CONCURRENCY, FIRMWARE_KB, rounds,
                           load_average()))
    hs = {k: server(k) for k in KINDS}
    results = {}
    try:
        for k in KINDS:
            # untimed: every process's first handshakes, caches and
            # allocations, before a round counts
            storm(hs[k], "--order", "interleaved", "--first", nfleet - 400,
                  "--count", 400, "--concurrency", CONCURRENCY)
        for order in ("interleaved", "phones"):
            res = {k: [] for k in KINDS}
            p99 = {k: [] for k in KINDS}
            cpu = {k: [] for k in KINDS}
            took = {k: [0, 0.0] for k in KINDS}     # phones, seconds
            for r in range(rounds):
                kinds = KINDS[r % 3:] + KINDS[:r % 3]
                for k in kinds:
                    c0 = server_cpu(hs[k])
                    if order == "interleaved":
                        # every server sees the same requests; a phone
                        # comes back after the whole fleet
                        out = storm(hs[k], "--order", order, "--first",
                                    r * jobs, "--count", jobs,
                                    "--concurrency", CONCURRENCY)
                    else:
                        out = storm(hs[k], "--order", order, "--first",
                                    (r * phones) % nfleet, "--count", phones,
                                    "--concurrency", CONCURRENCY)
                    res[k].append(out["phones_per_s"])
                    took[k][0] += out["requests_ok"] / float(STEPS)
                    took[k][1] += out["seconds"]
                    p99[k].append(out["steps"]["cfg"]["p99_ms"])
                    cpu[k].append((server_cpu(hs[k]) - c0) * 1000.0
                                  * STEPS / max(1, out["requests_ok"]))
            print("    %s:" % ("interleaved: each request a phone not seen "
                               "for %d requests (no cache hit)" % nfleet
                               if order == "interleaved" else
                               "a real storm: each phone's five files back "
                               "to back, %d phones a run" % phones))
            for k in KINDS:
                print("      %-13s phones/s %s" % (NAMES[k], spread(res[k])))
                print("      %-13s httpd's CPU ms per phone: %s" % (
                    "", spread(cpu[k], "%.1f")))
                print("      %-13s p99 of <MAC>.cfg, ms: %s" % (
                    "", spread(p99[k], "%.0f")))
            ratios = [a / b for a, b in zip(res["on"], res["off"])]
            print("      On/Off %.3f by phones/s (medians; target >= 0.97); "
                  "per round: %s" % (statistics.median(res["on"])
                                     / statistics.median(res["off"]),
                                     spread(ratios, "%.3f")))
            pooled = {k: took[k][0] / max(took[k][1], 1e-9) for k in KINDS}
            print("      On/Off %.3f by all the rounds' phones over all their "
                  "time (%.1f and %.1f phones/s);\n      <If>/Off %.3f the "
                  "same way" % (
                      pooled["on"] / pooled["off"], pooled["on"],
                      pooled["off"], pooled["recipe"] / pooled["off"]))
            print("      Off/On %.3f by httpd's CPU per phone (medians)" % (
                statistics.median(cpu["off"]) / statistics.median(cpu["on"])))
            print("      <If>/Off %.3f by phones/s, Off/<If> %.3f by CPU" % (
                statistics.median(res["recipe"])
                / statistics.median(res["off"]),
                statistics.median(cpu["off"])
                / statistics.median(cpu["recipe"])))
            results[order] = (res, cpu)
    finally:
        for h in hs.values():
            h.cleanup()
    print("    load average after: %s" % load_average())
    return results


# ---------------------------------------------------------------------------
# 4. keep-alive latency while a 10,000,000-MAC list is reloaded

def write_list(path, count, seed, extra=()):
    """count random MACs and the fleet's, dated a minute back (older
    than the second a new file must settle)."""
    import random
    rnd = random.Random(seed)
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write("# bench list %d\n" % seed)
        chunk = 200000
        for start in range(0, count, chunk):
            n = min(chunk, count - start)
            f.write("".join("%012x\n" % rnd.getrandbits(48)
                            for _ in range(n)))
        with open(os.path.join(FLEET, "macs.txt")) as m:
            f.write(m.read())
        for line in extra:
            f.write(line + "\n")
    os.chmod(tmp, 0o644)
    old = time.time() - 60
    os.utime(tmp, (old, old))
    os.rename(tmp, path)


def reloads_in(h, since):
    return re.findall(r"PP038: .*reloaded: (\d+) MACs \(version \d+\)(?:; "
                      r"read and published in ([\d.]+) s (in the background"
                      r"|on the request path))?", h.log_text()[since:])


def reload_times(h, since, offset):
    """(start, end) on the monotonic clock of each background reload in
    the log after `since`: its log line's time (the wall clock, taken to
    the monotonic one by `offset`) less the time it says it took."""
    out = []
    for m in re.finditer(r"^\[\w+ (\w+ \d+ [\d:]+\.\d+ \d+)\] .*PP038: .*"
                         r"read and published in ([\d.]+) s in the "
                         r"background", h.log_text()[since:], re.M):
        stamp, took = m.group(1), float(m.group(2))
        day, frac = stamp.rsplit(".", 1)[0], stamp.rsplit(".", 1)[1]
        frac, year = frac.split()
        wall = time.mktime(time.strptime("%s %s" % (day, year),
                                         "%b %d %H:%M:%S %Y"))
        end = wall + int(frac) / 1e6 - offset
        out.append((end - took, end))
    return out


def pooled(lat):
    lat = sorted(lat)
    at = lambda p: lat[min(len(lat) - 1, int(p * (len(lat) - 1) + 0.5))]
    return {"n": len(lat), "p50": at(0.5) * 1e3, "p99": at(0.99) * 1e3,
            "p999": at(0.999) * 1e3, "max": lat[-1] * 1e3}


def section_reload(quick, tmp):
    """One keep-alive load, cut into cycles of 2.5 s that alternate: at
    the start of a reloading cycle the list is replaced, a steady cycle
    has no change.  Every request is counted in the cycle it was due in,
    and the percentiles are taken over all requests of each kind: the
    machine's own hiccups (other tenants, other tests) fall on both kinds
    alike, where one p99 per 10 s window varied 0.8 to 4.4 ms."""
    count = 1000000 if quick else 10000000
    cycles = 12 if quick else 48
    cycle = 2.5
    rate, conc = 400, 8
    print("4. keep-alive GETs (%d connections, %d requests/s in all, each "
          "timed from when it was\n   due) while an allow list of %s MACs "
          "is reloaded in the background, against the\n   same load "
          "without reloads: one run of %d cycles of %.1f s, alternating a "
          "cycle\n   that starts with a new version of the list and one "
          "without; load average: %s" % (
              conc, rate, format(count, ","), cycles, cycle,
              load_average()))
    versions = [os.path.join(tmp, "allow-v%d.txt" % i) for i in (0, 1)]
    for i, path in enumerate(versions):
        write_list(path, count, 1000 + i)
    allow = os.path.join(tmp, "allow.txt")
    os.link(versions[0], allow)
    run = shm_dir()
    h = server("on", allow=allow, interval=1, firmware_kb=64,
               loglevel="warn polyprov:notice", runtime_dir=run)
    samples = os.path.join(tmp, "samples.txt")
    try:
        storm(h, "--first", 0, "--rate", rate, "--concurrency", conc,
              "--duration", 3, command="keepalive", firmware_kb=64)
        since = len(h.log_text())
        offset = time.time() - time.monotonic()
        load = subprocess.Popen(
            [STORM, "keepalive", "--fleet", FLEET, "--port", str(h.port),
             "--json", "--firmware-kb", "64", "--first", "0", "--rate",
             str(rate), "--concurrency", str(conc), "--duration",
             str(cycles * cycle + 2), "--samples", samples],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        base = time.monotonic() + 1.0
        for k in range(0, cycles, 2):
            # a new version (a link to one written before, renamed into
            # place: the bench adds no load of its own) at the start of
            # every other cycle
            time.sleep(max(0.0, base + k * cycle - time.monotonic()))
            new = allow + ".new"
            os.link(versions[(k // 2 + 1) % 2], new)
            os.rename(new, allow)
        out, err = load.communicate(timeout=cycles * cycle + 600)
        try:
            errors = json.loads(out)["errors"]
        except ValueError:
            raise RuntimeError("storm failed: %s%s" % (out, err))
        time.sleep(2)
        reloads = reload_times(h, since, offset)
    finally:
        h.cleanup()
        shutil.rmtree(run, ignore_errors=True)
    kinds = {"reloading": [[] for _ in range(cycles // 2)],
             "steady": [[] for _ in range(cycles // 2)]}
    with open(samples) as f:
        for line in f:
            due, lat = map(float, line.split())
            k = int((due - base) // cycle)
            if 0 <= k < cycles:
                kinds["reloading" if k % 2 == 0 else "steady"][k // 2] \
                    .append(lat)
    stats = {}
    for what in ("steady", "reloading"):
        stats[what] = st = pooled([x for c in kinds[what] for x in c])
        print("    %-10s %6d requests: p50 %.2f ms, p99 %.2f ms, p99.9 "
              "%.1f ms, max %.0f ms" % (what, st["n"], st["p50"], st["p99"],
                                         st["p999"], st["max"]))
    inside = [k for s0, e0 in reloads
              for k in [int((s0 - base) // cycle)]
              if 0 <= k < cycles and k % 2 == 0
              and e0 < base + (k + 1) * cycle]
    after = sorted(s0 - (base + (k * cycle)) for s0, e0 in reloads
                   for k in [int((s0 - base) // cycle)])
    print("    reloads: %d of %d cycles' new versions, %d of them read and "
          "published in the background\n    within their own cycle "
          "(started %s s after the change; took %s s); storm errors: %d"
          % (len(reloads), cycles // 2, len(inside),
             "%.2f to %.2f" % (after[0], after[-1]) if after else "?",
             ", ".join("%.2f" % (e - s0) for s0, e in reloads) or "?",
             errors))
    # where the slow requests of the reloading cycles were: while a
    # parse ran, in the 0.3 s after it (the new version mapped), or
    # elsewhere in the cycle; a steady cycle has 1 % above its own p99
    where = {"during a parse": [0, 0], "in the 0.3 s after one": [0, 0],
             "elsewhere": [0, 0]}
    limit = stats["steady"]["p99"] / 1e3
    with open(samples) as f:
        for line in f:
            due, lat = map(float, line.split())
            k = int((due - base) // cycle)
            if not (0 <= k < cycles and k % 2 == 0):
                continue
            w = "elsewhere"
            for s0, e0 in reloads:
                if s0 <= due <= e0:
                    w = "during a parse"
                elif e0 < due <= e0 + 0.3:
                    w = "in the 0.3 s after one"
                else:
                    continue
                break
            where[w][0] += 1
            where[w][1] += lat > limit
    print("    reloading cycles' requests above the steady p99: %s" % (
        "; ".join("%s %.1f %% (of %d)" % (w, 100.0 * n[1] / max(n[0], 1),
                                         n[0]) for w, n in where.items())))
    quarters = []
    q = max(1, (cycles // 2) // 4)
    for i in range(0, cycles // 2, q):
        r = pooled([x for c in kinds["reloading"][i:i + q] for x in c])
        s1 = pooled([x for c in kinds["steady"][i:i + q] for x in c])
        quarters.append(r["p99"] / s1["p99"])
    print("    p99 reloading / steady: %.2f (target <= 1.2); in each "
          "quarter of the run: %s" % (stats["reloading"]["p99"] / stats["steady"]["p99"],
                           ", ".join("%.2f" % x for x in quarters)))


# ---------------------------------------------------------------------------
# 5. memory

def memory_of(pid):
    out = {}
    try:
        with open("/proc/%d/smaps_rollup" % pid) as f:
            for line in f:
                m = re.match(r"(\w+):\s+(\d+) kB", line)
                if m:
                    out[m.group(1)] = int(m.group(2))
        snap = 0
        with open("/proc/%d/smaps" % pid) as f:
            inside = False
            for line in f:
                if re.match(r"^[0-9a-f]+-[0-9a-f]+ ", line):
                    inside = line.rstrip().endswith(".snap")
                elif inside and line.startswith("Rss:"):
                    snap += int(line.split()[1])
        out["snap"] = snap
    except OSError:
        pass
    return out


def section_memory(quick, tmp):
    count = 1000000 if quick else 10000000
    phones = 2000 if quick else fleet_size()
    print("5. memory: an allow list of %s MACs, then %s phones served "
          "(each its five files, 256 KiB\n   firmware, storm -c %d)" % (
              format(count, ","), format(phones, ","), CONCURRENCY))
    allow = os.path.join(tmp, "allow-mem.txt")
    versions = [os.path.join(tmp, "allow-mem-v%d.txt" % i) for i in (0, 1)]
    for i, path in enumerate(versions):
        write_list(path, count, 77 + i)
    os.link(versions[0], allow)
    run = shm_dir()
    h = server("on", allow=allow, firmware_kb=256, runtime_dir=run,
               interval=1)
    try:
        storm(h, "--order", "phones", "--count", 20, "--concurrency", 4,
              firmware_kb=256)
        pids = [h.pid()] + h.child_pids()
        seen = [{p: memory_of(p) for p in pids}]
        t0 = time.time()
        out = storm(h, "--order", "phones", "--first", 20, "--count",
                    phones, "--concurrency", CONCURRENCY, firmware_kb=256)
        took = time.time() - t0
        seen.append({p: memory_of(p) for p in pids})
        # and once a new version has been parsed (in one of the children)
        since = len(h.log_text())
        os.link(versions[1], allow + ".new")
        os.rename(allow + ".new", allow)
        deadline = time.time() + 60
        while not reloads_in(h, since) and time.time() < deadline:
            time.sleep(0.2)
        parsed = reloads_in(h, since)
        storm(h, "--order", "phones", "--count", 20, "--concurrency", 4,
              firmware_kb=256)
        seen.append({p: memory_of(p) for p in pids})
    finally:
        h.cleanup()
        shutil.rmtree(run, ignore_errors=True)
    print("    served %d phones in %.0f s (%d errors), then a new version "
          "of the list was\n    %s; kB per process, after start-up -> "
          "after the phones -> after the reload:" % (
              out["requests_ok"] // STEPS, took, out["errors"],
              "read and published in %s s %s" % parsed[0][1:] if parsed
              else "NOT RELOADED"))

    def priv(m):
        return m.get("Private_Clean", 0) + m.get("Private_Dirty", 0)
    for what, get in (("RSS", lambda m: m.get("Rss", 0)),
                      ("  of it the snapshot's pages", lambda m: m.get(
                          "snap", 0)),
                      ("private", priv),
                      ("PSS (shared pages divided)",
                       lambda m: m.get("Pss", 0))):
        print("      %s:" % what)
        for i, p in enumerate(pids):
            if not seen[-1][p]:
                print("        %-16s (exited)" % p)
                continue
            print("        %-16s %s" % (
                "%d (%s)" % (p, "parent" if i == 0 else "child"),
                " -> ".join("%7d" % get(m[p]) for m in seen)))
    growth = [max(m[p].get("Rss", 0) for m in seen[1:])
              - seen[0][p].get("Rss", 0) for p in pids[1:] if seen[-1][p]]
    print("    RSS growth per child, at most: %s kB (target < 50 MB); the "
          "list is one %s MB snapshot\n    file, mapped shared and "
          "read-only by every process" % (
              ", ".join("%d" % g for g in growth),
              format(8 * (count + fleet_size()) // 1000000, ",")))
