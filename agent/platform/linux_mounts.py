"""Linux mounts: `/proc/self/mountinfo` (poll() wakes on every mount change) and sysfs identity."""

from __future__ import annotations

import os
import pathlib
import re
import select

from agent.ports import DeviceIdentity, Mount

MOUNTINFO = pathlib.Path("/proc/self/mountinfo")
SYS_DEV_BLOCK = pathlib.Path("/sys/dev/block")
_OCTAL = re.compile(r"\\([0-7]{3})")


def _unescape(field: str) -> str:
    return _OCTAL.sub(lambda m: chr(int(m.group(1), 8)), field)


def parse_mountinfo(text: str) -> list[Mount]:
    """Mounts from mountinfo text (see proc(5)); malformed lines are skipped."""
    mounts = []
    for line in text.splitlines():
        left, sep, right = line.partition(" - ")
        fields, tail = left.split(), right.split()
        if not sep or len(fields) < 5 or len(tail) < 2:
            continue
        mounts.append(Mount(
            mount_point=_unescape(fields[4]), source=_unescape(tail[1]), fstype=tail[0], device_number=fields[2],
        ))
    return mounts


def _read(path: pathlib.Path) -> str | None:
    try:
        return path.read_text(errors="replace").strip() or None
    except OSError:
        return None


def identify_block_device(device_number: str, sys_root: pathlib.Path = SYS_DEV_BLOCK) -> DeviceIdentity:
    """Vendor, model and serial of the disk behind `major:minor`, walking sysfs up to the USB device."""
    try:
        node = (sys_root / device_number).resolve(strict=True)
    except OSError:
        return DeviceIdentity()
    disk = node.parent if (node / "partition").exists() else node
    identity = {
        "vendor": _read(disk / "device" / "vendor"), "model": _read(disk / "device" / "model"),
        "serial": _read(disk / "device" / "serial"), "removable": _read(disk / "removable") == "1",
    }
    for parent in disk.parents:
        if (parent / "idVendor").exists():
            identity.update(
                vendor=_read(parent / "manufacturer") or identity["vendor"],
                model=_read(parent / "product") or identity["model"],
                serial=_read(parent / "serial") or identity["serial"],
                vendor_id=_read(parent / "idVendor"), product_id=_read(parent / "idProduct"),
                bus="usb", removable=True,
            )
            break
    return DeviceIdentity(**identity)  # type: ignore[arg-type]


class LinuxMountTable:
    def __init__(self) -> None:
        # Armed at once, before anyone reads the table, so that no change can slip in between.
        self._fd = os.open(MOUNTINFO, os.O_RDONLY)
        self._poll = select.poll()
        self._poll.register(self._fd, select.POLLPRI | select.POLLERR)
        self._drain(self._fd)

    def mounts(self) -> list[Mount]:
        return parse_mountinfo(MOUNTINFO.read_text(errors="replace"))

    def wait_for_change(self, timeout: float) -> bool:
        """Block until the mount table changes (True) or `timeout` passes (False)."""
        events = self._poll.poll(timeout * 1000)
        if events:
            self._drain(self._fd)
        return bool(events)

    @staticmethod
    def _drain(fd: int) -> None:
        """Read the table to its end: that re-arms the change notification."""
        os.lseek(fd, 0, os.SEEK_SET)
        while os.read(fd, 65536):
            pass

    def identify(self, mount: Mount) -> DeviceIdentity:
        if mount.device_number and not mount.device_number.startswith("0:"):
            return identify_block_device(mount.device_number)
        return DeviceIdentity()
