"""The zone policy as frozen dataclasses: parsed and validated once, then only read."""

from __future__ import annotations

from dataclasses import dataclass, field

from rules.detector import Detector
from rules.keywords import KeywordList

ZONES = ("low", "medium", "high")
CHANNELS = ("file_upload", "removable_media", "cloud_sync", "network_share", "clipboard", "screen_capture", "print")
#: Policy actions, weakest first; the strictest matching rule decides.
ACTIONS = ("allow", "audit", "warn", "block_with_override", "block", "quarantine")
SEVERITIES = ("info", "low", "medium", "high", "critical")
TEMPLATE_FIELDS = ("user", "host", "time", "date", "ip", "zone", "device")


@dataclass(frozen=True, slots=True)
class WatermarkSettings:
    invisible: bool = True
    visible_template: str | None = None
    visible_opacity: float = 0.0


@dataclass(frozen=True, slots=True)
class UsbDevice:
    """A USB device entry; `None` fields match anything. Ids are lower-case hex."""

    vendor: str | None = None
    product: str | None = None
    serial: str | None = None


@dataclass(frozen=True, slots=True)
class ListFilter:
    """`allow` exempts a match from the rule; a non-empty `deny` limits the rule to matches."""

    allow: tuple[str, ...] = ()
    deny: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class UsbFilter:
    allow: tuple[UsbDevice, ...] = ()
    deny: tuple[UsbDevice, ...] = ()


@dataclass(frozen=True, slots=True)
class Condition:
    """Content conditions; all given ones must hold. Empty `detectors` means content is not checked."""

    detectors: tuple[str, ...] = ()
    min_confidence: float = 0.0
    min_count: int = 1
    file_types: tuple[str, ...] = ()
    min_size: int | None = None
    max_size: int | None = None
    extraction: tuple[str, ...] = ()  # e.g. ("encrypted", "unscannable")


@dataclass(frozen=True, slots=True)
class Rule:
    id: str
    action: str
    severity: str = "medium"
    description: str = ""
    channels: tuple[str, ...] = CHANNELS
    when: Condition = field(default_factory=Condition)
    destinations: ListFilter = field(default_factory=ListFilter)
    applications: ListFilter = field(default_factory=ListFilter)
    usb: UsbFilter = field(default_factory=UsbFilter)
    message: str | None = None
    line: int = field(default=0, compare=False)


@dataclass(frozen=True, slots=True)
class Policy:
    zone: str
    rules: tuple[Rule, ...] = ()
    default_action: str = "allow"
    name: str = ""
    description: str = ""
    version: int = 1
    watermark: WatermarkSettings = field(default_factory=WatermarkSettings)
    detectors: tuple[Detector, ...] = ()  # custom detectors defined by the policy
    keywords: tuple[KeywordList, ...] = ()
    source: str = field(default="<policy>", compare=False)

    def detector_ids(self) -> tuple[str, ...]:
        """Every detector id any rule refers to (built-in, custom or keyword list)."""
        seen = dict.fromkeys(d for rule in self.rules for d in rule.when.detectors)
        return tuple(seen)
