"""Files copied to the clipboard: the URI lists file managers write, who may have which file
judged, and the per-copy byte budget."""

from __future__ import annotations

import hashlib
import os
import pathlib
import shutil
import tempfile
import threading
from collections.abc import Iterator

import pytest

from agent.channels.clipboard import ClipboardChannel, copied_files, listable_by, readable_by
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


@pytest.fixture
def open_dir() -> Iterator[pathlib.Path]:
    """A folder everybody may search (pytest's own tmp_path sits under a folder only its user may)."""
    folder = pathlib.Path(tempfile.mkdtemp(dir="/tmp"))
    folder.chmod(0o755)
    yield folder
    shutil.rmtree(folder)


def test_a_user_has_judged_only_files_they_may_read(open_dir: pathlib.Path) -> None:
    secret, shared, closed = open_dir / "secret.txt", open_dir / "shared.txt", open_dir / "closed"
    closed.mkdir(mode=0o700)
    hidden = closed / "readable-but-unreachable.txt"
    for path in (secret, shared, hidden):
        path.write_text("x")
    secret.chmod(0o600)
    shared.chmod(0o644)
    hidden.chmod(0o644)
    owner = secret.stat().st_uid
    assert readable_by(secret, owner) and readable_by(shared, owner) and readable_by(hidden, owner)
    if owner != NOBODY:
        assert not readable_by(secret, NOBODY) and readable_by(shared, NOBODY)
        assert not readable_by(hidden, NOBODY), "a closed folder above the file keeps it closed"
        assert listable_by(open_dir, NOBODY) and not listable_by(closed, NOBODY)
    assert not readable_by(open_dir, owner)  # a folder is not a file
    assert not readable_by(open_dir / "missing.txt", owner)
    link = open_dir / "link.txt"
    link.symlink_to(hidden)
    assert readable_by(link, owner) and (owner == NOBODY or not readable_by(link, NOBODY))


def test_copied_folders_are_walked_within_what_the_user_may_read(open_dir: pathlib.Path) -> None:
    (open_dir / "a" / "b").mkdir(parents=True)
    (open_dir / "a" / "b" / "deep.txt").write_text("x")
    (open_dir / "a" / "top.txt").write_text("x")
    (open_dir / "a" / "private").mkdir(mode=0o700)
    (open_dir / "a" / "private" / "p.txt").write_text("x")
    for folder in (open_dir / "a", open_dir / "a" / "b"):
        folder.chmod(0o755)
    (open_dir / "a" / "loop").symlink_to(open_dir / "a")  # a link to a folder is not followed
    owner = open_dir.stat().st_uid
    found, more = copied_files([str(open_dir / "a")], owner, limit=100)
    assert [p.name for p in found] == ["top.txt", "deep.txt", "p.txt"] and not more  # walk order
    if owner != NOBODY:
        found, _ = copied_files([str(open_dir / "a")], NOBODY, limit=100)
        assert [p.name for p in found] == ["top.txt", "deep.txt"]
    found, more = copied_files([str(open_dir / "a")], owner, limit=2)
    assert len(found) == 2 and more


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


def test_copied_text_holding_an_encrypted_block_is_judged_encrypted(tmp_path: pathlib.Path) -> None:
    from tests.rules.test_extract_sealed import fixture

    channel, spool = _channel(tmp_path, max_bytes=1000)
    channel.judge("Bob, the file: " + fixture("public.asc").decode(), {"name": "thunderbird"}, None)
    channel.judge(fixture("openssl.b64").decode(), {"name": "xterm"}, None)
    channel.judge("card 4111 1111 1111 1111", {"name": "gedit"}, None)
    verdicts = [e["verdict"] for e in spool.batch(100)]
    assert [(v["scan_status"], v["scan_reason"]) for v in verdicts] == [
        ("encrypted", "the copied text holds an OpenPGP-encrypted message (armored)"),
        ("encrypted", "the copied text holds an OpenSSL-encrypted file (openssl enc, base64)"),
        ("ok", None)]


def test_a_file_copied_as_base64_is_decoded_and_judged(tmp_path: pathlib.Path) -> None:
    """`base64 payroll.zip | xclip`, pasted into a chat: the zip is decoded and read (in the
    extraction worker, as a zip would be), and its card number is found."""
    import base64

    from tests.rules import samples

    rows = "".join(f"Person {i},{i * 7919 % 10**9:09d}\n" for i in range(40))
    payload = samples.zip_of({"export/cards.csv": f"name,card\nAnna,4111 1111 1111 1111\n{rows}".encode()})
    channel, spool = _channel(tmp_path, max_bytes=1000)
    channel.judge("here it is:\n" + base64.encodebytes(payload).decode(), {"name": "xterm"}, None)
    verdict = spool.batch(10)[0]
    assert verdict["verdict"]["scan_status"] == "ok"
    assert {"id": "credit_card", "count": 1} in verdict["detectors"], verdict


@pytest.mark.parametrize("paths", [None, [], "x", ["relative.txt"], [1, 2]])
def test_bad_path_lists_are_refused(tmp_path: pathlib.Path, paths: object) -> None:
    channel, _ = _channel(tmp_path, max_bytes=100)
    reply = channel.judge_files(paths, None, os.getuid())
    assert reply["ok"] is False and "absolute paths" in reply["error"]


