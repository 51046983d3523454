#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Which glue file calls which (from the objects' symbol tables), and
whether any call cycle runs between glue files (CONTRIBUTING.md, "Source
layout").  Usage: tools/glue_calls.py build/glue  (make build first).
Prints one line per file, "a.c -> b.c c.c"; exits 1 if a cycle exists.
The core (libpolyprov.a) and the test seam (mod_polyprov_testing.c, which
exists to reach into the others) are not glue files for this check."""
import os
import subprocess
import sys


def symbols(obj):
    out = subprocess.run(["nm", "-g", obj], check=True,
                         capture_output=True, text=True).stdout
    defined, used = set(), set()
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[0] == "U":
            used.add(parts[1])
        elif len(parts) == 3 and parts[1] in "TDBR":
            defined.add(parts[2])
    return defined, used


def graph(globdir):
    objs = sorted(f for f in os.listdir(globdir)
                  if f.endswith(".o") and f != "mod_polyprov_testing.o")
    syms = {o[:-2] + ".c": symbols(os.path.join(globdir, o)) for o in objs}
    owner = {}
    for name, (defined, _) in syms.items():
        for s in defined:
            owner[s] = name
    # the module record is data every file names; not a call
    owner.pop("polyprov_module", None)
    edges = {name: sorted({owner[s] for s in used if s in owner} - {name})
             for name, (_, used) in syms.items()}
    return edges


def cycle(edges):
    state = {}

    def visit(n, path):
        state[n] = 1
        for m in edges[n]:
            if state.get(m) == 1:
                return path[path.index(m):] + [m]
            if m not in state:
                c = visit(m, path + [m])
                if c:
                    return c
        state[n] = 2
        return None

    for n in edges:
        if n not in state:
            c = visit(n, [n])
            if c:
                return c
    return None


def main():
    edges = graph(sys.argv[1] if len(sys.argv) > 1 else "build/glue")
    for n in sorted(edges):
        print(n, "->", " ".join(edges[n]) or "-")
    c = cycle(edges)
    if c:
        print("cycle:", " -> ".join(c))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
