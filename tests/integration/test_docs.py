# SPDX-License-Identifier: Apache-2.0
"""What the documents (README.md, docs/) and the packaging promise: the
complete example runs as written, their links hold, conf.d/ is valid as
installed, the list state directory comes and
goes with httpd, start-up warnings are given."""

import os
import pwd
import re
import subprocess
import sys

import pytest

from tests.pphttpd.fixtures import FILES, TOP, populate
from tests.pphttpd.expect import A, B, C
from tests.pphttpd.pki import PHONE_E
from tests.pphttpd.readme import DOCS, conf_d_example, doc, \
    example_config, local_site, localise, readme, readme_demo_sample, \
    readme_example

E = PHONE_E.lower()


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


def test_readme_example_runs(servers, pki, manifest):
    h = servers()
    populate(h)
    conf, uploads = example_config(h, pki, manifest,
                                   [A, B, C, "0004f2000d04", E])
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
    # a phone whose factory certificate has expired: its files and its
    # log uploads (PolyProvAllowExpired in both directories)
    h.put("%s.cfg" % E, "expired phone\n")
    r = h.curl("/%s.cfg" % E, phone="expired-day")
    assert r.status == 200 and r.body == "expired phone\n", r
    r = h.curl("/logs/%s-app.log" % E, phone="expired-day", method="PUT",
               data="old phone booted\n")
    assert r.status == 201, r
    assert h.curl("/%s.cfg" % A, phone="expired-day").status == 403
    reasons = [re.search(r"reason=(\S+)", l).group(1) for l in h.refusals()]
    assert reasons == ["not-owner", "not-shared", "issuer", "not-owner",
                       "not-owner"], reasons
    with open(os.path.join(h.root, "logs", "provisioning.log")) as f:
        log = f.read()
    assert "mac=%s reason=-" % A in log and "reason=not-owner" in log
    # the bootROM, over HTTP with digest: the shared files, and no
    # device's file even with the password (it is the same on every phone)
    assert h.curl("/000000000000.cfg", tls=False).status == 401
    digest = ["--digest", "-u", "bootrom:pw"]
    r = h.curl("/000000000000.cfg", tls=False, extra=digest)
    assert r.status == 200 and r.body == FILES["000000000000.cfg"]
    r = h.curl("/3111-40250-001.sip.ld", tls=False, extra=digest)
    assert r.status == 200
    for mac in (A, B, C):
        for name in ("%s.cfg", "%s-phone.cfg"):
            path = "/" + name % mac
            if not h.exists(path):
                continue
            r = h.curl(path, tls=False, extra=digest)
            assert r.status == 403 and "secret" not in r.body, (path, r)
    r = h.curl("/000000000000.cfg", tls=False, method="PUT", data="x",
               extra=digest)
    assert r.status in (403, 405), r
    assert h.read("000000000000.cfg").decode() == FILES["000000000000.cfg"]
    assert "reason=device-file" in "".join(h.refusals())


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
    # httpd writes the access-log line after the response: wait for it
    import time
    deadline, log = time.time() + 10, ""
    while "mac=- reason=-" not in log and time.time() < deadline:
        time.sleep(0.05)
        with open(os.path.join(h.root, "logs", "pp.log")) as f:
            log = f.read()
    assert "mac=- reason=-" in log, log


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


def test_one_canonical_example():
    """conf.d/polyprov.conf's commented example is the complete example of
    docs/deployment.md, word for word (and so is the package's
    examples/provisioning-site.conf: tools/pkgdocs.py copies it)."""
    assert conf_d_example() == readme_example()