class _FakeClipboard:
    """The clipboard as the guard sees it: what is offered, and what the guard writes."""

    def __init__(self, files: list[str] | None, text: str | None = None, image: bytes | None = None) -> None:
        self.files, self.text, self.image, self.written = files, text, image, []  # type: ignore[var-annotated]

    def read_files(self) -> list[str] | None:
        return self.files

    def read_image(self) -> bytes | None:
        return self.image

    def read_text(self) -> str | None:
        return self.text

    def write_text(self, text: str | bytes, target: str | None = None) -> None:
        self.written.append((text, target))
        self.files = copied_paths(text) if target == "text/uri-list" and isinstance(text, str) else None
        self.image = text if target == "image/png" and isinstance(text, bytes) else None
        self.text = None if target else str(text)

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


def test_a_copied_folder_is_judged_by_the_files_in_it(tmp_path: pathlib.Path) -> None:
    channel, spool = _channel(tmp_path, max_bytes=1 << 20)
    folder = tmp_path / "exports"
    (folder / "2025").mkdir(parents=True)
    (folder / "readme.txt").write_text("nothing here\n")
    (folder / "2025" / "cards.csv").write_text("name,card\nAnn,4111 1111 1111 1111\n")
    reply = channel.judge_files([str(folder)], {"name": "nautilus"}, os.getuid())
    events = spool.batch(100)
    cards = [e for e in events if e["file"]["name"] == "cards.csv"]
    assert len(cards) == 1 and {"id": "credit_card", "count": 1} in cards[0]["detectors"]
    assert reply["event_id"] == cards[0]["id"]


def test_the_read_checks_the_opened_file_again(open_dir: pathlib.Path) -> None:
    from agent.channels.clipboard import read_as

    fifo = open_dir / "pipe"
    os.mkfifo(fifo)
    with pytest.raises(PermissionError):
        read_as(fifo, os.getuid(), limit=100)  # swapped in after the check: refused, not waited on
    closed = open_dir / "closed.txt"
    closed.write_text("x")
    closed.chmod(0o600)
    if closed.stat().st_uid != NOBODY:
        with pytest.raises(PermissionError):
            read_as(closed, NOBODY, limit=100)
    assert read_as(closed, closed.stat().st_uid, limit=100)[0] == b"x"
    with pytest.raises(OSError, match="budget"):
        read_as(closed, closed.stat().st_uid, limit=0)


def test_the_read_checks_the_folders_above_where_the_file_really_is(open_dir: pathlib.Path) -> None:
    """A folder on the checked path swapped for a link into a folder the user may not search,
    after `readable_by` looked: the file itself is readable by all, the read still refuses it."""
    from agent.channels.clipboard import read_as

    vault = open_dir / "vault"
    vault.mkdir(mode=0o700)
    (vault / "plans.txt").write_text("card 4111 1111 1111 1111\n")
    (vault / "plans.txt").chmod(0o644)
    swapped = open_dir / "mine"
    swapped.symlink_to(vault)  # was a folder of the user's own when it was checked
    if vault.stat().st_uid == NOBODY:
        pytest.skip("this test runs as the user it needs to be different from")
    with pytest.raises(PermissionError):
        read_as(swapped / "plans.txt", NOBODY, limit=100)
    vault.chmod(0o711)  # searchable by all: then the user could have opened it too
    assert read_as(swapped / "plans.txt", NOBODY, limit=100)[0].startswith(b"card")


def test_a_copied_image_is_sent_as_a_private_file_removed_after_the_verdict_and_restored_after_an_override() -> None:
    from agent.session.clipboard import ClipboardGuard

    png = b"\x89PNG\r\n\x1a\n" + b"pixels" * 10
    seen: list[tuple[str, bytes, int]] = []

    def ask(request: dict[str, object]) -> dict[str, object]:
        if request["op"] == "clipboard_hold":
            return {"ok": True, "hold": False}
        path = pathlib.Path(str(request["path"]))
        seen.append((str(request["op"]), path.read_bytes(), path.stat().st_mode & 0o777))
        return {"ok": True, "action": "block", "explanation": "card numbers", "override_allowed": True,
                "event_id": "e2", "replacement": "[leakguard] removed"}

    clipboard = _FakeClipboard(None, text="ignored: the image is what is offered", image=png)
    guard = ClipboardGuard(clipboard, notifier=type("N", (), {"notify": lambda *a, **k: None})(),  # type: ignore[arg-type]
                           connect=lambda: None)
    guard.ask = ask  # type: ignore[method-assign]
    guard.check(0.0)
    assert seen == [("clipboard_image", png, 0o600)]
    assert not list(pathlib.Path(os.environ.get("XDG_RUNTIME_DIR") or tempfile.gettempdir()).glob("leakguard-clip-*"))
    assert clipboard.written == [("[leakguard] removed", None)]
    guard.restore("e2")
    assert clipboard.written[-1] == (png, "image/png")
    assert guard.check(0.0) is None and len(seen) == 1  # the restored image is not judged again


