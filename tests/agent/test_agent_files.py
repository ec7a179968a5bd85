"""File channels end to end: a real agent watching a removable directory and a real tmpfs mount,
reporting to a real console; blocked files go to the encrypted quarantine and come back on release."""

from __future__ import annotations

import hashlib
import os
import pathlib
import subprocess
from typing import Any

import psutil
import pytest

from tests.agent.harness import LEAKGUARD, AgentProcess, cli, console_admin, wait_for, write_config
from tests.fixtures.consoles import ConsoleServer
from tests.fixtures.realparts import require_binary
from tests.rules.samples import screenshot

CARDS = "name,card\nAlice,4111 1111 1111 1111\nBob,5500 0000 0000 0004\n"

#: Channels are exercised against the SQLite console; the fault test covers PostgreSQL too.
pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


def _agent(tmp_path: pathlib.Path, console_server: ConsoleServer, zone: str, **channels: object) -> tuple[AgentProcess, str]:
    config = write_config(tmp_path / "agent.toml", channels=channels)
    agent = AgentProcess(tmp_path / "state", config)
    admin = console_admin(console_server)
    agent_id = agent.enroll(console_server.url, admin.enroll_token(zone))
    agent.start()
    return agent, agent_id


FIVE_CARDS = ["4242 4242 4242 4242", "5555 5555 5555 4444", "4000 0566 5566 5556", "5200 8282 8282 8210",
              "3566 0020 2036 0505"]
FIVE_CARDS_CSV = "name,card\n" + "".join(f"Customer {i},{c}\n" for i, c in enumerate(FIVE_CARDS))


def _quarantined_on_usb(tmp_path: pathlib.Path, console_server: ConsoleServer, source: pathlib.Path,
                        **channels: object) -> dict[str, Any]:
    """Copy `source` to a removable directory watched by a medium-zone agent; the event of its
    quarantine, once the file is gone from the device."""
    usb = tmp_path / "usb"
    usb.mkdir()
    agent, agent_id = _agent(tmp_path, console_server, "medium", removable_paths=[str(usb)], **channels)
    admin = console_admin(console_server)
    try:
        target = usb / source.name
        subprocess.run(["cp", str(source), str(target)], check=True)
        wait_for(lambda: not target.exists(), timeout=60, what=f"{source.name} to be quarantined\n{agent.log()}")
        events = wait_for(lambda: admin.events(agent_id, channel="removable_media"), timeout=30, what="the event")
    finally:
        agent.stop()
    return events[0]


def _assert_five_cards_quarantined(event: dict[str, Any]) -> None:
    """Quarantined like a CSV of `FIVE_CARDS` would be (regulated-bulk), with nothing it matched in the event."""
    assert event["action"] == "quarantine" and event["details"]["verdict"]["rule_id"] == "regulated-bulk"
    assert event["details"]["verdict"]["scan_status"] == "ok", event["details"]["verdict"]
    assert [f["detector"] for f in event["details"]["findings"]] == ["credit_card"] * 5
    assert not any(c in str(event) for c in FIVE_CARDS)


