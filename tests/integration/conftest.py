# SPDX-License-Identifier: Apache-2.0
"""The integration suite: features of mod_polyprov against a real httpd."""

import os
import sys

sys.path.insert(0, os.path.abspath(os.path.join(os.path.dirname(__file__),
                                                "..", "..")))

from tests.pphttpd.fixtures import (manifest, module, pki,  # noqa: E402,F401
                                    pytest_configure, servers)
