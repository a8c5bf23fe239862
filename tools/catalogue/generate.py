#!/usr/bin/env python3
"""Regenerates provctl's parameter catalogue and the real-profile test fixtures from the material files.

    generate.py            writes Sources/ProvisioningAdmin/Catalogue/catalogue.tsv and Tests/Fixtures/profiles/*.xml
    generate.py --check    exits 1 (naming the files) when any of them differs from what it would write

The material (material/*.txt) is our transcription of public real material: Cisco's guides and real exported
profiles; each file names its sources. The catalogue is one line per parameter name (`#` for an index, `/` for a
nested block): the values the phones list for it where they list any, the firmware families that have it, and the
material files it comes from. SwiftPM embeds catalogue.tsv in ProvisioningAdmin (`resources: [.embedInCode(...)]`),
so provctl has the catalogue built in without a checked-in Swift copy; a test checks that this script reproduces it.
"""
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
MATERIAL = os.path.join(HERE, "material")
FIXTURES = os.path.join(ROOT, "Tests", "Fixtures", "profiles")
CATALOGUE = os.path.join(ROOT, "Sources", "ProvisioningAdmin", "Catalogue", "catalogue.tsv")


# ---------------------------------------------------------------------------------------------------------------
# Material


class Entry:
    """One parameter line of a material file, with the structure around it."""

    def __init__(self, kind, name="", value="", options="", ua="", hidden=False, group="", path=(), text=""):
        self.kind = kind  # "param", "section", "open", "close"
        self.name = name
        self.value = value
        self.options = options
        self.ua = ua
        self.hidden = hidden
        self.group = group
        self.path = path
        self.text = text


def parse_material(filename):
    """The expanded entries of one material file, its family and whether it is a name list (guides)."""
    lines = open(os.path.join(MATERIAL, filename), encoding="utf-8").read().split("\n")
    family = ""
    entries = []
    catalogue_only = []

    def expand(block, indexes, group, path, into):
        position = 0
        while position < len(block):
            line = block[position]
            position += 1
            if not line or line.startswith("#"):
                continue
            if line.startswith("@repeat"):
                low, high = line.split()[1].split("-")
                depth, end = 1, position
                while depth:
                    if block[end].startswith("@repeat"):
                        depth += 1
                    elif block[end] == "@end":
                        depth -= 1
                    end += 1
                body = block[position:end - 1]
                for number in range(int(low), int(high) + 1):
                    group = expand(body, indexes + [number], group, path, into)
                position = end
                continue
            if line.startswith("@section "):
                into.append(Entry("section", text=fill(line[len("@section "):], indexes)))
                continue
            if line.startswith("@group\t"):
                group = fill(line.split("\t", 1)[1], indexes)
                continue
            if line.startswith("@block "):
                name = line[len("@block "):]
                path = path + (name,)
                into.append(Entry("open", name=name, path=path))
                continue
            if line == "@endblock":
                into.append(Entry("close", name=path[-1], path=path))
                path = path[:-1]
                continue
            if line.startswith("@family"):
                continue
            fields = (line.split("\t") + ["", "", ""])[:4]
            name, value, options, ua = fields
            hidden = name.startswith("~")
            name = name.lstrip("~")
            if name.endswith("?") and "\t" not in line:
                name, options = name[:-1], "Yes|No"
            into.append(Entry("param", name=fill(name, indexes), value=value.replace("{n}", str(indexes[-1]) if indexes else ""),
                              options=options, ua=ua, hidden=hidden, group=group, path=path, text=name))
        return group

    body = []
    for line in lines:
        if line.startswith("@family\t"):
            family = line.split("\t")[1]
        else:
            body.append(line)
    expand(body, [], "", (), entries)
    return family, entries, catalogue_only


def fill(text, indexes):
    """`text` with each `#` replaced by the open repeat indexes, outermost first."""
    out = []
    slot = max(0, len(indexes) - text.count("#"))
    for character in text:
        if character == "#" and slot < len(indexes):
            out.append(str(indexes[slot]))
            slot += 1
        else:
            out.append(character)
    return "".join(out)


