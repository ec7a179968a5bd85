"""The encrypted quarantine: nothing readable on disk, released bit for bit, tamper detected."""

from __future__ import annotations

import hashlib
import os
import pathlib

import pytest

from agent.quarantine import CHUNK, Quarantine, QuarantineError


def test_capture_encrypts_moves_and_release_restores(tmp_path: pathlib.Path) -> None:
    usb = tmp_path / "usb"
    usb.mkdir()
    original = usb / "cards.csv"
    data = b"name,card\nalice,4111111111111111\n" * 100
    original.write_bytes(data)
    store = Quarantine(tmp_path / "q", tmp_path / "q.key")
    item = store.capture(original, event_id="e1")
    assert not original.exists()
    assert item.sha256 == hashlib.sha256(data).hexdigest()
    sealed = (tmp_path / "q" / f"{item.id}.bin").read_bytes()
    assert b"4111111111111111" not in sealed
    assert os.stat(tmp_path / "q.key").st_mode & 0o777 == 0o600
    assert [i.id for i in store.items()] == [item.id]
    restored = store.release(item.id)
    assert restored == original and original.read_bytes() == data
    assert store.items() == []


def test_tampered_item_and_unknown_ids_are_refused(tmp_path: pathlib.Path) -> None:
    src = tmp_path / "f.txt"
    src.write_text("secret")
    store = Quarantine(tmp_path / "q", tmp_path / "q.key")
    item = store.capture(src)
    blob = tmp_path / "q" / f"{item.id}.bin"
    raw = bytearray(blob.read_bytes())
    raw[-1] ^= 1
    blob.write_bytes(bytes(raw))
    with pytest.raises(QuarantineError, match="damaged"):
        store.release(item.id)
    for bad in ("nope", "../../etc/passwd"):
        with pytest.raises(QuarantineError, match="no quarantine item"):
            store.release(bad)


def test_release_does_not_overwrite(tmp_path: pathlib.Path) -> None:
    src = tmp_path / "f.txt"
    src.write_text("one")
    store = Quarantine(tmp_path / "q", tmp_path / "q.key")
    item = store.capture(src)
    src.write_text("two")
    with pytest.raises(QuarantineError, match="exists"):
        store.release(item.id)
    target = store.release(item.id, to=tmp_path / "elsewhere.txt")
    assert target.read_text() == "one" and src.read_text() == "two"


def _store_with(tmp_path: pathlib.Path, data: bytes) -> tuple[Quarantine, str, pathlib.Path]:
    src = tmp_path / "big.bin"
    src.write_bytes(data)
    store = Quarantine(tmp_path / "q", tmp_path / "q.key")
    return store, store.capture(src).id, src


@pytest.mark.parametrize("size", [0, 1, CHUNK, 3 * CHUNK + 12345], ids=["empty", "one byte", "one chunk", "chunks"])
def test_files_of_any_size_go_in_chunks_and_come_back_whole(tmp_path: pathlib.Path, size: int) -> None:
    data = os.urandom(size)
    store, item_id, src = _store_with(tmp_path, data)
    sealed = (tmp_path / "q" / f"{item_id}.bin").read_bytes()
    assert sealed.startswith(b"LGQ2") and len(sealed) == 16 + size + 16 * max(1, -(-size // CHUNK))
    assert store.release(item_id) == src and src.read_bytes() == data


@pytest.mark.parametrize("damage", ["chunk dropped at the end", "chunks swapped", "a byte flipped"])
def test_a_chunked_item_cut_or_reordered_is_refused_and_nothing_written(tmp_path: pathlib.Path, damage: str) -> None:
    store, item_id, src = _store_with(tmp_path, os.urandom(3 * CHUNK))
    blob = tmp_path / "q" / f"{item_id}.bin"
    raw = blob.read_bytes()
    head, step = raw[:16], CHUNK + 16
    chunks = [raw[16 + i * step : 16 + (i + 1) * step] for i in range(3)]
    if damage == "chunk dropped at the end":
        raw = head + b"".join(chunks[:2])
    elif damage == "chunks swapped":
        raw = head + chunks[1] + chunks[0] + chunks[2]
    else:
        raw = raw[:100] + bytes([raw[100] ^ 1]) + raw[101:]
    blob.write_bytes(raw)
    with pytest.raises(QuarantineError, match="damaged"):
        store.release(item_id)
    assert not src.exists() and not list(tmp_path.glob(".big.bin.*"))  # no partial file left behind


def test_an_item_of_the_first_format_is_still_released(tmp_path: pathlib.Path) -> None:
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    store, item_id, src = _store_with(tmp_path, b"old format")
    nonce = os.urandom(12)
    key = (tmp_path / "q.key").read_bytes()
    (tmp_path / "q" / f"{item_id}.bin").write_bytes(nonce + AESGCM(key).encrypt(nonce, b"old format", item_id.encode()))
    assert store.release(item_id) == src and src.read_bytes() == b"old format"


def test_capture_and_release_hold_one_chunk_at_a_time(tmp_path: pathlib.Path) -> None:
    """A file copied to a USB stick may be gigabytes: memory does not grow with it."""
    import tracemalloc

    src = tmp_path / "big.bin"
    with src.open("wb") as handle:
        for _ in range(48):
            handle.write(os.urandom(CHUNK))
    store = Quarantine(tmp_path / "q", tmp_path / "q.key")
    tracemalloc.start()
    item = store.capture(src)
    store.release(item.id)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert item.size == 48 * CHUNK and peak < 8 * CHUNK
