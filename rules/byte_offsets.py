"""The UTF-8 bytes RE2 scans, and the way back from their byte offsets to character offsets."""

from __future__ import annotations

from bisect import bisect_right

#: UTF-8 continuation bytes: deleting them leaves one byte per character, about twice as fast as
#: decoding CJK text just to count it.
_CONTINUATION = bytes(range(0x80, 0xC0))


def _count_chars(data: bytes) -> int:
    return len(data.translate(None, _CONTINUATION))


#: Characters per encoded piece: the byte offset of each piece's start is known, so mapping a hit
#: to characters counts bytes from the last piece start, not from the previous hit.
_PIECE_CHARS = 4096


class ByteOffsets:
    """The text's UTF-8 bytes, and byte offsets to character offsets moving forward through it."""

    def __init__(self, text: str) -> None:
        pieces = [text[i : i + _PIECE_CHARS].encode("utf-8", "surrogatepass") for i in range(0, len(text), _PIECE_CHARS)]
        self.data = b"".join(pieces)
        self.ascii_only = len(self.data) == len(text)
        self.marks = [0] * len(pieces)  # byte offset of each piece; piece i starts at character i * _PIECE_CHARS
        for index in range(1, len(pieces)):
            self.marks[index] = self.marks[index - 1] + len(pieces[index - 1])
        self.byte, self.char = 0, 0

    def rewind(self) -> None:
        """Start again from the beginning (before a second pass in text order)."""
        self.byte, self.char = 0, 0

    def chars(self, byte: int) -> int:
        if self.ascii_only:
            return byte
        if byte >= self.byte:
            piece = bisect_right(self.marks, byte) - 1
            if self.marks[piece] > self.byte:
                self.byte, self.char = self.marks[piece], piece * _PIECE_CHARS
            self.char += _count_chars(self.data[self.byte : byte])
            self.byte = byte
            return self.char
        return self.char - _count_chars(self.data[byte : self.byte])
