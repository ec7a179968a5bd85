"""PPMd var.H (`rules/extract/ppmd.py`): the 7z coder and RAR 2.9's PPMd blocks.

The 7z side is checked against pyppmd (7-Zip's C code): its `Ppmd7Encoder` writes, we decode,
over orders 2-64 and memory sizes from 7-Zip's minimum (2 KiB, where the model restarts every
few dozen bytes, which exercises the sub-allocator) to 16 MiB; and against a stream 7-Zip itself
wrote (tests/rules/data/ppmd/README.md). The RAR side has no encoder to borrow: `_encode_symbol`
below mirrors the decoder as an encoder, is first shown to write pyppmd's bytes exactly, then
writes RAR PPMd blocks with Subbotin's range coder that The Unarchiver's `unar` (an independent
PPMd var.H) extracts, and that we decode; plus the two PPMd files WinRAR wrote in the `rarfile`
package's `unicode.rar`. Damaged streams only ever raise ValueError.
"""

from __future__ import annotations

import random
import struct
import zlib
from itertools import accumulate
from pathlib import Path

import pyppmd
import pytest

from rules.extract import Limits, ppmd
from rules.extract.budget import Budget
from rules.extract.ppmd import Model, PpmdError, RarRangeDecoder, SevenZipRangeDecoder
from rules.extract.rar import rar_members
from tests.rules import rar4_pack
from tests.rules.samples import unar_files

DATA = Path(__file__).parent / "data" / "ppmd"
_M32 = 0xFFFFFFFF
_VOCABULARY = ("the of and to in a is that for it as was with be by on not he this are or his from at which but have "
               "an they you were her she there been one all we their has would when if so no will more about can "
               "report customer account invoice payment contract quarterly renewal manager amount owed March "
               "confidential salary employee number address policy")
_WORDS = tuple(_VOCABULARY.split())


def _prose(seed: int, size: int) -> bytes:
    """English-like text: sentences of common words, with numbers and punctuation."""
    rng = random.Random(seed)
    out: list[str] = []
    length = 0
    while length < size:
        words = [rng.choice(_WORDS) for _ in range(rng.randint(4, 16))]
        if rng.random() < 0.2:
            words.insert(rng.randrange(len(words)), str(rng.randint(1, 99999)))
        sentence = " ".join(words).capitalize() + rng.choice([". ", ". ", ", ", "; ", ".\n"])
        out.append(sentence)
        length += len(sentence)
    return "".join(out).encode()[:size]


