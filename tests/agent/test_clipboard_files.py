"""Files copied to the clipboard: the URI lists file managers write, who may have which file
judged, and the per-copy byte budget."""

from __future__ import annotations

import os
import pathlib
import threading

import pytest

from agent.channels.clipboard import ClipboardChannel, readable_by
from agent.outbox import Outbox
from agent.platform.x11_clipboard import copied_paths
from agent.policystore import PolicyStore
from agent.ports import SystemClock
from agent.session.clipboard import uri_list
from agent.spool import Spool
from agent.state import StateDir

NOBODY = 65534


@pytest.mark.parametrize(("listing", "paths"), [
    ("copy\nfile:///home/ann/Payroll%20M%C3%A4rz.docx\nfile:///tmp/a.txt", ["/home/ann/Payroll März.docx", "/tmp/a.txt"]),
    ("cut\nfile:///srv/x.csv", ["/srv/x.csv"]),
    ("# from Dolphin\r\nfile:///a/b.pdf\r\nfile://localhost/c/d.txt\r\n", ["/a/b.pdf", "/c/d.txt"]),
    ("file://fileserver/share/x.txt\r\nhttps://example.com/a.pdf\r\nsmb://srv/x\r\n", []),  # not this host's files
    ("just some text", []),
    ("file:///with%00nul", []),
])
def test_file_managers_lists_give_local_paths(listing: str, paths: list[str]) -> None:
    assert copied_paths(listing) == paths


def test_the_guard_writes_back_what_it_reads() -> None:
    paths = ["/home/ann/Payroll März.docx", "/tmp/100% #1.txt"]
    assert copied_paths(uri_list(paths)) == paths


def test_a_user_has_judged_only_files_they_may_read(tmp_path: pathlib.Path) -> None:
    secret, shared = tmp_path / "secret.txt", tmp_path / "shared.txt"
    secret.write_text("x")
    shared.write_text("x")
    os.chmod(secret, 0o600)
    os.chmod(shared, 0o644)
    owner = secret.stat().st_uid
    assert readable_by(secret, owner) and readable_by(shared, owner)
    if owner != NOBODY:
        assert not readable_by(secret, NOBODY) and readable_by(shared, NOBODY)
    assert not readable_by(tmp_path, owner)  # a folder is not judged as a file
    assert not readable_by(tmp_path / "missing.txt", owner)


def _channel(tmp_path: pathlib.Path, max_bytes: int) -> tuple[ClipboardChannel, Spool]:
    state = StateDir.open(tmp_path / "state")
    spool = Spool(state.spool, max_events=1000)
    channel = ClipboardChannel(Outbox(spool, threading.Event()), PolicyStore(state, None, fallback_zone="high"),
                               SystemClock(), lambda: "ann", key=b"k" * 32, max_bytes=max_bytes)
    return channel, spool


def test_files_past_the_copys_byte_budget_are_judged_unscannable(tmp_path: pathlib.Path) -> None:
    channel, spool = _channel(tmp_path, max_bytes=200)
    first, second = tmp_path / "a.txt", tmp_path / "b.txt"
    first.write_text("card 4111 1111 1111 1111\n" + "x" * 100)
    second.write_text("y" * 150)
    reply = channel.judge_files([str(first), str(second)], {"name": "nautilus"}, os.getuid())
    events = spool.batch(100)
    by_name = {e["file"]["name"]: e for e in events}
    assert {"id": "credit_card", "count": 1} in by_name["a.txt"]["detectors"], by_name["a.txt"]
    assert by_name["b.txt"]["verdict"]["scan_status"] == "unscannable"
    assert "not judged" in by_name["b.txt"]["verdict"]["scan_reason"]
    assert reply["ok"] and reply["event_id"] in {e["id"] for e in events}


@pytest.mark.parametrize("paths", [None, [], "x", ["relative.txt"], [1, 2]])
def test_bad_path_lists_are_refused(tmp_path: pathlib.Path, paths: object) -> None:
    channel, _ = _channel(tmp_path, max_bytes=100)
    reply = channel.judge_files(paths, None, os.getuid())
    assert reply["ok"] is False and "absolute paths" in reply["error"]


class _FakeClipboard:
    """The clipboard as the guard sees it: what is offered, and what the guard writes."""

    def __init__(self, files: list[str] | None, text: str | None = None) -> None:
        self.files, self.text, self.written = files, text, []  # type: ignore[var-annotated]

    def read_files(self) -> list[str] | None:
        return self.files

    def read_text(self) -> str | None:
        return self.text

    def write_text(self, text: str, target: str | None = None) -> None:
        self.written.append((text, target))
        self.files = copied_paths(text) if target == "text/uri-list" else None
        self.text = None if target else text

    def owner(self) -> None:
        return None


def test_a_blocked_file_copy_is_restored_after_an_override_and_not_judged_again() -> None:
    from agent.session.clipboard import ClipboardGuard

    asked: list[dict[str, object]] = []

    def ask(request: dict[str, object]) -> dict[str, object]:
        asked.append(request)
        return {"ok": True, "action": "block", "explanation": "card numbers", "override_allowed": True,
                "event_id": "e1", "replacement": "[leakguard] removed"}

    clipboard = _FakeClipboard(["/home/ann/Payroll März.docx"])
    guard = ClipboardGuard(clipboard, notifier=type("N", (), {"notify": lambda *a, **k: None})(),  # type: ignore[arg-type]
                           connect=lambda: None)
    guard.ask = ask  # type: ignore[method-assign]
    guard.check(0.0)
    assert asked == [{"op": "clipboard_files", "paths": ["/home/ann/Payroll März.docx"], "source": None}]
    assert clipboard.written == [("[leakguard] removed", None)]
    assert guard.check(0.0) is None  # our own notice
    guard.restore("e1")
    assert clipboard.written[-1] == (uri_list(["/home/ann/Payroll März.docx"]), "text/uri-list")
    assert guard.check(0.0) is None and len(asked) == 1  # the restored copy is not judged again
