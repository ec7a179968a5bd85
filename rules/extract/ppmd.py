"""PPMd variant H (Dmitry Shkarin's PPMd var.H, 2001), the decoder side, with the two range
decoders that archives put in front of it: 7-Zip's (the "PPMd" coder of .7z archives, method
03 04 01) and the carry-less one of Dmitry Subbotin that RAR 2.9-4.x uses for its PPMd blocks.

How the model works. PPM ("prediction by partial matching") predicts each byte from the bytes
before it. A *context* is a string of up to `order` preceding bytes; it holds the symbols seen
after it, each a *state* (symbol, frequency, successor). Contexts form a tree through their
*suffix* (the same context one byte shorter), down to the order-0 root, which knows all 256 byte
values. A byte is decoded in the longest context that applies; if the coded value falls in its
*escape* range instead, the symbols of that context are masked and the decoder moves to the
suffix, until the byte is found (the root always has it; an escape there is the end mark). The
escape frequency of a context whose symbols were masked comes from a SEE context (secondary
escape estimation: 25 x 16 adaptive averages chosen by the number of symbols, how the context
compares to its suffix, and a flag for bytes >= 0x40). Contexts of one symbol ("binary
contexts") are coded as a bit with an adaptive 14-bit probability, chosen from a 128 x 64 table
(BinSumm) by the symbol's frequency, whether the previous byte was predicted, the suffix's size
and the same flags. After each byte the model updates: the found state's frequency grows (and
the context is rescaled, all frequencies halved, past 124), the byte is added to the contexts it
escaped from, and the context one byte longer is created (CreateSuccessors) from the raw text:
a new state's successor first points into the text it was seen in, and becomes a real context
only when that context is needed.

Memory. All of this lives in one block of `memory` bytes, managed by Shkarin's sub-allocator,
and decoders must follow it exactly: when the block is full the model restarts from scratch
(RestartModel), and the encoder restarted at that same byte. The block is the raw text (the
lower eighth) and 12-byte units (the rest): a context is one unit; a context's states are an
array of 6-byte states in ceil(n/2) units. Free blocks of units are kept in 38 lists by size
(1, 2, 3, 4, 6, 8 ... 128 units), taken last-in first-out; when a list is empty a block is cut
from the free space between the two growing ends (states grow up, contexts grow down), then,
once in 255 such misses, adjacent free blocks are glued together, then a larger free block is
split, and last units are taken from the top of the text area. Every decision that depends on
where a block lands is reproduced here: the same addresses, the same list order, the same
gluing. This module keeps that memory as it is laid out in C (a lazily zeroed anonymous `mmap`,
read through 8-, 16- and 32-bit views; the free lists as Python lists), so that references,
comparisons between context and text addresses, and restarts come out as in 7-Zip and unrar.

Range decoders. 7-Zip's (`SevenZipRangeDecoder`): 5 bytes to start (the first 0), a 32-bit
range renormalised below 2^24. RAR's (`RarRangeDecoder`): Subbotin's carry-less coder with
`low`, 4 bytes to start, renormalised while the top byte of low and low + range agree or the
range falls below 2^15 (then cut to the next 2^15 boundary). The model is the same var.H model
for both (as 7-Zip uses its Ppmd7 for RAR); only the coder differs, and one comparison in the
SEE context choice, which 7-Zip computes unsigned and RAR's var.H signed (noted at
`_decode`).

This follows the public-domain descriptions and code of the algorithm: Shkarin's PPMd var.H,
Igor Pavlov's 7-Zip `C/Ppmd7.c`, `Ppmd7Dec.c` and `Ppmd7aDec.c` (PPMd7 with the RAR range
decoder), written anew in Python. Tables of constants (the BinSumm start values, the escape
table, the unit-size index tables) are those of the format. It is checked against pyppmd (7-Zip's
C code) and against a RAR 3 archive that WinRAR wrote (`tests/rules/test_ppmd.py`).

Hostile input: every loop is bounded, damage and impossible model states raise `PpmdError` (a
`ValueError`), and output stops at the size asked for.
"""

from __future__ import annotations

import mmap
from bisect import bisect_right
from itertools import accumulate, compress
from typing import Final, Protocol

__all__ = ["MAX_MEMORY", "MAX_ORDER", "MIN_MEMORY", "MIN_ORDER", "Model", "PpmdError", "RarRangeDecoder",
           "SevenZipRangeDecoder", "ppmd7_decompress", "ppmd7_props", "start_rar_block"]


class PpmdError(ValueError):
    """Damaged PPMd data, or parameters no encoder writes."""


MIN_ORDER: Final = 2
MAX_ORDER: Final = 64
MIN_MEMORY: Final = 1 << 11  # 7-Zip's limits for the model's memory
MAX_MEMORY: Final = 0xFFFFFFFF - 12 * 3

_M32: Final = 0xFFFFFFFF
_UNIT: Final = 12  # bytes in a unit
_MAX_FREQ: Final = 124
_INT_BITS: Final = 7
_PERIOD_BITS: Final = 7
_BIN_SCALE: Final = 1 << (_INT_BITS + _PERIOD_BITS)
_NUM_INDEXES: Final = 38  # sizes of free blocks: 4 of step 1, 4 of step 2, 4 of step 3, 26 of step 4
_DUMMY_SEE: Final = 25 * 16  # the SEE context of 256-symbol contexts, never adapted

