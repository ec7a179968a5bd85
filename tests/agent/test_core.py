"""Pure parts of the agent: back-off, config, events, mount parsing, upload argv, policy signatures."""

from __future__ import annotations

import base64
import pathlib
import random

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from agent.backoff import Backoff
from agent.channels.processes import argv_files, destination_of, is_capture, redact_argv
from agent.channels.roots import classify_mount, compute_roots, mount_of
from agent.config import ConfigError, load_config, parse_config
from agent.events import new_event
from agent.platform.linux_mounts import parse_mountinfo
from agent.policysync import PolicyVerifyError, decode_key, verify_policy
from agent.ports import DeviceIdentity, RunningProcess

MOUNTINFO = """\
22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw
40 22 8:17 / /media/alice/KINGSTON rw,nosuid - vfat /dev/sdb1 rw,fmask=0022
41 22 0:51 / /mnt/share rw - cifs //fs/finance rw,vers=3.0
42 22 0:52 / /home/alice/My\\040Drive rw - fuse.sshfs alice@host: rw
broken line
"""


def test_backoff_grows_with_jitter_and_is_capped() -> None:
    backoff, rng = Backoff(base_seconds=1, max_seconds=60), random.Random(7)
    assert backoff.delay(0, rng) == 0
    delays = [backoff.delay(n, rng) for n in range(1, 12)]
    assert all(0.5 * min(60, 2 ** (n - 1)) <= d <= min(60, 2 ** (n - 1)) for n, d in enumerate(delays, 1))
    assert len({round(backoff.delay(5, rng), 6) for _ in range(20)}) > 1  # jittered


