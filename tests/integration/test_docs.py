"""What the README and the packaging promise: the complete example runs as
written, conf.d/ is valid as installed, the list state directory comes and
goes with httpd, start-up warnings are given."""

import hashlib
import os
import pwd
import re
import subprocess
import sys

from tests.pphttpd.fixtures import FILES, TOP, populate
from tests.pphttpd.expect import A, B, C

REAL_ISSUING_1 = ("2D:FD:3E:9E:45:57:AB:4F:6F:D1:7B:45:05:39:19:61:0E:8E:"
                  "77:1E:6A:78:23:9B:08:D4:7C:81:53:25:A0:68")
REAL_ISSUING_2 = ("90:B5:7C:FF:4C:68:1E:53:9E:5D:13:1E:B5:F9:8D:2B:48:AB:"
                  "9A:BE:CC:1E:9F:0D:DA:F2:56:2A:B4:7A:F0:06")


def readme_example():
    with open(os.path.join(TOP, "README.md")) as f:
        text = f.read()
    m = re.search(r"<!-- example:begin -->\s*```apache\n(.*?)```\s*"
                  r"<!-- example:end -->", text, re.S)
    assert m, "the README's example markers are missing"
    return m.group(1)


def readme_demo_sample():
    with open(os.path.join(TOP, "README.md")) as f:
        text = f.read()
    m = re.search(r"<!-- demo:begin -->\s*```\n(.*?)```\s*<!-- demo:end -->",
                  text, re.S)
    assert m, "the README's demo markers are missing"
    return m.group(1).splitlines()


