# SPDX-License-Identifier: Apache-2.0
"""Fixtures and helpers shared by the integration and security suites:
a real httpd with mod_polyprov, real TLS, real client certificates, curl
as the phone.  Each suite's conftest.py imports them."""

import json
import os

import pytest

from tests.pphttpd.httpd import Httpd

TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))

from tests.pphttpd.expect import A, B, C  # noqa: F401

# Files every standard document root holds: each phone's own, shared ones.
FILES = {
    A + ".cfg": "secret of A\n",
    A + "-phone.cfg": "phone settings of A\n",
    B + ".cfg": "secret of B\n",
    B + "-phone.cfg": "phone settings of B\n",
    C + ".cfg": "secret of C\n",
    "000000000000.cfg": "shared master config\n",
    "000000000000-license.cfg": "shared license\n",
    "site.cfg": "shared site file\n",
    "3111-40250-001.sip.ld": "firmware image\n",
}


# An event MPM with one child, so that per-process state (caches, the
# fault seam) is the state every request sees.
ONE_PROCESS = """
StartServers 1
ServerLimit 1
MinSpareThreads 1
MaxSpareThreads 8
ThreadsPerChild 8
MaxRequestWorkers 8
"""


def under_ci():
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def skip_or_fail(reason):
    """Coverage that depends on the environment: skipped where the
    environment lacks it, but under CI (CI=true) a failure, never a skip."""
    if under_ci():
        pytest.fail("%s (CI must run this)" % reason)
    pytest.skip(reason)


def need_root(what):
    if os.geteuid() != 0:
        skip_or_fail("needs root: %s" % what)


def pytest_configure(config):
    config.addinivalue_line("markers", "mpm(name): run under this MPM")


@pytest.fixture(scope="session")
def module():
    path = os.environ.get("PP_MODULE",
                          os.path.join(TOP, "build", "mod_polyprov.so"))
    assert os.path.exists(path), "build the module first (make)"
    return path


@pytest.fixture(scope="session")
def pki():
    path = os.environ.get("PP_PKI", os.path.join(TOP, "build", "pki"))
    assert os.path.exists(os.path.join(path, "manifest.json")), \
        "make the test PKI first (make build/pki/.stamp)"
    return path


@pytest.fixture(scope="session")
def manifest(pki):
    with open(os.path.join(pki, "manifest.json")) as f:
        return json.load(f)


def populate(h, files=FILES):
    for name, content in files.items():
        h.put(name, content)


def lists_guard(h, pki, interval, allow=None, deny=None):
    """The document root with PolyProv On, the test chain and these list
    files, re-read every `interval` seconds."""
    lines = ["PolyProv On", "PolyProvTrustedCA %s/polycom-chain.pem" % pki]
    if allow:
        lines.append("PolyProvAllowList " + allow)
    if deny:
        lines.append("PolyProvDenyList " + deny)
    lines.append("PolyProvReloadInterval %d" % interval)
    return "<Directory %s>\n    %s\n</Directory>\n" % (
        h.docroot, "\n    ".join(lines))


class Servers:
    """Make servers for a test; stop them and check their logs after."""

    def __init__(self, module, pki):
        self.module, self.pki, self.made = module, pki, []

    def __call__(self, mpm="event", module=None):
        h = Httpd(module or self.module, self.pki, mpm=mpm)
        self.made.append(h)
        return h

    def finish(self):
        bad = []
        for h in self.made:
            h.stop()
            bad += h.bad_log_lines()
        for h in self.made:
            if not bad:
                h.cleanup()
        return bad


@pytest.fixture
def servers(module, pki):
    s = Servers(module, pki)
    yield s
    bad = s.finish()
    assert not bad, "unexpected errors in the error log:\n" + "\n".join(bad)


def serve(module, pki, configure, **httpd_args):
    """For a module-scoped fixture: one server, set up by configure(h),
    shared by the tests of a module; stopped and its log checked after."""
    h = Httpd(module, pki, **httpd_args)
    configure(h)
    h.start()
    yield h
    h.stop()
    bad = h.bad_log_lines()
    if not bad:
        h.cleanup()
    assert not bad, "\n".join(bad)


def checked(h):
    """For a test's fixture on a shared server: the log lines the test
    caused must hold no crash or unexpected error."""
    h.mark()
    yield h
    bad = h.bad_log_lines()
    assert not bad, "\n".join(bad)
