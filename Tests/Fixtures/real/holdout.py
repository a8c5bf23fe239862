#!/usr/bin/env python3
"""How well the catalogue knows profiles it was not made from: for each real fixture, the share of its names
unknown to a catalogue built without every fixture of the same repository (the hand-made material, and the
real-*.txt transcription of the other repositories' profiles only).

    holdout.py            one line per fixture: unknown names / names, and the percentage
"""
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
CATALOGUE = os.path.normpath(os.path.join(HERE, "..", "..", "..", "Sources", "ProvisioningAdmin", "Catalogue"))
sys.path.insert(0, CATALOGUE)
sys.path.insert(0, HERE)
import generate  # noqa: E402
import transcribe  # noqa: E402
from leaves import Leaves  # noqa: E402


def repository(fixture):
    return fixture.split("-")[0]


def matcher(patterns):
    regexes = [re.compile("^" + re.escape(p).replace("\\#", "[1-9][0-9]{0,2}") + "$") for p in patterns if "#" in p]
    exact = {p for p in patterns if "#" not in p}
    return lambda name: name in exact or any(r.match(name) for r in regexes)


def main():
    handmade = set()
    for filename in generate.materials():
        if filename.startswith("real-"):
            continue
        _, entries, _ = generate.parse_material(filename)
        handmade |= {generate.pattern(e) for e in entries if e.kind == "param"}
    fixtures = {f: family for family, (_, _, files) in transcribe.FAMILIES.items() for f in files}
    names_of = {f: [transcribe.block_free(k) for k in Leaves.read(os.path.join(HERE, f)).order] for f in fixtures}
    for fixture in sorted(fixtures):
        others = [f for f in fixtures if repository(f) != repository(fixture)]
        pool = []
        for other in others:
            pool += [n for n in names_of[other] if n not in pool]
        known = matcher(handmade | set(transcribe.patterns(pool).values()))
        names = sorted(set(names_of[fixture]))
        unknown = [n for n in names if not known(n)]
        print("%-32s %4d / %4d unknown  %5.1f %%" % (fixture, len(unknown), len(names), 100.0 * len(unknown) / len(names)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
