# SPDX-License-Identifier: Apache-2.0
"""Every phone refused, in the handshake or after, leaves a line naming
its MAC at the default LogLevel (PP124 for the handshake); PP015 and its
counter count only device files that another handler or filter would
have processed, not an ordinary GET served by the default handler."""

import os
import re
import subprocess
import time

import pytest

from tests.pphttpd.expect import A, handshake_refused
from tests.pphttpd import checktool
from tests.pphttpd.fixtures import populate, serve
from tests.pphttpd.readme import readme

METRICS = """
    <Location /polyprov-metrics>
        SetHandler polyprov-metrics
        Require ip 127.0.0.1
    </Location>"""


def configure(h):
    populate(h)
    h.put("plain/%s.cfg" % A, "A's own, no MIME type\n")
    h.put("plain/%s" % A, "A's own, no extension\n")
    h.put("%s-page.shtml" % A, "<!--#echo var=\"DOCUMENT_NAME\" -->\n")
    # docs/operations.md's block, in the mutual-TLS host as it says
    block = re.search(r"<!-- phonecert:begin -->\s*```apache\n(.*?)```",
                      readme(), re.S).group(1)
    block = block.replace("${APACHE_LOG_DIR}", h.root + "/logs")
    h.write(loglevel="warn", vhost=block + """
    <Directory {d}>
        PolyProv On
        PolyProvTrustedCA {p}/polycom-chain.pem
        Options +Includes
        AddOutputFilter INCLUDES .shtml
    </Directory>
    <Directory {d}/plain>
        # as on a stock Debian: .cfg has no MIME type, so httpd leaves
        # the handler empty (the default handler)
        RemoveType .cfg
    </Directory>""".format(d=h.docroot, p=h.pki, r=h.root),
            plain_vhost=METRICS)


@pytest.fixture(scope="module")
def h(module, pki):
    yield from serve(module, pki, configure)


def counter(h):
    r = h.curl("/polyprov-metrics", tls=False)
    assert r.status == 200, r
    m = re.search(r"^polyprov_device_files_as_data_total (\d+)", r.body, re.M)
    assert m, r.body
    return int(m.group(1))


def test_an_ordinary_get_is_not_counted(h):
    before = counter(h)
    for path in ("/plain/%s.cfg" % A, "/plain/%s" % A, "/%s.cfg" % A):
        r = h.curl(path, phone="phone-a")
        assert r.status == 200 and "A's" in r.body or "secret" in r.body, r
    time.sleep(0.2)
    assert counter(h) == before
    # what the counter is for still counts: an output filter taken off
    r = h.curl("/%s-page.shtml" % A, phone="phone-a")
    assert r.status == 200 and "echo" in r.body, r
    time.sleep(0.2)
    assert counter(h) == before + 1


@pytest.mark.parametrize("phone,mac,error", [
    ("expired-day", "0004f2000f06", r"verify error 10 at depth 0: "
                                    r"certificate has expired"),
    ("notyet-a", "0004f2000a01", r"verify error 9 at depth 0: "
                                 r"certificate is not yet valid"),
])
def test_a_handshake_refusal_names_the_mac(h, phone, mac, error):
    h.mark()
    assert handshake_refused(h.curl("/%s.cfg" % mac, phone=phone))
    assert handshake_refused(h.curl("/%s.cfg" % mac, phone=phone))
    time.sleep(0.2)
    found = [l for l in h.new_log().splitlines() if mac in l.lower()]
    ours = [l for l in found if "PP124:" in l]
    # once per certificate and process (the server runs one child)
    assert len(ours) >= 1, h.new_log()
    line = ours[0]
    assert "[polyprov:warn]" in line, line
    assert "mac=%s " % mac in line, line
    assert 'cn="%s"' % mac.upper() in line, line
    assert re.search(r'issuer="/CN=[^"]+"', line), line
    assert re.search(error, line), line
    assert "client=127.0.0.1" in line, line


def test_a_certificate_captured_from_the_servers_log(h, tmp_path):
    """docs/operations.md, "Capturing a phone's certificate": the log format and the
    command given there give back the phone's certificate, which
    polyprov-check then judges as the server did."""
    r = h.curl("/%s.cfg" % A, phone="phone-a")
    assert r.status == 200, r
    m = re.search(r"^\$ (grep -i 0004f2000a01 .*\\\n.*)$", readme(), re.M)
    cmd = m.group(1).replace("\\\n", " ")
    cmd = cmd.replace("/var/log/apache2", os.path.join(h.root, "logs"))
    log = os.path.join(h.root, "logs", "phone-certs.log")
    deadline = time.time() + 5
    while time.time() < deadline and A.upper() not in open(log).read():
        time.sleep(0.05)
    subprocess.run(cmd, shell=True, cwd=str(tmp_path), check=True)
    pem = (tmp_path / ("%s.pem" % A)).read_text()
    with open(os.path.join(h.pki, "phone-a.crt")) as f:
        assert pem.strip() == f.read().strip()
    tool = checktool.run("--trusted-ca", "%s/polycom-chain.pem" % h.pki,
                         "--cert", str(tmp_path / ("%s.pem" % A)),
                         "/%s.cfg" % A)
    assert tool.reason == "ok", tool
