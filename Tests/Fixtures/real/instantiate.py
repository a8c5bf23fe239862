#!/usr/bin/env python3
"""Instantiates a Smarty provisioning template as Smarty renders it when no variable is set (ours, not Smarty).

    instantiate.py TEMPLATE > FIXTURE

Used once per FusionPBX template listed in SOURCES.md; the output is committed, so the tests do not run this.
The rules, the template engine's own for unset variables: `{$name}` and `{$name|modifier}` print nothing;
`{foreach ...}...{/foreach}` over an unset list prints nothing; `{if COND}A{elseif ...}B{else}C{/if}` prints the
branch whose condition holds, with every variable "" (so `$x == ""` and `$x != "v"` hold, `$x`, `isset($x)`,
`$x == "v"` and `$x > 0` do not).
"""
import re
import sys

TAG = re.compile(r"\{(/?)(if|elseif|else|foreach|\$)([^}]*)\}")


def holds(condition):
    condition = condition.strip()
    # a or b / a and b, left to right, no precedence beyond that
    for joiner, combine in ((r"\s+or\s+|\s*\|\|\s*", any), (r"\s+and\s+|\s*&&\s*", all)):
        parts = re.split(joiner, condition)
        if len(parts) > 1:
            return combine(holds(part) for part in parts)
    negated = condition.startswith("!")
    if negated:
        return not holds(condition[1:])
    match = re.match(r"^\$[\w.\[\]'\"$]+\s*(==|!=|<>|eq|ne|===|!==|>|<|>=|<=)\s*(.+)$", condition)
    if match:
        operator, literal = match.group(1), match.group(2).strip().strip("\"'")
        if operator in ("==", "eq", "==="):
            return literal == ""
        if operator in ("!=", "<>", "ne", "!=="):
            return literal != ""
        return False
    return False


def render(text):
    out = []
    # stack of (printing_now, some_branch_taken, parent_printing)
    stack = []
    printing = True
    position = 0
    for match in TAG.finditer(text):
        if printing:
            out.append(text[position:match.start()])
        position = match.end()
        closing, kind, rest = match.groups()
        if kind == "$":
            continue
        if kind == "if" and not closing:
            taken = holds(rest)
            stack.append(["if", printing, taken])
            printing = printing and taken
        elif kind == "elseif":
            frame = stack[-1]
            taken = not frame[2] and holds(rest)
            frame[2] = frame[2] or taken
            printing = frame[1] and taken
        elif kind == "else":
            frame = stack[-1]
            printing = frame[1] and not frame[2]
            frame[2] = True
        elif kind == "foreach" and not closing:
            stack.append(["foreach", printing, True])
            printing = False
        elif closing:
            frame = stack.pop()
            printing = frame[1]
    if printing:
        out.append(text[position:])
    return "".join(out)


if __name__ == "__main__":
    sys.stdout.write(render(open(sys.argv[1], encoding="utf-8").read()))
