#!/usr/bin/env python3
"""Which source files import which, and the cycles among them.

    python3 scripts/import-cycles.py            # cycles only; exit 1 if there are any
    python3 scripts/import-cycles.py --edges    # every edge, then the cycles

A file imports another when it names an item of the other's module: `use crate::a::b::X`,
`use super::x`, a child module's `x::Y` path, or an inline `crate::a::B` in code. Comments and
`#[cfg(test)]` modules are left out: tests may reach across the tree. Cycles are reported twice:
between files, and between the top-level modules of the crate (`crate::client`, `crate::config`,
...), where `mod.rs` counts as its directory.
"""
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent / "src"
IDENT = r"[A-Za-z_][A-Za-z0-9_]*"


def module_of(path: Path) -> tuple:
    rel = path.relative_to(ROOT).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] in ("mod", "lib", "main"):
        parts = parts[:-1]
    return tuple(parts)


def strip(text: str) -> str:
    """Code without comments, string and char literals, and the test module."""
    cut = re.search(r"^#\[cfg\(test\)\]\s*\n\s*mod\s+tests", text, re.M)
    if cut:
        text = text[: cut.start()]
    out, i, n = [], 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith("//", i):
            j = text.find("\n", i)
            i = n if j < 0 else j
        elif text.startswith("/*", i):
            j = text.find("*/", i + 2)
            i = n if j < 0 else j + 2
        elif c == "r" and re.match(r'r#*"', text[i:]) and (i == 0 or not (text[i - 1].isalnum() or text[i - 1] == "_")):
            hashes = re.match(r"r(#*)\"", text[i:]).group(1)
            j = text.find('"' + hashes, i + 2 + len(hashes))
            out.append('""')
            i = n if j < 0 else j + 1 + len(hashes)
        elif c == '"':
            j = i + 1
            while j < n and text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            out.append('""')
            i = j + 1
        elif c == "'" and re.match(r"'(\\.|[^\\'])'", text[i:i + 4]):
            i += len(re.match(r"'(\\.|[^\\'])'", text[i:i + 4]).group(0))
        else:
            out.append(c)
            i += 1
    return "".join(out)


def expand(tree: str) -> list:
    """`a::{b, c::{d, e}}` -> ['a::b', 'a::c::d', 'a::c::e']."""
    tree = re.sub(r"\s+", "", tree)
    out = []

    def walk(prefix: str, s: str):
        i = s.find("{")
        if i < 0:
            for part in split(s):
                if part:
                    out.append(prefix + part)
            return
        head, body = s[:i], s[i + 1 : s.rfind("}")]
        for part in split(body):
            walk(prefix + head, part)

    def split(s: str):
        depth, start, parts = 0, 0, []
        for j, c in enumerate(s):
            if c == "{":
                depth += 1
            elif c == "}":
                depth -= 1
            elif c == "," and depth == 0:
                parts.append(s[start:j])
                start = j + 1
        parts.append(s[start:])
        return parts

    walk("", tree)
    return out


def main() -> int:
    files = sorted(ROOT.rglob("*.rs"))
    modules = {module_of(f): f for f in files}
    edges = {}
    for f in files:
        me = module_of(f)
        code = strip(f.read_text())
        children = set(re.findall(rf"^\s*(?:pub(?:\([a-z]+\))?\s+)?mod\s+({IDENT})\s*;", code, re.M))
        paths = []
        for tree in re.findall(r"\buse\s+([^;]+);", code):
            paths.extend(expand(tree))
        paths.extend(re.findall(rf"\b((?:crate|super|self)(?:::{IDENT})+)", code))
        for child in children:
            paths.extend(re.findall(rf"(?<![:\w])({child}(?:::{IDENT})+)", code))
        targets = set()
        for p in paths:
            segs = [s for s in p.split("::") if s]
            if not segs:
                continue
            if segs[0] == "crate":
                base, segs = (), segs[1:]
            elif segs[0] in ("super", "self"):
                base = me
                while segs and segs[0] in ("super", "self"):
                    if segs[0] == "super":
                        base = base[:-1]
                    segs = segs[1:]
            elif segs[0] in children:
                base = me
            else:
                continue  # an external crate or a local item
            target = base
            for s in segs:
                if target + (s,) in modules:
                    target = target + (s,)
                else:
                    break
            if target != me and target in modules:
                targets.add(target)
        edges[me] = targets

    def name(m):
        return "::".join(("crate",) + m)

    def cycles(graph):
        """Strongly connected components of more than one node (Tarjan)."""
        index, low, stack, on, out, counter = {}, {}, [], set(), [], [0]

        def visit(v):
            index[v] = low[v] = counter[0]
            counter[0] += 1
            stack.append(v)
            on.add(v)
            for w in graph.get(v, ()):
                if w not in index:
                    visit(w)
                    low[v] = min(low[v], low[w])
                elif w in on:
                    low[v] = min(low[v], index[w])
            if low[v] == index[v]:
                comp = []
                while True:
                    w = stack.pop()
                    on.discard(w)
                    comp.append(w)
                    if w == v:
                        break
                if len(comp) > 1:
                    out.append(sorted(comp))

        for v in sorted(graph):
            if v not in index:
                visit(v)
        return out

    top = {}
    for src, dsts in edges.items():
        for dst in dsts:
            a, b = src[:1], dst[:1]
            if a != b and a and b:
                top.setdefault(a, set()).add(b)

    if "--edges" in sys.argv:
        for src in sorted(edges):
            for dst in sorted(edges[src]):
                print(f"{name(src)} -> {name(dst)}")
        print()
    found = 0
    for label, graph in (("files", edges), ("top-level modules", top)):
        comps = cycles(graph)
        found += len(comps)
        print(f"import cycles between {label}: {len(comps)}")
        for comp in comps:
            members = set(comp)
            pairs = [
                f"{name(a)} -> {name(b)}" for a in comp for b in sorted(graph.get(a, ())) if b in members
            ]
            print("  cycle: " + ", ".join(name(m) for m in comp))
            for pair in pairs:
                print("    " + pair)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
