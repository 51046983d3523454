# SPDX-License-Identifier: Apache-2.0
"""A fresh machine: the harnesses write only below their own temporary
root (CONTRIBUTING.md "Building and testing").

tests/fresh.sh gives a command an empty, private /tmp that is read-only
but for $TMPDIR and a fresh $HOME.  The demo, which drives the same
harness as every integration and attack test (tests/pphttpd), must pass
there and leave nothing behind: a harness that names a fixed path under
/tmp (a core-dump directory, a socket, a scratch file) fails here, on
every machine, instead of on a new user's.  .ci/run runs all of make
check and make check-package the same way.
"""

import os
import subprocess

from tests.pphttpd.fixtures import TOP, need_root

FRESH = os.path.join(TOP, "tests", "fresh.sh")
PYTHON = "/usr/bin/python3"


def fresh(script, env=None, timeout=60):
    return subprocess.run(["sh", FRESH, "sh", "-c", script],
                          cwd=TOP, env=env, capture_output=True, text=True,
                          timeout=timeout)


def test_fresh_tmp_is_empty_and_read_only_but_tmpdir_and_home():
    need_root("unshare --mount for a private /tmp")
    r = fresh('ls -A /tmp; echo "HOME=$HOME TMPDIR=$TMPDIR";'
              ' ls -A "$HOME" "$TMPDIR";'
              ' touch /tmp/stray 2>/dev/null && echo STRAY-WRITTEN;'
              ' touch "$TMPDIR/ok" "$HOME/ok" && echo WRITABLE')
    assert r.returncode == 0, r.stderr
    lines = r.stdout.split("\n")
    # the clone itself is carried in when it lives under /tmp
    rel = os.path.relpath(TOP, "/tmp").split(os.sep)[0]
    extra = {rel} if not rel.startswith("..") else set()
    top = set()
    for line in lines:
        if line.startswith("HOME="):
            break
        top.add(line)
    assert top == {"home", "tmp"} | extra, r.stdout
    assert "HOME=/tmp/home TMPDIR=/tmp/tmp" in lines
    assert "STRAY-WRITTEN" not in lines
    assert "WRITABLE" in lines
    # nothing of it is left on the machine
    assert not os.path.exists("/tmp/stray")


def test_demo_passes_on_a_fresh_tmp_and_leaves_nothing(pki, module):
    need_root("unshare --mount for a private /tmp")
    env = dict(os.environ, PP_MODULE=module, PP_PKI=pki)
    r = fresh('%s -m tests.demo || exit 1; left=$(ls -A "$TMPDIR");'
              ' [ -z "$left" ] || { echo "left in TMPDIR: $left"; exit 3; }'
              % PYTHON, env=env, timeout=180)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    assert "every phone got what it should, and nothing else." in r.stdout
