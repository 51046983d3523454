# SPDX-License-Identifier: Apache-2.0
"""Assertions shared by the integration and security suites."""

import re
import time

A, B, C = "0004f2000a01", "0004f2000b02", "0004f2000c03"


def refusal_lines(h, uri=None):
    lines = h.refusals()
    if uri is not None:
        lines = [l for l in lines if 'uri="%s"' % uri in l]
    return lines


def access_entry(h, path, timeout=10.0, want=None):
    """The access-log line of the last request for path.  httpd writes it
    after the response, so wait for it, up to timeout seconds; with want
    (a predicate), wait for a last line that satisfies it (an earlier
    request for the same path may have its line there already), and return
    the last line for path when none does by then."""
    deadline = time.time() + timeout
    while True:
        hits = [l for l in h.access_lines() if ' %s HTTP/' % path in l]
        if hits and (want is None or want(hits[-1])):
            return hits[-1]
        if time.time() > deadline:
            return hits[-1] if hits else None
        time.sleep(0.05)


def expect_refused(h, result, reason, path, mac=None, via=None):
    """A 403 with the reason in the log line and the environment."""
    assert result.status == 403, (result, h.new_log()[-2000:])
    lines = [l for l in refusal_lines(h) if "reason=%s " % reason in l]
    assert lines, "no PP001 line with reason=%s:\n%s" % (reason,
                                                         h.new_log())
    line = lines[-1]
    assert "client=127.0.0.1" in line
    assert 'uri="' in line
    if mac:
        assert "mac=%s " % mac in line, line
    if via:
        assert "via=%s" % via in line, line
    if via is None:
        # the request's own line in the access log (a subrequest or a
        # redirect has none of its own)
        entry = access_entry(h, path, want=lambda l: " 403 " in l
                             and "reason=%s" % reason in l)
        assert entry is not None, "no access-log line for %s:\n%s" % (
            path, "\n".join(h.access_lines()[-5:]))
        assert "reason=%s" % reason in entry, entry
        # POLYPROV_MAC is the phone's whenever the module knew it (the log
        # line's mac=), "-" when it did not
        logged = re.search(r" mac=(\S+) ", line).group(1)
        assert "mac=%s " % logged in entry, (entry, line)
    return line


def expect_allowed(h, result, mac, path, body=None):
    assert result.status == 200, (result, h.new_log()[-2000:])
    if body is not None:
        assert result.body == body
    entry = access_entry(h, path, want=lambda l: " 200 " in l
                         and "mac=%s" % mac in l)
    assert entry is not None
    assert "mac=%s" % mac in entry and "reason=-" in entry, entry


def handshake_refused(result):
    return result.status == 0 and result.rc != 0


def count(pattern, text):
    return len(re.findall(pattern, text))
