"""The session part on a real X display: the clipboard guard with xclip as the other application,
and the supervisor restarting a killed session part and reporting it."""

from __future__ import annotations

import hashlib
import os
import pathlib
import signal
import subprocess
import time

import pytest

from tests.agent.harness import AgentProcess, console_admin, wait_for, write_config
from tests.fixtures.consoles import ConsoleServer
from tests.fixtures.display import XDisplay
from tests.fixtures.realparts import require_binary

#: The session part is exercised against the SQLite console; the fault test covers PostgreSQL too.
pytestmark = [pytest.mark.x11, pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)]
CARD_TEXT = "pay with 4111 1111 1111 1111 exp 12/29"


def _clipboard(display: XDisplay) -> str:
    result = subprocess.run(["xclip", "-o", "-selection", "clipboard"], env=display.env(), capture_output=True,
                            timeout=5)
    return result.stdout.decode("utf-8", errors="replace")  # an image owner may answer with its PNG


def _copy(display: XDisplay, content: str | bytes, target: str | None = None) -> subprocess.Popen[bytes]:
    """`xclip -quiet` stays in the foreground owning the clipboard, like an editor would (with
    `target` "image/png", like a screenshot tool)."""
    process = subprocess.Popen(["xclip", "-quiet", "-i", "-selection", "clipboard", *(["-t", target] if target else [])],
                               env=display.env(), stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    assert process.stdin is not None
    process.stdin.write(content.encode() if isinstance(content, str) else content)
    process.stdin.close()
    return process


@pytest.fixture
def session_agent(tmp_path: pathlib.Path, console_server: ConsoleServer, x_display: XDisplay):  # type: ignore[no-untyped-def]
    require_binary("xclip", "xclip")
    config = write_config(tmp_path / "agent.toml", session={"enabled": True, "overlay": False,
                                                            "restart_delay_seconds": 0.5})
    agent = AgentProcess(tmp_path / "state", config, env=x_display.env())
    agent_id = agent.enroll(console_server.url, console_admin(console_server).enroll_token("high"))
    agent.start()
    wait_for(lambda: (agent.status() or {}).get("sessions_connected"), timeout=30,
             what=f"the session part to connect\n{agent.log()}")
    yield agent, agent_id
    agent.stop()


def test_sensitive_copy_is_replaced_and_reported_with_its_source(session_agent, x_display: XDisplay,  # type: ignore[no-untyped-def]
                                                                 console_server: ConsoleServer) -> None:
    agent, agent_id = session_agent
    harmless = _copy(x_display, "lunch at noon?")
    time.sleep(1.0)
    assert _clipboard(x_display) == "lunch at noon?", agent.log()
    owner = _copy(x_display, CARD_TEXT)
    replaced = wait_for(lambda: _clipboard(x_display).startswith("[leakguard]") and _clipboard(x_display),
                        timeout=10, what=f"the clipboard to be replaced with a notice\n{agent.log()}")
    assert "4111" not in replaced
    events = wait_for(lambda: console_admin(console_server).events(agent_id, channel="clipboard", action="block"),
                      timeout=20, what="the clipboard block event at the console")
    event = events[0]
    assert len(events) == 1, [(e["ts"], e["action"], e["detectors"], e["details"]) for e in events]
    # The high zone audits every copy (its default action): the harmless one left no content behind.
    audits = console_admin(console_server).events(agent_id, channel="clipboard", action="audit")
    assert all(not e["detectors"] and not e["details"]["previews"] for e in audits)
    assert event["action"] == "block" and {"id": "credit_card", "count": 1} in event["detectors"], event
    assert event["details"]["source_application"]["name"] == "xclip"
    assert event["details"]["source_application"]["pid"] == owner.pid, event["details"]
    assert "4111 1111 1111 1111" not in str(event)
    card = next(f for f in event["details"]["findings"] if f["detector"] == "credit_card")
    assert CARD_TEXT[card["start"]:card["end"]] == "4111 1111 1111 1111" and card["preview"] == "4111 **** **** 1111"
    assert card["level"] == "medium" and card["basis"] == ["check digit"] and len(card["digest"]) == 64
    same_value = console_admin(console_server).events(agent_id, digest=card["digest"])
    assert [e["id"] for e in same_value] == [event["id"]]
    for process in (harmless, owner):
        process.wait(timeout=10)  # xclip exits once it no longer owns the clipboard


def _copy_files(display: XDisplay, *paths: pathlib.Path) -> subprocess.Popen[bytes]:
    """Files copied as Dolphin or a browser puts them on the clipboard: a text/uri-list."""
    process = subprocess.Popen(["xclip", "-quiet", "-i", "-selection", "clipboard", "-t", "text/uri-list"],
                               env=display.env(), stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    assert process.stdin is not None
    process.stdin.write("".join(f"{p.as_uri()}\r\n" for p in paths).encode())
    process.stdin.close()
    return process


def test_files_copied_in_a_file_manager_are_judged_by_their_content(  # type: ignore[no-untyped-def]
        session_agent, x_display: XDisplay, console_server: ConsoleServer, tmp_path: pathlib.Path) -> None:
    from tests.rules import samples

    agent, agent_id = session_agent
    clean, memo = tmp_path / "minutes.txt", tmp_path / "Payroll März.docx"
    clean.write_text("lunch at noon?\n")
    memo.write_bytes(samples.docx(["Payroll", CARD_TEXT]))
    harmless = _copy_files(x_display, clean)
    time.sleep(1.5)
    assert clean.as_uri() in _clipboard_target(x_display, "text/uri-list"), agent.log()  # left alone
    owner = _copy_files(x_display, clean, memo)
    replaced = wait_for(lambda: _clipboard(x_display).startswith("[leakguard]") and _clipboard(x_display),
                        timeout=10, what=f"the file copy to be replaced with a notice\n{agent.log()}")
    assert "4111" not in replaced
    events = wait_for(lambda: console_admin(console_server).events(agent_id, channel="clipboard", action="block"),
                      timeout=20, what="the clipboard block event at the console")
    assert len(events) == 1, [(e["action"], e["details"].get("file")) for e in events]
    event = events[0]
    assert event["details"]["file"]["name"] == "Payroll März.docx" and event["details"]["file"]["size"] > 0
    assert {"id": "credit_card", "count": 1} in event["detectors"] and "4111 1111 1111 1111" not in str(event)
    assert event["details"]["source_application"]["name"] == "xclip"
    for process in (harmless, owner):
        process.wait(timeout=10)


def test_a_copied_screenshot_is_judged_by_the_text_in_it(  # type: ignore[no-untyped-def]
        session_agent, x_display: XDisplay, console_server: ConsoleServer) -> None:
    """A screenshot tool puts a PNG on the clipboard (`xclip -t image/png`, as flameshot or a
    browser's "copy image" do); the guard has tesseract read it and replaces it with the notice."""
    from tests.rules import samples

    require_binary("tesseract", "tesseract-ocr")
    agent, agent_id = session_agent
    shot = samples.screenshot(["Refund approved", "Card number: 4242 4242 4242 4242"])
    owner = _copy(x_display, shot, "image/png")
    replaced = wait_for(lambda: _clipboard(x_display).startswith("[leakguard]") and _clipboard(x_display),
                        timeout=20, what=f"the image copy to be replaced with a notice\n{agent.log()}")
    assert "4242" not in replaced
    events = wait_for(lambda: console_admin(console_server).events(agent_id, channel="clipboard", action="block"),
                      timeout=20, what="the clipboard block event at the console")
    details = events[0]["details"]
    assert details["image"]["sha256"] == hashlib.sha256(shot).hexdigest()
    assert {"id": "credit_card", "count": 1} in events[0]["detectors"] and "4242 4242" not in str(events[0])
    assert details["verdict"]["scan_status"] == "ok"
    owner.wait(timeout=10)


def test_a_harmless_screenshot_is_held_while_ocr_reads_it_then_put_back(  # type: ignore[no-untyped-def]
        session_agent, x_display: XDisplay) -> None:
    """In a zone whose policy can block a copy, a paste during the OCR gets the hold notice, not
    the image; once allowed, the same PNG is on the clipboard again."""
    from agent.session.clipboard import HOLD_NOTICE
    from tests.rules import samples

    require_binary("tesseract", "tesseract-ocr")
    agent, _ = session_agent
    shot = samples.screenshot(["Team lunch on Friday", "Meet at the lobby at noon"])
    owner = _copy(x_display, shot, "image/png")
    seen: set[str] = set()

    def put_back() -> bool:
        pasted = subprocess.run(["xclip", "-o", "-selection", "clipboard", "-t", "image/png"], env=x_display.env(),
                                capture_output=True, timeout=5).stdout
        if pasted != shot:
            seen.add(_clipboard(x_display))
        return pasted == shot and HOLD_NOTICE in seen

    wait_for(put_back, timeout=20, interval=0.02,
             what=f"the hold notice, then the image put back\n{seen}\n{agent.log()}")
    owner.wait(timeout=10)  # it lost the clipboard to the hold notice


def _clipboard_target(display: XDisplay, target: str) -> str:
    result = subprocess.run(["xclip", "-o", "-selection", "clipboard", "-t", target], env=display.env(),
                            capture_output=True, text=True, timeout=5)
    return result.stdout


def test_killed_session_part_is_restarted_and_reported(session_agent, console_server: ConsoleServer) -> None:  # type: ignore[no-untyped-def]
    agent, agent_id = session_agent
    (old,) = agent.status()["session_parts"]
    os.kill(old, signal.SIGKILL)
    started = time.monotonic()
    new = wait_for(lambda: [p for p in (agent.status() or {}).get("session_parts", []) if p != old], timeout=10,
                   what="the session part to be restarted")
    assert time.monotonic() - started < 5 and new
    events = wait_for(lambda: [e for e in console_admin(console_server).events(agent_id, channel="agent")
                               if e["details"].get("kind") == "session_part_died"], timeout=20,
                      what="the restart event at the console")
    assert events[0]["details"]["part"] == "session" and events[0]["details"]["exit_code"] == -9
