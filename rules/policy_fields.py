"""Typed field access over a located YAML mapping; every error names file, line and field."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from rules.policy_yaml import Located, LocatedList, PolicyError

_MISSING = object()


class Fields:
    """Reads one mapping of the policy; `path` is the dotted field name used in errors."""

    def __init__(self, data: Any, source: str, path: str, line: int) -> None:
        if not isinstance(data, Located):
            raise PolicyError("must be a mapping", source=source, line=line, field=path)
        self.data, self.source, self.path = data, source, path

    def field(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else key

    def error(self, key: str, message: str) -> PolicyError:
        return PolicyError(message, source=self.source, line=self.data.line_of(key), field=self.field(key))

    def only(self, *allowed: str) -> None:
        """Reject unknown keys: a typo must not silently disable a rule."""
        for key in self.data:
            if key not in allowed:
                raise self.error(key, f"unknown field (expected one of: {', '.join(allowed)})")

    def present(self, key: str) -> bool:
        """Set to something other than null (an empty value reads like a missing one)."""
        return self.data.get(key) is not None

    def raw(self, key: str, default: Any = _MISSING) -> Any:
        value = self.data.get(key)
        if value is None:
            if default is _MISSING:
                raise PolicyError("required field is missing", source=self.source, line=self.data.line,
                                  field=self.field(key))
            return default
        return value

    def text(self, key: str, default: Any = _MISSING, choices: tuple[str, ...] = ()) -> Any:
        value = self.raw(key, default)
        if value is default and default is not _MISSING:
            return value
        if not isinstance(value, str):
            raise self.error(key, f"must be a string, not {type(value).__name__}")
        if choices and value not in choices:
            raise self.error(key, f"{value!r} is not one of: {', '.join(choices)}")
        return value

    def boolean(self, key: str, default: bool) -> bool:
        value = self.raw(key, default)
        if not isinstance(value, bool):
            raise self.error(key, "must be true or false")
        return value

    def number(self, key: str, default: Any, low: float, high: float, *, integer: bool = False) -> Any:
        value = self.raw(key, default)
        if value is default:
            return value
        if isinstance(value, bool) or not isinstance(value, int if integer else (int, float)):
            raise self.error(key, f"must be {'an integer' if integer else 'a number'}")
        if not low <= value <= high:
            raise self.error(key, f"{value} is outside {low:g}..{high:g}")
        return value

    def strings(self, key: str, choices: tuple[str, ...] = ()) -> tuple[str, ...]:
        value = self.data.get(key)
        if value is None:
            return ()
        items = [value] if isinstance(value, str) else value
        if not isinstance(items, list) or not all(isinstance(v, str) and v for v in items):
            raise self.error(key, "must be a list of non-empty strings")
        for item in items:
            if choices and item not in choices:
                raise self.error(key, f"{item!r} is not one of: {', '.join(choices)}")
        return tuple(items)

    def child(self, key: str) -> Fields:
        return Fields(self.raw(key, _empty(self.data.line_of(key))), self.source, self.field(key),
                      self.data.line_of(key))

    def children(self, key: str) -> Iterator[Fields]:
        value = self.raw(key, None)
        if value is None:
            return
        if not isinstance(value, LocatedList):
            raise self.error(key, "must be a list")
        for index, (item, line) in enumerate(zip(value, value.item_lines, strict=True)):
            yield Fields(item, self.source, f"{self.field(key)}[{index}]", line)


def _empty(line: int) -> Located:
    data = Located()
    data.line, data.key_lines = line, {}
    return data