def test_conf_d_examples_run(servers, pki, manifest):
    """The example of conf.d/polyprov.conf as written, among the handlers
    Debian enables everywhere: the upload area draws no PP016 warning and
    runs nothing a phone uploads; the bootROM host serves no device's
    file."""
    h = servers()
    populate(h)
    conf, uploads = example_config(h, pki, manifest, [A],
                                   text=conf_d_example())
    h.extra_modules += ["dav", "dav_fs", "auth_digest", "authn_file",
                        "include", "negotiation", "proxy", "proxy_fcgi",
                        "cgi"]
    # what Debian enables everywhere: type maps, SSI, PHP-FPM
    server = """
AddHandler type-map var
AddType text/html .shtml
AddOutputFilter INCLUDES .shtml
AddHandler cgi-script .cgi
<FilesMatch ".+\\.ph(ar|p|tml)$">
    SetHandler "proxy:unix:/nonexistent/php-fpm.sock|fcgi://localhost"
</FilesMatch>
"""
    h.write(vhosts=conf, server=server)
    rc, out = h.configtest()
    assert rc == 0, out
    assert "PP016" not in out, out
    h.start()
    for name, content in (("%s-x.php" % A, "<?php echo 'ran'; ?>\n"),
                          ("%s-x.shtml" % A, '<!--#echo var="DATE_LOCAL" -->'),
                          ("%s-x.cgi" % A, "#!/bin/sh\necho ran\n")):
        r = h.curl("/logs/" + name, phone="phone-a", method="PUT",
                   data=content)
        assert r.status == 201, (name, r)
        r = h.curl("/logs/" + name, phone="phone-a")
        assert r.status == 200 and r.body == content, (name, r)
    digest_auth = ["--digest", "-u", "bootrom:pw"]
    assert h.curl("/000000000000.cfg", tls=False,
                  extra=digest_auth).status == 200
    r = h.curl("/%s.cfg" % A, tls=False, extra=digest_auth)
    assert r.status == 403 and "secret" not in r.body


def test_risky_scope_warning(servers, pki):
    """PP016 names each PolyProv On scope where Options, overrides or a
    forced output filter let other modules act on uploads, and only those."""
    h = servers()
    populate(h)
    h.write(vhost="""
    <Directory {d}>
        PolyProv On
        PolyProvTrustedCA {p}/polycom-chain.pem
    </Directory>
    <Directory {d}/inc>
        Options +Includes
    </Directory>
    <Directory {d}/mv>
        Options +MultiViews
        AllowOverride FileInfo
    </Directory>
    <Directory {d}/gen>
        Options +ExecCGI
        PolyProvDeviceHandlers On
    </Directory>
    <Location /filtered>
        PolyProv On
        SetOutputFilter INCLUDES
    </Location>
    <Location /plain>
        PolyProv On
    </Location>""".format(d=h.docroot, p=pki))
    rc, out = h.configtest()
    assert rc == 0, out
    warned = [l for l in out.splitlines() if "PP016" in l]
    assert len(warned) == 3, out
    assert any("%s/inc" % h.docroot in l and "Options Includes" in l
               for l in warned), warned
    assert any("%s/mv" % h.docroot in l and "Options MultiViews" in l
               and "AllowOverride" in l for l in warned), warned
    assert any("<Location /filtered>" in l and "SetOutputFilter INCLUDES"
               in l for l in warned), warned
    h.start()
    assert h.curl("/%s.cfg" % A, phone="phone-a").status == 200


def test_every_log_number_is_documented_once():
    """The table of log lines (docs/operations.md) and the code agree: every number
    the code writes is there, and no number is used for two messages."""
    code = set()
    for name in os.listdir(os.path.join(TOP, "mod_polyprov")):
        if name.endswith(".c"):
            with open(os.path.join(TOP, "mod_polyprov", name)) as f:
                code |= set(re.findall(r"\bPP\d{3}\b", f.read()))
    rows = re.findall(r"^\| `(PP\d{3})` \|", doc("docs/operations.md"),
                      re.M)
    assert len(rows) == len(set(rows)), sorted(rows)
    assert code == set(rows), (sorted(code - set(rows)),
                               sorted(set(rows) - code))


