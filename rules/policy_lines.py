"""A line-based reader for the plain YAML that policies are written in, with line numbers.

libyaml hands Python one event object per scalar and container (about 90,000 for a pack of 500
rules), which alone costs more than the whole load may take. Policies use a small part of YAML:
block mappings and sequences, one-line scalars, flow lists of plain words. This reader handles
that part a line at a time and builds the same `Located` tree; at the first thing it is not sure
about (anchors, tags, block or multi-line scalars, escapes, flow mappings, odd indentation, any
error) it gives up and `parse_document` lets libyaml read the file, so errors and edge cases keep
libyaml's exact behaviour.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache
from typing import Any

from rules.policy_yaml import Located, LocatedList

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]*")
_KEY = re.compile(r"([A-Za-z_][A-Za-z0-9_.-]*):(?: +(.*))?")
_SINGLE = re.compile(r"'((?:[^']|'')*)' *(?:#.*)?")
_DOUBLE = re.compile(r'"([^"\\]*)" *(?:#.*)?')
#: Inside ``[...]``: a character with a meaning in flow lists, or a word that is empty or starts
#: with an indicator.
_FLOW_ODD = re.compile(r"[\[\]{}#'\":]|(?:^|,) *(?:[-?!&*|>%@`,]|$)")
_FLOW_OPEN = re.compile(r"\[([^\[\]{}#]*)")
_FLOW_CLOSE = re.compile(r"([^\[\]{}#]*)\] *(?:#.*)?")
#: A quoted word in a flow list: no escapes, no doubled quotes, no commas.
_QUOTED_WORD = re.compile(r"\"([^\"\\,]*)\"|'([^',]*)'")
#: Characters that may change how a plain scalar is read when they start it or appear in it.
_INDICATORS = frozenset("-?:,[]{}#&*!|>'\"%@`")
#: Tabs, carriage returns, YAML's other line breaks, characters libyaml rejects, a BOM.
_UNSUPPORTED = re.compile(r"[\x00-\x09\x0b-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff\ufeff\ufffe\uffff]")
#: Document markers and directives at the start of a line.
_MARKERS = ("---", "...", "%")


class _Unsupported(Exception):
    """Outside the subset: the caller falls back to libyaml."""


def parse_lines(text: str, typed: Callable[[str], Any]) -> Located | None:
    """The located tree of `text`, or None when libyaml must read it. `typed` types plain scalars."""
    if _UNSUPPORTED.search(text) or text.startswith(_MARKERS) or any("\n" + m in text for m in _MARKERS):
        return None
    lines = [(number, len(raw) - len(content), content.rstrip(" "), content[:2] == "- " or content == "-")
             for number, raw in enumerate(text.split("\n"), 1)
             if (content := raw.lstrip(" ")) and content[0] != "#"]
    if not lines or lines[0][3]:
        return None
    lines.append(_END)
    try:
        reader = _Reader(lines, lru_cache(maxsize=None)(typed))  # keys and values repeat a lot
        root = reader.mapping(lines[0][1])
    except _Unsupported:
        return None
    return root if reader.index == len(lines) - 1 else None


#: (line number, indentation, content without surrounding spaces, is a sequence item); a sentinel
#: closes every block.
Line = tuple[int, int, str, bool]
_END: Line = (0, -1, "", False)


class _Reader:
    def __init__(self, lines: list[Line], typed: Callable[[str], Any]) -> None:
        self.lines, self.typed, self.index = lines, typed, 0
        self.keys: dict[str, str] = {}

    def mapping(self, indent: int) -> Located:
        data = Located()
        lines, keys, key_lines = self.lines, self.keys, dict[str, int]()
        data.line, data.key_lines = lines[self.index][0], key_lines
        while (line := lines[self.index])[1] == indent and not line[3]:
            name, colon, rest = line[2].partition(":")
            key = keys.get(name) if colon and (not rest or rest[0] == " ") else None
            if key is None:
                key = self.key(name, colon, rest)
            if key in data:
                raise _Unsupported
            key_lines[key] = line[0]
            self.index += 1
            rest = rest.lstrip(" ")
            data[key] = self.value(rest, line[0], indent) if rest and rest[0] != "#" else self.nested(indent)
        if line[1] > indent:  # a multi-line scalar or odd indentation: not ours to read
            raise _Unsupported
        return data

    def key(self, name: str, colon: str, rest: str) -> str:
        """A plain key seen for the first time (YAML types `yes:` or `1:`, which a policy rejects)."""
        key = self.typed(name)
        if not colon or rest[:1] not in ("", " ") or not _NAME.fullmatch(name) or type(key) is not str:
            raise _Unsupported
        self.keys[name] = key
        return key

    def nested(self, indent: int) -> Any:
        """The block under a key with no value on its line, or null."""
        line = self.lines[self.index]
        if line[1] < indent or (line[1] == indent and not line[3]):
            return self.typed("")
        return self.sequence(line[1]) if line[3] else self.mapping(line[1])

    def sequence(self, indent: int) -> LocatedList:
        items, lines = LocatedList(), self.lines
        items.line, items.item_lines = lines[self.index][0], []
        while (line := lines[self.index])[1] == indent and line[3]:
            rest = line[2][1:].lstrip(" ")
            if not rest or rest[0] in "-#":
                raise _Unsupported
            items.item_lines.append(line[0])
            column = indent + len(line[2]) - len(rest)
            if _KEY.fullmatch(rest):
                lines[self.index] = (line[0], column, rest, False)
                items.append(self.mapping(column))
            else:
                self.index += 1
                items.append(self.value(rest, line[0], column))
        if line[1] > indent:
            raise _Unsupported
        return items

    def value(self, raw: str, number: int, indent: int) -> Any:
        first = raw[0]
        if first == "[":
            inner = raw[1:-1]
            if raw[-1] == "]" and not _FLOW_ODD.search(inner):
                return self.words(inner, number)
            return self.flow(raw, number, indent)
        if first == "'" and (match := _SINGLE.fullmatch(raw)):
            return match.group(1).replace("''", "'")
        if first == '"' and (match := _DOUBLE.fullmatch(raw)):
            return match.group(1)
        cut = raw.find(" #")
        value = raw if cut < 0 else raw[:cut].rstrip(" ")
        if first in _INDICATORS or ": " in value or value[-1] == ":":
            raise _Unsupported
        return self.typed(value)

    def words(self, inner: str, number: int) -> LocatedList:
        """The common case: ``[a, b, c]`` on one line (checked by `_FLOW_ODD`)."""
        items = LocatedList(map(self.typed, [word.strip(" ") for word in inner.split(",")]))
        items.line, items.item_lines = number, [number] * len(items)
        return items

    def flow(self, raw: str, number: int, indent: int) -> LocatedList:
        """A flow list of plain words, on one line or continued on more-indented lines."""
        items = LocatedList()
        items.line, items.item_lines = number, []
        text = raw[1:]
        while not (closed := _FLOW_CLOSE.fullmatch(text)):
            following = self.lines[self.index]
            if not _FLOW_OPEN.fullmatch("[" + text) or following[1] <= indent:
                raise _Unsupported
            self.add_words(items, text, number, last=False)
            number, text = following[0], following[2]
            self.index += 1
        self.add_words(items, closed.group(1), number, last=True)
        return items

    def add_words(self, items: LocatedList, text: str, number: int, *, last: bool) -> None:
        words = [w.strip(" ") for w in text.split(",")]
        if words[-1] == "" and (not last or (len(words) == 1 and not items)):
            words.pop()  # "[a, b," continued on the next line, or "[]"
        typed = self.typed
        for word in words:
            if word[:1] in ("'", '"') and (quoted := _QUOTED_WORD.fullmatch(word)):
                items.append(quoted.group(1) if quoted.group(1) is not None else quoted.group(2))
                continue
            if not word or word[0] in _INDICATORS or ":" in word or "'" in word or '"' in word:
                raise _Unsupported
            items.append(typed(word))
        items.item_lines += [number] * len(words)
