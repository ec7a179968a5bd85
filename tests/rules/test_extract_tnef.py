"""TNEF (`winmail.dat`), built after [MS-OXTNEF]; `scripts/check_tnef_samples.py` checks the same
reader against 18 streams Outlook and Exchange wrote (the `tnefparse` package's test files)."""

from __future__ import annotations

import struct

from rules.extract import extract
from rules.extract.sniff import sniff
from rules.extract.tnef import SIGNATURE
from tests.rules import samples
from tests.rules.test_extract_rtf import compressed

CARD = "4111 1111 1111 1111"
RID = "11010519491231002X"
CSV = f"name,card\nAda,{CARD}\n".encode()
PT_LONG, PT_STRING8, PT_UNICODE, PT_BINARY, PT_OBJECT = 0x0003, 0x001E, 0x001F, 0x0102, 0x000D


def attribute(level: int, kind: int, ident: int, data: bytes) -> bytes:
    return struct.pack("<BII", level, kind << 16 | ident, len(data)) + data + struct.pack("<H", sum(data) & 0xFFFF)


def properties(items: list[tuple[int, int, object]]) -> bytes:
    out = struct.pack("<I", len(items))
    for kind, ident, value in items:
        out += struct.pack("<HH", kind, ident)
        if kind in (PT_STRING8, PT_UNICODE, PT_BINARY, PT_OBJECT):
            raw = value if isinstance(value, bytes) else str(value).encode("utf-16-le" if kind == PT_UNICODE else "cp1252") + (
                b"\0\0" if kind == PT_UNICODE else b"\0")
            out += struct.pack("<II", 1, len(raw)) + raw + bytes(-len(raw) % 4)
        else:
            out += struct.pack("<I", int(value))  # type: ignore[call-overload]
    return out


def winmail(body_rtf: bytes | None = None, attachments: list[tuple[str, bytes, str]] = (), subject: str = "Q3") -> bytes:  # type: ignore[assignment]
    """A TNEF stream: version, code page, subject, the message's properties (a compressed RTF body),
    then each attachment (how: "data" in attAttachData, "object" in PR_ATTACH_DATA_OBJ)."""
    out = SIGNATURE + struct.pack("<H", 0x1234)
    out += attribute(1, 0x0008, 0x9006, struct.pack("<I", 0x00010000))
    out += attribute(1, 0x0006, 0x9007, struct.pack("<II", 1252, 0))
    out += attribute(1, 0x0001, 0x8004, subject.encode() + b"\0")
    message = [(PT_LONG, 0x3FDE, 1252)] + ([(PT_BINARY, 0x1009, compressed(body_rtf))] if body_rtf else [])
    out += attribute(1, 0x0006, 0x9003, properties(message))
    for name, data, how in attachments:
        out += attribute(2, 0x0006, 0x9002, struct.pack("<HIIHHH", 1, 0xFFFFFFFF, 0, 0, 0, 0))
        out += attribute(2, 0x0001, 0x8010, name.encode("cp1252", "replace") + b"\0")
        if how == "data":
            out += attribute(2, 0x0006, 0x800F, data)
        props = [(PT_UNICODE, 0x3707, name), (PT_LONG, 0x3705, 1)]
        if how == "object":
            props.append((PT_OBJECT, 0x3701, bytes(16) + data))  # an interface id, then the data
        out += attribute(2, 0x0006, 0x9005, properties(props))
    return out


RTF = rb"{\rtf1\ansi\ansicpg936{\fonttbl{\f0\fcharset134 SimSun;}}\f0 \'c9\'ed\'b7\'dd\'d6\'a4 " + RID.encode() + rb"\par}"


def test_a_winmail_dat_in_a_mail_gives_its_body_and_attachments() -> None:
    tnef = winmail(RTF, [("customers.csv", CSV, "data"), ("报表.txt", f"card {CARD}".encode(), "object")])
    assert sniff(tnef, "winmail.dat") == "tnef"
    mail = samples.eml("see the rich-text message", {"winmail.dat": tnef})
    result = extract(mail, "m.eml")
    assert result.status == "ok", result.reason
    assert [p.path for p in result.parts] == ["m.eml", "m.eml/winmail.dat", "m.eml/winmail.dat/customers.csv",
                                              "m.eml/winmail.dat/报表.txt"]  # the Unicode long name wins
    assert f"身份证 {RID}" in result.text and result.text.count(CARD) == 2  # was: winmail.dat, unscannable


def test_a_stream_cut_short_keeps_what_came_before() -> None:
    tnef = winmail(None, [("a.csv", CSV, "data"), ("b.csv", CSV, "data")])
    result = extract(tnef[:-20], "winmail.dat")  # inside the last attribute
    assert result.status == "unscannable" and "runs past the end" in (result.reason or "")
    assert "winmail.dat/a.csv" in [p.path for p in result.parts]


def test_a_property_count_bomb_is_named() -> None:
    tnef = SIGNATURE + b"\0\0" + attribute(1, 0x0006, 0x9003, struct.pack("<I", 1 << 31))
    result = extract(tnef, "winmail.dat")
    assert result.status == "unscannable" and "malformed TNEF properties" in (result.reason or "")


def test_damaged_copies_never_raise() -> None:
    original = winmail(RTF, [("customers.csv", CSV, "data"), ("x.bin", b"\x01" * 100, "object")])
    for copy in samples.damaged(original, "tnef", 300, most_flips=6, cut_chance=0.3, shortest=6):
        assert extract(copy, "winmail.dat").status in ("ok", "unscannable", "encrypted")
