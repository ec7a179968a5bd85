"""cpio and ar archives: the Unix containers besides tar.

cpio carries initramfs images, RPM payloads and `find | cpio -o` backups; ar carries Debian
packages (`.deb`: `debian-binary`, `control.tar.*`, `data.tar.*`, whose tars and compressions are
then read as usual) and static libraries. Both were `unscannable` binaries.

cpio, in the four formats GNU cpio writes: "newc" (``070701``) and "crc" (``070702``), 110-byte
headers of hexadecimal fields, name and data padded to 4 bytes; "odc" (``070707``), 76-byte headers
of octal fields, nothing padded; and the old binary format (the 16-bit magic 070707 in either byte
order), 26-byte headers of 16-bit words, name and data padded to 2 bytes. Each entry: its mode,
its name's and data's sizes, the name, the data; `TRAILER!!!` ends the archive. Only regular files
are handed out (a hard link's earlier entries are empty in newc: the data goes with the last).

ar: ``!<arch>\\n`` then members of a 60-byte header (name, dates, ids, mode, decimal size, ``\\x60\\n``)
and their data, padded to 2 bytes. Long names: GNU's ``//`` table (``/123`` names an offset in it)
and BSD's ``#1/LEN`` (the name is the data's first LEN bytes). Symbol tables (``/``, ``__.SYMDEF``)
are skipped; a thin archive (``!<thin>\\n``) holds no member data and is named `unscannable`.

Every size is checked against what is left of the archive before it is used.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator

from rules.extract.budget import Budget, Unscannable

_NEWC, _CRC, _ODC = b"070701", b"070702", b"070707"
_REGULAR, _TYPE = 0o100000, 0o170000
_TRAILER = "TRAILER!!!"
_MAX_NAME = 4096
_HEX, _OCTAL = frozenset(b"0123456789abcdefABCDEF"), frozenset(b"01234567")
AR_MAGIC, AR_THIN = b"!<arch>\n", b"!<thin>\n"


def is_cpio(data: bytes) -> bool:
    if data[:6] in (_NEWC, _CRC):  # a text that starts with these digits is no cpio: the whole header must be hex
        return len(data) >= 110 and all(c in _HEX for c in data[6:110])
    if data[:6] == _ODC:
        return len(data) >= 76 and all(c in _OCTAL for c in data[6:76])
    if data[:2] not in (b"\xc7\x71", b"\x71\xc7") or len(data) < 26:
        return False  # the binary format's magic is two bytes: its first header must parse too
    order = "<" if data[:2] == b"\xc7\x71" else ">"
    name_size: int = struct.unpack_from(f"{order}H", data, 20)[0]
    return 1 < name_size <= _MAX_NAME and 26 + name_size <= len(data) and data[26 + name_size - 1] == 0


def cpio_members(data: bytes, budget: Budget, what: str) -> Iterator[tuple[str, bytes]]:
    """(name, content) of each regular file of a cpio archive, in order."""
    pos = 0
    while True:
        budget.check_time()
        if pos >= len(data) or not data[pos:].strip(b"\x00"):
            raise Unscannable(f"{what}: truncated cpio archive (no TRAILER!!! entry)")
        mode, name, start, size, after = _cpio_entry(data, pos, what)
        if name == _TRAILER:
            return
        if start + size > len(data):
            raise Unscannable(f"{what}: truncated cpio archive ({name} runs past its end)")
        if mode & _TYPE == _REGULAR:
            budget.enter(what)
            budget.spend(size, what)
            yield name.lstrip("/").removeprefix("./"), data[start : start + size]
        pos = after


def _cpio_entry(data: bytes, pos: int, what: str) -> tuple[int, str, int, int, int]:
    """(mode, name, where the data starts, its size, where the next entry starts)."""
    magic = data[pos : pos + 6]
    try:
        if magic in (_NEWC, _CRC):
            fields = [int(data[pos + 6 + 8 * i : pos + 14 + 8 * i], 16) for i in range(13)]
            mode, size, name_size, header, align = fields[1], fields[6], fields[11], 110, 4
        elif magic == _ODC:
            mode, name_size, size = (int(data[pos + a : pos + b], 8) for a, b in ((18, 24), (59, 65), (65, 76)))
            header, align = 76, 1
        elif data[pos : pos + 2] in (b"\xc7\x71", b"\x71\xc7"):
            order = "<" if data[pos : pos + 2] == b"\xc7\x71" else ">"
            words = struct.unpack_from(f"{order}13H", data, pos)
            mode, name_size, size = words[3], words[10], (words[11] << 16) | words[12]
            header, align = 26, 2
        else:
            raise Unscannable(f"{what}: damaged cpio archive (no entry header at byte {pos})")
    except (ValueError, struct.error):
        raise Unscannable(f"{what}: damaged cpio archive (a header field at byte {pos})") from None
    if not 0 < name_size <= _MAX_NAME or pos + header + name_size > len(data):
        raise Unscannable(f"{what}: damaged cpio archive (a name of {name_size} bytes at byte {pos})")
    name = data[pos + header : pos + header + name_size].rstrip(b"\x00").decode("utf-8", "replace")
    start = _aligned(pos + header + name_size, pos, align)
    return mode, name, start, size, _aligned(start + size, pos, align)


def _aligned(offset: int, base: int, align: int) -> int:
    return base + -(-(offset - base) // align) * align if align > 1 else offset


def ar_members(data: bytes, budget: Budget, what: str) -> Iterator[tuple[str, bytes]]:
    """(name, content) of each member of an ar archive (a .deb, a static library), in order."""
    if data.startswith(AR_THIN):
        raise Unscannable(f"{what}: thin ar archive (its members are files elsewhere, not in it)")
    pos, long_names = len(AR_MAGIC), b""
    while pos + 60 <= len(data):
        budget.check_time()
        header = data[pos : pos + 60]
        if header[58:60] != b"`\n":
            raise Unscannable(f"{what}: damaged ar archive (no member header at byte {pos})")
        try:
            size = int(header[48:58].strip() or b"0")
        except ValueError:
            raise Unscannable(f"{what}: damaged ar archive (a size at byte {pos})") from None
        start = pos + 60
        if size < 0 or start + size > len(data):
            raise Unscannable(f"{what}: truncated ar archive (a member runs past its end)")
        raw, content = header[:16].rstrip(b" "), data[start : start + size]
        pos = start + size + (size & 1)
        if raw == b"//":
            long_names = content
            continue
        if raw in (b"/", b"/SYM64/", b"__.SYMDEF", b"__.SYMDEF SORTED"):
            continue
        name, content = _ar_name(raw, content, long_names, what)
        budget.enter(what)
        budget.spend(len(content), what)
        yield name, content
    if pos < len(data) and data[pos:].strip(b"\n"):
        raise Unscannable(f"{what}: truncated ar archive (a member header is cut)")


def _ar_name(raw: bytes, content: bytes, long_names: bytes, what: str) -> tuple[str, bytes]:
    """A member's name (GNU: `name/` or `/offset` into the `//` table; BSD: `#1/length` at the
    start of the data, which it then leaves) and its content."""
    if raw.startswith(b"#1/") and raw[3:].isdigit():
        length = int(raw[3:])
        if length > len(content):
            raise Unscannable(f"{what}: damaged ar archive (a BSD name longer than its member)")
        return content[:length].rstrip(b"\x00").decode("utf-8", "replace"), content[length:]
    if raw.startswith(b"/") and raw[1:].isdigit():
        offset = int(raw[1:])
        end = long_names.find(b"/\n", offset)
        if offset >= len(long_names) or end < 0:
            raise Unscannable(f"{what}: damaged ar archive (a long name outside the name table)")
        return long_names[offset:end].decode("utf-8", "replace"), content
    return raw.removesuffix(b"/").decode("utf-8", "replace"), content
