#!/usr/bin/env python3
"""Compares the leaves of a real profile with the profile provctl renders from it, with expat (Python's
xml.parsers.expat), a parser independent of the libxml2 provctl reads with.

    leaves.py ORIGINAL RENDERED      exit 0 when every leaf came back, else 1 with one line per difference
    leaves.py --count ORIGINAL       prints the number of distinct parameter names

A leaf is an element without element children below <flat-profile> (itself at the root or inside <device>);
inside a block it is named by its path, repeated elements of a block numbered [1], [2], ... as provctl numbers
them. Its value is its text with spaces, tabs and line breaks trimmed (what the phone keeps, FACTS §4); at the top
level the last of a repeated name wins, as on the phone. Each leaf must come back with the same value, the same
ua (lower-cased; a spelling that is not na/ro/rw is dropped), and the same empty form: <X/> (leave the phone's
value) stays <X/>, <X></X> (set it empty) stays <X></X>.

What phones read but XML forbids (a comment holding --, white space before <?xml, a declared encoding the UTF-8
bytes disagree with) is made readable the way a phone reads it before expat parses the original.
"""
import re
import sys
import xml.parsers.expat


def tolerated(data):
    data = re.sub(rb"<!--(.*?)-->", lambda m: b"<!--" + m.group(1).replace(b"-", b" ") + b"-->", data, flags=re.S)
    stripped = data.lstrip(b" \t\r\n")
    if stripped.startswith(b"<?xml"):
        end = stripped.index(b"?>") + 2
        declaration = stripped[:end]
        try:
            data.decode("utf-8")
            is_utf8 = True
        except UnicodeDecodeError:
            is_utf8 = False
        encoding = re.search(rb"encoding=[\"']([^\"']+)", declaration)
        if stripped is not data or (is_utf8 and encoding and encoding.group(1).lower() not in (b"utf-8", b"utf8")):
            data = stripped[end:]
    return data


class Leaves:
    @staticmethod
    def read(path):
        data = tolerated(open(path, "rb").read())
        # Blocks number their repeated children; expat gives events only, so count on a first pass.
        return Leaves(data, Leaves.count_children(data))

    @staticmethod
    def count_children(data):
        """Per element (by document order of its start), how many children of each name it has."""
        parser = xml.parsers.expat.ParserCreate()
        counts = []
        stack = []

        def start(name, attrs):
            if stack:
                counts[stack[-1]][name] = counts[stack[-1]].get(name, 0) + 1
            counts.append({})
            stack.append(len(counts) - 1)

        def end(name):
            stack.pop()

        parser.StartElementHandler = start
        parser.EndElementHandler = end
        parser.Parse(data, True)
        return counts

    def __init__(self, data, counts):
        self.counts = counts
        self.values, self.access, self.forms, self.order = {}, {}, {}, []
        parser = xml.parsers.expat.ParserCreate()
        stack = []
        state = {"root": None, "index": -1}

        def start(name, attrs):
            state["index"] += 1
            segment = name
            if stack:
                parent = stack[-1]
                parent["children"] = True
                if state["root"] is not None and len(stack) > state["root"]:
                    total = self.counts[parent["index"]].get(name, 1)
                    if total > 1:
                        parent["seen"][name] = parent["seen"].get(name, 0) + 1
                        segment = "%s[%0*d]" % (name, len(str(total)), parent["seen"][name])
            stack.append({"name": name, "attrs": attrs, "text": [], "start": parser.CurrentByteIndex,
                          "children": False, "segment": segment, "index": state["index"], "seen": {}})
            if state["root"] is None and name == "flat-profile":
                state["root"] = len(stack)

        def text(data):
            if stack:
                stack[-1]["text"].append(data)

        def end(name):
            frame = stack.pop()
            depth = state["root"]
            if depth is None:
                return
            if len(stack) < depth:
                state["root"] = None
                return
            if frame["children"]:
                return
            key = "/".join([f["segment"] for f in stack[depth:]] + [frame["segment"]])
            value = "".join(frame["text"]).strip(" \t\r\n")
            self_closing = parser.CurrentByteIndex == frame["start"]
            self.values[key] = value
            self.forms[key] = "leave" if self_closing else ("empty" if value == "" else "value")
            ua = frame["attrs"].get("ua")
            if ua is not None and ua.lower() in ("na", "ro", "rw"):
                self.access[key] = ua.lower()
            else:
                self.access.pop(key, None)
            if key not in self.order:
                self.order.append(key)

        parser.StartElementHandler = start
        parser.EndElementHandler = end
        parser.CharacterDataHandler = text
        parser.Parse(data, True)


def compare(original_path, rendered_path):
    original, served = Leaves.read(original_path), Leaves.read(rendered_path)
    problems = []
    for key in original.order:
        if key not in served.values:
            problems.append("%s: missing from the rendered profile" % key)
            continue
        if served.values[key] != original.values[key]:
            problems.append("%s: %r came back as %r" % (key, original.values[key], served.values[key]))
        if served.forms[key] != original.forms[key]:
            problems.append("%s: written as %s, served as %s" % (key, original.forms[key], served.forms[key]))
        if served.access.get(key) != original.access.get(key):
            problems.append("%s: ua %r came back as %r" % (key, original.access.get(key), served.access.get(key)))
    for key in served.order:
        if key not in original.values:
            problems.append("%s: served but not in the original" % key)
    return original, problems


if __name__ == "__main__":
    if sys.argv[1] == "--count":
        print(len(Leaves.read(sys.argv[2]).values))
        sys.exit(0)
    original, problems = compare(sys.argv[1], sys.argv[2])
    for problem in problems:
        print(problem)
    print("%d leaves compared, %d differences" % (len(original.values), len(problems)))
    sys.exit(1 if problems else 0)