def _chinese(size: int) -> bytes:
    phrases = ["数据防泄漏", "客户名单", "季度报告", "合同续签", "账户经理", "机密文件", "员工工资", "身份证号码"]
    rng = random.Random(4)
    text = "".join(rng.choice(phrases) + rng.choice("，。；、") for _ in range(size // 8))
    return text.encode()[:size]


def _csv(rows: int) -> bytes:
    rng = random.Random(5)
    lines = ["id,name,card,amount"] + [f"{i},{rng.choice(_WORDS).title()} {rng.choice(_WORDS).title()},"
                                       f"4111{rng.randrange(10**12):012d},{rng.randrange(100000) / 100:.2f}"
                                       for i in range(rows)]
    return "\n".join(lines).encode()


def _records(count: int) -> bytes:
    """Binary with structure: fixed-size little-endian records."""
    return b"".join(struct.pack("<IHHd", 1000 + i, i % 7, (i * 37) % 1024, i / 3) for i in range(count))


def _pyppmd(data: bytes, order: int, memory: int, end_mark: bool = False) -> bytes:
    encoder = pyppmd.Ppmd7Encoder(order, memory)
    return encoder.encode(data) + (encoder.flush(endmark=True) if end_mark else encoder.flush())


def _decode_7z(packed: bytes, order: int, memory: int, size: int) -> tuple[bytes, Model]:
    model = Model(order, memory)
    return model.decode_7z(SevenZipRangeDecoder(packed), size), model


RANDOM = random.Random(6).randbytes(3000)
CASES = [  # name, data, order, memory, whether the model must restart
    ("prose", _prose(1, 4000), 6, 16 << 20, False),
    ("prose", _prose(2, 4000), 2, 1 << 11, True),
    ("prose", _prose(3, 4000), 3, 1 << 12, True),
    ("prose", _prose(4, 4000), 8, 1 << 16, False),
    ("prose", _prose(5, 6000), 16, 1 << 14, True),
    ("prose", _prose(6, 4000), 32, 1 << 11, True),
    ("prose", _prose(7, 4000), 64, 1 << 13, True),
    ("prose", _prose(8, 3000), 64, 16 << 20, False),
    ("chinese", _chinese(4000), 6, 1 << 20, False),
    ("chinese", _chinese(4000), 16, 1 << 12, True),
    ("random", RANDOM, 2, 1 << 11, True),
    ("random", RANDOM, 6, 1 << 16, False),
    ("random", RANDOM, 64, 1 << 14, True),
    ("run", b"\x00" * 5000, 6, 1 << 11, False),
    ("run", b"A" * 3000 + b"B" * 3000, 64, 1 << 11, False),
    ("records", _records(300), 3, 1 << 11, True),
    ("records", _records(300), 8, 1 << 20, False),
    ("records", _records(300), 32, 1 << 13, True),
    ("csv", _csv(80), 6, 1 << 12, True),
    ("csv", _csv(80), 16, 16 << 20, False),
    ("mixed", _prose(9, 1500) + RANDOM[:1000] + _chinese(1500) + bytes(range(256)) * 4, 8, 1 << 12, True),
    ("empty", b"", 6, 1 << 20, False),
    ("one byte", b"x", 6, 1 << 20, False),
    ("one byte", b"\xff", 2, 1 << 11, False),
]


@pytest.mark.parametrize(("name", "data", "order", "memory", "restarts"), CASES,
                         ids=[f"{c[0]}-o{c[2]}-m{c[3]}" for c in CASES])
def test_pyppmd_streams_decode(name: str, data: bytes, order: int, memory: int, restarts: bool) -> None:
    packed = _pyppmd(data, order, memory)
    out, model = _decode_7z(packed, order, memory, len(data))
    assert out == data
    if restarts:  # the memory ran out (several times): the sub-allocator's accounting is 7-Zip's
        assert model.restarts >= 2
    assert ppmd.ppmd7_decompress(packed, order, memory, len(data)) == data


def test_a_larger_text_at_order_6_with_16_mib() -> None:
    data = _prose(10, 60000)
    assert ppmd.ppmd7_decompress(_pyppmd(data, 6, 16 << 20), 6, 16 << 20, len(data)) == data


def test_stream_ends_exactly_where_pyppmd_stops_writing() -> None:
    data = _prose(11, 2000)
    packed = _pyppmd(data, 6, 1 << 20)
    rc = SevenZipRangeDecoder(packed)
    assert Model(6, 1 << 20).decode_7z(rc, len(data)) == data
    assert rc.position == len(packed) and rc.code == 0  # 7-Zip's "finished OK"
    with pytest.raises(PpmdError, match="truncated"):  # 7z relies on the unpack size; more is damage
        ppmd.ppmd7_decompress(packed, 6, 1 << 20, len(data) + 100)


def test_end_mark() -> None:
    data = _prose(12, 2000)
    packed = _pyppmd(data, 6, 1 << 20, end_mark=True)
    assert ppmd.ppmd7_decompress(packed, 6, 1 << 20, len(data)) == data
    model = Model(6, 1 << 20)
    rc = SevenZipRangeDecoder(packed)
    assert model.decode_7z(rc, len(data) + 50) == data  # stops at the mark
    assert rc.position == len(packed)
    with pytest.raises(PpmdError, match="end mark after 2000 of 2050"):
        ppmd.ppmd7_decompress(packed, 6, 1 << 20, len(data) + 50)
    model = Model(6, 1 << 20)
    rc = SevenZipRangeDecoder(packed)
    assert bytes(model.decode_symbol_7z(rc) for _ in range(len(data))) == data
    assert model.decode_symbol_7z(rc) == -1


def test_a_stream_7zip_wrote() -> None:
    """7-Zip 26.02 (`7zz a -m0=PPMd:o=16:mem=64k -mhc=off`) on `_prose(13, 20000)`: its model
    restarts 6 times."""
    packed = (DATA / "7zip-o16-mem64k.ppmd").read_bytes()
    out, model = _decode_7z(packed, 16, 1 << 16, 20000)
    assert zlib.crc32(out) == 0xBC01EDBE and out == _prose(13, 20000)
    assert model.restarts == 6


def test_coder_properties() -> None:
    assert ppmd.ppmd7_props(bytes([16]) + (1 << 16).to_bytes(4, "little")) == (16, 1 << 16)
    for props in (b"\x06\x00\x00\x10", bytes([1]) + (1 << 20).to_bytes(4, "little"),
                  bytes([65]) + (1 << 20).to_bytes(4, "little"), bytes([6]) + (1 << 10).to_bytes(4, "little")):
        with pytest.raises(ValueError):
            ppmd.ppmd7_props(props)


@pytest.mark.parametrize(("order", "memory"), [(1, 1 << 20), (65, 1 << 20), (6, 2047), (6, 1 << 32)])
def test_parameters_no_encoder_writes(order: int, memory: int) -> None:
    with pytest.raises(PpmdError):
        Model(order, memory)


def test_the_7z_coder_starts_with_a_zero_byte() -> None:
    packed = _pyppmd(b"hello", 6, 1 << 20)
    with pytest.raises(PpmdError, match="0 byte"):
        ppmd.ppmd7_decompress(b"\x01" + packed[1:], 6, 1 << 20, 5)
    with pytest.raises(PpmdError, match="truncated"):
        ppmd.ppmd7_decompress(packed[:4], 6, 1 << 20, 5)


def test_damaged_7z_streams_only_raise_value_error() -> None:
    """Flipped and cut streams: PpmdError or bytes, never more than asked for, never a hang."""
    data = _prose(14, 900) + RANDOM[:200]
    rng = random.Random(15)
    outcomes = {"error": 0, "bytes": 0}
    for case in range(240):
        order, memory = rng.choice([(2, 1 << 11), (6, 1 << 16), (16, 1 << 12), (64, 1 << 20)])
        damaged = bytearray(_pyppmd(data, order, memory))
        for _ in range(rng.randint(1, 4)):
            damaged[rng.randrange(len(damaged))] = rng.randrange(256)
        if case % 3 == 0:
            damaged = damaged[:rng.randrange(len(damaged))]
        size = len(data) + rng.choice([0, 0, 500])
        try:
            out = ppmd.ppmd7_decompress(bytes(damaged), order, memory, size)
        except ValueError:
            outcomes["error"] += 1
        else:
            assert len(out) == size
            outcomes["bytes"] += 1
    assert outcomes["error"] > 100


def test_a_huge_size_costs_nothing_up_front() -> None:
    with pytest.raises(PpmdError):
        ppmd.ppmd7_decompress(b"\x00\xff\xff\xff\xfe" + bytes(20), 6, 1 << 20, 1 << 60)


# ---- an encoder, mirroring the decoder, for RAR's PPMd blocks --------------------------------


class _SevenZipRangeEncoder:
    """7-Zip's range encoder (LZMA's: 64-bit low with a cache byte for carries)."""

    def __init__(self) -> None:
        self.low, self.range, self.cache, self.pending, self.out = 0, _M32, 0, 1, bytearray()

    def _shift_low(self) -> None:
        if self.low < 0xFF000000 or self.low >= 1 << 32:
            byte = self.cache
            while self.pending:
                self.out.append((byte + (self.low >> 32)) & 0xFF)
                byte, self.pending = 0xFF, self.pending - 1
            self.cache = (self.low >> 24) & 0xFF
        self.pending += 1
        self.low = (self.low & 0xFFFFFF) << 8

    def _normalize(self) -> None:
        while self.range < 1 << 24:
            self.range <<= 8
            self._shift_low()

    def encode(self, start: int, size: int, total: int) -> None:
        self.range //= total
        self.low += start * self.range
        self.range *= size
        self._normalize()

    def bit(self, size0: int, bit: int) -> None:
        bound = (self.range >> 14) * size0
        if bit:
            self.low += bound
            self.range -= bound
        else:
            self.range = bound
        self._normalize()

    def finish(self) -> bytes:
        for _ in range(5):
            self._shift_low()
        return bytes(self.out)


class _RarRangeEncoder:
    """Subbotin's carry-less range encoder, as PPMd var.H (and so RAR) writes."""

    def __init__(self) -> None:
        self.low, self.range, self.out = 0, _M32, bytearray()

    def _normalize(self) -> None:
        while True:
            if (self.low ^ ((self.low + self.range) & _M32)) >= 1 << 24:
                if self.range >= 1 << 15:
                    return
                self.range = -self.low & 0x7FFF
            self.out.append(self.low >> 24)
            self.range, self.low = (self.range << 8) & _M32, (self.low << 8) & _M32

    def encode(self, start: int, size: int, total: int) -> None:
        self.range //= total
        self.low = (self.low + start * self.range) & _M32
        self.range *= size
        self._normalize()

    def bit(self, size0: int, bit: int) -> None:
        self.encode(size0 if bit else 0, (1 << 14) - size0 if bit else size0, 1 << 14)

    def finish(self) -> bytes:
        for _ in range(4):
            self.out.append(self.low >> 24)
            self.low = (self.low << 8) & _M32
        return bytes(self.out)


def _next_context(model: Model) -> None:
    state = model._found_state
    successor = model._m16[(state >> 1) + 1] | (model._m16[(state >> 1) + 2] << 16)
    if model._order_fall == 0 and successor > model._text:
        model._min_context = model._max_context = successor
    else:
        model._update_model()


def _encode_symbol(model: Model, rc: _SevenZipRangeEncoder | _RarRangeEncoder, symbol: int, rar: bool) -> None:
    """Encode `symbol` (-1: the end mark, an escape out of the root) with the model's own
    update steps: the decoder's `_decode_symbol` run the other way."""
    buf, m16, m32 = model._buffer, model._m16, model._m32
    assert buf is not None
    context = model._min_context
    half, count = context >> 1, m16[context >> 1]
    if count != 1:
        stats, summ = m32[(context >> 2) + 1], m16[half + 1]
        symbols, freqs = buf[stats:stats + 6 * count:6], buf[stats + 1:stats + 1 + 6 * count:6]
        at = symbols.find(symbol) if symbol >= 0 else -1
        cumulative = list(accumulate(freqs))
        if at == 0:
            rc.encode(0, freqs[0], summ)
            model._found_state = stats
            model._prev_success = int(2 * freqs[0] > summ)
            model._run_length += model._prev_success
            m16[half + 1] = summ + 4
            buf[stats + 1] = freqs[0] + 4
            if freqs[0] + 4 > 124:
                model._rescale()
            _next_context(model)
            return
        model._prev_success = 0
        if at > 0:
            freq, state = freqs[at], stats + 6 * at
            rc.encode(cumulative[at] - freq, freq, summ)
            model._found_state = state
            buf[state + 1] = freq + 4
            m16[half + 1] = summ + 4
            if freq + 4 > buf[state - 5]:
                pair = buf[state - 6:state + 6]
                buf[state - 6:state + 6] = pair[6:] + pair[:6]
                model._found_state = state - 6
                if freq + 4 > 124:
                    model._rescale()
            _next_context(model)
            return
        model._hi_bits_flag = ppmd._HB2FLAG[buf[model._found_state]]
        rc.encode(cumulative[-1], summ - cumulative[-1], summ)
        masked_symbols, masked = bytes(symbols), count
    else:
        only, freq, suffix = buf[context + 2], buf[context + 3], m32[(context >> 2) + 2]
        flag = model._hi_bits_flag = ppmd._HB2FLAG[buf[model._found_state]]
        index = ((freq - 1) * 64 + model._prev_success + ppmd._NS2BSINDX[m16[suffix >> 1] - 1] + flag
                 + 2 * ppmd._HB2FLAG[only] + (0x20 if model._run_length < 0 else 0))
        probability = model._bin_summ[index]
        if only == symbol:
            rc.bit(probability, 0)
            model._bin_summ[index] = probability + 128 - ((probability + 32) >> 7)
            model._found_state = context + 2
            buf[context + 3] = min(freq + 1, 128)
            model._prev_success = 1
            model._run_length += 1
            _next_context(model)
            return
        rc.bit(probability, 1)
        probability -= (probability + 32) >> 7
        model._bin_summ[index] = probability
        model._init_esc = ppmd._EXP_ESCAPE[probability >> 10]
        masked_symbols, masked, model._prev_success = bytes((only,)), 1, 0
    while True:
        context = model._min_context
        while True:
            model._order_fall += 1
            context = m32[(context >> 2) + 2]
            if context == 0:
                assert symbol < 0, "every byte is in the root context"
                return
            count = m16[context >> 1]
            if count != masked:
                break
        model._min_context, half, unmasked = context, context >> 1, count - masked
        stats, summ = m32[(context >> 2) + 1], m16[half + 1]
        entries = [(k, buf[stats + 6 * k], buf[stats + 6 * k + 1]) for k in range(count)
                   if buf[stats + 6 * k] not in masked_symbols][:unmasked]
        cumulative = list(accumulate(freq for _, _, freq in entries))
        if count != 256:
            diff = m16[m32[(context >> 2) + 2] >> 1] - count
            more = (0 if rar else 1) if diff < 0 else int(unmasked < diff)
            see = (16 * ppmd._NS2INDX[unmasked - 1] + more + 2 * (summ < 11 * count) + 4 * (masked > unmasked)
                   + model._hi_bits_flag)
            mean = model._see_summ[see] >> model._see_shift[see]
            model._see_summ[see] -= mean
            escape = mean + (mean == 0)
        else:
            see, escape = ppmd._DUMMY_SEE, 1
        total = escape + cumulative[-1]
        hits = [i for i, (_, sym, _) in enumerate(entries) if sym == symbol]
        if not hits:
            rc.encode(cumulative[-1], escape, total)
            model._see_summ[see] = (model._see_summ[see] + total) & 0xFFFF
            masked_symbols += buf[stats:stats + 6 * count:6]
            masked = count
            continue
        k, _, freq = entries[hits[0]]
        rc.encode(cumulative[hits[0]] - freq, freq, total)
        shift = model._see_shift[see]
        if shift < 7:
            model._see_count[see] -= 1
            if model._see_count[see] == 0:
                model._see_summ[see] = (model._see_summ[see] * 2) & 0xFFFF
                model._see_count[see], model._see_shift[see] = 3 << shift, shift + 1
        state = stats + 6 * k
        model._found_state = state
        m16[half + 1] = summ + 4
        buf[state + 1] = freq + 4
        if freq + 4 > 124:
            model._rescale()
        model._run_length = model._init_rl
        model._update_model()
        return


def _encode_7z(data: bytes, order: int, memory: int, end_mark: bool = False) -> bytes:
    model, rc = Model(order, memory), _SevenZipRangeEncoder()
    for byte in data:
        _encode_symbol(model, rc, byte, False)
    if end_mark:
        _encode_symbol(model, rc, -1, False)
    return rc.finish()


def _rar_symbols(model: Model, rc: _RarRangeEncoder, data: bytes, escape: int, end: int) -> None:
    """RAR's PPMd stream: bytes, the escape byte sent as (escape, 1), then (escape, `end`):
    2 ends the file, 0 the PPMd block (new tables follow)."""
    for byte in data:
        _encode_symbol(model, rc, byte, True)
        if byte == escape:
            _encode_symbol(model, rc, 1, True)
    _encode_symbol(model, rc, escape, True)
    _encode_symbol(model, rc, end, True)


def _rar_block(data: bytes, order: int, model: Model | None = None, memory_mb: int = 1, escape: int | None = None,
               in_force: int = 2, end: int = 2) -> tuple[bytes, Model]:
    """A RAR 2.9 PPMd block: flags (0x80 PPMd, 0x40 new escape byte, 0x20 new model, order),
    MaxMB, the escape byte, then the range coder's bytes. `model` given: it goes on."""
    code = order - 1 if order <= 16 else (order - 16) // 3 + 15
    head = bytes([0x80 | (0x40 if escape is not None else 0) | (0 if model else 0x20) | code])
    if model is None:
        head += bytes([memory_mb - 1])
        model = Model.for_rar(order, memory_mb)
    if escape is not None:
        head += bytes([escape])
        in_force = escape
    rc = _RarRangeEncoder()
    _rar_symbols(model, rc, data, in_force, end)
    return head + rc.finish(), model


def _our_files(archive: bytes) -> dict[str, bytes]:
    """What `rules.extract.rar` takes out of a RAR archive, by name (CRC-32 checked there)."""
    return dict(rar_members(archive, Budget(Limits(), len(archive)), "t.rar"))


def _rar_decode(blocks: list[bytes], model: Model | None = None) -> tuple[list[bytes], Model]:
    """Each block's bytes, read as RAR does up to its end-of-file code, the model kept."""
    escape, files = 2, []
    for block in blocks:
        model, rc, new_escape = ppmd.start_rar_block(block, 0, model)
        escape = escape if new_escape is None else new_escape
        out = bytearray()
        while True:
            symbol = model.decode_symbol_rar(rc)
            assert symbol >= 0
            if symbol == escape:
                code = model.decode_symbol_rar(rc)
                if code == 2:
                    break
                assert code == 1
            out.append(symbol)
        files.append(bytes(out))
        assert rc.position == len(block)
    assert model is not None
    return files, model


@pytest.mark.parametrize(("order", "memory"), [(2, 1 << 11), (6, 1 << 12), (64, 1 << 14), (8, 1 << 20)])
def test_the_mirror_encoder_writes_pyppmds_bytes(order: int, memory: int) -> None:
    """So the encoder below is 7-Zip's PPMd var.H, restarts included."""
    data = _prose(16, 2500) + RANDOM[:500] + _chinese(800)
    assert _encode_7z(data, order, memory) == _pyppmd(data, order, memory)
    assert _encode_7z(data[:700], order, memory, end_mark=True) == _pyppmd(data[:700], order, memory, end_mark=True)


@pytest.mark.parametrize(("order", "memory"), [(2, 1 << 11), (6, 1 << 13), (22, 1 << 14), (64, 1 << 12)])
def test_rar_coder_round_trip_with_restarts(order: int, memory: int) -> None:
    """The RAR range coder over a model that restarts (RAR's smallest memory is 1 MiB; the model
    is the same at any size)."""
    data = _prose(17, 2500) + RANDOM[:700] + _records(60)
    model, rc = Model(order, memory), _RarRangeEncoder()
    for byte in data:
        _encode_symbol(model, rc, byte, True)
    packed = rc.finish()
    assert model.restarts >= 2
    model = Model(order, memory)
    decoder = RarRangeDecoder(packed)
    assert bytes(model.decode_symbol_rar(decoder) for _ in range(len(data))) == data
    assert decoder.position == len(packed) and model.restarts >= 2


def test_unar_reads_our_rar_ppmd_blocks(tmp_path: Path) -> None:
    """A solid RAR 4.x archive of three files: a new model (order 22, escape byte 0x41), the
    same model continued, and a file that switches from PPMd to LZ (after escape, 0). `unar`
    extracts what we meant, and we decode what it extracts."""
    one, two, three_ppmd, three_lz = (_prose(18, 4000) + b"AAAA", b"\x02" + RANDOM[:1500] + b"A\x02",
                                      _chinese(1200), _prose(19, 1500))
    block1, model = _rar_block(one, 22, escape=0x41)
    block2, model = _rar_block(two, 22, model, in_force=0x41)
    rc = _RarRangeEncoder()
    fresh = Model.for_rar(6, 2)
    _rar_symbols(fresh, rc, three_ppmd, 2, 0)
    block3 = bytes([0x80 | 0x20 | 5, 1]) + rc.finish()
    lz = rar4_pack.pack(three_lz)
    pad = bytes(8)  # unar reads ahead of what the range decoder needs, as WinRAR's padding allows
    files = [("one.txt", block1 + pad, one), ("two.bin", block2 + pad, two),
             ("three.txt", block3 + lz, three_ppmd + three_lz)]
    out = bytearray(rar4_pack.SIGNATURE) + rar4_pack._header(0x73, 0x0008, bytes(6))  # a solid archive
    for i, (name, packed, content) in enumerate(files[:2]):
        fields = struct.pack("<IIBIIBBHI", len(packed), len(content), 3, zlib.crc32(content), 0x5A210000, 29, 0x35,
                             len(name), 0o100644)
        out += rar4_pack._header(0x74, 0x8000 | 6 << 5 | (0x10 if i else 0), fields + name.encode()) + packed
    (tmp_path / "solid").mkdir()
    (tmp_path / "switch").mkdir()
    assert unar_files(bytes(out + rar4_pack._header(0x7B, 0x4000, b"")), tmp_path / "solid") == {
        "one.txt": one, "two.bin": two}
    name, packed, content = files[2]
    fields = struct.pack("<IIBIIBBHI", len(packed), len(content), 3, zlib.crc32(content), 0x5A210000, 29, 0x35,
                         len(name), 0o100644)
    single = (rar4_pack.SIGNATURE + rar4_pack._header(0x73, 0, bytes(6))
              + rar4_pack._header(0x74, 0x8000 | 6 << 5, fields + name.encode()) + packed
              + rar4_pack._header(0x7B, 0x4000, b""))
    assert unar_files(single, tmp_path / "switch") == {"three.txt": content}
    solid = bytes(out + rar4_pack._header(0x7B, 0x4000, b""))  # and `rules.extract.rar` reads them as unar does
    assert _our_files(solid) == {"one.txt": one, "two.bin": two} and _our_files(single) == {"three.txt": content}
    assert _rar_decode([block1, block2])[0] == [one, two]
    model, decoder, escape = ppmd.start_rar_block(packed, 0, None)
    assert escape is None and model.max_order == 6
    got = bytearray()
    while (symbol := model.decode_symbol_rar(decoder)) != 2:
        got.append(symbol)
    assert got == three_ppmd and model.decode_symbol_rar(decoder) == 0
    assert decoder.position == len(block3)  # where RAR's bit reader goes on with the LZ tables


def test_a_rar_model_that_restarts_inside_unar(tmp_path: Path) -> None:
    """RAR's smallest model (1 MiB) at order 64 fills after 48923 bytes of this noise."""
    data = random.Random(20).randbytes(50000)
    block, model = _rar_block(data, 64)
    assert model.restarts >= 1
    fields = struct.pack("<IIBIIBBHI", len(block) + 8, len(data), 3, zlib.crc32(data), 0x5A210000, 29, 0x35, 5,
                         0o100644)
    archive = (rar4_pack.SIGNATURE + rar4_pack._header(0x73, 0, bytes(6))
               + rar4_pack._header(0x74, 0x8000 | 6 << 5, fields + b"n.bin") + block + bytes(8)
               + rar4_pack._header(0x7B, 0x4000, b""))
    assert unar_files(archive, tmp_path) == {"n.bin": data} == _our_files(archive)
    files, model = _rar_decode([block])
    assert files == [data] and model.restarts >= 1


def test_ppmd_files_winrar_wrote() -> None:
    """`unicode.rar` of the `rarfile` package: two files of "1\\n" (CRC-32 6751FC53), the second
    continuing the first's model (solid); WinRAR pads each file's data after the coder's bytes."""
    blocks = [(DATA / f"rarfile-unicode-{n}.bin").read_bytes() for n in (1, 2)]
    model: Model | None = None
    for block, used in zip(blocks, (9, 5), strict=True):
        model, rc, escape = ppmd.start_rar_block(block, 0, model)
        assert escape is None and model.max_order == 8 and model._size == 25 << 20
        out = bytes(model.decode_symbol_rar(rc) for _ in range(2))
        assert zlib.crc32(out) == 0x6751FC53
        assert [model.decode_symbol_rar(rc), model.decode_symbol_rar(rc)] == [2, 2]  # escape, end of file
        assert rc.position == used


def test_rar_block_headers() -> None:
    with pytest.raises(PpmdError, match="never started"):
        ppmd.start_rar_block(b"\x85" + bytes(8), 0, None)
    with pytest.raises(PpmdError, match="order 1"):
        ppmd.start_rar_block(b"\xa0\x00" + bytes(8), 0, None)
    with pytest.raises(PpmdError, match="truncated"):
        ppmd.start_rar_block(b"\xe5\x00", 0, None)
    model, _, escape = ppmd.start_rar_block(b"\xff\xff\x07" + bytes(4), 0, None)
    assert (model.max_order, model._size, escape) == (64, 256 << 20, 7)  # the largest: lazily reserved


def test_damaged_rar_blocks_only_raise_value_error() -> None:
    data = _prose(21, 800) + RANDOM[:200]
    block, _ = _rar_block(data, 8)
    rng = random.Random(22)
    errors = 0
    for case in range(150):
        damaged = bytearray(block)
        for _ in range(rng.randint(1, 3)):
            damaged[rng.randrange(3, len(damaged))] = rng.randrange(256)
        if case % 3 == 0:
            damaged = damaged[:rng.randrange(3, len(damaged))]
        try:
            model, rc, _ = ppmd.start_rar_block(bytes(damaged), 0, None)
            for _ in range(len(data) + 200):
                if model.decode_symbol_rar(rc) < 0:
                    break
        except ValueError:
            errors += 1
    assert errors > 50