def test_core_lines_name_the_core_and_their_level(servers, pki):
    """A core message goes to httpd's log at its own level (a reload at
    notice, shown even at LogLevel warn) with the core's file and line."""
    h = servers()
    populate(h)
    allow = h.list_file("allow.txt", "%s\n" % A)
    h.write(vhost="""
    <Directory {d}>
        PolyProv On
        PolyProvTrustedCA {p}/polycom-chain.pem
        PolyProvAllowList {a}
        PolyProvReloadInterval 1
    </Directory>""".format(d=h.docroot, p=pki, a=allow),
        loglevel="warn", server='ErrorLogFormat "[%-m:%l] %F: %M"')
    h.start()
    assert h.curl("/%s.cfg" % B, phone="phone-b").status == 403
    h.mark()
    h.list_file("allow.txt", "%s\n%s\n" % (A, B))
    import time
    deadline = time.time() + 10
    while time.time() < deadline:
        if h.curl("/%s.cfg" % B, phone="phone-b").status == 200:
            break
        time.sleep(0.3)
    lines = [l for l in h.new_log().splitlines() if "PP038" in l]
    assert lines, h.new_log()
    assert lines[0].startswith("[polyprov:notice] "), lines[0]
    # (ErrorLogFormat's %F: where the line was logged)
    assert re.search(r"\] mod_polyprov/pp_listset\.c\(\d+\): PP038", lines[0]), \
        lines[0]


def test_decision_steps_numbered_as_the_core_names_them():
    """The decision table of docs/decisions.md, its list of step names and pp_step_t
    (pp_reason.h) give each step the same number."""
    with open(os.path.join(TOP, "mod_polyprov", "pp_reason.h")) as f:
        enum = dict((name, int(n)) for name, n in re.findall(
            r"^\s*(PP_STEP_[A-Z_]+) = (\d+),", f.read(), re.M))
    steps = {k: v for k, v in enum.items() if v > 0}
    assert enum.get("PP_STEP_NONE") == 0
    assert sorted(steps.values()) == list(range(1, len(steps) + 1))
    section = doc("docs/decisions.md").split("## How the module decides",
                                            1)[1]
    section = section.split("\n## ", 1)[0]
    rows = re.findall(r"^\| ([0-9, ]+) \|", section, re.M)
    single = [int(r) for r in rows if "," not in r]
    assert single == list(range(1, len(steps) + 1))
    listed = re.findall(r"(\d+)\s+`(PP_STEP_[A-Z_]+)`",
                        " ".join(section.split()))
    assert dict((name, int(n)) for n, name in listed) == steps


def github_anchors(text):
    """The anchors GitHub gives a Markdown file's headings: lower-case,
    spaces to '-', punctuation but '-' and '_' dropped, a repeated one
    numbered (-1, -2, ...); headings inside code blocks do not count."""
    anchors, seen, fence = set(), {}, False
    for line in text.split("\n"):
        if line.startswith("```"):
            fence = not fence
        m = re.match(r"#{1,6} (.*)", line)
        if m and not fence:
            a = re.sub(r"[^\w\- ]", "", m.group(1).strip().lower())
            a = a.replace(" ", "-")
            n = seen.get(a, 0)
            seen[a] = n + 1
            anchors.add(a if n == 0 else "%s-%d" % (a, n))
    return anchors


def link_problems(top, names):
    """Every relative link of the Markdown files names (paths under top)
    whose file or anchor does not exist."""
    problems = []
    for name in names:
        with open(os.path.join(top, name)) as f:
            text = f.read()
        # code blocks and code spans hold no links
        prose = re.sub(r"```.*?```", "", text, flags=re.S)
        prose = re.sub(r"`[^`\n]*`", "", prose)
        for target in re.findall(r"\]\(([^)\s]+)\)", prose):
            if re.match(r"[a-z]+:", target):
                continue
            path, _, frag = target.partition("#")
            dest = os.path.normpath(os.path.join(os.path.dirname(name),
                                                 path)) if path else name
            full = os.path.join(top, dest)
            if not os.path.exists(full):
                problems.append("%s: %s: no such file" % (name, target))
                continue
            if frag:
                if not dest.endswith(".md"):
                    problems.append("%s: %s: anchor in a non-Markdown file"
                                    % (name, target))
                    continue
                with open(full) as f:
                    if frag not in github_anchors(f.read()):
                        problems.append("%s: %s: no such anchor"
                                        % (name, target))
    return problems


