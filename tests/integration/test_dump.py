# SPDX-License-Identifier: Apache-2.0
"""`apachectl -t -D DUMP_POLYPROV` (docs/operations.md, "The running configuration"):
every PolyProv scope of every virtual host, in order, as JSON Lines, with
the file:line of each directive that applies; parsed back here."""

import json
import os
import subprocess

import pytest

from tests.pphttpd.expect import A, B
from tests.pphttpd.httpd import HTTPD


def line_of(h, text, after=0):
    with open(h.conf) as f:
        for n, line in enumerate(f, 1):
            if n > after and text in line:
                return n
    raise AssertionError(text)


def dump(h, env=None):
    e = dict(os.environ)
    e.update(h.sanitizer_env())
    p = subprocess.run([HTTPD, "-f", h.conf, "-t", "-D", "DUMP_POLYPROV"],
                       capture_output=True, text=True, env=e, timeout=60)
    assert p.returncode == 0, p.stderr
    assert "Syntax OK" in p.stderr
    return [json.loads(line) for line in p.stdout.splitlines()]


@pytest.fixture
def configured(servers, pki, manifest):
    h = servers()
    allow = h.list_file("allow.txt", "%s\nnot-a-mac\n" % A)
    deny = h.list_file("deny.txt", "%s\n" % B)
    h.write(vhost="""
    PolyProvReloadInterval 30
    <Directory {d}>
        PolyProv On
        PolyProvTrustedCA {p}/polycom-chain.pem
        PolyProvCRL {p}/crl-all.pem
    </Directory>
    <Directory {d}/legacy>
        PolyProvAllowExpired On
        PolyProvDeviceHandlers On
        <Files "*.log">
            PolyProvCNPattern "^SEP([0-9A-F]{{12}})$"
        </Files>
    </Directory>
    <Location /pinned/>
        PolyProvIssuerFingerprint sha256:{pin1} sha256:{pin2}
        PolyProvAllowList {allow}
        PolyProvDenyList {deny}
    </Location>""".format(d=h.docroot, p=pki, allow=allow, deny=deny,
                          pin1=manifest["issuing1"]["sha256"],
                          pin2=manifest["issuing2"]["sha256"]),
            plain_vhost="""
    ServerAlias alias.example
    PolyProv SharedOnly
    PolyProvSharedFiles 000000000000*.cfg *.ld""")
    return h, allow, deny


