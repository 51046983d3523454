#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""The documents the package installs besides the Markdown ones, made from
them at build time so that they say what they say:

- polyprov.conf(5): the "Directives" section of docs/directives.md,
  "Troubleshooting a 403" (with its log-message catalogue) and "Upgrading
  and removing" of docs/operations.md, turned into a manual page, with the
  <IfModule> warning of docs/directives.md;
- examples/: the documents' tested configuration blocks (the complete
  example site, the metrics host, the alert rules, HAProxy's farm
  configuration), each under a comment saying where it comes from.

    tools/pkgdocs.py [--top DIR] [--changelog debian/changelog] OUTDIR

The documents are README.md and docs/*.md under DIR (the source tree).

The version and date of the manual page are the newest debian/changelog
entry's.  Python's standard library only.
"""

import argparse
import email.utils
import os
import re
import sys

DOCDIR = "/usr/share/doc/libapache2-mod-polyprov"

# (heading in the documents, manual page section title)
SECTIONS = [
    ("## Directives", "DIRECTIVES"),
    ("## Troubleshooting a 403", "TROUBLESHOOTING AND LOG MESSAGES"),
    ("## Upgrading and removing", "UPGRADING AND REMOVING"),
]

# where each section of the documents is, for the examples' comments and
# the links the manual page does not hold
DOCFILES = ["README.md", "docs/decisions.md", "docs/directives.md",
            "docs/deployment.md", "docs/operations.md", "docs/security.md",
            "docs/performance.md"]

# (marker, fence language, file name, what it is, section)
EXAMPLES = [
    ("example", "apache", "provisioning-site.conf",
     "the complete example: the bootROM's plain-HTTP host and the phones'\n"
     "# mutual-TLS host; a site for /etc/apache2/sites-available/",
     "A complete example"),
    ("monitoring", "apache", "metrics-host.conf",
     "the metrics host: polyprov-metrics and mod_status for the\n"
     "# monitoring host only",
     "Monitoring"),
    ("alerts", "yaml", "polyprov-alerts.yml",
     "example Prometheus alert rules (promtool check rules passes them)",
     "Monitoring"),
    ("farm-haproxy", "haproxy", "haproxy.cfg",
     "HAProxy in front of a farm of provisioning servers (TLS passes\n"
     "# through; PROXY protocol v2)",
     "Running a farm"),
]



def fail(msg):
    sys.stderr.write("pkgdocs: %s\n" % msg)
    sys.exit(1)


def section(text, heading):
    """The lines under heading, up to the next heading of the same or a
    higher level (headings inside code blocks do not count)."""
    level = len(heading.split()[0])
    lines = text.split("\n")
    try:
        start = lines.index(heading)
    except ValueError:
        fail("the documents have no line %r" % heading)
    out, fence = [], False
    for line in lines[start + 1:]:
        if line.startswith("```"):
            fence = not fence
        if not fence and re.match(r"#{1,%d} " % level, line):
            break
        out.append(line)
    return out


def anchor(heading):
    """GitHub's anchor of a heading's text."""
    h = heading.strip().lower()
    h = re.sub(r"[^\w\- ]", "", h)
    return h.replace(" ", "-")


def roff_escape(s):
    s = s.replace("\\", "\\e")
    return s


def protect(line):
    """A text line roff will not read as a request."""
    if line.startswith((".", "'")):
        return "\\&" + line
    return line


class Inline:
    """Markdown's inline spans to roff: `code` and **bold** in bold,
    links as their text (and a link into a part of the documents that is
    not in this page says which installed file holds it)."""

    def __init__(self, anchors):
        self.anchors = anchors
        self.doc = "README.md"  # the document of the text converted

    def link(self, m):
        text, target = m.group(1), m.group(2)
        if re.match(r"[a-z]+:", target):
            return "%s <%s>" % (text, target)
        path, _, frag = target.partition("#")
        if frag in self.anchors:
            return text
        # a link of docs/x.md: to another document of docs/ or, with ../,
        # to one of the top directory, all installed under DOCDIR
        name = os.path.normpath(os.path.join(os.path.dirname(self.doc),
                                             path)) if path else self.doc
        return "%s (%s/%s)" % (text, DOCDIR, name)

    def __call__(self, s):
        s = re.sub(r"\[([^\]]+)\]\(([^)\s]+)\)", self.link, s)
        s = roff_escape(s)

        def code(m):
            # a long word (a fingerprint) may break
            words = [w if len(w) <= 40 or "\\" in w
                     else "\\:".join(w[i:i + 32]
                                      for i in range(0, len(w), 32))
                     for w in m.group(1).split(" ")]
            return "\\fB" + " ".join(words) + "\\fR"
        # bold spans first, with any code inside them plain
        s = re.sub(r"\*\*(.+?)\*\*",
                   lambda m: "\\fB" + m.group(1).replace("`", "") + "\\fR",
                   s)
        s = re.sub(r"`([^`]+)`", code, s)
        return s


def table_rows(block):
    rows = []
    for line in block:
        cells = line.strip().strip("|").split("|")
        rows.append([c.strip() for c in cells])
    # a "|" inside a code span splits a cell: join back unbalanced ones
    fixed = []
    for row in rows:
        cells, acc = [], None
        for c in row:
            acc = c if acc is None else acc + " | " + c
            if acc.count("`") % 2 == 0:
                cells.append(acc)
                acc = None
        if acc is not None:
            cells.append(acc)
        fixed.append(cells)
    return fixed[0], [r for r in fixed[2:]]


def to_roff(lines, inline, sublevel):
    """Markdown lines (one section of the documents) to roff; headings of level
    sublevel become .SS, deeper ones bold paragraphs."""
    out, i, para = [], 0, []

    def flush():
        if para:
            # one line: a code span may run over the line breaks
            out.extend([".PP", protect(inline(" ".join(para)))])
            para.clear()

    while i < len(lines):
        line = lines[i]
        stripped = line.strip()
        if stripped.startswith("<!--"):
            flush()
            while "-->" not in lines[i]:
                i += 1
            i += 1
            continue
        if stripped.startswith("```"):
            flush()
            i += 1
            out += [".PP", ".RS 4", ".nf"]
            while not lines[i].startswith("```"):
                out.append(protect(roff_escape(lines[i])))
                i += 1
            out += [".fi", ".RE"]
            i += 1
            continue
        m = re.match(r"(#+) (.*)", line)
        if m:
            flush()
            title = inline(m.group(2)).replace('"', "")
            if len(m.group(1)) == sublevel:
                out.append('.SS "%s"' % title)
            else:
                out += [".PP", "\\fB%s\\fR" % title]
            i += 1
            continue
        if stripped.startswith("|"):
            flush()
            block = []
            while i < len(lines) and lines[i].strip().startswith("|"):
                block.append(lines[i])
                i += 1
            head, rows = table_rows(block)
            for row in rows:
                out += [".TP", protect(inline(row[0]))]
                parts = []
                for h, c in zip(head[1:], row[1:]):
                    # a table without a header row (a directive's
                    # Description, Syntax, ...): the cell alone
                    parts.append("\\fI%s\\fR: %s" % (inline(h), inline(c))
                                 if h else inline(c))
                for n, p in enumerate(parts):
                    if n:
                        out.append(".br")
                    out.append(protect(p))
            continue
        if re.match(r"- ", stripped) and not line.startswith(" "):
            flush()
            item = [stripped[2:]]
            i += 1
            while i < len(lines) and lines[i].startswith("  ") \
                    and lines[i].strip():
                item.append(lines[i].strip())
                i += 1
            out += [".IP \\(bu 2", protect(inline(" ".join(item)))]
            continue
        if not stripped:
            flush()
            i += 1
            continue
        para.append(stripped)
        i += 1
    flush()
    return out


def changelog_head(path):
    with open(path) as f:
        text = f.read()
    m = re.match(r"\S+ \(([^)]+)\)", text)
    d = re.search(r"^ -- .*?>  (.+)$", text, re.M)
    if not m or not d:
        fail("%s: no version or date in its first entry" % path)
    when = email.utils.parsedate_to_datetime(d.group(1).strip())
    return m.group(1), when.strftime("%Y-%m-%d")


def manpage(docs, version, date):
    parts = []
    for heading, title in SECTIONS:
        where = [n for n, text in docs.items()
                 if heading in text.split("\n")]
        if len(where) != 1:
            fail("%r is in %d documents" % (heading, len(where)))
        parts.append((heading, title, section(docs[where[0]], heading),
                      where[0]))
    anchors = set()
    for heading, _, lines, _ in parts:
        anchors.add(anchor(heading.split(" ", 1)[1]))
        for line in lines:
            m = re.match(r"#+ (.*)", line)
            if m:
                anchors.add(anchor(m.group(1)))
    inline = Inline(anchors)
    out = [
        '.\\" SPDX-License-Identifier: Apache-2.0',
        '.\\" Made by tools/pkgdocs.py from docs/*.md: edit those.',
        '.TH POLYPROV.CONF 5 %s "mod_polyprov %s" "File Formats"'
        % (date, version),
        ".\\\" left-aligned, no hyphenation: paths, directives, fingerprints",
        ".ad l",
        ".nh",
        ".SH NAME",
        "polyprov.conf \\- the directives, log messages and upkeep of "
        "mod_polyprov, the Apache module that serves each Poly phone "
        "only its own provisioning files",
        ".SH SYNOPSIS",
        ".B /etc/apache2/mods-available/polyprov.load",
        ".br",
        ".B /etc/apache2/mods-available/polyprov.conf",
        ".br",
        ".B PolyProv",
        "and the other directives in a site of",
        ".B /etc/apache2/sites-available/",
        ".SH DESCRIPTION",
        ".B mod_polyprov",
        "verifies the factory client certificate of a Poly (Polycom) phone "
        "over mutual TLS, takes the phone's MAC address from the "
        "certificate's common name, applies the allow and deny lists, and "
        "serves the phone its own files, the shared files and nothing "
        "else; a phone may upload only files that carry its own MAC.",
        "The module is enabled by the package",
        ".RB ( \"a2enmod polyprov\" ,",
        "which enables mod_ssl too) and does nothing until a scope says",
        ".BR \"PolyProv On\" .",
        ".PP",
        "This page holds the sections of the project's documents that an "
        "administrator looks up: the directives, the reasons of a refusal "
        "and the log messages (PPnnn), upgrading and removing.",
        "The documents themselves (how the module decides, the complete "
        "example, "
        "configuring the phones, list files, lists from a database, "
        "running a farm, monitoring, security, performance) start at",
        ".IR \\%%%s/README.md ," % DOCDIR,
        "with the others in",
        ".IR \\%%%s/docs/ ;" % DOCDIR,
        "the Debian specifics are in",
        ".IR \\%%%s/README.Debian ," % DOCDIR,
        "the tested configuration examples in",
        ".IR \\%%%s/examples/ ." % DOCDIR,
        "A section named below with the path of a file is in that file.",
    ]
    for heading, title, lines, doc in parts:
        inline.doc = doc
        out.append('.SH "%s"' % title)
        level = len(heading.split()[0]) + 1
        out += to_roff(lines, inline, level)
    out += [
        ".SH FILES",
        ".TP",
        ".I /usr/lib/apache2/modules/mod_polyprov.so",
        "the module",
        ".TP",
        ".I /etc/apache2/mods-available/polyprov.load",
        "loads it (and, through a2enmod, mod_ssl)",
        ".TP",
        ".I /etc/apache2/mods-available/polyprov.conf",
        "a log format for the module's verdicts, and a commented example",
        ".TP",
        ".I %s/examples/" % DOCDIR,
        "the complete example site, the metrics host, alert rules, HAProxy",
        ".SH \"SEE ALSO\"",
        ".BR polyprov-check (1),",
        ".IR %s/README.md ," % DOCDIR,
        ".IR %s/README.Debian ." % DOCDIR,
    ]
    return "\n".join(out) + "\n"


def example_block(docs, marker, lang):
    """The block between the marker's comments, and the document (its
    name) that holds it."""
    for name, text in docs.items():
        m = re.search(r"<!-- %s:begin -->\s*```%s\n(.*?)```\s*<!-- %s:end -->"
                      % (re.escape(marker), re.escape(lang),
                         re.escape(marker)), text, re.S)
        if m:
            return m.group(1), name
    fail("the documents have no %s block between %s markers"
         % (lang, marker))


def examples(docs):
    out = {}
    for marker, lang, name, what, where in EXAMPLES:
        block, doc = example_block(docs, marker, lang)
        out[name] = (
            "# mod_polyprov: %s.\n"
            "# From %s/%s, section \"%s\",\n"
            "# where it is explained; the project's tests run it as written\n"
            "# (with test paths, addresses and fingerprints).\n\n"
            % (what, DOCDIR, doc, where)) + block
    return out


def main():
    top = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--top", default=top)
    ap.add_argument("--changelog",
                    default=os.path.join(top, "debian", "changelog"))
    ap.add_argument("outdir")
    args = ap.parse_args()
    docs = {}
    for name in DOCFILES:
        with open(os.path.join(args.top, name)) as f:
            docs[name] = f.read()
    version, date = changelog_head(args.changelog)
    os.makedirs(os.path.join(args.outdir, "examples"), exist_ok=True)
    with open(os.path.join(args.outdir, "polyprov.conf.5"), "w") as f:
        f.write(manpage(docs, version, date))
    for name, text in examples(docs).items():
        with open(os.path.join(args.outdir, "examples", name), "w") as f:
            f.write(text)


if __name__ == "__main__":
    main()