def markdown_documents():
    docs = ["README.md", "CONTRIBUTING.md", "CHANGES.md", "SECURITY.md"]
    docs += sorted("docs/" + n for n in os.listdir(os.path.join(TOP, "docs"))
                   if n.endswith(".md"))
    return docs


def test_every_relative_link_and_anchor_resolves(tmp_path):
    """Every relative link of README.md, docs/*.md and the other top-level
    documents names a file that exists and, with '#', one of its headings'
    anchors (GitHub's rules); the test's own check finds a broken one."""
    docs = markdown_documents()
    assert set(docs) == set(DOCS), "tests/pphttpd/readme.py's DOCS: %s" % (
        sorted(set(docs) ^ set(DOCS)))
    assert link_problems(TOP, docs) == []
    # the check itself: a missing file, a missing anchor, a good one
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "a.md").write_text(
        "# A title, with: punctuation\n\n## Twice\n\n## Twice\n\n"
        "[ok](#a-title-with-punctuation) [ok](#twice-1) [ok](../B.md#b)\n"
        "[bad](#twice-2) [bad](../C.md) [bad](../B.md#nope) `[no](x.md)`\n")
    (tmp_path / "B.md").write_text("# B\n")
    assert link_problems(str(tmp_path), ["docs/a.md"]) == [
        "docs/a.md: #twice-2: no such anchor",
        "docs/a.md: ../C.md: no such file",
        "docs/a.md: ../B.md#nope: no such anchor"]


# Every ```apache block of the documents is run by a test, between
# <!-- NAME:begin --> and <!-- NAME:end --> (NAME here, with the test file
# that reads it: that file must name it), or says why it is a fragment in
# a <!-- fragment: why --> comment on the line before it.
RUN_BY = {
    "minimal": "tests/integration/test_docs.py",
    "example": "tests/pphttpd/readme.py",
    "expired": "tests/integration/test_docs.py",
    "logformat-expired": "tests/integration/test_docs.py",
    "database": "tests/integration/test_docs.py",
    "farm-server": "tests/integration/test_docs.py",
    "phonecert": "tests/integration/test_phone_found.py",
    "monitoring": "tests/integration/test_metrics.py",
    "migrate-password": "tests/integration/test_report_mode.py",
    "migrate-recipe": "tests/integration/test_report_mode.py",
    "migrate-on": "tests/integration/test_report_mode.py",
}


def apache_blocks(text):
    """(what precedes it: the marker's name, "fragment" or None; the
    block's first line number) for each ```apache block of text."""
    out, lines, fence = [], text.split("\n"), False
    for i, line in enumerate(lines):
        if line.startswith("```"):
            if not fence and line.strip() == "```apache":
                before = lines[i - 1].strip() if i else ""
                m = re.match(r"<!-- ([a-z0-9-]+):begin -->$", before)
                if m:
                    out.append((m.group(1), i + 1))
                elif re.match(r"<!-- fragment: \S.* -->$", before):
                    out.append(("fragment", i + 1))
                else:
                    out.append((None, i + 1))
            fence = not fence
    return out


