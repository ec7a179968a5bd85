"""Channel coding: round trips, error correction up to its limit, never a wrong mark."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from watermark import channel, convolution


@settings(max_examples=60, deadline=None)
@given(st.integers(0, (1 << 64) - 1))
def test_tile_round_trip(mark: int) -> None:
    read = channel.read_cells(channel.tile_cells(mark))
    assert read.mark == mark and read.agreement > 0.95


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(0, 1), min_size=1, max_size=120))
def test_convolutional_round_trip(bits: list[int]) -> None:
    data = np.array(bits, dtype=np.uint8)
    symbols = 1.0 - 2.0 * convolution.encode(data)
    assert np.array_equal(convolution.decode(symbols, len(bits)), data)


def test_corrects_eight_hard_errors_anywhere() -> None:
    """Free distance 18: any eight symbol errors are corrected (the code's design limit)."""
    rng = np.random.default_rng(1)
    bits = channel.mark_bits(0x0123456789ABCDEF)
    clean = 1.0 - 2.0 * convolution.encode(bits)
    for _ in range(50):
        noisy = clean.copy()
        noisy[rng.choice(len(clean), 8, replace=False)] *= -1
        assert np.array_equal(convolution.decode(noisy, len(bits)), bits)


def test_erasures_are_tolerated() -> None:
    bits = channel.mark_bits(0xFEDCBA9876543210)
    soft = 1.0 - 2.0 * convolution.encode(bits)
    soft[::4] = 0.0  # a quarter of the symbols never seen (a crop that misses cells)
    assert np.array_equal(convolution.decode(soft, len(bits)), bits)


def test_decodes_through_noise_at_the_cell_level() -> None:
    rng = np.random.default_rng(2)
    cells = channel.tile_cells(42)
    hits = sum(channel.read_cells(cells + rng.normal(0, 0.8, cells.shape)).mark == 42 for _ in range(40))
    assert hits >= 38


def test_noise_never_yields_a_mark() -> None:
    rng = np.random.default_rng(3)
    reads = [channel.read_cells(rng.normal(size=(channel.CELLS, channel.CELLS))) for _ in range(300)]
    assert all(r.mark is None for r in reads)


def test_beyond_the_limit_gives_no_mark_rather_than_a_wrong_one() -> None:
    rng = np.random.default_rng(4)
    cells = channel.tile_cells(7)
    reads = [channel.read_cells(cells + rng.normal(0, 4.0, cells.shape)) for _ in range(100)]
    assert all(r.mark in (None, 7) for r in reads)
    assert any(r.mark is None for r in reads)


def test_crc_is_checked() -> None:
    bits = channel.mark_bits(99)
    bits[-1] ^= 1  # a codeword whose CRC does not match its mark
    cells = np.zeros(channel.CELLS * channel.CELLS)
    lay = channel.layout()
    symbols = 1.0 - 2.0 * convolution.encode(bits)
    cells[lay.data_cells] = lay.data_signs * symbols[lay.data_bit]
    assert channel.read_cells(cells.reshape(channel.CELLS, channel.CELLS)).mark is None


def test_layout_is_keyed_and_partitions_the_tile() -> None:
    lay = channel.layout()
    assert sorted([*lay.pilot_cells, *lay.data_cells]) == list(range(channel.CELLS**2))
    other = channel.layout(b"another deployment")
    assert not np.array_equal(lay.pilot_cells, other.pilot_cells)
