# SPDX-License-Identifier: Apache-2.0
"""Valgrind's memcheck on a real httpd running mod_polyprov in one process
(httpd -X), across a representative set of requests, allowed and refused:

    /usr/bin/python3 -m tests.memcheck      (make check-valgrind)

It runs the same workload twice, once and ROUNDS times over, each in its
own valgrind session, and fails on any memcheck error (invalid access,
uninitialised value, bad free) or if the leak total grows with the number
of requests and connections.  Reports: build/valgrind/*.log."""

import os
import re
import sys
import time

from tests.pphttpd import tlsclient
from tests.pphttpd.fixtures import populate
from tests.pphttpd.httpd import Httpd

TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
OUT = os.path.join(TOP, "build", "valgrind")
ROUNDS = int(os.environ.get("PP_VALGRIND_ROUNDS", "4"))
A, B = "0004f2000a01", "0004f2000b02"
E = "0004f2000f06"      # its certificate expired a day ago

VALGRIND = ["valgrind", "--tool=memcheck", "--leak-check=full",
            "--show-leak-kinds=definite,indirect,possible",
            "--errors-for-leak-kinds=definite", "--num-callers=40",
            "--child-silent-after-fork=yes", "--error-exitcode=0"]


def configure(h, pki):
    populate(h)
    h.put("%s-page.shtml" % A, '<!--#include virtual="/%s.cfg" -->\n' % B)
    h.put("ok/%s.cfg" % E, "secret of E\n")
    h.put("%s.cfg" % E, "secret of E\n")
    h.put("other/x.txt", "neighbour\n")
    allow = h.list_file("allow.txt", "%s\n%s\n%s\n" % (A, B, E))
    # mod_ssl's "builtin" seed mixes in uninitialised stack bytes on
    # purpose, and memcheck would then see every TLS byte as uninitialised
    h.write(random_seed="startup file:/dev/urandom 256",
            loglevel="warn polyprov:debug", mpm_conf="""
StartServers 1
ServerLimit 1
ThreadsPerChild 4
MaxRequestWorkers 4
MinSpareThreads 1
MaxSpareThreads 4
""", verify="optional_no_ca", vhost="""
    <Directory {d}>
        Options +Includes
        AddOutputFilter INCLUDES .shtml
        Dav On
        PolyProv On
        PolyProvTrustedCA {p}/polycom-chain.pem
        PolyProvCRL {p}/crl-all.pem
        PolyProvAllowList {allow}
        PolyProvReloadInterval 1
    </Directory>
    <Location /ok/>
        PolyProvAllowExpired On
    </Location>
    <Location /other/>
        PolyProv Off
        Require ssl-verify-client
    </Location>
""".format(d=h.docroot, p=pki, allow=allow))
    return allow


def workload(h, pki, allow, rounds):
    """Every kind of decision, on new and kept-alive connections, HTTP/1.1
    and h2, resumed sessions, a subrequest, an upload, a list reload."""
    seen = {}

    def note(label, status):
        seen.setdefault(label, set()).add(status)

    ctx = tlsclient.context(pki, "phone-a")
    for i in range(rounds):
        note("own", h.curl("/%s.cfg" % A, phone="phone-a").status)
        note("foreign", h.curl("/%s.cfg" % B, phone="phone-a").status)
        note("shared", h.curl("/000000000000.cfg", phone="phone-a").status)
        note("allow-list", h.curl("/000000000000.cfg",
                                  phone="phone-c").status)
        note("no-cert", h.curl("/%s.cfg" % A).status)
        note("forged", h.curl("/%s.cfg" % A, phone="forged-a").status)
        note("bad-cn", h.curl("/%s.cfg" % A, phone="two-cn").status)
        note("revoked", h.curl("/0004f2000e05.cfg",
                               phone="phone-revoked").status)
        note("path-info", h.curl("/%s.cfg/x" % A, phone="phone-a").status)
        note("directory", h.curl("/", phone="phone-a").status)
        for r in h.curl(["/%s.cfg" % A, "/%s.cfg" % B] * 2, phone="phone-b"):
            note("keep-alive", r.status)
        for r in h.curl(["/%s.cfg" % A, "/000000000000.cfg"] * 2,
                        phone="phone-a", http2=True, extra=["-Z"]):
            note("h2", r.status)
        note("ssi", h.curl("/%s-page.shtml" % A, phone="phone-a").status)
        note("put", h.curl("/%s-app.log" % A, phone="phone-a", method="PUT",
                           data="log %d\n" % i).status)
        first = tlsclient.exchange(ctx, h.port, ["/%s.cfg" % A])
        again = tlsclient.exchange(ctx, h.port, ["/%s.cfg" % A],
                                   session=first.session)
        note("resumed", tuple(again.statuses))
        # an expired phone: the handshake's waiver, the scopes, the guard,
        # a resumed session; expired certificates of another CA and not
        # yet valid ones end in the handshake
        note("expired", h.curl("/ok/%s.cfg" % E, phone="expired-day").status)
        for r in h.curl(["/ok/%s.cfg" % E, "/%s.cfg" % E, "/other/x.txt"],
                        phone="expired-day", http2=True):
            note("expired-h2", r.status)
        note("expired-guard", h.curl("/other/x.txt",
                                     phone="expired-day").status)
        note("expired-elsewhere", h.curl("/%s.cfg" % E,
                                         phone="expired-day").status)
        note("expired-corp", h.curl("/ok/%s.cfg" % E,
                                    phone="corp-expired").status)
        note("notyet", h.curl("/ok/%s.cfg" % A, phone="notyet-a").status)
        ectx = tlsclient.context(pki, "expired-day")
        first = tlsclient.exchange(ectx, h.port, ["/ok/%s.cfg" % E])
        again = tlsclient.exchange(ectx, h.port, ["/ok/%s.cfg" % E,
                                                  "/other/x.txt"],
                                   session=first.session)
        note("expired-resumed", tuple(again.statuses))
        # a new list version (rename) and a broken one, every round
        h.list_file("allow.txt", "%s\n%s\n%s\n# round %d\n" % (A, B, E, i))
        time.sleep(1.2)
        note("after-reload", h.curl("/%s.cfg" % A, phone="phone-a").status)
        with open(allow, "w") as f:
            f.write("broken\n")
        time.sleep(1.2)
        note("broken-list", h.curl("/%s.cfg" % A, phone="phone-a").status)
        h.list_file("allow.txt", "%s\n%s\n%s\n" % (A, B, E))
    return seen


