"""Which directories the file channels watch: removable media, cloud-sync folders, network shares.

Pure functions over the mount table and the configuration, so they are tested without mounts.
"""

from __future__ import annotations

import pathlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from agent.config import CLOUD_SYNC_DEFAULTS, ChannelsConfig
from agent.ports import DeviceIdentity, Mount

NETWORK_FSTYPES = frozenset({
    "cifs", "smb3", "smbfs", "nfs", "nfs4", "fuse.sshfs", "sshfs", "fuse.rclone", "davfs", "fuse.davfs2",
    "afpfs", "fuse.gvfsd-fuse",
})
REMOVABLE_FSTYPES = frozenset({"vfat", "exfat", "ntfs", "ntfs3", "fuseblk", "iso9660", "udf", "hfsplus"})
REMOVABLE_PARENTS = ("/media/", "/run/media/", "/mnt/usb")


@dataclass(frozen=True)
class WatchedRoot:
    path: str
    channel: str  # "removable_media" | "cloud_sync" | "network_share"
    identity: DeviceIdentity
    fstype: str | None = None
    source: str | None = None
    device_number: str | None = None
    configured: bool = False
    is_mount_point: bool = True


def classify_mount(mount: Mount, identity: DeviceIdentity) -> str | None:
    if mount.fstype in NETWORK_FSTYPES:
        return "network_share"
    if identity.removable or identity.bus == "usb":
        return "removable_media"
    if mount.fstype in REMOVABLE_FSTYPES and mount.mount_point.startswith(REMOVABLE_PARENTS):
        return "removable_media"
    return None


def mount_of(path: str, mounts: Iterable[Mount]) -> Mount | None:
    """The mount that holds `path` (the longest mount point that is a prefix of it)."""
    best: Mount | None = None
    for mount in mounts:
        point = mount.mount_point.rstrip("/") + "/"
        if (path.rstrip("/") + "/").startswith(point) and (best is None or len(mount.mount_point) > len(best.mount_point)):
            best = mount
    return best


def cloud_sync_folders(config: ChannelsConfig, exists: Callable[[pathlib.Path], bool]) -> list[str]:
    found = list(config.cloud_sync_paths)
    for home_root in config.user_homes:
        root = pathlib.Path(home_root)
        homes = [root] if (root / ".bashrc").exists() or home_root == "/root" else _children(root)
        for home in homes:
            found += [str(home / name) for name in CLOUD_SYNC_DEFAULTS if exists(home / name)]
    return found


def _children(root: pathlib.Path) -> list[pathlib.Path]:
    try:
        return [p for p in root.iterdir() if p.is_dir()]
    except OSError:
        return []


def compute_roots(
    mounts: list[Mount], identify: Callable[[Mount], DeviceIdentity], config: ChannelsConfig,
    exists: Callable[[pathlib.Path], bool] = pathlib.Path.is_dir,
) -> list[WatchedRoot]:
    """Every directory to watch now, with the channel it belongs to."""
    roots: dict[str, WatchedRoot] = {}
    for mount in mounts:
        identity = identify(mount)
        channel = classify_mount(mount, identity)
        if channel and _enabled(channel, config):
            roots[mount.mount_point] = WatchedRoot(mount.mount_point, channel, identity, mount.fstype, mount.source,
                                                   mount.device_number)
    configured = [("removable_media", p) for p in config.removable_paths]
    configured += [("network_share", p) for p in config.network_share_paths]
    configured += [("cloud_sync", p) for p in cloud_sync_folders(config, exists)]
    for channel, path in configured:
        holder = mount_of(path, mounts)
        if _enabled(channel, config) and exists(pathlib.Path(path)):
            identity = identify(holder) if holder else DeviceIdentity()
            if holder is None or classify_mount(holder, identity) != channel:
                identity = DeviceIdentity(removable=channel == "removable_media", bus="configured")
            roots[path] = WatchedRoot(path, channel, identity, holder.fstype if holder else None,
                                      holder.source if holder else None, holder.device_number if holder else None,
                                      True, holder is not None and holder.mount_point.rstrip("/") == path.rstrip("/"))
    return sorted(roots.values(), key=lambda r: r.path)


def _enabled(channel: str, config: ChannelsConfig) -> bool:
    return {"removable_media": config.removable_media, "cloud_sync": config.cloud_sync,
            "network_share": config.network_shares}[channel]