def test_blocked_file_on_removable_media_is_quarantined_reported_and_released(
    tmp_path: pathlib.Path, console_server: ConsoleServer
) -> None:
    usb = tmp_path / "usb"
    usb.mkdir()
    agent, agent_id = _agent(tmp_path, console_server, "high", removable_paths=[str(usb)])
    admin = console_admin(console_server)
    try:
        source = tmp_path / "cards.csv"
        source.write_text(CARDS)
        target = usb / "cards.csv"
        copy = subprocess.run(["cp", str(source), str(target)], check=True)  # a writer that is gone at once
        wait_for(lambda: not target.exists(), timeout=20, what="the file to be moved off the device")
        events = wait_for(lambda: admin.events(agent_id, channel="removable_media"), timeout=20,
                          what="the removable_media event at the console")
        event = events[0]
        assert event["action"] == "quarantine" and event["severity"] in ("high", "critical")
        details = event["details"]
        assert details["file"]["name"] == "cards.csv"
        assert details["file"]["sha256"] == hashlib.sha256(CARDS.encode()).hexdigest()
        assert details["file"]["size"] == len(CARDS)
        assert details["destination"]["root"] == str(usb)
        if os.geteuid() == 0:  # fanotify names the writer
            # fanotify gives the pid; the name comes from /proc, or from the exec notice when cp is already gone
            assert details["process"]["pid"] > 0 and details["process"]["name"] in ("cp", None), details["process"]
        assert copy.returncode == 0
        assert "4111 1111 1111 1111" not in str(event)  # matched text never leaves the PC
        listing = cli("agent", "quarantine", "list", "--state-dir", str(agent.state_dir))
        assert details["quarantine_id"] in listing
        cli("agent", "quarantine", "release", details["quarantine_id"], "--state-dir", str(agent.state_dir),
            "--to", str(tmp_path / "released.csv"))
        assert (tmp_path / "released.csv").read_text() == CARDS
    finally:
        agent.stop()


def test_allowed_file_stays_and_is_audited(tmp_path: pathlib.Path, console_server: ConsoleServer) -> None:
    share = tmp_path / "share"
    share.mkdir()
    agent, agent_id = _agent(tmp_path, console_server, "low", network_share_paths=[str(share)])
    admin = console_admin(console_server)
    try:
        (share / "notes.txt").write_text("meeting notes, nothing sensitive\n")
        events = wait_for(lambda: admin.events(agent_id, channel="network_share"), timeout=20,
                          what="the network_share event")
        assert events[0]["action"] == "allow" and (share / "notes.txt").exists()
        status = cli("agent", "status", "--state-dir", str(agent.state_dir))
        assert "running" in status and f"network_share    {share}" in status
        second = subprocess.run([*LEAKGUARD, "agent", "run", "--state-dir", str(agent.state_dir)],
                                capture_output=True, text=True, timeout=60)
        assert second.returncode == 2 and "already running" in second.stderr
    finally:
        agent.stop()


@pytest.mark.skipif(os.geteuid() != 0, reason="mounting a tmpfs needs root")
def test_real_mount_appearing_on_a_removable_path_is_watched(tmp_path: pathlib.Path,
                                                            console_server: ConsoleServer) -> None:
    stick = tmp_path / "stick"
    stick.mkdir()
    agent, agent_id = _agent(tmp_path, console_server, "high", removable_paths=[str(stick)])
    admin = console_admin(console_server)
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8m", "leakguard-test", str(stick)], check=True)
    try:
        wait_for(lambda: admin.events(agent_id, channel="removable_media"), timeout=20, what="the mount event")
        mounted = admin.events(agent_id, channel="removable_media")[0]
        assert mounted["details"]["kind"] == "mounted" and mounted["details"]["destination"]["fstype"] == "tmpfs"
        secret = stick / "export.txt"
        secret.write_text(CARDS)
        wait_for(lambda: not secret.exists(), timeout=20, what=f"the file on the tmpfs to be quarantined\n{agent.log()}")
        subprocess.run(["umount", str(stick)], check=True)
        wait_for(lambda: [e for e in admin.events(agent_id, channel="removable_media")
                          if e["details"].get("kind") == "unmounted"], timeout=20, what="the unmount event")
    finally:
        subprocess.run(["umount", str(stick)], check=False, capture_output=True)
        agent.stop()
    blocked = [e for e in admin.events(agent_id, channel="removable_media") if e["action"] == "quarantine"]
    assert blocked, "the file on the tmpfs was not quarantined"
    me = psutil.Process()  # this test wrote the file and is still alive: fanotify names it exactly
    assert blocked[0]["details"]["process"] == {"pid": me.pid, "name": me.name()[:15]}