def pattern(entry):
    """The catalogue pattern of a parameter: its path, and `#` where the material's repeats put an index."""
    return "/".join(entry.path + (entry.text,)) if entry.path else entry.text


def materials():
    return sorted(name for name in os.listdir(MATERIAL) if name.endswith(".txt"))


# ---------------------------------------------------------------------------------------------------------------
# Catalogue


def catalogue_text():
    rows = {}
    header = [
        "# provctl's parameter catalogue, generated by tools/catalogue/generate.py from its material/*.txt (do not edit by hand).",
        "# Columns (tab-separated): name (`#` an index 1-999, `/` a nested block), the values the phones or guides list",
        "# (`|`-separated; empty where they list none), the firmware families that have it (mpp12: MPP 12.x export,",
        "# mpp11: MPP 11.x guides and phones, spa: SPA phones, ata: SPA adapters, ata19x: ATA19x on MPP), the material files it comes from.",
    ]
    for filename in materials():
        family, entries, _ = parse_material(filename)
        stem = filename[:-4]
        for line in open(os.path.join(MATERIAL, filename), encoding="utf-8"):
            stripped = line.strip()
            if stripped.startswith("# ") and ("https://" in stripped):
                header.append("# " + stem + ": " + stripped[2:].strip())
        for entry in entries:
            if entry.kind != "param":
                continue
            key = pattern(entry)
            row = rows.setdefault(key, {"values": [], "families": set(), "sources": set()})
            for value in entry.options.split("|") if entry.options else []:
                if value not in row["values"]:
                    row["values"].append(value)
            row["families"].add(family)
            row["sources"].add(stem)
    lines = header + ["name\tvalues\tfamilies\tsources"]
    for key in sorted(rows):
        row = rows[key]
        values = row["values"]
        if sorted(values) == ["No", "Yes"]:
            values = ["Yes", "No"]
        lines.append("\t".join([key, "|".join(values), ",".join(sorted(row["families"])), ",".join(sorted(row["sources"]))]))
    return "\n".join(lines) + "\n"


