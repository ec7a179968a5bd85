"""Huffman codes and the bit stream the two RAR test compressors (`rar5_pack`, `rar4_pack`)
share: RAR 2.9 and 5.0 code the same way (canonical codes of at most 15 bits, most significant bit
first), and `unar`'s table lookups look up to 10 bits ahead, which the writer records."""

from __future__ import annotations

import heapq
from collections.abc import Sequence

_MAX_CODE = 15
_PEEK = 10  # unar's longest table lookup


def common(buf: bytes, i: int, j: int, limit: int) -> int:
    """How many bytes from `i` equal those from `j` (at most `limit`), compared a slice at a time."""
    n, step = 0, 8
    while n < limit:
        m = min(step, limit - n)
        if buf[i + n:i + n + m] == buf[j + n:j + n + m]:
            n, step = n + m, step * 2
        elif m == 1:
            break
        else:
            step = m // 2
    return n


def code_lengths(weights: Sequence[int], limit: int = _MAX_CODE) -> list[int]:
    """Huffman code lengths of at most `limit` bits (weights are halved until they fit); a lone
    symbol gets 1 bit."""
    weights = list(weights)
    while True:
        lengths = [0] * len(weights)
        heap = [(weight, symbol, [symbol]) for symbol, weight in enumerate(weights) if weight]
        if len(heap) == 1:
            lengths[heap[0][1]] = 1
        heapq.heapify(heap)
        tie = len(weights)
        while len(heap) > 1:
            weight1, _, symbols1 = heapq.heappop(heap)
            weight2, _, symbols2 = heapq.heappop(heap)
            for symbol in symbols1 + symbols2:
                lengths[symbol] += 1
            heapq.heappush(heap, (weight1 + weight2, tie, symbols1 + symbols2))
            tie += 1
        if max(lengths, default=0) <= limit:
            return lengths
        weights = [(weight + 1) // 2 for weight in weights]


def canonical(lengths: Sequence[int]) -> list[int]:
    """Canonical codes: shorter codes first, then by symbol, as DEFLATE assigns them."""
    codes, code = [0] * len(lengths), 0
    for length in range(1, _MAX_CODE + 1):
        for symbol, symbol_length in enumerate(lengths):
            if symbol_length == length:
                codes[symbol], code = code, code + 1
        code <<= 1
    return codes


def lookahead(lengths: Sequence[int]) -> int:
    return min(max(lengths), _PEEK) if any(lengths) else _PEEK


class BitWriter:
    """Bits, most significant first; `reach` is how far unar's table lookups look ahead."""

    def __init__(self) -> None:
        self.out = bytearray()
        self.acc = self.count = self.reach = 0

    def write(self, value: int, count: int) -> None:
        self.acc, self.count = self.acc << count | value, self.count + count
        while self.count >= 8:
            self.count -= 8
            self.out.append(self.acc >> self.count & 0xFF)
        self.acc &= (1 << self.count) - 1

    def code(self, code: int, length: int, peek: int) -> None:
        self.reach = max(self.reach, 8 * len(self.out) + self.count + peek)
        self.write(code, length)

    def finish(self) -> tuple[bytes, int]:
        """The bytes and how many bits of the last one are used."""
        used = self.count or 8
        if self.count:
            self.out.append(self.acc << (8 - self.count) & 0xFF)
        return bytes(self.out), used
