#!/usr/bin/env python3
"""Compares regrtest JUnit XML files test by test (tests/peer/run.sh).

compare.py BASE.xml OTHER.xml...: (each argument may be several files
joined with ',': the runs of one mode) prints "differs TESTID base=... mode=..."
per test whose results differ between BASE and any OTHER, then a summary
line. Exit 0: all equal; 1: some differ; 2: a file is missing or unusable
(a run that crashed or timed out), or a run has far fewer tests.
compare.py --one TESTID BASE.xml OTHER.xml...: exit 0 when TESTID ran in
every file (a rerun) with equal results, else 1.

A test id can occur more than once (a mixin class run by two modules):
each id maps to the sorted list of its results."""
import sys
import xml.etree.ElementTree as ET
from collections import defaultdict


def results(path):
    out = defaultdict(list)
    root = ET.parse(path).getroot()
    for tc in root.iter("testcase"):
        kinds = [c.tag for c in tc if c.tag in ("failure", "error", "skipped")]
        res = kinds[0] if kinds else "ok"
        out[tc.get("name")].append(res)
    return {k: sorted(v) for k, v in out.items()}


def load(paths):
    """paths: one file, or several joined with ',' (one mode's runs)."""
    out = defaultdict(list)
    for path in paths.split(","):
        try:
            for k, v in results(path).items():
                out[k] = sorted(out[k] + v)
        except (OSError, ET.ParseError) as e:
            print("unusable %s: %s" % (path, e))
            return None
    return dict(out)


def main(argv):
    if argv[:1] == ["--one"]:
        tid, files = argv[1], argv[2:]
        res = [load(f) for f in files]
        if any(r is None for r in res):
            return 1
        vals = [r.get(tid) for r in res]
        print("rerun %s: %s" % (tid, " ".join("%s" % v for v in vals)))
        if any(v is None for v in vals):
            return 1  # the rerun did not run it: nothing shows the difference was timing
        return 0 if all(v == vals[0] for v in vals) else 1
    files = argv
    res = [load(f) for f in files]
    if any(r is None for r in res):
        return 2
    base = res[0]
    names = ["base"] + ["m%d" % i for i in range(1, len(files))]
    bad = 0
    for r, f in zip(res[1:], files[1:]):
        if len(r) < 0.9 * len(base):
            print("incomplete %s: %d tests against %d" % (f, len(r), len(base)))
            bad = 2
    ids = sorted(set().union(*[set(r) for r in res]))
    ndiff = 0
    for tid in ids:
        vals = [r.get(tid, ["absent"]) for r in res]
        if any(v != vals[0] for v in vals):
            ndiff += 1
            print("differs %s %s" % (tid, " ".join(
                "%s=%s" % (files[i].rsplit("/", 1)[-1].rsplit(".", 1)[0], ",".join(v))
                for i, v in enumerate(vals))))
    print("summary: %d tests, %d differ; %s" % (len(ids), ndiff, ", ".join(
        "%s %d" % (f.rsplit("/", 1)[-1], len(r)) for f, r in zip(files, res))))
    if bad:
        return bad
    return 1 if ndiff else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
