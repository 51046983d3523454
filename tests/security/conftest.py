# SPDX-License-Identifier: Apache-2.0
"""The attack suite: one file per attack class, each case a real request
against a real httpd, each naming its expected outcome (a 403 with a
reason, or a handshake that mod_ssl refuses first).  docs/security.md "Security"."""

import os
import sys

sys.path.insert(0, os.path.abspath(os.path.join(os.path.dirname(__file__),
                                                "..", "..")))

from tests.pphttpd.fixtures import (manifest, module, pki,  # noqa: E402,F401
                                    pytest_configure, servers)