#: The escape frequency a context of one symbol passes on when it grows a second symbol, by its
#: bit's probability (top 4 bits).
_EXP_ESCAPE: Final = (25, 14, 9, 7, 5, 5, 4, 4, 4, 3, 3, 3, 2, 2, 2, 2)
_INIT_BIN_ESC: Final = (0x3CDD, 0x1F3F, 0x59BF, 0x48F3, 0x64A1, 0x5ABC, 0x6632, 0x6051)


def _unit_tables() -> tuple[tuple[int, ...], tuple[int, ...]]:
    """(units of each block size index, index of the smallest block that holds n units)."""
    index_units: list[int] = []
    units_index: list[int] = []
    for index in range(_NUM_INDEXES):
        step = 4 if index >= 12 else (index >> 2) + 1
        units_index.extend([index] * step)
        index_units.append(len(units_index))
    return tuple(index_units), tuple(units_index)


_I2U, _U2I_TABLE = _unit_tables()
#: `_U2I[n]`: the block size index for n units (1..128); `_U2I[0]` is unused.
_U2I: Final = (0, *_U2I_TABLE)


def _ns_to_index() -> tuple[int, ...]:
    """SEE row of a context by its number of unmasked symbols less one: 0, 1, 2, then rows
    of 1, 2, 3 ... symbols."""
    table = [0, 1, 2]
    row, left = 3, 1
    while len(table) < 256:
        table.append(row)
        left -= 1
        if left == 0:
            row += 1
            left = row - 2
    return tuple(table)


_NS2INDX: Final = _ns_to_index()
_NS2BSINDX: Final = (0, 2, *([4] * 9), *([6] * 245))  # BinSumm column by the suffix's symbols less one
_HB2FLAG: Final = tuple(0 if byte < 0x40 else 8 for byte in range(256))
_INIT_BIN_SUMM: Final = tuple(_BIN_SCALE - _INIT_BIN_ESC[column & 7] // (row + 2)
                              for row in range(128) for column in range(64))
_INIT_SEE_SUMM: Final = (*((5 * row + 10) << (_PERIOD_BITS - 4) for row in range(25) for _ in range(16)), 0)
_INIT_SEE_SHIFT: Final = (*([_PERIOD_BITS - 4] * (25 * 16)), _PERIOD_BITS)
_INIT_SEE_COUNT: Final = (*([4] * (25 * 16)), 64)
_ALL_BYTES: Final = bytes(range(256))
_ONES: Final = b"\x01" * 256
#: The root context's 256 states: symbol, frequency 1, no successor.
_ROOT_STATES: Final = b"".join(bytes((symbol, 1, 0, 0, 0, 0)) for symbol in range(256))


#: What a read or write outside the model's memory raises; only a model state that no encoder
#: produces leads there.
_MODEL_ERRORS: Final = (IndexError, ValueError, OverflowError, ZeroDivisionError)


class RangeDecoder(Protocol):
    """What the model needs from a range decoder."""

    position: int

    def get_threshold(self, total: int) -> int: ...

    def decode(self, start: int, size: int) -> None: ...

    def decode_bit(self, size0: int) -> int: ...


class SevenZipRangeDecoder:
    """7-Zip's range decoder for PPMd in .7z: one 0 byte, then the 32-bit code; the range is
    divided by the total, and renormalised (a byte shifted in) while below 2^24."""

    __slots__ = ("_data", "_end", "code", "position", "range")

    def __init__(self, data: bytes | bytearray | memoryview, position: int = 0) -> None:
        self._data = data
        self._end = len(data)
        if position < 0 or position + 5 > self._end:
            raise PpmdError("PPMd data is truncated (no room for the range coder's first 5 bytes)")
        if data[position] != 0:
            raise PpmdError("PPMd data does not start with the range coder's 0 byte")
        code = int.from_bytes(data[position + 1:position + 5], "big")
        if code == _M32:
            raise PpmdError("PPMd range coder starts with an impossible code")
        self.code = code
        self.range = _M32
        self.position = position + 5  # bytes of `data` consumed so far

    def get_threshold(self, total: int) -> int:
        size = self.range // total
        self.range = size
        return self.code // size

    def decode(self, start: int, size: int) -> None:
        span = self.range
        code = self.code - start * span
        span *= size
        if span < 0x1000000:
            data, position = self._data, self.position
            while span < 0x1000000:
                if position >= self._end:
                    raise PpmdError("PPMd data is truncated")
                code = (code << 8) | data[position]
                position += 1
                span <<= 8
            self.position = position
        self.code = code
        self.range = span

    def decode_bit(self, size0: int) -> int:
        span = self.range
        bound = (span >> 14) * size0
        code = self.code
        if code < bound:
            span = bound
            bit = 0
        else:
            code -= bound
            span -= bound
            bit = 1
        if span < 0x1000000:
            data, position = self._data, self.position
            while span < 0x1000000:
                if position >= self._end:
                    raise PpmdError("PPMd data is truncated")
                code = (code << 8) | data[position]
                position += 1
                span <<= 8
            self.position = position
        self.code = code
        self.range = span
        return bit