def test_every_apache_block_runs_or_is_a_fragment():
    """Every apache block of README.md and docs/ is run by a test (its
    marker is in RUN_BY, whose test file names it) or is marked a fragment
    with its reason; none loads a module with LoadModule (on Debian,
    a2enmod does)."""
    seen = set()
    for name in markdown_documents():
        text = doc(name)
        for marker, line in apache_blocks(text):
            assert marker is not None, \
                "%s:%d: an apache block neither run nor a fragment" % (
                    name, line)
            if marker != "fragment":
                assert marker in RUN_BY, "%s:%d: %s" % (name, line, marker)
                seen.add(marker)
        for block in re.findall(r"```apache\n(.*?)```", text, re.S):
            assert not re.search(r"^\s*LoadModule\b", block, re.M), block
    assert seen == set(RUN_BY), sorted(set(RUN_BY) ^ seen)
    for marker, test in RUN_BY.items():
        with open(os.path.join(TOP, test)) as f:
            text = f.read()
        assert '"%s"' % marker in text or "%s:begin" % marker in text, \
            (marker, test)
    # the check itself
    assert apache_blocks("x\n```apache\nA\n```\n<!-- fragment: why -->\n"
                         "```apache\nB\n```\n<!-- n:begin -->\n```apache\n"
                         "C\n```\n<!-- fragment: -->\n```apache\nD\n```\n"
                         ) == [(None, 2), ("fragment", 6), ("n", 10),
                               (None, 14)]


def marked_block(name):
    m = re.search(r"<!-- %s:begin -->\s*```apache\n(.*?)```\s*<!-- %s:end -->"
                  % (name, name), readme(), re.S)
    assert m, name
    return m.group(1)


def bare_tls_host(h, pki):
    """A mutual-TLS host with no <Directory> of its own: what the
    server-level snippets are added to (Debian's <Directory /> denies)."""
    return """
<VirtualHost 127.0.0.1:{port}>
    DocumentRoot {d}
    SSLEngine on
    SSLCertificateFile {p}/server.crt
    SSLCertificateKeyFile {p}/server.key
    SSLCACertificateFile {p}/polycom-chain.pem
    SSLVerifyClient require
    SSLVerifyDepth 3
</VirtualHost>
""".format(port=h.port, d=h.docroot, p=pki)


def sqlite_inventory(h):
    """The inventory the database snippets query, on SQLite (the
    snippets' pgsql driver and parameters are replaced): A enabled, B
    enabled and stolen, C not enabled."""
    from tests.pphttpd.sqldb import Sqlite
    db = Sqlite(h)
    db.sql("ALTER TABLE phones ADD COLUMN stolen BOOLEAN NOT NULL "
           "DEFAULT FALSE",
           ("INSERT INTO phones VALUES (?, 1, 0)", (A,)),
           ("INSERT INTO phones VALUES (?, 1, 1)", (B,)),
           ("INSERT INTO phones VALUES (?, 0, 0)", (C,)))
    return db


def localise_dbd(conf, db):
    conf = localise(conf, [("DBDriver pgsql", "DBDriver sqlite3")])
    conf, n = re.subn(r'^DBDParams ".*"$', "DBDParams %s" % db.params,
                      conf, flags=re.M)
    assert n == 1
    return conf


@pytest.mark.parametrize("name", ["minimal", "expired", "logformat-expired",
                                  "database", "farm-server"])