def test_a_copied_image_is_judged_by_the_text_ocr_reads_in_it(tmp_path: pathlib.Path) -> None:
    from tests.fixtures.realparts import require_binary
    from tests.rules.samples import screenshot

    require_binary("tesseract", "tesseract-ocr")
    channel, spool = _channel(tmp_path, max_bytes=1 << 22)
    shot = tmp_path / "clip.png"
    shot.write_bytes(screenshot(["Refund approved", "Card number: 4242 4242 4242 4242"]))
    reply = channel.judge_image(str(shot), {"name": "flameshot"}, os.getuid())
    (event,) = spool.batch(100)
    assert reply["action"] == "block" and reply["event_id"] == event["id"]  # the high pack: any card number
    assert {"id": "credit_card", "count": 1} in event["detectors"] and "4242 4242" not in str(event)
    assert event["image"] == {"size": shot.stat().st_size, "sha256": hashlib.sha256(shot.read_bytes()).hexdigest()}
    assert event["source_application"]["name"] == "flameshot"


def test_an_image_the_user_may_not_read_is_not_judged_but_recorded(open_dir: pathlib.Path) -> None:
    channel, spool = _channel(open_dir, max_bytes=1 << 20)
    secret = open_dir / "root-only.png"
    secret.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 64)
    secret.chmod(0o600)
    if secret.stat().st_uid == NOBODY:
        pytest.skip("this test runs as the user it needs to be different from")
    reply = channel.judge_image(str(secret), None, NOBODY)
    (event,) = spool.batch(100)
    assert event["verdict"]["scan_status"] == "unscannable" and "not judged" in event["verdict"]["scan_reason"]
    assert event["image"] == {"size": None, "sha256": None} and reply["action"] == "audit"  # recorded, not blocked
    assert channel.judge_image("relative.png", None, NOBODY)["ok"] is False


@pytest.mark.parametrize(("hold", "verdict", "written"), [
    (True, "allow", [("HOLD", None), ("PNG", "image/png")]),  # held while judged, then put back as it was
    (True, "block", [("HOLD", None), ("[leakguard] removed", None)]),
    (True, None, [("HOLD", None), ("PNG", "image/png")]),  # the service went away: the copy is not lost
    (False, "allow", []),  # a zone whose policy cannot block a copy: the image is never touched
])
def test_a_copied_image_is_held_while_it_is_judged_where_a_copy_can_be_blocked(
        hold: bool, verdict: str | None, written: list[tuple[str, str | None]]) -> None:
    from agent.session.clipboard import HOLD_NOTICE, ClipboardGuard

    png = b"\x89PNG\r\n\x1a\n" + b"pixels" * 10
    clipboard = _FakeClipboard(None, image=png)
    asked: list[str] = []

    def ask(request: dict[str, object]) -> dict[str, object] | None:
        asked.append(str(request["op"]))
        if request["op"] == "clipboard_hold":
            return {"ok": True, "hold": hold}
        assert clipboard.written == ([(HOLD_NOTICE, None)] if hold else [])  # what a paste gets meanwhile
        if verdict is None:
            return None
        return {"ok": True, "action": verdict, "explanation": "card numbers", "override_allowed": False,
                "event_id": "e3", "replacement": "[leakguard] removed" if verdict == "block" else None}

    guard = ClipboardGuard(clipboard, notifier=type("N", (), {"notify": lambda *a, **k: None})(),  # type: ignore[arg-type]
                           connect=lambda: None)
    guard.ask = ask  # type: ignore[method-assign]
    guard.check(0.0)
    assert asked == ["clipboard_hold", "clipboard_image"]
    names = {HOLD_NOTICE: "HOLD", png: "PNG"}
    assert [(names.get(content, content), target) for content, target in clipboard.written] == written
    if hold:  # (without a hold the clipboard never changed: there is no second check)
        assert guard.check(0.0) is None and len(asked) == 2  # neither the notice nor the image put back is judged


@pytest.mark.parametrize(("rules", "default", "holds"), [
    ([(["clipboard"], "block")], "allow", True),
    ([(["clipboard"], "block_with_override")], "allow", True),
    ([(["clipboard"], "warn"), (["removable_media"], "block")], "allow", False),  # blocks elsewhere only
    ([], "block", True),
    ([(["clipboard", "print"], "audit")], "allow", False),
])
def test_the_service_holds_copies_only_where_its_policy_can_block_one(
        tmp_path: pathlib.Path, rules: list[tuple[list[str], str]], default: str, holds: bool) -> None:
    from types import SimpleNamespace

    from rules.model import Policy, Rule

    channel, _ = _channel(tmp_path, max_bytes=1 << 20)
    assert channel.may_block()  # the high pack blocks card numbers copied (so do medium's and low's rules)
    policy = Policy(zone="custom", default_action=default,
                    rules=tuple(Rule(id=f"r{n}", action=action, channels=tuple(channels))
                                for n, (channels, action) in enumerate(rules)))
    channel.policies = SimpleNamespace(active=SimpleNamespace(policy=policy))  # type: ignore[assignment]
    assert channel.may_block() is holds