EXPECTED = {
    "own": {200}, "foreign": {403}, "shared": {200}, "allow-list": {403},
    "no-cert": {403},
    "forged": {403}, "bad-cn": {403}, "revoked": {403}, "path-info": {403},
    "directory": {403}, "keep-alive": {200, 403}, "h2": {200},
    "ssi": {200}, "put": {201, 204}, "resumed": {(200,)},
    "after-reload": {200}, "broken-list": {200},
    "expired": {200}, "expired-h2": {200, 403}, "expired-guard": {403},
    "expired-elsewhere": {403}, "expired-corp": {0}, "notyet": {0},
    "expired-resumed": {(200, 403)},
}


def session(pki, module, rounds, tag):
    h = Httpd(module, pki)
    allow = configure(h, pki)
    log = os.path.join(OUT, "%s.log" % tag)
    with h.foreground(VALGRIND + ["--log-file=" + log]):
        seen = workload(h, pki, allow, rounds)
    with open(log, errors="replace") as f:
        report = f.read()
    bad_log = h.bad_log_lines()
    return seen, report, bad_log, h


def summary(report):
    def num(kind):
        m = re.search(r"%s: ([\d,]+) bytes in ([\d,]+) blocks" % kind, report)
        return int(m.group(1).replace(",", "")) if m else 0
    errors = re.search(r"ERROR SUMMARY: (\d+) errors", report)
    return {"definitely": num("definitely lost"),
            "indirectly": num("indirectly lost"),
            "possibly": num("possibly lost"),
            "errors": int(errors.group(1)) if errors else -1}


def main():
    pki = os.environ.get("PP_PKI", os.path.join(TOP, "build", "pki"))
    module = os.environ.get("PP_MODULE",
                            os.path.join(TOP, "build", "mod_polyprov.so"))
    os.makedirs(OUT, exist_ok=True)
    results = {}
    failed = []
    for tag, rounds in (("once", 1), ("rounds", ROUNDS)):
        t0 = time.time()
        seen, report, bad_log, h = session(pki, module, rounds, tag)
        s = summary(report)
        results[tag] = s
        print("%-6s %d round(s) in %4.0f s: %d memcheck errors; lost: "
              "definitely %d B, indirectly %d B, possibly %d B"
              % (tag, rounds, time.time() - t0, s["errors"], s["definitely"],
                 s["indirectly"], s["possibly"]))
        if s["errors"] != 0:
            failed.append("%s: %d memcheck errors (build/valgrind/%s.log)"
                          % (tag, s["errors"], tag))
        for label, want in EXPECTED.items():
            if not seen.get(label) or not seen[label] <= want:
                failed.append("%s: %s answered %s, expected %s"
                              % (tag, label, seen.get(label), want))
        if bad_log:
            failed.append("%s: error log:\n%s" % (tag, "\n".join(bad_log)))
        if not failed:
            h.cleanup()
    grow = sum(results["rounds"][k] - results["once"][k]
               for k in ("definitely", "indirectly", "possibly"))
    print("leak growth from 1 to %d rounds: %d B" % (ROUNDS, grow))
    if grow > 0:
        failed.append("leaks grow with requests: +%d B (build/valgrind/"
                      "rounds.log)" % grow)
    if failed:
        print("FAILED:\n  " + "\n  ".join(failed))
        return 1
    print("valgrind: no memcheck error, no leak growing per request")
    return 0


if __name__ == "__main__":
    sys.exit(main())