def test_snippet_runs_as_written_on_debian_stock(servers, pki, name):
    """The apache blocks of README.md and docs/ that RUN_BY gives to this
    file, as written (paths, ports and the database replaced by test ones)
    on a server whose <Directory /> denies, as Debian's apache2.conf
    does: a phone gets its own file (a missing Require all granted would
    answer 403), not another's."""
    h = servers()
    populate(h)
    replacements, _ = local_site(h, pki)
    conf = marked_block(name)
    extra = []
    if name in ("minimal", "expired", "farm-server"):
        conf = localise(conf, [r for r in replacements
                               if r[0] in conf or r[0] == "*:443"])
    if name == "logformat-expired":
        conf += "CustomLog %s/logs/prov.log provisioning\n" % h.root
        conf = conf + bare_tls_host(h, pki).replace(
            "</VirtualHost>", """    <Directory {d}>
        Require all granted
        PolyProv On
        PolyProvTrustedCA {p}/polycom-chain.pem
    </Directory>
</VirtualHost>""".format(d=h.docroot, p=pki))
    if name == "database":
        h.extra_modules += ["dbd"]
        conf = localise_dbd(localise(conf, [
            ("/srv/provisioning", h.docroot),
            ("/etc/ssl/polycom/polycom-chain.pem",
             pki + "/polycom-chain.pem")]), sqlite_inventory(h))
        conf += bare_tls_host(h, pki)
    if name == "farm-server":
        h.extra_modules += ["dbd", "remoteip"]
        conf = localise_dbd(conf, sqlite_inventory(h))
        extra = ["--haproxy-protocol"]
    h.write(vhosts=conf)
    rc, out = h.configtest()
    assert rc == 0, out
    h.start()
    r = h.curl("/%s.cfg" % A, phone="phone-a", extra=extra)
    assert r.status == 200 and r.body == FILES[A + ".cfg"], r
    assert h.curl("/%s.cfg" % B, phone="phone-a", extra=extra).status == 403
    if name in ("database", "farm-server"):
        # B is stolen (the deny list, the database snippet only), C not
        # enabled
        assert h.curl("/%s.cfg" % C, phone="phone-c",
                      extra=extra).status == 403
    if name == "expired":
        h.put("%s.cfg" % E, "expired phone\n")
        r = h.curl("/%s.cfg" % E, phone="expired-day")
        assert r.status == 200 and r.body == "expired phone\n", r
    if name == "minimal":
        # no PolyProvAllowExpired: mod_ssl ends the expired phone's
        # handshake
        assert h.curl("/%s.cfg" % E, phone="expired-day").status == 0
    if name == "logformat-expired":
        import time
        deadline, log = time.time() + 10, ""
        while "reason=not-owner" not in log and time.time() < deadline:
            time.sleep(0.05)
            with open(os.path.join(h.root, "logs", "prov.log")) as f:
                log = f.read()
        assert "mac=%s reason=not-owner expired=-" % A in log, log


def registered_directives():
    names = set()
    for src in os.listdir(os.path.join(TOP, "mod_polyprov")):
        if src.endswith(".c"):
            with open(os.path.join(TOP, "mod_polyprov", src)) as f:
                names |= set(re.findall(r'AP_INIT_\w+\(\s*"(PolyProv\w*)"',
                                        f.read()))
    return names


def directive_entries(text):
    """{name: {field: value}} of each "### PolyProv..." entry's table."""
    entries = {}
    for m in re.finditer(r"^### (PolyProv\w*)\n\n((?:\|.*\|\n)+)", text,
                         re.M):
        rows = m.group(2).splitlines()[2:]
        entries[m.group(1)] = dict(
            (r.split("|")[1].strip(), r.split("|", 2)[2].rsplit("|", 1)[0]
             .strip()) for r in rows)
    return entries


def test_every_directive_in_httpd_manual_shape():
    """docs/directives.md has one entry per directive the module registers,
    each opening with httpd's manual's Description, Syntax, Default,
    Context, Override and Module, in the summary table too, and the
    <IfModule> warning."""
    text = doc("docs/directives.md")
    names = registered_directives()
    assert len(names) >= 12, names
    entries = directive_entries(text)
    assert set(entries) == names, sorted(set(entries) ^ names)
    assert len(re.findall(r"^### PolyProv\w*$", text, re.M)) == len(names)
    for name, fields in entries.items():
        assert list(fields) == ["Description", "Syntax", "Default",
                                "Context", "Override", "Module"], name
        assert all(fields.values()), (name, fields)
        assert fields["Syntax"].startswith("`%s" % name), name
        assert fields["Module"] == "mod_polyprov", name
        assert "[`%s`](#%s)" % (name, name.lower()) in text, name
    assert "### Never inside `<IfModule polyprov_module>`" in text
    # the check itself
    assert directive_entries("### PolyProvX\n\n| | |\n|---|---|\n"
                             "| Syntax | `PolyProvX On` |\n") == {
        "PolyProvX": {"Syntax": "`PolyProvX On`"}}