def test_config_reads_toml_and_names_bad_keys(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "agent.toml"
    path.write_text('[session]\noverlay = false\n[channels]\nremovable_paths = ["/x"]\nprocess_scan_seconds = 0.5\n')
    config = load_config(path)
    assert config.session.overlay is False and config.channels.removable_paths == ("/x",)
    assert config.channels.process_scan_seconds == 0.5
    with pytest.raises(ConfigError, match=r"\[session\] unknown key 'overlays'"):
        parse_config({"session": {"overlays": False}})
    with pytest.raises(ConfigError, match="must be true or false"):
        parse_config({"session": {"overlay": "no"}})
    with pytest.raises(ConfigError, match="whole number"):
        parse_config({"spool": {"max_events": 1.5}})
    path.write_text("[session\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(path)
    for bad in ("inf", "nan", "-inf"):  # TOML floats; time.sleep(nan) raises, sleep(inf) overflows
        path.write_text(f"[sync]\nheartbeat_seconds = {bad}\n")
        with pytest.raises(ConfigError, match=r"\[sync\] heartbeat_seconds must be a finite number"):
            load_config(path)
    path.write_bytes(b"[session]\noverlay = false # \xff\xfe\n")
    with pytest.raises(ConfigError, match="not UTF-8 text"):
        load_config(path)


def test_events_validate_channel_and_action() -> None:
    event = new_event("clipboard", "block", timestamp=0, severity="high", detectors=[("credit_card", 2)])
    assert event["detectors"] == [{"id": "credit_card", "count": 2}]
    assert event["ts"] == "1970-01-01T00:00:00.000Z" and len(event["id"]) == 36
    with pytest.raises(ValueError, match="channel"):
        new_event("email", "block", timestamp=0)
    with pytest.raises(ValueError, match="action"):
        new_event("clipboard", "explode", timestamp=0)


def test_mountinfo_parsing_and_classification() -> None:
    mounts = parse_mountinfo(MOUNTINFO)
    assert [m.mount_point for m in mounts] == ["/", "/media/alice/KINGSTON", "/mnt/share", "/home/alice/My Drive"]
    kinds = [classify_mount(m, DeviceIdentity()) for m in mounts]
    assert kinds == [None, "removable_media", "network_share", "network_share"]
    assert classify_mount(mounts[0], DeviceIdentity(removable=True)) == "removable_media"
    assert mount_of("/media/alice/KINGSTON/a/b.txt", mounts) == mounts[1]


def test_roots_include_configured_and_cloud_folders(tmp_path: pathlib.Path) -> None:
    home = tmp_path / "home" / "alice"
    (home / "Dropbox").mkdir(parents=True)
    usb = tmp_path / "usb"
    usb.mkdir()
    config = parse_config({"channels": {"removable_paths": [str(usb)], "user_homes": [str(tmp_path / "home")]}})
    roots = compute_roots(parse_mountinfo(MOUNTINFO), lambda m: DeviceIdentity(), config.channels,
                          exists=lambda p: p.is_dir() or str(p).startswith(("/media", "/mnt")))
    by_path = {r.path: r.channel for r in roots}
    assert by_path[str(usb)] == "removable_media"
    assert by_path[str(home / "Dropbox")] == "cloud_sync"
    assert by_path["/mnt/share"] == "network_share"


def test_upload_command_lines(tmp_path: pathlib.Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("x")
    argv = ("curl", "-F", f"file=@{secret}", "https://user:pw@files.example.com/up")
    assert argv_files(argv) == [str(secret)]
    assert destination_of(argv) == "files.example.com"
    assert argv_files(("curl", "-T", str(secret), "http://127.0.0.1:8000/")) == [str(secret)]
    assert destination_of(("scp", str(secret), "bob@10.0.0.5:/tmp/")) == "10.0.0.5"
    assert redact_argv(("curl", "-u", "bob:hunter2", "-H", "Authorization: Bearer x", "https://a:b@h/p")) == [
        "curl", "-u", "***", "-H", "***", "https://a:***@h/p"]
    grab = RunningProcess(1, "ffmpeg", ("ffmpeg", "-f", "x11grab", "-i", ":0"), None)
    assert is_capture(grab) and not is_capture(RunningProcess(2, "ffmpeg", ("ffmpeg", "-i", "a.mp4"), None))


def _signed(text: str, key: Ed25519PrivateKey) -> dict:
    return {"policy": text, "signature": base64.b64encode(key.sign(text.encode())).decode(), "zone": "high",
            "version": 3}


def test_policy_signature_is_verified() -> None:
    key = Ed25519PrivateKey.generate()
    public = base64.b64encode(key.public_key().public_bytes_raw()).decode()
    signed = verify_policy(_signed("zone: high\n", key), decode_key(public), etag='"v3"')
    assert signed.text == "zone: high\n" and signed.version == 3 and signed.etag == '"v3"'
    forged = _signed("zone: low\n", Ed25519PrivateKey.generate())
    with pytest.raises(PolicyVerifyError, match="does not verify"):
        verify_policy(forged, decode_key(public))
    tampered = {**_signed("zone: high\n", key), "policy": "zone: low\n"}
    with pytest.raises(PolicyVerifyError, match="does not verify"):
        verify_policy(tampered, decode_key(public))
    for bad in (None, [], {"policy": 1}, {"policy": "x", "signature": "!!"}):
        with pytest.raises(PolicyVerifyError):
            verify_policy(bad, decode_key(public))
    with pytest.raises(PolicyVerifyError):
        decode_key("abcd")


def test_exec_events_are_parsed_from_netlink_datagrams() -> None:
    import struct

    from agent.platform.linux_exec import PROC_EVENT_EXEC, parse_exec_pids

    def message(what: int, pid: int) -> bytes:
        event = struct.pack("=IIQ", what, 0, 0) + struct.pack("=II", pid, pid) + bytes(8)
        cn = struct.pack("=IIIIHH", 1, 1, 0, 0, len(event), 0) + event
        return struct.pack("=IHHII", 16 + len(cn), 3, 0, 0, 0) + cn

    datagram = message(PROC_EVENT_EXEC, 4242) + message(0x1, 77) + message(PROC_EVENT_EXEC, 4343)
    assert parse_exec_pids(datagram) == [4242, 4343]
    assert parse_exec_pids(b"\x00" * 7) == []


def test_notices_without_a_session_bus_say_why(monkeypatch: pytest.MonkeyPatch) -> None:
    from agent.platform.linux_notify import NotifySend

    monkeypatch.delenv("DBUS_SESSION_BUS_ADDRESS", raising=False)
    notifier = NotifySend()
    reason = notifier.notify("leakguard: copy blocked", "card data")
    assert reason is not None and ("D-Bus" in reason or "notify-send is not installed" in reason)


def test_usb_identity_is_read_from_sysfs(tmp_path: pathlib.Path) -> None:
    """A sysfs tree shaped like a USB stick's: /sys/dev/block/8:17 -> .../usb1/1-1/.../block/sdb/sdb1."""
    from agent.platform.linux_mounts import identify_block_device

    usb = tmp_path / "devices" / "pci0000:00" / "usb1" / "1-1"
    disk = usb / "1-1:1.0" / "host0" / "target0:0:0" / "0:0:0:0" / "block" / "sdb"
    (disk / "sdb1").mkdir(parents=True)
    (disk / "sdb1" / "partition").write_text("1\n")
    (disk / "removable").write_text("1\n")
    (disk / "device").mkdir()
    (disk / "device" / "vendor").write_text("SanDisk \n")
    for name, value in {"idVendor": "0781", "idProduct": "5567", "serial": "4C530001230101115432",
                        "manufacturer": "SanDisk", "product": "Cruzer Blade"}.items():
        (usb / name).write_text(value + "\n")
    (tmp_path / "dev" / "block").mkdir(parents=True)
    (tmp_path / "dev" / "block" / "8:17").symlink_to(disk / "sdb1")
    identity = identify_block_device("8:17", tmp_path / "dev" / "block")
    assert identity == DeviceIdentity(vendor="SanDisk", model="Cruzer Blade", serial="4C530001230101115432",
                                      vendor_id="0781", product_id="5567", bus="usb", removable=True)
    assert identify_block_device("9:99", tmp_path / "dev" / "block") == DeviceIdentity()


def test_an_approved_usb_stick_passes_where_any_other_is_blocked() -> None:
    from agent.judge import Context, judge_text
    from rules.policy import default_policy_text, load_policy

    high = load_policy(default_policy_text("high"))
    approved = Context("removable_media", usb_vendor="0781", usb_serial="CHANGE-ME-APPROVED-SERIAL",
                       file_name="notes.txt")
    other = Context("removable_media", usb_vendor="0951", usb_serial="XYZ", file_name="notes.txt")
    assert judge_text("meeting notes", approved, high).action != "block"
    assert judge_text("meeting notes", other, high).action == "block"


def test_an_event_describes_each_finding_without_its_text() -> None:
    """Level, basis, offsets, a keyed hash and a redacted preview per finding, the most certain first;
    never the matched value; within a byte budget however many findings there are."""
    import json

    from agent.judge import MAX_FINDINGS, MAX_FINDINGS_BYTES, Context, judge_text
    from rules.finding import digest_value
    from rules.policy import default_policy_text, load_policy

    medium = load_policy(default_policy_text("medium"))
    key = b"k" * 32
    text = "order 4111 1111 1111 1111 and card number 5500 0000 0000 0004 paid"
    details = judge_text(text, Context("clipboard"), medium, key=key).details()
    findings = details["findings"]
    assert details["findings_total"] == len(findings) >= 2
    card = next(f for f in findings if f["preview"].endswith("0004"))
    assert text[card["start"]:card["end"]] == "5500 0000 0000 0004"
    assert card["detector"] == "credit_card" and card["level"] == "high" and "check digit" in card["basis"]
    assert card["digest"] == digest_value("5500 0000 0000 0004", key)
    assert card["digest"] != digest_value("5500 0000 0000 0004")  # keyed with the device's key
    ranks = ["low", "medium", "high"]
    assert [ranks.index(f["level"]) for f in findings] == sorted((ranks.index(f["level"]) for f in findings),
                                                                  reverse=True)
    assert "5500 0000 0000 0004" not in json.dumps(details) and "4111 1111 1111 1111" not in json.dumps(details)

    many = " ".join(f"card {n}" for n in ["4111 1111 1111 1111", "5500 0000 0000 0004"] * 40)
    crowded = judge_text(many, Context("clipboard"), medium, key=key).details()
    assert crowded["findings_total"] == 80
    assert 0 < len(crowded["findings"]) <= MAX_FINDINGS
    assert len(json.dumps(crowded["findings"])) <= MAX_FINDINGS_BYTES
