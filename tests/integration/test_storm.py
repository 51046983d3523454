# SPDX-License-Identifier: Apache-2.0
"""The boot-storm generator (bench/storm.c, make bench) in a short
functional run: a fleet of 30 phones, each with a certificate of its own,
plays Poly's boot sequence (one TLS handshake per file) and asks for its
neighbour's files; every phone gets exactly its own files, every foreign
request is refused, and the generator reports anything else as an error.
Timings are make bench's, not asserted here."""

import json
import os
import re
import subprocess
import time

import pytest

from tests.pphttpd.fixtures import TOP

PHONES = 30
FIRMWARE_KB = 64
STORM = os.environ.get("PP_STORM", os.path.join(TOP, "build", "storm"))
STEPS = ("master", "cfg", "firmware", "phone_cfg", "put_log")
FOREIGN = ("foreign_cfg", "foreign_phone_cfg", "foreign_put_log")


def mac(i):
    return "%012x" % (0x0004F2100000 + i)


@pytest.fixture(scope="module")
def fleet(pki, tmp_path_factory):
    assert os.path.exists(STORM), "make build/storm first"
    out = str(tmp_path_factory.mktemp("fleet"))
    p = subprocess.run([STORM, "fleet", "--pki", pki, "--out", out,
                        "--count", str(PHONES)], capture_output=True,
                       text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    return out


def server(servers, pki, fleet, on=True, allow=None):
    h = servers()
    p = subprocess.run([STORM, "populate", "--fleet", fleet, "--docroot",
                        h.docroot, "--firmware-kb", str(FIRMWARE_KB)],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    lines = ["PolyProv %s" % ("On" if on else "Off"), "Dav On",
             "PolyProvTrustedCA %s/polycom-chain.pem" % pki]
    if allow is not None:
        lines.append("PolyProvAllowList %s" % h.list_file("allow.txt",
                                                          allow))
    h.write(loglevel="warn polyprov:info", vhost="""
    <Directory {d}>
        {lines}
    </Directory>""".format(d=h.docroot, lines="\n        ".join(lines)))
    h.start()
    return h


def storm(h, fleet, *args):
    p = subprocess.run([STORM, "run", "--fleet", fleet, "--port",
                        str(h.port), "--firmware-kb", str(FIRMWARE_KB),
                        "--concurrency", "4", "--duration", "60", "--json"]
                       + list(args), capture_output=True, text=True,
                       timeout=120)
    assert p.stderr == "", p.stderr
    return p.returncode, json.loads(p.stdout)


@pytest.mark.parametrize("order", ["phones", "interleaved"])
def test_every_phone_gets_its_own_files_and_nothing_else(servers, pki,
                                                         fleet, order):
    h = server(servers, pki, fleet)
    h.mark()
    rc, out = storm(h, fleet, "--order", order, "--foreign")
    assert rc == 0 and out["errors"] == 0, out
    assert out["handshakes"] == PHONES * 8, out           # one per file
    for step in STEPS + FOREIGN:
        assert out["steps"][step]["ok"] == PHONES, (step, out)
    assert out["steps"]["firmware"]["bytes"] == PHONES * FIRMWARE_KB * 1024
    # each phone's log is its own upload
    for i in range(PHONES):
        with open(os.path.join(h.docroot, mac(i) + "-app.log")) as f:
            assert "phone %s: storm boot" % mac(i) in f.read()
    # the server refused each foreign request for its owner's reason
    refused = h.refusals()
    assert len(refused) == PHONES * 3, len(refused)
    assert all("reason=not-owner" in l for l in refused), refused[:3]
    for i in range(PHONES):
        assert sum('mac=%s ' % mac(i) in l for l in refused) == 3, i
    # a second boot replaces the logs (204), still without an error
    rc, out = storm(h, fleet, "--order", order)
    assert rc == 0 and out["errors"] == 0, out
    assert out["steps"]["put_log"]["ok"] == PHONES


def test_a_refused_phone_is_an_error(servers, pki, fleet):
    """A phone missing from the allow list gets 403s: the storm says so,
    naming the phone, and fails."""
    h = server(servers, pki, fleet,
               allow="".join(mac(i) + "\n" for i in range(PHONES) if i != 7))
    rc, out = storm(h, fleet, "--order", "phones")
    assert rc == 1
    assert out["errors"] == 5, out                  # its five steps
    assert out["steps"]["cfg"]["ok"] == PHONES - 1
    assert all("phone %s" % mac(7) in e and "status 403" in e
               for e in out["error_samples"]), out["error_samples"]


def test_a_served_foreign_file_is_an_error(servers, pki, fleet):
    """Without the module every foreign file is served: each such answer
    is an error of the storm (it would catch a leak)."""
    h = server(servers, pki, fleet, on=False)
    rc, out = storm(h, fleet, "--order", "interleaved", "--foreign",
                    "--count", "80")
    assert rc == 1
    assert out["steps"]["cfg"]["ok"] == 10 and out["errors"] == 30, out
    assert any(re.search(r"foreign <MAC>\.cfg: status 200, expected 403", e)
               for e in out["error_samples"]), out["error_samples"]


def test_bounded_and_loopback_only(fleet):
    p = subprocess.run([STORM, "run", "--fleet", fleet, "--host",
                        "192.0.2.1", "--port", "443"], capture_output=True,
                       text=True, timeout=30)
    assert p.returncode == 2 and "127.0.0.1 only" in p.stderr


def test_keepalive_samples_are_every_request_with_its_due_time(
        servers, pki, fleet, tmp_path):
    """make bench's section 4 sorts keep-alive requests by when they were
    due: --samples writes one line per answered request, its due time on
    the monotonic clock (Python's time.monotonic()) and its latency."""
    h = server(servers, pki, fleet)
    samples = str(tmp_path / "samples.txt")
    t0 = time.monotonic()
    p = subprocess.run([STORM, "keepalive", "--fleet", fleet, "--port",
                        str(h.port), "--concurrency", "4", "--rate", "200",
                        "--duration", "1.5", "--samples", samples, "--json"],
                       capture_output=True, text=True, timeout=60)
    t1 = time.monotonic()
    assert p.returncode == 0, p.stderr
    out = json.loads(p.stdout)
    ok = out["steps"]["keepalive_cfg"]["ok"]
    with open(samples) as f:
        rows = [tuple(map(float, line.split())) for line in f]
    assert 200 <= ok == len(rows), (ok, len(rows))
    # paced at 200 requests/s from the start: each due time is in the run,
    # and they are spread over it, not bunched
    dues = sorted(d for d, _ in rows)
    assert t0 <= dues[0] and dues[-1] <= t1, (t0, dues[0], dues[-1], t1)
    assert dues[-1] - dues[0] >= 1.2
    assert all(0 < lat < 30 for _, lat in rows)
    # the latencies are the ones the report's percentiles come from
    lats = sorted(lat for _, lat in rows)
    assert abs(lats[-1] * 1e3 - out["steps"]["keepalive_cfg"]["max_ms"]) \
        < 0.01