def test_a_screenshot_of_card_numbers_is_read_by_ocr_on_its_way_to_usb(tmp_path: pathlib.Path,
                                                                    console_server: ConsoleServer) -> None:
    """Medium zone: a PNG whose pixels show five card numbers is quarantined like the CSV that
    holds them (regulated-bulk), judged by the text tesseract reads; a screenshot of harmless text
    is allowed (before OCR every image was unscannable and only warned about)."""
    require_binary("tesseract", "tesseract-ocr")
    usb = tmp_path / "usb"
    usb.mkdir()
    agent, agent_id = _agent(tmp_path, console_server, "medium", removable_paths=[str(usb)])
    admin = console_admin(console_server)
    cards = ["4242 4242 4242 4242", "5555 5555 5555 4444", "4000 0566 5566 5556", "5200 8282 8282 8210",
             "3566 0020 2036 0505"]
    try:
        (usb / "notes.png").write_bytes(screenshot(["Team lunch on Friday", "Bring the slides for review"]))
        shot = usb / "payments.png"
        shot.write_bytes(screenshot(["Payment cards on file"] + [f"Card: {c}" for c in cards]))
        wait_for(lambda: not shot.exists(), timeout=60, what=f"the screenshot to be quarantined\n{agent.log()}")
        events = wait_for(lambda: len(admin.events(agent_id, channel="removable_media")) >= 2 and
                          admin.events(agent_id, channel="removable_media"), timeout=30, what="both events")
    finally:
        agent.stop()
    by_name = {e["details"]["file"]["name"]: e for e in events}
    blocked, allowed = by_name["payments.png"], by_name["notes.png"]
    assert blocked["action"] == "quarantine" and blocked["details"]["verdict"]["rule_id"] == "regulated-bulk"
    assert blocked["details"]["verdict"]["scan_status"] == "ok"
    assert {f["detector"] for f in blocked["details"]["findings"]} == {"credit_card"}
    assert len(blocked["details"]["findings"]) == 5
    assert not any(c in str(blocked) for c in cards)  # matched text never leaves the PC
    assert allowed["action"] == "allow" and (usb / "notes.png").exists()


def test_a_disc_image_of_card_numbers_is_opened_on_its_way_to_usb(tmp_path: pathlib.Path,
                                                                  console_server: ConsoleServer) -> None:
    """Medium zone: an .iso holding a CSV of five card numbers is quarantined like the CSV would
    be (regulated-bulk), judged by what the image holds; before disc images were read it was
    unscannable, and the medium pack only warns about an unscannable file on its way to USB."""
    genisoimage = require_binary("genisoimage", "genisoimage")
    folder = tmp_path / "export"
    folder.mkdir()
    (folder / "customers.csv").write_text(FIVE_CARDS_CSV)
    image = tmp_path / "backup.iso"
    subprocess.run([genisoimage, "-quiet", "-J", "-R", "-o", str(image), str(folder)], check=True)
    _assert_five_cards_quarantined(_quarantined_on_usb(tmp_path, console_server, image))


def test_a_file_too_large_to_read_is_judged_as_unscannable_and_blocked_in_a_high_zone(
        tmp_path: pathlib.Path, console_server: ConsoleServer) -> None:
    """A file over `max_file_bytes` (64 MiB by default; 1 MiB here) is not read, but the high
    zone lets nothing unreadable leave: copied to a network share, it is quarantined by the
    `uninspectable` rule (it used to be only audited, whatever the policy), its size and SHA-256
    in the event, and it comes back whole on release."""
    share = tmp_path / "share"
    share.mkdir()
    agent, agent_id = _agent(tmp_path, console_server, "high", network_share_paths=[str(share)],
                             max_file_bytes=1 << 20)
    admin = console_admin(console_server)
    payload = os.urandom(3 << 20) + CARDS.encode()
    try:
        source = tmp_path / "archive.bin"
        source.write_bytes(payload)
        target = share / "archive.bin"
        subprocess.run(["cp", str(source), str(target)], check=True)
        wait_for(lambda: not target.exists(), timeout=30, what=f"the file to be quarantined\n{agent.log()}")
        events = wait_for(lambda: admin.events(agent_id, channel="network_share"), timeout=30, what="the event")
        event = events[0]
        assert event["action"] == "quarantine" and event["details"]["verdict"]["rule_id"] == "uninspectable"
        assert event["details"]["verdict"]["scan_status"] == "unscannable"
        assert f"input of {len(payload)} bytes is above the limit of 1048576" in event["details"]["verdict"]["scan_reason"]
        assert event["details"]["file"]["size"] == len(payload)
        assert event["details"]["file"]["sha256"] == hashlib.sha256(payload).hexdigest()
        cli("agent", "quarantine", "release", event["details"]["quarantine_id"], "--state-dir", str(agent.state_dir),
            "--to", str(tmp_path / "released.bin"))
        assert (tmp_path / "released.bin").read_bytes() == payload
    finally:
        agent.stop()


