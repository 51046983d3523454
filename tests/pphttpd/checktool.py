# SPDX-License-Identifier: Apache-2.0
"""Run polyprov-check (build/polyprov-check, or $PP_CHECK_TOOL: make
check-asan points it at the AddressSanitizer build) and read its answer."""

import os
import re
import subprocess

from tests.pphttpd.fixtures import TOP

TOOL = os.environ.get("PP_CHECK_TOOL",
                      os.path.join(TOP, "build", "polyprov-check"))

# what a crash or a sanitizer report looks like on stderr
CRASH = re.compile(r"AddressSanitizer|LeakSanitizer|runtime error:|"
                   r"Segmentation|Assertion")


class Answer:
    def __init__(self, rc, out, err):
        self.rc, self.out, self.err = rc, out, err
        last = out.strip().splitlines()[-1] if out.strip() else ""
        self.last = last
        m = re.search(r"\breason=(\S+)", last)
        self.reason = m.group(1) if m else None

    def __repr__(self):
        return "<polyprov-check rc=%d reason=%s>\n%s%s" % (
            self.rc, self.reason, self.out, self.err)


def run(*args, cwd=None, timeout=60, env=None):
    """polyprov-check with these arguments: never a crash, never a
    sanitizer report, and an exit status of 0, 1 or 2."""
    assert os.path.exists(TOOL), "build the tool first (make)"
    e = dict(os.environ)
    e.setdefault("ASAN_OPTIONS", "detect_leaks=1")
    e.update(env or {})
    p = subprocess.run([TOOL] + [str(a) for a in args], capture_output=True,
                       text=True, errors="replace", cwd=cwd or TOP,
                       timeout=timeout, env=e)
    assert p.returncode in (0, 1, 2), (p.returncode, p.stdout, p.stderr)
    assert not CRASH.search(p.stderr), p.stderr
    a = Answer(p.returncode, p.stdout, p.stderr)
    modes = {"--check-list", "--show-ca", "--known-cas", "--help",
             "--version"}
    if p.returncode in (0, 1) and not modes & set(map(str, args)):
        # the last line carries the reason, and the status agrees with it
        assert a.reason, a
        assert (p.returncode == 0) == (a.reason == "ok"), a
    return a