class RarRangeDecoder:
    """RAR's range decoder (Subbotin's carry-less coder of PPMd var.H): `low`, `range` and the
    code, all 32-bit; starts on 4 bytes. `code` is kept as (code - low), as 7-Zip does."""

    __slots__ = ("_data", "_end", "code", "low", "position", "range")

    def __init__(self, data: bytes | bytearray | memoryview, position: int = 0) -> None:
        self._data = data
        self._end = len(data)
        if position < 0 or position + 4 > self._end:
            raise PpmdError("PPMd data is truncated (no room for the range coder's first 4 bytes)")
        self.code = int.from_bytes(data[position:position + 4], "big")
        self.low = 0
        self.range = _M32
        self.position = position + 4  # bytes of `data` consumed so far

    def get_threshold(self, total: int) -> int:
        span = self.range
        if total > span:
            raise PpmdError("damaged PPMd data (frequency total above the coder's range)")
        span //= total
        self.range = span
        return self.code // span

    def _normalize(self, low: int, code: int, span: int) -> None:
        data, position, end = self._data, self.position, self._end
        while True:
            if (low ^ ((low + span) & _M32)) >= 0x1000000:
                if span >= 0x8000:
                    break
                span = -low & 0x7FFF
            if position >= end:
                raise PpmdError("PPMd data is truncated")
            code = ((code << 8) | data[position]) & _M32
            position += 1
            span = (span << 8) & _M32
            low = (low << 8) & _M32
            if span == 0:
                raise PpmdError("damaged PPMd data (range coder range fell to 0)")
        self.position = position
        self.low = low
        self.code = code
        self.range = span

    def decode(self, start: int, size: int) -> None:
        span = self.range
        start *= span
        self._normalize((self.low + start) & _M32, self.code - start, span * size)

    def decode_bit(self, size0: int) -> int:
        span = self.range
        bound = (span >> 14) * size0
        if self.code < bound:
            self._normalize(self.low, self.code, bound)
            return 0
        self._normalize((self.low + bound) & _M32, self.code - bound, (span & ~(_BIN_SCALE - 1)) - bound)
        return 1


