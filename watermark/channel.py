"""The on-screen channel: mark bits, CRC-32, convolutional code and keyed spreading over a tile.

The tile is ``CELLS`` x ``CELLS`` cells. A keyed choice of ``PILOT_COUNT`` cells carries a fixed
pseudo-random +-1 pilot (the decoder's synchronisation reference); the other cells carry the
rate-1/3 codeword of ``mark (64 bits) || CRC-32 (32 bits)`` (``watermark.convolution``), each coded
bit on one or two cells, the doubled ones spread evenly along the codeword (bunching them at its
start, as a plain modulo would, leaves its end weak), each cell with its own keyed sign
(spreading).

The spreading key is a deployment constant, derived with SHA-256 from a fixed, domain-separated
label (``SPREADING_LABEL``): the command-line decoder must work blind, without the console, so it
cannot be secret. It is not what protects marks: the marks themselves are keyed PRP outputs
(``watermark.marks``). A deployment may change the label to get a pattern of its own.

A decode is accepted only when the CRC-32 matches (a random or corrupted codeword passes with
probability 2^-32 per attempt) *and* the soft symbols agree with the re-encoded codeword above
``MIN_AGREEMENT`` (calibrated on unmarked images, see docs/watermark.md).
"""

from __future__ import annotations

import hashlib
import zlib
from dataclasses import dataclass
from functools import cache

import numpy as np
import numpy.typing as npt

from watermark import convolution

SPREADING_LABEL = b"leakguard/watermark/v1/spreading"
CELLS = 23
PILOT_COUNT = 176
MARK_BITS = 64
CRC_BITS = 32
INFO_BITS = MARK_BITS + CRC_BITS
CODED_BITS = (INFO_BITS + convolution.MEMORY) * convolution.RATE_INVERSE
MIN_AGREEMENT = 0.60

Floats = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Layout:
    """Where pilot and data live in the tile (row-major cell indices) and their keyed signs."""

    pilot_cells: npt.NDArray[np.intp]
    pilot_signs: Floats
    data_cells: npt.NDArray[np.intp]
    data_signs: Floats
    data_bit: npt.NDArray[np.intp]


@dataclass(frozen=True)
class ChannelRead:
    """The outcome of reading one tile's cells: the mark when every check passed."""

    mark: int | None
    agreement: float


@cache
def layout(label: bytes = SPREADING_LABEL) -> Layout:
    """The keyed tile layout (deterministic; a local generator seeded from the label)."""
    seed = int.from_bytes(hashlib.sha256(label).digest()[:8], "big")
    rng = np.random.default_rng(seed)
    order = rng.permutation(CELLS * CELLS)
    data = order[PILOT_COUNT:]
    return Layout(
        pilot_cells=order[:PILOT_COUNT],
        pilot_signs=rng.choice([-1.0, 1.0], PILOT_COUNT),
        data_cells=data,
        data_signs=rng.choice([-1.0, 1.0], len(data)),
        data_bit=(np.arange(len(data)) * CODED_BITS) // len(data),
    )


def mark_bits(mark: int) -> npt.NDArray[np.uint8]:
    """``mark`` followed by its CRC-32, most significant bit first."""
    if not 0 <= mark < 1 << MARK_BITS:
        raise ValueError(f"a mark is a 64-bit unsigned integer, got {mark}")
    payload = mark.to_bytes(8, "big")
    data = payload + zlib.crc32(payload).to_bytes(4, "big")
    return np.unpackbits(np.frombuffer(data, dtype=np.uint8))


def tile_cells(mark: int) -> Floats:
    """The CELLS x CELLS tile of +-1 values that carries ``mark``."""
    lay = layout()
    symbols = 1.0 - 2.0 * convolution.encode(mark_bits(mark)).astype(np.float64)
    cells = np.zeros(CELLS * CELLS)
    cells[lay.pilot_cells] = lay.pilot_signs
    cells[lay.data_cells] = lay.data_signs * symbols[lay.data_bit]
    return cells.reshape(CELLS, CELLS)


def pilot_cells() -> Floats:
    """The pilot alone (data cells zero): the decoder's synchronisation reference."""
    lay = layout()
    cells = np.zeros(CELLS * CELLS)
    cells[lay.pilot_cells] = lay.pilot_signs
    return cells.reshape(CELLS, CELLS)


def read_cells(soft_cells: Floats) -> ChannelRead:
    """Despread, Viterbi-decode and check one tile of soft cell values."""
    lay = layout()
    flat = soft_cells.reshape(-1)
    weights = flat[lay.data_cells] * lay.data_signs
    soft = np.bincount(lay.data_bit, weights=weights, minlength=CODED_BITS).astype(np.float64)
    bits = convolution.decode(soft, INFO_BITS)
    mark = int.from_bytes(np.packbits(bits[:MARK_BITS]).tobytes(), "big")
    codeword = 1.0 - 2.0 * convolution.encode(bits).astype(np.float64)
    norm = float(np.linalg.norm(soft)) * np.sqrt(CODED_BITS)
    agreement = float(soft @ codeword / norm) if norm > 0 else 0.0
    valid = np.array_equal(mark_bits(mark), bits) and agreement >= MIN_AGREEMENT
    return ChannelRead(mark=mark if valid else None, agreement=agreement)
