"""Marks: issue/resolve round trips, key misuse, range checks."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from watermark import marks

SECRET = bytes(range(32))
OTHER = bytes(range(1, 33))


@settings(max_examples=200, deadline=None)
@given(device=st.integers(1, marks.MAX_DEVICE), slot=st.integers(0, marks.MAX_SLOT))
def test_issue_then_resolve_round_trips(device: int, slot: int) -> None:
    mark = marks.issue_mark(SECRET, device, slot)
    assert 0 <= mark < 1 << 64
    assert marks.resolve_mark([(7, SECRET)], mark) == marks.MarkResolution(7, device, slot)


def test_wrong_key_gives_not_found() -> None:
    mark = marks.issue_mark(SECRET, 42, 1000)
    assert marks.resolve_mark([(1, OTHER)], mark) is None


def test_resolve_tries_every_key() -> None:
    mark = marks.issue_mark(OTHER, 3, 5)
    assert marks.resolve_mark([(1, SECRET), (2, OTHER)], mark) == marks.MarkResolution(2, 3, 5)


def test_random_values_rarely_resolve() -> None:
    hits = sum(marks.resolve_mark([(1, SECRET)], v * 0x9E3779B97F4A7C15 % (1 << 64)) is not None for v in range(5000))
    assert hits == 0  # expected 5000 * 2^-24 ~ 0.0003


def test_marks_of_one_device_look_unrelated() -> None:
    a, b = marks.issue_mark(SECRET, 1, 100), marks.issue_mark(SECRET, 1, 101)
    assert 16 <= bin(a ^ b).count("1") <= 48


@pytest.mark.parametrize(("device", "slot"), [(0, 1), (marks.MAX_DEVICE + 1, 1), (1, -1), (1, marks.MAX_SLOT + 1)])
def test_out_of_range_is_rejected(device: int, slot: int) -> None:
    with pytest.raises(ValueError):
        marks.issue_mark(SECRET, device, slot)


def test_bad_secret_length_is_rejected() -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        marks.issue_mark(b"short", 1, 1)


def test_slots_and_windows_agree() -> None:
    t = 1_800_000_000.0
    slot = marks.slot_for(t)
    start, end = marks.slot_window(slot)
    assert start <= t < end and end - start == marks.SLOT_SECONDS
    assert marks.slot_for(t, 3600) == int((t - marks.EPOCH) // 3600)
    with pytest.raises(ValueError):
        marks.slot_for(0.0)


def test_new_secrets_are_fresh() -> None:
    assert len(marks.new_mark_secret()) == 32
    assert marks.new_mark_secret() != marks.new_mark_secret()