def escape(text):
    return (text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;"))


def render_fixture(entries, keep=lambda entry: True, ua=True, options=True, comments=True, group_attribute=False,
                   indent="", root=("<flat-profile>", "</flat-profile>"), prolog='<?xml version="1.0" encoding="UTF-8"?>',
                   extra_after=None, lowercase_booleans=False, sections=True):
    out = [prolog] if prolog else []
    out += root[0].split("\n")
    depth = 0
    for entry in entries:
        if not keep(entry):
            continue
        pad = indent * (depth + 1)
        if entry.kind == "section":
            if sections:
                out.append(pad + "<!--  " + entry.text + "  -->")
            continue
        if entry.kind == "open":
            out.append(pad + "<" + entry.name + ">")
            depth += 1
            continue
        if entry.kind == "close":
            depth -= 1
            out.append(indent * (depth + 1) + "</" + entry.name + ">")
            continue
        attributes = ""
        if group_attribute and entry.group:
            attributes += ' group="' + entry.group + '"'
        if ua:
            attributes += ' ua="' + (entry.ua or "na") + '"'
        value = entry.value
        if lowercase_booleans and value in ("Yes", "No"):
            value = value.lower()
        element = ("<" + entry.name + attributes + "/>") if value == "" else (
            "<" + entry.name + attributes + ">" + escape(value) + "</" + entry.name + ">")
        if entry.hidden:
            if comments:
                out.append(pad + "<!--  " + element + "  -->")
            continue
        out.append(pad + element)
        if options and entry.options:
            out.append(pad + "<!--  available options: " + entry.options + "  -->")
        if extra_after and entry.name in extra_after:
            out.extend(pad + line for line in extra_after[entry.name])
    out += root[1].split("\n")
    return "\n".join(out) + "\n"


def line_number(entry):
    """The line (extension) index of a `_N_` parameter, or 0."""
    parts = entry.name.rstrip("_").rsplit("_", 1)
    return int(parts[1]) if len(parts) == 2 and parts[1].isdigit() and entry.name.endswith("_") else 0


def fixtures():
    _, mpp12, _ = parse_material("mpp12-cp9861-export.txt")
    _, spa, _ = parse_material("spa525g2-export.txt")
    _, ata, _ = parse_material("ata-spa112-router.txt")
    out = {}

    # A CP-9861 on MPP 12.x, exported whole: ua on every element, the phone's available-options comments, secrets
    # commented out, 16 lines and three DP-9800-KEM units.
    out["cp9861-mpp12-export.xml"] = render_fixture(mpp12)

    # A CP-8851 on MPP 11.3 as an older exporter writes it: a <device> root, no options comments, 10 lines, two
    # KEM units, Share_Ext in the older shared|private spelling, a value that is a single space, a repeated name
    # (the last wins on the phone) and a ua spelled in capitals by a home-grown generator.
    older = {"Share_Ext_1_": "shared", "Share_Ext_2_": "private", "Station_Name": " "}

    def keep_8851(entry):
        if entry.kind == "param" and entry.name.startswith(("Webex_", "Feature_Toggle_", "Office_", "Deep_Sleep",
                                                             "Help_Desk", "Quick_Number", "Action_Button", "Silent_Emergency")):
            return False
        if entry.kind == "param" and entry.name.startswith("Unit_3_"):
            return False
        return line_number(entry) <= 10 or entry.name.startswith("Unit_")

    eighty = []
    for entry in mpp12:
        if entry.kind == "param" and entry.name in older:
            copy = Entry(**{**entry.__dict__})
            copy.value = older[entry.name]
            copy.options = ""
            eighty.append(copy)
        else:
            eighty.append(entry)
    text = render_fixture(eighty, keep=keep_8851, options=False, indent="  ",
                          root=("<device>\n<flat-profile>", "</flat-profile>\n</device>"))
    text = text.replace('<Line_Enable_2_ ua="na">Yes</Line_Enable_2_>',
                        '<Line_Enable_2_ ua="RW">Yes</Line_Enable_2_>')
    text = text.replace("</flat-profile>\n</device>",
                        '<Resync_Periodic ua="na">7200</Resync_Periodic>\n</flat-profile>\n</device>')
    out["cp8851-mpp11-device-root.xml"] = text

    # A CP-7841 (four lines, no KEM, no Wi-Fi) as a provider's template: no XML prolog, no comments, no ua.
    def keep_7841(entry):
        if entry.kind != "param":
            return False
        if entry.name.startswith(("Unit_", "Wi-Fi", "Network_Name", "Security_Mode", "Frequency_Band", "Webex_",
                                  "Feature_Toggle_", "Phone-wifi", "Enable_BT", "Bluetooth")):
            return False
        return line_number(entry) <= 4
    out["cp7841-mpp11-template.xml"] = render_fixture(mpp12, keep=keep_7841, ua=False, options=False, comments=False,
                                                      prolog="", sections=False)

    # A SPA525G2 export: group attributes, status fields first, names repeated per extension, booleans as the SPA
    # templates often write them (lower case).
    out["spa525g2-export.xml"] = render_fixture(spa, ua=False, options=False, group_attribute=True, sections=False,
                                                prolog='<?xml version="1.0" encoding="utf-8"?>')

    # A SPA112 adapter: voice parameters flat, router settings nested in <router-configuration> blocks.
    out["spa112-ata-nested.xml"] = render_fixture(ata, ua=False, options=False, indent="  ", lowercase_booleans=False)
    return out


# ---------------------------------------------------------------------------------------------------------------


def main():
    check = "--check" in sys.argv[1:]
    tsv = catalogue_text()
    targets = {
        CATALOGUE: tsv,
    }
    for name, text in fixtures().items():
        targets[os.path.join(FIXTURES, name)] = text
    stale = []
    for path, text in targets.items():
        current = open(path, encoding="utf-8").read() if os.path.exists(path) else None
        if current != text:
            stale.append(path)
            if not check:
                os.makedirs(os.path.dirname(path), exist_ok=True)
                with open(path, "w", encoding="utf-8") as handle:
                    handle.write(text)
    if check and stale:
        print("out of date (run generate.py): " + ", ".join(os.path.relpath(path, ROOT) for path in stale))
        return 1
    print(("checked " if check else "wrote ") + str(len(targets)) + " files" + ("" if check else " (" + str(len(stale)) + " changed)"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