def test_the_dump_names_every_scope_in_order(configured, pki, manifest):
    h, allow, deny = configured
    rows = dump(h)
    tls = [r for r in rows if r["host"] == "localhost:%d" % h.port]
    plain = [r for r in rows if r["host"] == "localhost:%d" % h.http_port]
    assert [(r["kind"], r["path"]) for r in tls] == [
        ("host", ""),
        ("Directory", h.docroot + "/"),
        ("Directory", h.docroot + "/legacy/"),
        ("Files", "Directory %s/legacy/ Files *.log" % h.docroot),
        ("Location", "/pinned/"),
    ], tls
    assert [r["scope_index"] for r in tls] == [0, 1, 2, 3, 4]
    vhost = "%s:%d" % (h.conf, line_of(h, "<VirtualHost 127.0.0.1:%d>"
                                       % h.port))
    assert {r["vhost"] for r in tls} == {vhost}
    assert {r["document_root"] for r in rows} == {h.docroot}
    host, docroot, legacy, logs, pinned = tls
    at = lambda text: "%s:%d" % (h.conf, line_of(h, text))
    # the host: only the interval
    assert host["own"] == ["reload_interval"]
    assert host["reload_interval"] == 30
    assert host["reload_interval_at"] == at("PolyProvReloadInterval 30")
    assert host["mode"] == "Off" and host["mode_at"] is None
    # the document root: mode, CA with its fingerprints, CRLs with dates
    assert docroot["own"] == ["mode", "trusted_ca", "crl"]
    assert docroot["mode"] == "On"
    assert docroot["mode_at"] == at("PolyProv On")
    assert docroot["trusted_ca"] == ["%s/polycom-chain.pem" % pki]
    assert docroot["trusted_ca_at"] == at("PolyProvTrustedCA")
    fps = [c.split()[0] for c in docroot["ca_certificates"]]
    assert fps == ["sha256:" + manifest[k]["sha256"]
                   for k in ("root", "policy", "issuing1", "issuing2")], fps
    assert docroot["crl"] == ["%s/crl-all.pem" % pki]
    assert len(docroot["crl_next_update"]) == 4
    assert all(" nextUpdate 20" in c for c in docroot["crl_next_update"])
    assert docroot["reload_interval"] == 30      # inherited, and where from
    assert docroot["reload_interval_at"] == at("PolyProvReloadInterval 30")
    # a nested directory inherits, and adds the waiver and the handlers
    assert legacy["own"] == ["device_handlers", "allow_expired"]
    assert legacy["mode"] == "On" and legacy["trusted_ca_at"] == \
        at("PolyProvTrustedCA")
    assert legacy["allow_expired"] == "On"
    assert legacy["allow_expired_at"] == at("PolyProvAllowExpired On")
    assert legacy["device_handlers"] == "On"
    assert legacy["device_handlers_at"] == at("PolyProvDeviceHandlers On")
    assert docroot["allow_expired"] == "Off"
    # a <Location>: pins and which CA each matches, lists and warnings
    assert pinned["own"] == ["pins", "allow_list", "deny_list"]
    assert pinned["pins"] == ["sha256:" + manifest["issuing1"]["sha256"],
                              "sha256:" + manifest["issuing2"]["sha256"]]
    assert pinned["pins_at"] == [at("PolyProvIssuerFingerprint")] * 2
    assert pinned["pins_match"] == ["/CN=Polycom Equipment Issuing CA 1",
                                    "/CN=Polycom Equipment Issuing CA 2"]
    assert pinned["allow_list"] == allow
    assert pinned["allow_list_at"] == at("PolyProvAllowList")
    assert pinned["deny_list"] == deny
    assert pinned["deny_list_at"] == at("PolyProvDenyList")
    assert len(pinned["warnings"]) == 1
    assert "%s:2: 'not-a-mac'" % allow in pinned["warnings"][0]
    assert logs["own"] == ["cn_pattern"]
    assert logs["cn_pattern"] == "^SEP([0-9A-F]{12})$"
    assert logs["cn_pattern_at"] == at("PolyProvCNPattern")
    assert logs["allow_expired"] == "On" and logs["mode"] == "On"
    # the second host: SharedOnly, its shared files, its names
    assert [(r["kind"], r["mode"]) for r in plain] == [("host",
                                                        "SharedOnly")]
    assert plain[0]["shared_files"] == "000000000000*.cfg *.ld"
    assert plain[0]["shared_files_at"] == at("PolyProvSharedFiles 0000")
    assert plain[0]["aliases"] == ["alias.example"]
    assert plain[0]["cn_pattern"] == "^([0-9A-Fa-f]{12})$"


def test_without_the_define_nothing_is_printed(configured):
    h, _, _ = configured
    e = dict(os.environ)
    e.update(h.sanitizer_env())
    p = subprocess.run([HTTPD, "-f", h.conf, "-t"], capture_output=True,
                       text=True, env=e, timeout=60)
    assert p.returncode == 0 and p.stdout == "", p.stdout


def test_the_tool_answers_from_the_dump_as_the_server(configured, pki,
                                                      tmp_path):
    """polyprov-check --dump: "would this expired phone be served in
    /legacy/?" answered from the server's configuration, as the running
    server answers it (PolyProvAllowExpired On only there)."""
    from tests.pphttpd import checktool
    from tests.pphttpd.fixtures import populate
    h, _, _ = configured
    mac = "0004f2000f06"                  # expired-day
    populate(h, {"%s.cfg" % mac: "F's\n", "legacy/%s.cfg" % mac: "F's\n"})
    path = tmp_path / "dump.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in dump(h)) + "\n")
    h.start()
    cert = ["--cert", "%s/expired-day.chain.pem" % pki]
    where = ["--dump", str(path), "--host", "localhost:%d" % h.port]
    for uri, status, reason in (("/legacy/%s.cfg" % mac, 200, "ok"),
                                ("/%s.cfg" % mac, 403, "untrusted")):
        r = h.curl(uri, phone="expired-day")
        assert r.status == status, (uri, r)
        tool = checktool.run(*(where + cert + [uri]))
        assert tool.reason == reason, tool
    tool = checktool.run(*(where + cert + ["/legacy/%s.cfg" % mac]))
    assert "Directory %s/legacy/" % h.docroot in tool.out, tool
    assert "PolyProvAllowExpired is On" in tool.out, tool
