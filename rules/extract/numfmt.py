"""Spreadsheet number formats that change the digits a reader sees.

Excel keeps identifiers typed as numbers (routing numbers, ZIP codes, SSNs, employee ids) as plain
integers and shows them through a custom format: ``000000000`` turns the stored ``21000021`` back
into the routing number ``021000021``, ``000-00-0000`` turns ``78051120`` into the SSN
``078-05-1120``. The scanner must read what the screen shows, so a worksheet's integer cells are
rendered through their format when the format is made of digit placeholders and literals only.
Anything else (decimals, thousands separators, dates, conditions, text) leaves the value as stored.
"""

from __future__ import annotations

from collections.abc import Callable
from xml.etree.ElementTree import Element

from rules.extract.markup import local_name

#: Literal characters a format may show between digit placeholders without a quote or backslash.
_PLAIN_LITERALS = frozenset(" -()/:+")
#: Longest format code and widest integer rendered (Excel keeps 15 significant digits).
_MAX_CODE = 64
_MAX_DIGITS = 15

Render = Callable[[str], str]


def formats_by_style(styles: Element | None) -> list[Render | None]:
    """For each cell style (``cellXfs`` index), how an integer in that style is shown, or None
    when its format leaves the digits alone (only custom formats, id 164 and up, can pad)."""
    if styles is None:
        return []
    codes: dict[str, str] = {}
    rendered: list[Render | None] = []
    by_id: dict[str, Render | None] = {}  # each format parsed once, however many styles use it
    for node in styles.iter():
        tag = local_name(node.tag)
        if tag == "numFmt" and node.get("numFmtId") is not None:
            codes[str(node.get("numFmtId"))] = node.get("formatCode") or ""
        elif tag == "cellXfs":
            for xf in node:
                if local_name(xf.tag) == "xf":
                    key = xf.get("numFmtId") or "0"
                    if key not in by_id:
                        by_id[key] = renderer(codes.get(key, ""))
                    rendered.append(by_id[key])
    return rendered


def renderer(code: str) -> Render | None:
    """How an integer is shown through the format `code`, or None when the format leaves its
    digits alone."""
    parts = _parse(code)
    if parts is None:
        return None
    return lambda value: _render(parts, value)


#: A parsed format: (True, "0" or "#") for a digit placeholder, (False, text) for a literal.
Part = tuple[bool, str]


def _parse(code: str) -> list[Part] | None:
    """The first section of a format as placeholders ("0", "#") and literal strings, or None when
    it holds anything but those (a decimal point, a thousands comma, a colour or condition in
    brackets, a date or text code) or shows the integer as stored."""
    if not code or len(code) > _MAX_CODE:
        return None
    section, i = code.split(";", 1)[0], 0
    parts: list[Part] = []
    while i < len(section):
        char = section[i]
        if char in "0#":
            parts.append((True, char))
        elif char == "\\" and i + 1 < len(section):
            i += 1
            parts.append((False, section[i]))
        elif char == '"':
            end = section.find('"', i + 1)
            if end < 0:
                return None
            parts.append((False, section[i + 1 : end]))
            i = end
        elif char in _PLAIN_LITERALS:
            parts.append((False, char))
        else:
            return None
        i += 1
    zeros = sum(1 for part in parts if part == (True, "0"))
    if all(placeholder for placeholder, _ in parts) and zeros < 2:  # "0", "#0": shown as stored
        return None
    return parts


def _render(parts: list[Part], value: str) -> str:
    """``value`` (a cell's stored number) through the placeholders, as Excel shows it; values
    that are not non-negative integers of at most 15 digits are returned as stored."""
    digits = _integer(value)
    if digits is None:
        return value
    slots = [i for i, (placeholder, _) in enumerate(parts) if placeholder]
    out = [text for _, text in parts]
    remaining = digits.lstrip("0")
    for index in reversed(slots):
        if remaining:
            out[index], remaining = remaining[-1], remaining[:-1]
        else:
            out[index] = "0" if parts[index][1] == "0" else ""
    if remaining:  # more digits than placeholders: the first placeholder takes the rest
        out[slots[0]] = remaining + out[slots[0]]
    return "".join(out)


def _integer(value: str) -> str | None:
    """The digits of a stored whole number (``21000021``, ``21000021.0``, ``2.1000021E7``)."""
    text = value.strip()
    if text.isdigit() and text.isascii():
        return text if len(text) <= _MAX_DIGITS else None
    try:
        number = float(text)
    except ValueError:
        return None
    if not (0 <= number < 10**_MAX_DIGITS) or number != int(number):
        return None
    return str(int(number))
