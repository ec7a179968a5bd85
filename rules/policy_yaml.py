"""YAML with line numbers: every mapping remembers where it and each of its keys came from."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import yaml

#: Parse and compose only, with no implicit resolvers: plain scalars keep the default tag and are
#: typed by `type_plain`, several times faster than PyYAML's regex-based resolver. libyaml when present.
_Loader: type = getattr(yaml, "CBaseLoader", yaml.BaseLoader)

_INT = re.compile(r"[-+]?(?:0|[1-9][0-9_]*)")
_OCT = re.compile(r"[-+]?0[0-7_]+")
_HEX = re.compile(r"[-+]?0x[0-9a-fA-F_]+")
_FLOAT = re.compile(r"[-+]?(?:[0-9][0-9_]*)?\.[0-9_]*(?:[eE][-+]?[0-9]+)?")
_NULL = frozenset({"", "~", "null", "Null", "NULL"})


class PolicyError(ValueError):
    """An invalid policy. `str()` reads ``FILE:LINE: FIELD: what is wrong``."""

    def __init__(self, message: str, *, source: str = "<policy>", line: int | None = None, field: str = "") -> None:
        self.source, self.line, self.field, self.message = source, line, field, message
        where = f"{source}:{line}" if line is not None else source
        super().__init__(f"{where}: {field + ': ' if field else ''}{message}")


class Located(dict[str, Any]):
    """A mapping from the policy file with 1-based line numbers for itself and its keys."""

    line: int = 0
    key_lines: dict[str, int]

    def line_of(self, key: str) -> int:
        return self.key_lines.get(key, self.line)


class LocatedList(list[Any]):
    line: int = 0
    item_lines: list[int]


_BOOL = {"true": True, "yes": True, "on": True, "false": False, "no": False, "off": False}


def type_plain(value: str) -> Any:
    """Type an unquoted scalar as YAML 1.1 does (bool, null, int, float, else string)."""
    if value in _NULL:
        return None
    lowered = value.lower()
    if lowered in _BOOL and value in (lowered, lowered.capitalize(), value.upper()):
        return _BOOL[lowered]
    if not value or value[0] not in "+-.0123456789":
        return value
    text = value.replace("_", "")
    if _INT.fullmatch(value):
        return int(text)
    if _HEX.fullmatch(value):
        return int(text.replace("0x", ""), 16) * (-1 if text.startswith("-") else 1)
    if _OCT.fullmatch(value):
        return int(text, 8)
    if _FLOAT.fullmatch(value) and any(ch.isdigit() for ch in text):  # "." and "-._" are strings
        return float(text)
    return value


class _Builder:
    """Build located data straight from parser events: no node graph, no resolver calls.

    Runs once per event (about 90,000 for a pack of 500 rules), so the handlers are kept lean:
    dispatch on the event's exact type, plain scalars typed once per distinct value.
    """

    def __init__(self) -> None:
        self.anchors: dict[str, Any] = {}
        self.stack: list[tuple[Any, list[Any]]] = []  # (container, pending mapping key as [key, line])
        self.root: Any = None
        self.typed: dict[str, Any] = {}
        self.handlers: dict[type, Any] = {
            yaml.ScalarEvent: self.scalar, yaml.MappingStartEvent: self.mapping, yaml.SequenceStartEvent: self.sequence,
            yaml.MappingEndEvent: self.close, yaml.SequenceEndEvent: self.close, yaml.AliasEvent: self.alias,
        }

    def add(self, value: Any, line: int, anchor: str | None) -> None:
        if anchor:
            self.anchors[anchor] = value
        if not self.stack:
            self.root = value
            return
        container, pending = self.stack[-1]
        if type(container) is LocatedList:
            container.append(value)
            container.item_lines.append(line)
        elif not pending:
            if type(value) is not str:
                raise PolicyError("keys must be strings", line=line, field=str(value))
            if value in container:
                raise PolicyError("duplicate key", line=line, field=value)
            pending += (value, line)
        else:
            container[pending[0]] = value
            container.key_lines[pending[0]] = pending[1]
            pending.clear()

    def feed(self, event: yaml.Event) -> None:
        handler = self.handlers.get(type(event))
        if handler is not None:
            mark = event.start_mark
            handler(event, mark.line + 1 if mark is not None else 0)

    def scalar(self, event: yaml.ScalarEvent, line: int) -> None:
        value = event.value
        if event.implicit[0] and not event.style:
            typed = self.typed
            value = typed[value] if value in typed else typed.setdefault(value, type_plain(value))
        self.add(value, line, event.anchor)

    def mapping(self, event: yaml.MappingStartEvent, line: int) -> None:
        container = Located()
        container.line, container.key_lines = line, {}
        self.add(container, line, event.anchor)
        self.stack.append((container, []))

    def sequence(self, event: yaml.SequenceStartEvent, line: int) -> None:
        container = LocatedList()
        container.line, container.item_lines = line, []
        self.add(container, line, event.anchor)
        self.stack.append((container, []))

    def close(self, event: yaml.Event, line: int) -> None:
        self.stack.pop()

    def alias(self, event: yaml.AliasEvent, line: int) -> None:
        if event.anchor not in self.anchors:
            raise PolicyError(f"unknown alias *{event.anchor}", line=line)
        self.add(self.anchors[event.anchor], line, None)


def _events(text: str) -> Iterator[yaml.Event]:
    """Parser events until the end of the stream (what `yaml.parse` yields, with less overhead)."""
    parser = _Loader(text)
    try:
        event = parser.get_event()
        while type(event) is not yaml.StreamEndEvent:
            yield event
            event = parser.get_event()
    finally:
        parser.dispose()


def parse_document(text: str, source: str) -> Located:
    """Parse one YAML document into `Located` mappings, or raise `PolicyError` with the line."""
    try:
        builder = _Builder()
        feed = builder.feed
        for event in _events(text):
            feed(event)
        data = builder.root
    except PolicyError as exc:
        raise PolicyError(exc.message, source=source, line=exc.line, field=exc.field) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        raise PolicyError(f"invalid YAML: {exc.problem or exc.context}", source=source, line=line) from None
    except yaml.YAMLError as exc:
        raise PolicyError(f"invalid YAML: {exc}", source=source) from None
    except UnicodeEncodeError as exc:  # a lone surrogate (a JSON string's "\ud800" reaches here as text)
        line = text.count("\n", 0, exc.start) + 1 if exc.object is text else None
        raise PolicyError(f"not Unicode text: {exc.reason} at character {exc.start}", source=source, line=line) from None
    if not isinstance(data, Located):
        raise PolicyError("a policy must be a YAML mapping", source=source, line=1)
    return data