class Model:
    """The PPMd var.H model and its sub-allocator, for one stream or, kept, for the following
    blocks and files of a solid RAR archive. `restarts` counts the restarts forced by full memory."""

    def __init__(self, order: int, memory: int) -> None:
        self.restarts = 0
        self._size = -1  # no memory block yet
        self._init_esc = 0  # as in C, not reset by a restart
        self.start(order, memory)

    # ---- set-up ----------------------------------------------------------------------------

    def start(self, order: int, memory: int) -> None:
        """(Re)start the model with this order and memory, keeping the memory block when its
        size is unchanged (as 7-Zip's Ppmd7_Alloc does)."""
        if not MIN_ORDER <= order <= MAX_ORDER:
            raise PpmdError(f"PPMd order {order} is outside {MIN_ORDER}..{MAX_ORDER}")
        if not MIN_MEMORY <= memory <= MAX_MEMORY:
            raise PpmdError(f"PPMd memory size {memory} is outside {MIN_MEMORY}..{MAX_MEMORY}")
        if self._size != memory:
            self._allocate(memory)
        self.max_order = order
        self._restart()

    def start_rar(self, order: int, memory_mb: int) -> None:
        """Start as a RAR PPMd block with the reset flag does: `memory_mb` MiB (MaxMB + 1)."""
        self.start(order, memory_mb << 20)

    @classmethod
    def for_rar(cls, order: int, memory_mb: int) -> Model:
        return cls(order, memory_mb << 20)

    def _allocate(self, memory: int) -> None:
        # Text starts at an offset that puts every unit on a 4-byte boundary (and leaves 0 as
        # the null reference), as 7-Zip's AlignOffset.
        self._text_start = 4 - (memory & 3)
        try:
            buffer = mmap.mmap(-1, self._text_start + memory + _UNIT)
        except (OSError, OverflowError, ValueError, MemoryError) as exc:
            raise PpmdError(f"cannot reserve {memory} bytes for the PPMd model: {exc}") from exc
        view = memoryview(buffer)
        self._buffer: mmap.mmap = buffer
        self._m16 = view.cast("H")
        self._m32 = view.cast("I")
        self._size = memory

    def _restart(self) -> None:
        """RestartModel: empty memory, the root context with all 256 symbols, fresh statistics."""
        buffer, m16, m32 = self._buffer, self._m16, self._m32
        self._free: list[list[int]] = [[] for _ in range(_NUM_INDEXES)]
        self._text = self._text_start
        hi_unit = self._text + self._size
        self._units_start = self._lo_unit = hi_unit - self._size // 8 // _UNIT * 7 * _UNIT
        self._glue_count = 0
        self._order_fall = self.max_order
        self._run_length = self._init_rl = -min(self.max_order, 12) - 1
        self._prev_success = 0
        self._hi_bits_flag = 0
        hi_unit -= _UNIT
        self._hi_unit = hi_unit
        root = hi_unit
        stats = self._lo_unit
        self._lo_unit += 128 * _UNIT
        m16[root >> 1] = 256
        m16[(root >> 1) + 1] = 257
        m32[(root >> 2) + 1] = stats
        m32[(root >> 2) + 2] = 0
        buffer[stats:stats + 256 * 6] = _ROOT_STATES
        self._min_context = self._max_context = root
        self._found_state = stats
        self._bin_summ = list(_INIT_BIN_SUMM)
        self._see_summ = list(_INIT_SEE_SUMM)
        self._see_shift = list(_INIT_SEE_SHIFT)
        self._see_count = list(_INIT_SEE_COUNT)

    # ---- sub-allocator ---------------------------------------------------------------------

    def _split_block(self, block: int, old_index: int, new_index: int) -> None:
        """Return the part of a free block beyond `new_index`'s size to the free lists."""
        free = self._free
        units = _I2U[old_index] - _I2U[new_index]
        block += _I2U[new_index] * _UNIT
        index = _U2I[units]
        if _I2U[index] != units:
            index -= 1
            first = _I2U[index]
            free[units - first - 1].append(block + first * _UNIT)
        free[index].append(block)

    def _glue_free_blocks(self) -> None:
        """GlueFreeBlocks: merge free blocks that lie next to each other (up to 0xFFFF units),
        then file them again by size, pieces of 128 units first."""
        self._glue_count = 255
        free = self._free
        # One list of every free block, in the order 7-Zip's linked list walks it: by size
        # index, each list from its head, the whole then reversed.
        walk: list[int] = []
        units_of: dict[int, int] = {}
        for index in range(_NUM_INDEXES):
            blocks = free[index]
            units = _I2U[index]
            for block in reversed(blocks):
                walk.append(block)
                units_of[block] = units
            blocks.clear()
        walk.reverse()
        # Anything that is not a free block (a context, states, the unused gap at LoUnit) stops
        # a merge; a merged block is marked 0 and skipped later.
        for block in walk:
            units = units_of[block]
            if units == 0:
                continue
            while True:
                neighbour = block + units * _UNIT
                more = units_of.get(neighbour, 0)
                if more == 0 or units + more >= 0x10000:
                    break
                units += more
                units_of[neighbour] = 0
            units_of[block] = units
        for block in walk:
            units = units_of[block]
            if units == 0:
                continue
            while units > 128:
                free[_NUM_INDEXES - 1].append(block)
                units -= 128
                block += 128 * _UNIT
            index = _U2I[units]
            if _I2U[index] != units:
                index -= 1
                first = _I2U[index]
                free[units - first - 1].append(block + first * _UNIT)
            free[index].append(block)

    def _alloc_units_rare(self, index: int) -> int:
        """A block of `index`'s size when its list is empty and the gap is too small; 0 when
        memory is full."""
        free = self._free
        if self._glue_count == 0:
            self._glue_free_blocks()
            if free[index]:
                return free[index].pop()
        larger = index
        while True:
            larger += 1
            if larger == _NUM_INDEXES:
                size = _I2U[index] * _UNIT
                self._glue_count -= 1
                if self._units_start - self._text > size:
                    self._units_start -= size
                    return self._units_start
                return 0
            if free[larger]:
                break
        block = free[larger].pop()
        self._split_block(block, larger, index)
        return block

    def _alloc_units(self, index: int) -> int:
        blocks = self._free[index]
        if blocks:
            return blocks.pop()
        size = _I2U[index] * _UNIT
        low = self._lo_unit
        if self._hi_unit - low >= size:
            self._lo_unit = low + size
            return low
        return self._alloc_units_rare(index)

    def _shrink_units(self, block: int, old_units: int, new_units: int) -> int:
        old_index = _U2I[old_units]
        new_index = _U2I[new_units]
        if old_index == new_index:
            return block
        blocks = self._free[new_index]
        if blocks:
            moved = blocks.pop()
            buffer = self._buffer
            buffer[moved:moved + new_units * _UNIT] = buffer[block:block + new_units * _UNIT]
            self._free[old_index].append(block)
            return moved
        self._split_block(block, old_index, new_index)
        return block

    # ---- model update ----------------------------------------------------------------------

    def _create_successors(self, skip: bool) -> int:
        """Make real contexts of the raw successor of the found state, from the longest
        suffix that has one down; the new context, or 0 when memory is full."""
        buffer, m16, m32 = self._buffer, self._m16, self._m32
        found = self._found_state
        context = self._min_context
        up_branch = m16[(found >> 1) + 1] | (m16[(found >> 1) + 2] << 16)
        symbol = buffer[found]
        pending: list[int] = [] if skip else [found]
        while True:
            suffix = m32[(context >> 2) + 2]
            if suffix == 0:
                break
            context = suffix
            count = m16[context >> 1]
            if count != 1:
                stats = m32[(context >> 2) + 1]
                at = buffer[stats:stats + 6 * count:6].find(symbol)
                if at < 0:
                    raise PpmdError("damaged PPMd model (symbol missing from a suffix context)")
                state = stats + 6 * at
            else:
                state = context + 2
            successor = m16[(state >> 1) + 1] | (m16[(state >> 1) + 2] << 16)
            if successor != up_branch:
                context = successor
                if not pending:
                    return context
                break
            if len(pending) >= MAX_ORDER:
                raise PpmdError("damaged PPMd model (context chain longer than the order)")
            pending.append(state)
        if not pending:
            return context
        new_symbol = buffer[up_branch]
        new_successor = up_branch + 1
        count = m16[context >> 1]
        if count == 1:
            new_freq = buffer[context + 3]
        else:
            stats = m32[(context >> 2) + 1]
            at = buffer[stats:stats + 6 * count:6].find(new_symbol)
            if at < 0:
                raise PpmdError("damaged PPMd model (symbol missing from a context)")
            freq = buffer[stats + 6 * at + 1] - 1
            rest = m16[(context >> 1) + 1] - count - freq
            if 2 * freq <= rest:
                new_freq = 1 + (5 * freq > rest)
            else:
                new_freq = 1 + (2 * freq + 3 * rest - 1) // (2 * rest)
        free0 = self._free[0]
        while pending:
            if self._hi_unit != self._lo_unit:
                self._hi_unit -= _UNIT
                child = self._hi_unit
            elif free0:
                child = free0.pop()
            else:
                child = self._alloc_units_rare(0)
                if child == 0:
                    return 0
            half = child >> 1
            m16[half] = 1
            buffer[child + 2] = new_symbol
            buffer[child + 3] = new_freq
            m16[half + 2] = new_successor & 0xFFFF
            m16[half + 3] = new_successor >> 16
            m32[(child >> 2) + 2] = context
            state = pending.pop()
            m16[(state >> 1) + 1] = child & 0xFFFF
            m16[(state >> 1) + 2] = child >> 16
            context = child
        return context

    def _restart_full(self) -> None:
        self.restarts += 1
        self._restart()

    def _update_model(self) -> None:
        """UpdateModel: after a byte was found, teach it to the contexts it escaped from and
        move to the next context (creating it when needed)."""
        buffer, m16, m32 = self._buffer, self._m16, self._m32
        found = self._found_state
        symbol = buffer[found]
        freq = buffer[found + 1]
        found_successor = m16[(found >> 1) + 1] | (m16[(found >> 1) + 2] << 16)
        min_context = self._min_context
        suffix = m32[(min_context >> 2) + 2]
        if freq < _MAX_FREQ // 4 and suffix != 0:
            if m16[suffix >> 1] == 1:
                state = suffix + 2
                if buffer[state + 1] < 32:
                    buffer[state + 1] += 1
            else:
                state = m32[(suffix >> 2) + 1]
                if buffer[state] != symbol:
                    count = m16[suffix >> 1]
                    at = buffer[state:state + 6 * count:6].find(symbol)
                    if at < 0:
                        raise PpmdError("damaged PPMd model (symbol missing from the suffix)")
                    state += 6 * at
                    if buffer[state + 1] >= buffer[state - 5]:
                        pair = buffer[state - 6:state + 6]
                        buffer[state - 6:state + 6] = pair[6:] + pair[:6]
                        state -= 6
                if buffer[state + 1] < _MAX_FREQ - 9:
                    buffer[state + 1] += 2
                    m16[(suffix >> 1) + 1] += 2
        if self._order_fall == 0:
            context = self._create_successors(True)
            self._min_context = self._max_context = context
            if context == 0:
                self._restart_full()
                return
            m16[(found >> 1) + 1] = context & 0xFFFF
            m16[(found >> 1) + 2] = context >> 16
            return
        text = self._text
        buffer[text] = symbol
        text += 1
        self._text = text
        successor = text
        if text >= self._units_start:
            self._restart_full()
            return
        if found_successor:
            if found_successor <= successor:
                context = self._create_successors(False)
                if context == 0:
                    self._restart_full()
                    return
                found_successor = context
            self._order_fall -= 1
            if self._order_fall == 0:
                successor = found_successor
                if self._max_context != self._min_context:
                    self._text -= 1
        else:
            m16[(found >> 1) + 1] = successor & 0xFFFF
            m16[(found >> 1) + 2] = successor >> 16
            found_successor = min_context
        count = m16[min_context >> 1]
        rest = m16[(min_context >> 1) + 1] - count - (freq - 1)
        context = self._max_context
        steps = 0
        while context != min_context:
            steps += 1
            if steps > MAX_ORDER + 1 or context == 0:
                raise PpmdError("damaged PPMd model (broken suffix chain)")
            half = context >> 1
            stats_count = m16[half]
            if stats_count != 1:
                if stats_count & 1 == 0:
                    old_units = stats_count >> 1
                    index = _U2I[old_units]
                    if index != _U2I[old_units + 1]:
                        block = self._alloc_units(index + 1)
                        if block == 0:
                            self._restart_full()
                            return
                        old = m32[(context >> 2) + 1]
                        buffer[block:block + old_units * _UNIT] = buffer[old:old + old_units * _UNIT]
                        self._free[index].append(old)
                        m32[(context >> 2) + 1] = block
                summ = m16[half + 1]
                summ += (2 * stats_count < count) + 2 * ((4 * stats_count <= count) & (summ <= 8 * stats_count))
            else:
                block = self._alloc_units(0)
                if block == 0:
                    self._restart_full()
                    return
                buffer[block:block + 6] = buffer[context + 2:context + 8]
                m32[(context >> 2) + 1] = block
                first = buffer[block + 1]
                first = first * 2 if first < _MAX_FREQ // 4 - 1 else _MAX_FREQ - 4
                buffer[block + 1] = first
                summ = first + self._init_esc + (count > 3)
            weight = 2 * freq * (summ + 6)
            total = rest + summ
            if weight < 6 * total:
                new_freq = 1 + (weight > total) + (weight >= 4 * total)
                summ += 3
            else:
                new_freq = 4 + (weight >= 9 * total) + (weight >= 12 * total) + (weight >= 15 * total)
                summ += new_freq
            m16[half + 1] = summ
            state = m32[(context >> 2) + 1] + 6 * stats_count
            buffer[state] = symbol
            buffer[state + 1] = new_freq
            m16[(state >> 1) + 1] = successor & 0xFFFF
            m16[(state >> 1) + 2] = successor >> 16
            m16[half] = stats_count + 1
            context = m32[(context >> 2) + 2]
        self._max_context = self._min_context = found_successor

    def _rescale(self) -> None:
        """Halve the frequencies of the current context (the found state first), drop the
        states that fall to 0, and keep the states sorted by frequency."""
        buffer, m16, m32 = self._buffer, self._m16, self._m32
        context = self._min_context
        half = context >> 1
        stats = m32[(context >> 2) + 1]
        state = self._found_state
        count = m16[half]
        if state != stats:
            moved = buffer[state:state + 6]
            buffer[stats + 6:state + 6] = buffer[stats:state]
            buffer[stats:stats + 6] = moved
        escape = m16[half + 1] - buffer[stats + 1]
        adder = 1 if self._order_fall != 0 else 0
        freq = (buffer[stats + 1] + 4 + adder) >> 1
        buffer[stats + 1] = freq
        total = freq
        state = stats
        for _ in range(count - 1):
            state += 6
            old = buffer[state + 1]
            escape -= old
            freq = (old + adder) >> 1
            buffer[state + 1] = freq
            total += freq
            if freq > buffer[state - 5]:
                moved = buffer[state:state + 6]
                place = state - 6
                while place != stats and freq > buffer[place - 5]:
                    place -= 6
                buffer[place + 6:state + 6] = buffer[place:state]
                buffer[place:place + 6] = moved
        if buffer[state + 1] == 0:
            zeros = 0
            while True:
                zeros += 1
                state -= 6
                if buffer[state + 1] != 0:
                    break
            escape += zeros
            left = count - zeros
            m16[half] = left
            if left == 1:
                moved = buffer[stats:stats + 6]
                freq = moved[1]
                while True:
                    freq -= freq >> 1
                    escape >>= 1
                    if escape <= 1:
                        break
                self._free[_U2I[(count + 1) >> 1]].append(stats)
                buffer[context + 2] = moved[0]
                buffer[context + 3] = freq
                buffer[context + 4:context + 8] = moved[2:]
                self._found_state = context + 2
                return
            old_units = (count + 1) >> 1
            new_units = (left + 1) >> 1
            if old_units != new_units:
                m32[(context >> 2) + 1] = self._shrink_units(stats, old_units, new_units)
        m16[half + 1] = total + escape - (escape >> 1)
        self._found_state = m32[(context >> 2) + 1]

    # ---- decoding --------------------------------------------------------------------------

    def decode_symbol_7z(self, rc: SevenZipRangeDecoder) -> int:
        """The next byte of a .7z PPMd stream; -1 at the end mark. Damage raises PpmdError."""
        try:
            return self._decode_symbol(rc, False)
        except PpmdError:
            raise
        except _MODEL_ERRORS as exc:
            raise PpmdError(f"damaged PPMd data ({exc})") from exc

    def decode_symbol_rar(self, rc: RarRangeDecoder) -> int:
        """The next byte of a RAR PPMd block; -1 at an escape out of the root context (damage:
        RAR marks its block ends with its escape byte instead). Damage raises PpmdError."""
        try:
            return self._decode_symbol(rc, True)
        except PpmdError:
            raise
        except _MODEL_ERRORS as exc:
            raise PpmdError(f"damaged PPMd data ({exc})") from exc

    def decode_7z(self, rc: SevenZipRangeDecoder, size: int) -> bytes:
        """`size` bytes of a .7z PPMd stream (fewer only at an end mark). Damage raises
        PpmdError."""
        out = bytearray()
        append = out.append
        decode = self._decode_symbol
        try:
            for _ in range(size):
                symbol = decode(rc, False)
                if symbol < 0:
                    break
                append(symbol)
        except PpmdError:
            raise
        except _MODEL_ERRORS as exc:
            raise PpmdError(f"damaged PPMd data ({exc})") from exc
        return bytes(out)

    def _decode_symbol(self, rc: RangeDecoder, signed_diff: bool) -> int:
        buffer, m16, m32 = self._buffer, self._m16, self._m32
        context = self._min_context
        half = context >> 1
        count = m16[half]
        if count != 1:
            stats = m32[(context >> 2) + 1]
            summ = m16[half + 1]
            threshold = rc.get_threshold(summ)
            first = buffer[stats + 1]
            if threshold < first:
                rc.decode(0, first)
                self._found_state = stats
                symbol = buffer[stats]
                success = 1 if 2 * first > summ else 0
                self._prev_success = success
                self._run_length += success
                m16[half + 1] = summ + 4
                first += 4
                buffer[stats + 1] = first
                if first > _MAX_FREQ:
                    self._rescale()
                state = self._found_state
                successor = m16[(state >> 1) + 1] | (m16[(state >> 1) + 2] << 16)
                if self._order_fall == 0 and successor > self._text:
                    self._min_context = self._max_context = successor
                else:
                    self._update_model()
                return symbol
            self._prev_success = 0
            cumulative = list(accumulate(buffer[stats + 1:stats + 1 + 6 * count:6]))
            at = bisect_right(cumulative, threshold)
            if at < count:
                freq = buffer[stats + 6 * at + 1]
                rc.decode(cumulative[at] - freq, freq)
                state = stats + 6 * at
                symbol = buffer[state]
                self._found_state = state
                freq += 4
                buffer[state + 1] = freq
                m16[half + 1] = summ + 4
                if freq > buffer[state - 5]:
                    pair = buffer[state - 6:state + 6]
                    buffer[state - 6:state + 6] = pair[6:] + pair[:6]
                    self._found_state = state - 6
                    if freq > _MAX_FREQ:
                        self._rescale()
                state = self._found_state
                successor = m16[(state >> 1) + 1] | (m16[(state >> 1) + 2] << 16)
                if self._order_fall == 0 and successor > self._text:
                    self._min_context = self._max_context = successor
                else:
                    self._update_model()
                return symbol
            if threshold >= summ:
                raise PpmdError("damaged PPMd data (code beyond the context's total)")
            self._hi_bits_flag = _HB2FLAG[buffer[self._found_state]]
            high = cumulative[-1]
            rc.decode(high, summ - high)
            masked_symbols = buffer[stats:stats + 6 * count:6]
            masked = count
        else:
            symbol = buffer[context + 2]
            freq = buffer[context + 3]
            suffix = m32[(context >> 2) + 2]
            flag = self._hi_bits_flag = _HB2FLAG[buffer[self._found_state]]
            index = ((freq - 1) * 64 + self._prev_success + _NS2BSINDX[m16[suffix >> 1] - 1] + flag
                     + 2 * _HB2FLAG[symbol] + (0x20 if self._run_length < 0 else 0))
            bin_summ = self._bin_summ
            probability = bin_summ[index]
            if rc.decode_bit(probability) == 0:
                bin_summ[index] = probability + (1 << _INT_BITS) - ((probability + 32) >> 7)
                self._found_state = context + 2
                if freq < 128:
                    buffer[context + 3] = freq + 1
                self._prev_success = 1
                self._run_length += 1
                state = self._found_state
                successor = m16[(state >> 1) + 1] | (m16[(state >> 1) + 2] << 16)
                if self._order_fall == 0 and successor > self._text:
                    self._min_context = self._max_context = successor
                else:
                    self._update_model()
                return symbol
            probability -= (probability + 32) >> 7
            bin_summ[index] = probability
            self._init_esc = _EXP_ESCAPE[probability >> 10]
            masked_symbols = bytes((symbol,))
            self._prev_success = 0
            masked = 1
        see_summ, see_shift, see_count = self._see_summ, self._see_shift, self._see_count
        while True:
            context = self._min_context
            steps = 0
            while True:
                self._order_fall += 1
                context = m32[(context >> 2) + 2]
                if context == 0:
                    return -1
                count = m16[context >> 1]
                if count != masked:
                    break
                steps += 1
                if steps > MAX_ORDER:
                    raise PpmdError("damaged PPMd model (suffix chain longer than the order)")
            self._min_context = context
            half = context >> 1
            unmasked = count - masked
            if unmasked <= 0:
                raise PpmdError("damaged PPMd model (suffix context with fewer symbols)")
            stats = m32[(context >> 2) + 1]
            # The first `unmasked` states whose symbols are not masked, as 7-Zip takes them:
            # flags 1/0 by symbol through a translation table, then compress().
            symbols = buffer[stats:stats + 6 * count:6]
            flags = symbols.translate(bytes.maketrans(_ALL_BYTES + masked_symbols,
                                                      _ONES + bytes(len(masked_symbols))))
            places = list(compress(range(count), flags))[:unmasked]
            unmasked_freqs = list(compress(buffer[stats + 1:stats + 1 + 6 * count:6], flags))[:unmasked]
            if len(places) < unmasked:
                raise PpmdError("damaged PPMd model (masked symbols missing from the suffix)")
            cumulative = list(accumulate(unmasked_freqs))
            high = cumulative[-1]
            summ = m16[half + 1]
            if count != 256:
                # 7-Zip compares unmasked < suffix symbols - symbols in unsigned arithmetic (a
                # suffix with fewer symbols counts as true); RAR's var.H in int (false).
                diff = m16[m32[(context >> 2) + 2] >> 1] - count
                more = (0 if signed_diff else 1) if diff < 0 else (1 if unmasked < diff else 0)
                see = (16 * _NS2INDX[unmasked - 1] + more + 2 * (summ < 11 * count)
                       + 4 * (masked > unmasked) + self._hi_bits_flag)
                shift = see_shift[see]
                mean = see_summ[see] >> shift
                see_summ[see] -= mean
                escape = mean + (mean == 0)
            else:
                see = _DUMMY_SEE
                escape = 1
            total = escape + high
            threshold = rc.get_threshold(total)
            if threshold < high:
                at = bisect_right(cumulative, threshold)
                freq = unmasked_freqs[at]
                rc.decode(cumulative[at] - freq, freq)
                state = stats + 6 * places[at]
                shift = see_shift[see]
                if shift < _PERIOD_BITS:
                    see_count[see] -= 1
                    if see_count[see] == 0:
                        see_summ[see] = (see_summ[see] * 2) & 0xFFFF
                        see_count[see] = 3 << shift
                        see_shift[see] = shift + 1
                self._found_state = state
                symbol = buffer[state]
                m16[half + 1] = summ + 4
                freq += 4
                buffer[state + 1] = freq
                if freq > _MAX_FREQ:
                    self._rescale()
                self._run_length = self._init_rl
                self._update_model()
                return symbol
            if threshold >= total:
                raise PpmdError("damaged PPMd data (code beyond the escape total)")
            rc.decode(high, total - high)
            see_summ[see] = (see_summ[see] + total) & 0xFFFF
            masked_symbols += symbols
            masked = count


