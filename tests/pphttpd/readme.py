# SPDX-License-Identifier: Apache-2.0
"""The documents' runnable parts (README.md and docs/*.md), for the tests
that hold them to their word: the complete example (made runnable on a throwaway server by replacing its
paths, ports and fingerprints), the demo sample and the install blocks."""

import hashlib
import os
import pwd
import re

TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))

REAL_ISSUING_1 = ("2D:FD:3E:9E:45:57:AB:4F:6F:D1:7B:45:05:39:19:61:0E:8E:"
                  "77:1E:6A:78:23:9B:08:D4:7C:81:53:25:A0:68")
REAL_ISSUING_2 = ("90:B5:7C:FF:4C:68:1E:53:9E:5D:13:1E:B5:F9:8D:2B:48:AB:"
                  "9A:BE:CC:1E:9F:0D:DA:F2:56:2A:B4:7A:F0:06")


# the project's documents, README.md first: the snippets the tests take
# between markers, and the sections they read, may be in any of them
DOCS = ["README.md", "docs/decisions.md", "docs/directives.md",
        "docs/deployment.md", "docs/operations.md", "docs/security.md",
        "docs/performance.md", "CONTRIBUTING.md", "CHANGES.md",
        "SECURITY.md"]


def doc(name):
    """One document's text (name relative to the top of the tree)."""
    with open(os.path.join(TOP, name)) as f:
        return f.read()


def readme():
    """README.md and the documents of docs/ (and the other top-level
    documents) as one text, each starting on a line of its own."""
    return "\n".join(doc(name) for name in DOCS)


def readme_example():
    m = re.search(r"<!-- example:begin -->\s*```apache\n(.*?)```\s*"
                  r"<!-- example:end -->", readme(), re.S)
    assert m, "the README's example markers are missing"
    return m.group(1)


def readme_demo_sample():
    m = re.search(r"<!-- demo:begin -->\s*```\n(.*?)```\s*<!-- demo:end -->",
                  readme(), re.S)
    assert m, "the README's demo markers are missing"
    return m.group(1).splitlines()


def readme_sh_block(heading):
    """The commands of the first ```sh block after the line heading (say
    "**Debian and Ubuntu**"), without comments and with continuation lines
    joined."""
    text = readme()
    at = text.index("\n%s\n" % heading)
    m = re.search(r"```sh\n(.*?)```", text[at:], re.S)
    assert m, heading
    joined = m.group(1).replace("\\\n", " ")
    lines = [re.sub(r"(^|\s+)#.*$", "", l).strip()
             for l in joined.splitlines()]
    return [l for l in lines if l]


def colons(hexfp):
    return ":".join(hexfp[i:i + 2] for i in range(0, 64, 2)).upper()


def local_site(h, pki):
    """For a configuration written for /srv/provisioning and /etc: the
    uploads directory and digest file (user bootrom, password pw) made
    under h.root, and the replacements of every path and port by a test
    one.  Returns (replacements, uploads)."""
    uploads = os.path.join(h.root, "uploads")
    os.makedirs(uploads)
    if os.geteuid() == 0:
        os.chown(uploads, pwd.getpwnam("www-data").pw_uid,
                 pwd.getpwnam("www-data").pw_gid)
    digest = os.path.join(h.root, "provisioning.htdigest")
    ha1 = hashlib.md5(b"bootrom:provisioning:pw").hexdigest()
    with open(digest, "w") as f:
        f.write("bootrom:provisioning:%s\n" % ha1)
    return [
        ("*:80", "127.0.0.1:%d" % h.http_port),
        ("*:443", "127.0.0.1:%d" % h.port),
        ("/srv/provisioning-uploads", uploads),
        ("/srv/provisioning", h.docroot),
        ("/etc/apache2/provisioning.htdigest", digest),
        ("/etc/ssl/certs/prov.example.com.pem", pki + "/server.crt"),
        ("/etc/ssl/private/prov.example.com.key", pki + "/server.key"),
        ("/etc/ssl/polycom/polycom-chain.pem", pki + "/polycom-chain.pem"),
        ("${APACHE_LOG_DIR}", os.path.join(h.root, "logs"))], uploads


def localise(conf, replacements):
    """Every replacement applied; each must occur."""
    for old, new in replacements:
        assert old in conf, old
        conf = conf.replace(old, new)
    return conf


def conf_d_example():
    """The example of conf.d/polyprov.conf (between its example:begin and
    example:end comment lines), uncommented."""
    with open(os.path.join(TOP, "conf.d", "polyprov.conf")) as f:
        text = f.read()
    m = re.search(r"^# example:begin\b.*?\n(.*?)^# example:end$", text,
                  re.S | re.M)
    assert m, "conf.d/polyprov.conf's example markers are missing"
    return "".join(re.sub(r"^# ?", "", l) + "\n"
                   for l in m.group(1).split("\n")[:-1])


def example_config(h, pki, manifest, allowed, text=None):
    """The complete example (or text, a copy of it) for the server h (see
    local_site), with an allow list of the MACs allowed and the test CA
    fingerprints.  Returns the configuration text and the uploads
    directory."""
    replacements, uploads = local_site(h, pki)
    allow = h.list_file("allow.txt", "".join(m + "\n" for m in allowed))
    conf = readme_example() if text is None else text
    assert REAL_ISSUING_1 in conf and REAL_ISSUING_2 in conf
    conf = localise(conf, replacements + [
        ("/etc/apache2/polyprov/allow.txt", allow),
        (REAL_ISSUING_1, colons(manifest["issuing1"]["sha256"])),
        (REAL_ISSUING_2, colons(manifest["issuing2"]["sha256"]))])
    return conf, uploads
