# SPDX-License-Identifier: Apache-2.0
"""make demo: mod_polyprov doing its job in a throwaway httpd.

Starts Debian's apache2 with the module on a loopback port, with the
phones' files, plays a few phones against it with curl, prints what
happened and the log lines it wrote, and stops the server.
"""

import os
import re
import sqlite3
import sys
import textwrap
import time

sys.path.insert(0, os.path.abspath(os.path.join(os.path.dirname(__file__),
                                                "..")))

from tests.pphttpd.httpd import Httpd  # noqa: E402

A, B, C = "0004f2000a01", "0004f2000b02", "0004f2000c03"
E = "0004f2000f06"        # a phone whose certificate expired yesterday


def main():
    module = os.environ.get("PP_MODULE", "build/mod_polyprov.so")
    pki = os.environ.get("PP_PKI", "build/pki")
    h = Httpd(os.path.abspath(module), os.path.abspath(pki))
    files = {
        A + ".cfg": "<!-- phone A: its SIP password -->\n",
        B + ".cfg": "<!-- phone B: its SIP password -->\n",
        "000000000000.cfg": "<!-- shared master configuration -->\n",
        "3111-40250-001.sip.ld": "firmware\n",
        E + ".cfg": "<!-- phone E: its SIP password -->\n",
        "legacy/" + E + ".cfg": "<!-- phone E, legacy area -->\n",
    }
    for name, content in files.items():
        h.put(name, content)
    # the fleet's inventory, in SQLite (docs/deployment.md, Lists from a database)
    inventory = os.path.join(h.root, "lists", "inventory.db")
    con = sqlite3.connect(inventory)
    con.execute("CREATE TABLE phones (mac TEXT, enabled BOOLEAN)")
    con.executemany("INSERT INTO phones VALUES (?, ?)",
                    [(A, 1), ("00:04:F2:00:0B:02", 1), (C, 0), (E, 1)])
    con.commit()
    con.close()
    os.chmod(inventory, 0o644)
    server = textwrap.dedent("""\
        DBDriver sqlite3
        DBDParams {inventory}
        DBDPersist Off""").format(inventory=inventory)
    vhost = textwrap.dedent("""\
        <Directory {docroot}>
            PolyProv On
            PolyProvTrustedCA {pki}/polycom-chain.pem
            PolyProvAllowList dbd "SELECT mac FROM phones WHERE enabled"
            Dav On
            AcceptPathInfo On
        </Directory>
        # phones made around 2011: certificates past notAfter, here only
        <Directory {docroot}/legacy>
            PolyProvAllowExpired On
        </Directory>""").format(docroot=h.docroot, pki=h.pki)
    # the bootROM and updater's plain-HTTP host: the shared files only
    plain = textwrap.dedent("""\
        <Directory {docroot}>
            PolyProv SharedOnly
            PolyProvSharedFiles 000000000000*.cfg *.ld
        </Directory>""").format(docroot=h.docroot)
    h.write(vhost=vhost, plain_vhost=plain, loglevel="warn polyprov:info",
            server=server, modules=["dbd"])

    print("mod_polyprov demo")
    print("=================")
    print("A throwaway Apache httpd on https://127.0.0.1:%d, document root"
          % h.port)
    print(h.docroot + ". The mutual-TLS virtual host trusts the Polycom-shaped")
    print("test chain, a corporate CA and a forged 'Polycom' chain (mod_ssl")
    print("accepts all three). The allow list is the enabled phones of an")
    print("SQLite inventory, through mod_dbd:\n")
    print(textwrap.indent(server, "    "))
    print("\nthe module's own part of the configuration:\n")
    print(textwrap.indent(vhost, "    "))
    print("\nand on the plain-HTTP host for the bootROM "
          "(http://127.0.0.1:%d):\n" % h.http_port)
    print(textwrap.indent(plain, "    "))
    print()

    plays = [
        ("phone %s fetches its own file" % A.upper(), "phone-a",
         "GET", "/%s.cfg" % A, None, 200),
        ("... and the shared master file", "phone-a",
         "GET", "/000000000000.cfg", None, 200),
        ("... and uploads its log", "phone-a",
         "PUT", "/%s-app.log" % A, "boot ok\n", 201),
        ("... fetches phone %s's file" % B.upper(), "phone-a",
         "GET", "/%s.cfg" % B, None, 403),
        ("... asks for it with its own MAC as path info", "phone-a",
         "GET", "/%s.cfg/%s" % (B, A.upper()), None, 403),
        ("... overwrites the shared file", "phone-a",
         "PUT", "/000000000000.cfg", "evil\n", 403),
        ("a forged 'Polycom' certificate with CN %s" % A.upper(),
         "forged-a", "GET", "/%s.cfg" % A, None, 403),
        ("a corporate-CA certificate with CN %s" % A.upper(), "corp-a",
         "GET", "/%s.cfg" % A, None, 403),
        ("a genuine Polycom-chain certificate without a CN", "no-cn",
         "GET", "/%s.cfg" % B, None, 403),
        ("genuine phone %s, not on the allow list" % C.upper(), "phone-c",
         "GET", "/000000000000.cfg", None, 403),
        ("phone %s (certificate expired) in /legacy/" % E.upper(),
         "expired-day", "GET", "/legacy/%s.cfg" % E, None, 200),
        ("... the same phone outside /legacy/", "expired-day",
         "GET", "/%s.cfg" % E, None, 403),
        ("the bootROM over plain HTTP fetches the master file", None,
         "GET", "/000000000000.cfg", None, 200),
        ("... and phone %s's file" % A.upper(), None,
         "GET", "/%s.cfg" % A, None, 403),
    ]
    # the same phones against Poly's published recipe, for contrast
    poly = Httpd(os.path.abspath(module), os.path.abspath(pki))
    for name, content in files.items():
        poly.put(name, content)
    poly.write(load_polyprov=False, loglevel="warn", vhost=textwrap.dedent("""\
        <Directory {docroot}>
            Dav On
            AcceptPathInfo On
            <If "%{{REQUEST_URI}} -strcmatch '*%{{SSL_CLIENT_S_DN_CN}}*'">
                Require all granted
            </If>
            <Else>
                Require all denied
            </Else>
        </Directory>""").format(docroot=poly.docroot))
    failures = 0
    h.start()
    poly.start()
    try:
        h.mark()
        print("%-58s %-13s %-8s %s" % ("", "mod_polyprov", "expected",
                                       "Poly's <If> recipe"))
        print("-" * 98)
        for what, phone, method, path, data, want in plays:
            tls = phone is not None
            r = h.curl(path, phone=phone, method=method, data=data, tls=tls)
            p = poly.curl(path, phone=phone, method=method, data=data,
                          tls=tls)
            ok = r.status == want
            failures += not ok
            leak = " (leak)" if p.status in (200, 201, 204) and want == 403 \
                else ""
            print("%-58s %-13s %-8s %s%s%s" % (
                what, r.status or "-", want, p.status or "-", leak,
                "" if ok else "   <-- UNEXPECTED"))
            print("    %s %s%s" % (method, path, "" if tls else
                                    "   (plain HTTP, no certificate)"))
        time.sleep(0.3)
        print("\nerror log (one line per refusal: reason, MAC, URI, client;"
              " an expired certificate served):")
        for line in h.new_log().splitlines():
            if "PP001" in line or "PP042" in line:
                print("  " + re.sub(r"^\[[^]]*\] ", "", line))
        print("\naccess log (LogFormat ... %{POLYPROV_MAC}e "
              "%{POLYPROV_REASON}e %{POLYPROV_CERT_EXPIRED}e):")
        for line in h.access_lines():
            print("  " + re.sub(r" pid=\d+$", "", line))
    finally:
        h.stop()
        poly.stop()
        h.cleanup()
        poly.cleanup()
    print("\nservers stopped and removed.")
    if failures:
        print("%d unexpected result(s)" % failures)
        return 1
    print("every phone got what it should, and nothing else.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