def test_readme_demo_sample_is_what_make_demo_prints(module, pki):
    """The Quick start's sample: the table as make demo prints it, and the
    demo's last line."""
    p = subprocess.run([sys.executable, "-m", "tests.demo"], cwd=TOP,
                       env=dict(os.environ, PP_MODULE=module, PP_PKI=pki),
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stdout + p.stderr
    out = p.stdout.splitlines()
    sample = readme_demo_sample()
    cut = sample.index("...")
    table, tail = sample[:cut], sample[cut + 1:]
    start = out.index(table[0])
    assert out[start:start + len(table)] == table
    assert out[-len(tail):] == tail


def colons(hexfp):
    return ":".join(hexfp[i:i + 2] for i in range(0, 64, 2)).upper()


def test_readme_example_runs(servers, pki, manifest):
    h = servers()
    populate(h)
    uploads = os.path.join(h.root, "uploads")
    os.makedirs(uploads)
    if os.geteuid() == 0:
        os.chown(uploads, pwd.getpwnam("www-data").pw_uid,
                 pwd.getpwnam("www-data").pw_gid)
    digest = os.path.join(h.root, "provisioning.htdigest")
    ha1 = hashlib.md5(b"bootrom:provisioning:pw").hexdigest()
    with open(digest, "w") as f:
        f.write("bootrom:provisioning:%s\n" % ha1)
    allow = h.list_file("allow.txt", "%s\n%s\n%s\n0004f2000d04\n" % (A, B, C))
    conf = readme_example()
    assert REAL_ISSUING_1 in conf and REAL_ISSUING_2 in conf
    for old, new in [
            ("*:80", "127.0.0.1:%d" % h.http_port),
            ("*:443", "127.0.0.1:%d" % h.port),
            ("/srv/provisioning-uploads", uploads),
            ("/srv/provisioning", h.docroot),
            ("/etc/apache2/provisioning.htdigest", digest),
            ("/etc/ssl/certs/prov.example.com.pem", pki + "/server.crt"),
            ("/etc/ssl/private/prov.example.com.key", pki + "/server.key"),
            ("/etc/ssl/polycom/polycom-chain.pem",
             pki + "/polycom-chain.pem"),
            ("/etc/apache2/polyprov/allow.txt", allow),
            ("${APACHE_LOG_DIR}", os.path.join(h.root, "logs")),
            (REAL_ISSUING_1, colons(manifest["issuing1"]["sha256"])),
            (REAL_ISSUING_2, colons(manifest["issuing2"]["sha256"]))]:
        assert old in conf, old
        conf = conf.replace(old, new)
    h.write(vhosts=conf)
    rc, out = h.configtest()
    assert rc == 0, out
    h.start()
    h.mark()
    # the application, over mutual TLS
    r = h.curl("/%s.cfg" % A, phone="phone-a")
    assert r.status == 200 and r.body == FILES[A + ".cfg"]
    assert h.curl("/%s.cfg" % B, phone="phone-a").status == 403
    assert h.curl("/000000000000.cfg", phone="phone-c").status == 200
    assert h.curl("/3111-40250-001.sip.ld", phone="phone-a").status == 200
    assert h.curl("/000000000000-license.cfg", phone="phone-a").status == 200
    assert h.curl("/site.cfg", phone="phone-a").status == 200
    # the other shared files phones fetch
    lang = "SoundPointIPLocalization/English_United_States/" \
        "SoundPointIP-dictionary.xml"
    for name in ["sip.cfg", "000000000000-directory.xml", lang,
                 "LoudRing.wav", "3111-40250-001.ld"]:
        h.put(name, "shared %s\n" % name)
        r = h.curl("/" + name, phone="phone-b")
        assert r.status == 200 and r.body == "shared %s\n" % name, name
    # a phone's own directory is its own, not the default one
    h.put("%s-directory.xml" % A, "<directory/>\n")
    assert h.curl("/%s-directory.xml" % A, phone="phone-a").status == 200
    h.put("other.cfg", "not shared\n")
    assert h.curl("/other.cfg", phone="phone-a").status == 403
    assert h.curl("/0004f2000d04.cfg", phone="phone-d-root").status == 403
    # this host trusts only the Polycom chain: mod_ssl refuses the forgery
    r = h.curl("/%s.cfg" % A, phone="forged-a")
    assert r.status == 0 and r.rc != 0
    r = h.curl("/logs/%s-app.log" % A, phone="phone-a", method="PUT",
               data="booted\n")
    assert r.status == 201, r
    with open(os.path.join(uploads, A + "-app.log")) as f:
        assert f.read() == "booted\n"
    assert h.curl("/logs/%s-app.log" % B, phone="phone-a", method="PUT",
                  data="x").status == 403
    reasons = [re.search(r"reason=(\S+)", l).group(1) for l in h.refusals()]
    assert reasons == ["not-owner", "not-shared", "issuer", "not-owner"], \
        reasons
    with open(os.path.join(h.root, "logs", "provisioning.log")) as f:
        log = f.read()
    assert "mac=%s reason=-" % A in log and "reason=not-owner" in log
    # the bootROM, over HTTP with digest
    assert h.curl("/%s.cfg" % A, tls=False).status == 401
    r = h.curl("/%s.cfg" % A, tls=False,
               extra=["--digest", "-u", "bootrom:pw"])
    assert r.status == 200


def test_conf_d_files_valid_as_installed(servers, module):
    h = servers()
    with open(os.path.join(TOP, "conf.d", "polyprov.load")) as f:
        load = f.read()
    assert "# Depends: ssl" in load
    load = load.replace("/usr/lib/apache2/modules/mod_polyprov.so", module)
    with open(os.path.join(TOP, "conf.d", "polyprov.conf")) as f:
        conf = f.read()
    h.write(load_polyprov=False, loglevel="warn",
            server=load + "\n" + conf + "\nCustomLog %s/logs/pp.log polyprov"
            % h.root)
    rc, out = h.configtest()
    assert rc == 0, out
    h.start()
    assert h.curl("/x", phone="phone-a").status == 404
    with open(os.path.join(h.root, "logs", "pp.log")) as f:
        assert "mac=- reason=-" in f.read()


def test_state_directory_comes_and_goes(servers, pki):
    h = servers()
    populate(h)
    allow = h.list_file("allow.txt", "%s\n" % A)
    h.write(vhost="""
    PolyProv On
    PolyProvTrustedCA {p}/polycom-chain.pem
    PolyProvAllowList {a}""".format(p=pki, a=allow))
    h.start()
    state = os.path.join(h.root, "run", "polyprov-%d" % h.pid())
    assert os.path.isdir(state)
    snaps = [n for n in os.listdir(state) if n.endswith(".snap")]
    assert len(snaps) == 1, snaps
    st = os.stat(state)
    assert st.st_mode & 0o777 == 0o700
    if os.geteuid() == 0:
        assert pwd.getpwuid(st.st_uid).pw_name == "www-data"
        assert pwd.getpwuid(os.stat(os.path.join(state, snaps[0])).st_uid
                            ).pw_name == "www-data"
    assert h.curl("/%s.cfg" % A, phone="phone-a").status == 200
    # a reload keeps the previous generation's snapshots (its processes
    # may still be finishing requests) and removes older ones
    h.graceful()
    h.graceful()
    first = snaps[0].split("-")[0]
    gens = sorted(int(n.split("-")[0][1:]) for n in os.listdir(state)
                  if n.endswith(".snap"))
    assert gens == [int(first[1:]) + 1, int(first[1:]) + 2], gens
    assert h.curl("/%s.cfg" % A, phone="phone-a").status == 200
    h.stop()
    assert not os.path.exists(state)


def test_startup_warnings(servers, pki):
    h = servers()
    populate(h)
    h.write(vhost="""
    PolyProv On
    PolyProvTrustedCA {p}/polycom-chain.pem
    PolyProvCRL {p}/crl-expired.pem""".format(p=pki))
    rc, out = h.configtest()
    assert rc == 0
    assert "the CRL of /CN=Polycom Equipment Issuing CA 1 has expired" in out
    h.start()
    # and it means what it says: the CA 1 phone is refused, CA 2's is not
    assert h.curl("/%s.cfg" % A, phone="phone-a").status == 403
    assert h.curl("/%s.cfg" % C, phone="phone-c").status == 200
