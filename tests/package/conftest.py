# SPDX-License-Identifier: Apache-2.0
"""make check-package: the Debian package and the RPM spec."""

import os
import sys

sys.path.insert(0, os.path.abspath(os.path.join(os.path.dirname(__file__),
                                                "..", "..")))

from tests.pphttpd.fixtures import manifest, pki  # noqa: E402,F401
