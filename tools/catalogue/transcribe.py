#!/usr/bin/env python3
"""Transcribes the parameter names (and the option lists they print) of the real profiles in Tests/Fixtures/real
into catalogue material, one file per firmware family:

    transcribe.py        writes material/real-*.txt (then run generate.py)

Each real profile is read for names only (its values are another project's or empty): the leaves below
<flat-profile>, nested ones by their block path, and the options a profile prints beside a parameter
(`<!-- options: A/B/C -->` in SPA exports, `<!-- available options: A|B -->` in MPP exports). A digit run that
varies between names otherwise alike (Ring1_Cadence .. Ring10_Cadence, the line index of Dial_Plan_1_ ..
Dial_Plan_4_) becomes `#`, an index; one that does not (G711u, T38) stays as written, and so does a line index
`_N_` at the end of a name, which is always an index. Tests/Fixtures/real/SOURCES.md names every file's source.
"""
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
REAL = os.path.join(ROOT, "Tests", "Fixtures", "real")
sys.path.insert(0, REAL)
from leaves import Leaves  # noqa: E402  (expat, with the tolerance phones have)

# family -> (material file, description, fixtures)
FAMILIES = {
    "spa": ("real-spa-phones.txt", "SPA30x/50x/51x/525G/525G2 and SPA9xx phones (SPA firmware)",
            ["wazo-spa-phone.xml", "fusionpbx-spa301.xml", "fusionpbx-spa303.xml", "fusionpbx-spa501g.xml",
             "fusionpbx-spa502g.xml", "fusionpbx-spa504g.xml", "fusionpbx-spa508g.xml", "fusionpbx-spa509g.xml",
             "fusionpbx-spa512g.xml", "fusionpbx-spa514g.xml", "fusionpbx-spa525g.xml", "fusionpbx-spa525g2.xml",
             "provisioner-spa5xx.xml", "provisioner-spa9xx.xml"]),
    "ata": ("real-spa-ata.txt", "SPA112/122, SPA2102/3102/8000 and PAP2T adapters (SPA firmware)",
            ["wazo-spa-ata.xml", "fusionpbx-spa112.xml", "fusionpbx-spa122.xml", "provisioner-spa2102-pap2t.xml"]),
    "ata19x": ("real-ata19x-mpp.txt", "ATA190/191/192 adapters (MPP firmware 11.x)",
               ["wazo-ata191-mpp11.xml", "fusionpbx-spa191.xml", "fusionpbx-spa192.xml"]),
    "mpp11": ("real-mpp-phones.txt", "CP-68xx/78xx/88xx phones (MPP firmware 11.x/12.x)",
              ["wazo-cp-mpp11.xml", "wazo-cp-mpp12.xml", "fusionpbx-8851.xml", "fusionpbx-8861.xml"]),
}

OPTIONS_AFTER = re.compile(r"<([A-Za-z_][\w\-.]*)[^>]*?(?:/>|>[^<]*</\1>)\s*<!--\s*(available options|options):\s*(.*?)\s*-->")
OPTIONS_NEXT = re.compile(r"<([A-Za-z_][\w\-.]*)[^>]*?(?:/>|>[^<]*</\1>)\s*\n\s*<!--\s*available options:\s*(.*?)\s*-->")


def options_of(text):
    """Per name, the options the profile prints beside it; `A/B/C` (SPA) or `A|B|C` (MPP)."""
    found = {}
    for match in OPTIONS_AFTER.finditer(text):
        name, kind, listed = match.groups()
        found[name] = split_options(listed, kind)
    for match in OPTIONS_NEXT.finditer(text):
        found[match.group(1)] = split_options(match.group(2), "available options")
    return {name: values for name, values in found.items() if values}


def split_options(listed, kind):
    if kind == "available options" or "|" in listed:
        parts = listed.split("|")
    else:
        parts = listed.split("/")
    parts = [part.strip() for part in parts]
    # `0:Manual, 1:Manual-DHCP` and prose are no value lists.
    if any(not part or ":" in part and re.match(r"^\d+:", part) or len(part) > 40 or "," in part and " " in part
           for part in parts):
        return []
    return parts


def shape(name):
    return re.sub(r"\d+", "#", name)


def patterns(names):
    """The names with their varying digit runs (and a final `_N_`) as `#`."""
    groups = {}
    for name in names:
        groups.setdefault(shape(name), []).append(name)
    out = {}
    for key, members in groups.items():
        runs = [re.findall(r"\d+", member) for member in members]
        count = len(runs[0])
        varies = [len({run[index] for run in runs}) > 1 for index in range(count)]
        for member, run in zip(members, runs):
            pieces = re.split(r"(\d+)", member)
            index = 0
            result = []
            for position, piece in enumerate(pieces):
                if position % 2 == 1:
                    last = position == len(pieces) - 2 and pieces[-1] == "_" and pieces[position - 1].endswith("_")
                    result.append("#" if varies[index] or last else piece)
                    index += 1
                else:
                    result.append(piece)
            out[member] = "".join(result)
    return out


def block_free(name):
    return re.sub(r"\[\d+\]", "", name)


def main():
    for family, (filename, description, files) in FAMILIES.items():
        names = []
        options = {}
        for fixture in files:
            path = os.path.join(REAL, fixture)
            leaves = Leaves.read(path)
            for key in leaves.order:
                name = block_free(key)
                if name not in names:
                    names.append(name)
            for name, values in options_of(open(path, encoding="utf-8", errors="replace").read()).items():
                listed = options.setdefault(name, [])
                listed += [value for value in values if value not in listed]
        mapped = patterns(names)
        rows = {}
        for name in names:
            pattern = mapped[name]
            row = rows.setdefault(pattern, [])
            row += [value for value in options.get(name, []) if value not in row]
        lines = [
            "# Parameter names of the " + description + ", as real profiles other projects publish carry them",
            "# (names and printed option lists only; transcribed by transcribe.py, do not edit by hand).",
            "#",
            "# Sources (Tests/Fixtures/real/SOURCES.md gives each file's path and commit):",
        ]
        for fixture in files:
            origin = "wazo-platform/wazo-provd-plugins" if fixture.startswith("wazo") else \
                "fusionpbx/fusionpbx" if fixture.startswith("fusionpbx") else "provisioner/Provisioner"
            lines.append("#   - " + fixture + ": " + origin)
        lines.append("# Repositories: " + ", ".join(sorted({
            "https://github.com/wazo-platform/wazo-provd-plugins" if f.startswith("wazo") else
            "https://github.com/fusionpbx/fusionpbx" if f.startswith("fusionpbx") else
            "https://github.com/provisioner/Provisioner" for f in files})))
        lines.append("@family\t" + family)
        for pattern in sorted(rows):
            lines.append(pattern + "\t\t" + "|".join(rows[pattern]))
        with open(os.path.join(HERE, "material", filename), "w", encoding="utf-8") as handle:
            handle.write("\n".join(lines) + "\n")
        print(filename, len(rows), "names")
    return 0


if __name__ == "__main__":
    sys.exit(main())
