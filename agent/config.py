"""The agent's TOML configuration, parsed and checked once at start-up.

Every key is optional; an unknown key or a wrong type is an error that names the file and the key,
so a typo never silently turns a channel off.
"""

from __future__ import annotations

import math
import pathlib
import tomllib
from dataclasses import dataclass, field, fields
from typing import Any

ZONES = ("low", "medium", "high")
CLOUD_SYNC_DEFAULTS = ("Dropbox", "OneDrive", "Google Drive", "GoogleDrive", "Nextcloud", "ownCloud")


class ConfigError(ValueError):
    """The configuration file is missing, not TOML, or has a bad key or value."""


@dataclass(frozen=True)
class SyncConfig:
    heartbeat_seconds: float = 30.0
    policy_seconds: float = 60.0
    deliver_seconds: float = 5.0
    batch_size: int = 200
    backoff_base_seconds: float = 1.0
    backoff_max_seconds: float = 300.0
    request_timeout_seconds: float = 10.0


@dataclass(frozen=True)
class SpoolConfig:
    max_events: int = 200_000


@dataclass(frozen=True)
class SessionConfig:
    enabled: bool = True
    overlay: bool = True
    clipboard: bool = True
    notifications: bool = True
    restart_delay_seconds: float = 1.0


@dataclass(frozen=True)
class ChannelsConfig:
    removable_media: bool = True
    cloud_sync: bool = True
    network_shares: bool = True
    cli_uploads: bool = True
    screen_capture: bool = True
    removable_paths: tuple[str, ...] = ()
    cloud_sync_paths: tuple[str, ...] = ()
    network_share_paths: tuple[str, ...] = ()
    protected_paths: tuple[str, ...] = ()
    user_homes: tuple[str, ...] = ("/home", "/root")
    process_scan_seconds: float = 1.0
    max_file_bytes: int = 64 * 1024 * 1024
    ocr: bool = True
    #: Printing (CUPS): judge every job; with `print_hold`, every printer holds new jobs until
    #: they are judged, and blocked ones never print.
    printing: bool = True
    print_server: str = "/run/cups/cups.sock"
    print_spool: str = "/var/spool/cups"
    print_hold: bool = True
    print_poll_seconds: float = 0.25
    #: A job blocked by a rule that allows an override stays held this long for the user's
    #: justification (`leakguard agent justify`), then it is cancelled.
    print_override_seconds: float = 600.0


@dataclass(frozen=True)
class PolicyConfig:
    fallback_zone: str = "medium"


@dataclass(frozen=True)
class AgentConfig:
    sync: SyncConfig = field(default_factory=SyncConfig)
    spool: SpoolConfig = field(default_factory=SpoolConfig)
    session: SessionConfig = field(default_factory=SessionConfig)
    channels: ChannelsConfig = field(default_factory=ChannelsConfig)
    policy: PolicyConfig = field(default_factory=PolicyConfig)


SECTIONS: dict[str, type[Any]] = {
    "sync": SyncConfig,
    "spool": SpoolConfig,
    "session": SessionConfig,
    "channels": ChannelsConfig,
    "policy": PolicyConfig,
}


def load_config(path: str | pathlib.Path | None) -> AgentConfig:
    """Read the TOML file at `path` (None gives the defaults)."""
    if path is None:
        return AgentConfig()
    source = str(path)
    try:
        raw = tomllib.loads(pathlib.Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"{source}: cannot read: {exc.strerror}") from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{source}: not UTF-8 text (byte {exc.start})") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{source}: not valid TOML: {exc}") from exc
    return parse_config(raw, source=source)


def parse_config(raw: dict[str, Any], *, source: str = "<config>") -> AgentConfig:
    unknown = set(raw) - set(SECTIONS)
    if unknown:
        raise ConfigError(f"{source}: unknown section [{sorted(unknown)[0]}]")
    parts = {name: _parse_section(cls, raw.get(name, {}), f"{source}: [{name}]") for name, cls in SECTIONS.items()}
    if parts["policy"].fallback_zone not in ZONES:
        raise ConfigError(f"{source}: [policy] fallback_zone must be one of {', '.join(ZONES)}")
    return AgentConfig(**parts)


def _parse_section(cls: type[Any], raw: Any, where: str) -> Any:
    if not isinstance(raw, dict):
        raise ConfigError(f"{where} must be a table")
    known = {f.name: f for f in fields(cls)}
    values: dict[str, Any] = {}
    for key, value in raw.items():
        if key not in known:
            raise ConfigError(f"{where} unknown key {key!r}")
        values[key] = _coerce(value, getattr(cls(), key), f"{where} {key}")
    return cls(**values)


def _coerce(value: Any, default: Any, where: str) -> Any:
    if isinstance(default, bool):
        if not isinstance(value, bool):
            raise ConfigError(f"{where} must be true or false")
        return value
    if isinstance(default, tuple):
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ConfigError(f"{where} must be a list of strings")
        return tuple(value)
    if isinstance(default, str):
        if not isinstance(value, str):
            raise ConfigError(f"{where} must be a string")
        return value
    if isinstance(default, int) and isinstance(value, float):
        raise ConfigError(f"{where} must be a whole number")
    if isinstance(default, int | float) and not isinstance(value, bool) and isinstance(value, int | float):
        if not math.isfinite(value):  # TOML has inf and nan: a wait of nan seconds ends the service
            raise ConfigError(f"{where} must be a finite number")
        if value < 0:
            raise ConfigError(f"{where} must not be negative")
        return type(default)(value)
    raise ConfigError(f"{where} must be a {type(default).__name__}")