def test_a_file_copied_after_a_huge_one_is_judged_without_waiting_for_it(
        tmp_path: pathlib.Path, console_server: ConsoleServer) -> None:
    """Medium zone, removable media, 1 MiB limit: a 1 GiB file (sparse, so the test writes
    nothing; the agent still hashes all of it, for seconds) lands first, then a CSV of five cards.
    The CSV is judged and quarantined at once, on the channel's own thread, while the huge file
    is still being hashed on the large files' thread (before, it waited its turn)."""
    usb = tmp_path / "usb"
    usb.mkdir()
    agent, agent_id = _agent(tmp_path, console_server, "medium", removable_paths=[str(usb)], max_file_bytes=1 << 20)
    admin = console_admin(console_server)
    try:
        huge = usb / "disk.img"
        with huge.open("wb") as handle:
            handle.truncate((1 << 30) + 1)  # past the 1 GiB a large file's worker maps: hashed, not read
        cards = usb / "customers.csv"
        cards.write_text(FIVE_CARDS_CSV)
        wait_for(lambda: not cards.exists(), timeout=60, what=f"the CSV to be quarantined\n{agent.log()}")
        events = wait_for(lambda: (lambda found: found if len(found) == 2 else None)(
            admin.events(agent_id, channel="removable_media")), timeout=120, what=f"both events\n{agent.log()}")
        by_name = {e["details"]["file"]["name"]: e for e in events}
        assert by_name["customers.csv"]["action"] == "quarantine"
        assert by_name["disk.img"]["details"]["verdict"]["scan_status"] == "unscannable"
        assert by_name["customers.csv"]["ts"] < by_name["disk.img"]["ts"]  # judged first, though it came second
        assert huge.exists()  # the medium zone only warns about an unreadable file on its way to USB
    finally:
        agent.stop()


def test_an_outlook_mailbox_too_large_for_the_usual_read_is_read_in_a_worker_of_its_own(
        tmp_path: pathlib.Path, console_server: ConsoleServer) -> None:
    """Medium zone: a .pst over `max_file_bytes` (1 MiB here; 64 MiB by default) holding five
    card numbers is opened by the service, handed by descriptor to a worker of its own that maps
    it, and quarantined like the CSV inside would be (regulated-bulk); before, it was unscannable
    (the medium pack only warns about that on its way to USB)."""
    from tests.rules.pst_pack import Attachment, Folder, Message, pst_bytes

    mailbox = tmp_path / "archive.pst"
    mailbox.write_bytes(pst_bytes([Folder("Inbox", [Message("export", body="see attached", attachments=[
        Attachment("customers.csv", FIVE_CARDS_CSV.encode()),
        Attachment("minutes.txt", b"Minutes of the weekly meeting, nothing sensitive.\n" * 45_000)])])]))
    assert mailbox.stat().st_size > 1 << 20
    event = _quarantined_on_usb(tmp_path, console_server, mailbox, max_file_bytes=1 << 20)
    _assert_five_cards_quarantined(event)
    assert event["details"]["file"]["size"] == mailbox.stat().st_size
