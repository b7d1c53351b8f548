#!/usr/bin/env python3
"""Fails when the top-level modules of a crate import each other in a circle.

    scripts/import-cycles.py engine/src cli/src

An edge A -> B is a `crate::B` path anywhere in A's files (tests and test
support left out); a circle is a strongly connected set of two or more
modules. Submodules of one module (a type's methods split over files)
count as that module.
"""
import os
import re
import sys


def edges_of(root):
    edges = {}
    for dirpath, _, files in os.walk(root):
        for name in files:
            if not name.endswith(".rs") or name in ("tests.rs", "test_support.rs"):
                continue
            path = os.path.join(dirpath, name)
            top = os.path.relpath(path, root).split(os.sep)[0].removesuffix(".rs")
            if top in ("lib", "main"):
                continue
            with open(path, encoding="utf-8") as f:
                src = f.read()
            src = re.split(r"#\[cfg\(test\)\]\s*\n\s*mod tests", src)[0]
            for m in re.finditer(r"crate::([a-z_0-9]+)", src):
                if m.group(1) != top:
                    edges.setdefault(top, set()).add(m.group(1))
    return edges


def circles(edges):
    index, low, stack, on, found, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in edges.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for v in list(edges):
        if v not in index:
            visit(v)
    return found


failed = False
for root in sys.argv[1:]:
    edges = edges_of(root)
    for group in circles(edges):
        failed = True
        print(f"{root}: import circle between {', '.join(group)}")
        for a in group:
            print(f"  {a} -> {', '.join(sorted(b for b in edges.get(a, ()) if b in group))}")
    if not failed:
        print(f"{root}: no import circle among {len(edges)} modules")
sys.exit(1 if failed else 0)
