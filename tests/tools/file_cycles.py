#!/usr/bin/env python3
"""file_cycles.py OBJ...: the call graph between source files, from the
objects' symbol tables (nm): file A uses file B when A's object has an
undefined symbol that B's object defines. Prints every cycle (a strongly
connected component of more than one file) and exits 1 when there is one.
Functions and data both count (the project's own: global symbols of hidden
visibility); static inline functions in headers do not (they are in no
object's symbol table, they belong to the header)."""
import subprocess
import sys


def symbols(obj):
    # defined: global symbols of hidden visibility, i.e. the project's own
    # (everything is compiled with -fvisibility=hidden); the exported hooks
    # (write, close, ...) are libc's names and do not make a call edge
    out = subprocess.run(["readelf", "-sW", obj], capture_output=True, text=True, check=True).stdout
    defined = set()
    for l in out.splitlines():
        f = l.split()
        if len(f) >= 8 and f[4] in ("GLOBAL", "WEAK") and f[5] == "HIDDEN" and f[6] != "UND":
            defined.add(f[7])
    out = subprocess.run(["nm", "-u", obj], capture_output=True, text=True, check=True).stdout
    used = {l.split()[-1] for l in out.splitlines() if l.split()}
    return defined, used


def main(objs):
    defs, uses = {}, {}
    for o in objs:
        defs[o], uses[o] = symbols(o)
    owner = {}
    for o, ds in defs.items():
        for s in ds:
            owner.setdefault(s, o)
    edges = {o: {owner[s] for s in uses[o] if s in owner and owner[s] != o} for o in objs}
    # Tarjan's strongly connected components
    index, low, stack, on, sccs = {}, {}, [], set(), []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(edges[v]):
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
                sccs.append(sorted(comp))

    sys.setrecursionlimit(10000)
    for v in sorted(objs):
        if v not in index:
            visit(v)
    for comp in sccs:
        print("cycle: " + " ".join(comp))
        for a in comp:
            for b in sorted(edges[a] & set(comp)):
                why = sorted(s for s in uses[a] if owner.get(s) == b)
                print("  %s -> %s: %s" % (a, b, " ".join(why[:6]) + (" ..." if len(why) > 6 else "")))
    return 1 if sccs else 0


if __name__ == "__main__":
    if len(sys.argv) < 2:
        print("usage: file_cycles.py OBJ...", file=sys.stderr)
        sys.exit(2)
    sys.exit(main(sys.argv[1:]))