def ppmd7_props(props: bytes) -> tuple[int, int]:
    """(order, memory) from a .7z PPMd coder's 5 property bytes: the order, then the memory
    size as 32-bit little-endian."""
    if len(props) != 5:
        raise PpmdError(f"PPMd properties are {len(props)} bytes, not 5")
    order, memory = props[0], int.from_bytes(props[1:5], "little")
    if not MIN_ORDER <= order <= MAX_ORDER or not MIN_MEMORY <= memory <= MAX_MEMORY:
        raise PpmdError(f"PPMd properties out of range (order {order}, memory {memory})")
    return order, memory


def ppmd7_decompress(data: bytes | bytearray | memoryview, order: int, memory: int, size: int) -> bytes:
    """7z's PPMd coder: `size` bytes of output (the folder's unpack size, or less to stop
    early); raise PpmdError (a ValueError) on damaged data, including an end mark or the end of
    `data` before `size` bytes."""
    if size < 0:
        raise PpmdError("negative PPMd output size")
    model = Model(order, memory)
    if size == 0:
        return b""
    out = model.decode_7z(SevenZipRangeDecoder(data), size)
    if len(out) < size:
        raise PpmdError(f"PPMd end mark after {len(out)} of {size} bytes")
    return out


def start_rar_block(data: bytes | bytearray | memoryview, position: int,
                    model: Model | None) -> tuple[Model, RarRangeDecoder, int | None]:
    """Begin a RAR 2.9-4.x PPMd block whose flags byte is `data[position]` (its top bit, 0x80,
    is the bit that marked the block as PPMd): 0x20 restarts the model (a MaxMB byte follows:
    (MaxMB + 1) MiB of memory, order (flags & 0x1F) + 1, past 16 spread by 3), 0x40 gives a new
    escape byte (after MaxMB); then the range coder's 4 bytes. Without 0x20 the model of the
    previous block goes on. Returns (model, range decoder, escape byte or None when unchanged,
    RAR's default being 2). Decode with `model.decode_symbol_rar(rc)`; `rc.position` is where
    the bit stream resumes after the block."""
    end = len(data)
    if position >= end:
        raise PpmdError("RAR PPMd block header is truncated")
    flags = data[position]
    position += 1
    memory_mb = 0
    if flags & 0x20:
        if position >= end:
            raise PpmdError("RAR PPMd block header is truncated")
        memory_mb = data[position] + 1
        position += 1
    elif model is None:
        raise PpmdError("RAR PPMd block continues a model that was never started")
    escape: int | None = None
    if flags & 0x40:
        if position >= end:
            raise PpmdError("RAR PPMd block header is truncated")
        escape = data[position]
        position += 1
    rc = RarRangeDecoder(data, position)
    if flags & 0x20:
        order = (flags & 0x1F) + 1
        if order > 16:
            order = 16 + (order - 16) * 3
        if order == 1:
            raise PpmdError("RAR PPMd block with order 1")
        if model is None:
            model = Model.for_rar(order, memory_mb)
        else:
            model.start_rar(order, memory_mb)
    if model is None:  # a reset always makes one; kept for the type checker without assert
        raise PpmdError("RAR PPMd block without a model")
    return model, rc, escape
