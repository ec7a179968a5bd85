"""The encrypted quarantine: nothing readable on disk, released bit for bit, tamper detected."""

from __future__ import annotations

import hashlib
import os
import pathlib

import pytest

from agent.quarantine import Quarantine, QuarantineError


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
