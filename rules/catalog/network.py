"""Network identifiers that reveal internal infrastructure."""

from __future__ import annotations

import ipaddress

from rules.detector import Detector


def _ipv4(value: str) -> bool:
    parts = value.split(".")
    return all(p == "0" or (not p.startswith("0") and int(p) <= 255) for p in parts) and value not in (
        "0.0.0.0",
        "255.255.255.255",
    )


def _ipv6(value: str) -> bool:
    try:
        ipaddress.IPv6Address(value)
    except ValueError:
        return False
    return value.count(":") >= 2 and value not in ("::", "::1")


def _mac(value: str) -> bool:
    return value.lower() not in ("00:00:00:00:00:00", "ff:ff:ff:ff:ff:ff", "00-00-00-00-00-00")


DETECTORS: tuple[Detector, ...] = (
    Detector("ipv4", "network", r"\b(?:\d{1,3}\.){3}\d{1,3}\b", "IPv4 address", 0.6, _ipv4,
             ("ip", "host", "server", "address", "地址"), ("version", "build", "版本")),
    Detector("ipv6", "network",
             r"(?i)(?:\b[0-9a-f]{1,4}(?::[0-9a-f]{1,4}){7}\b|\b(?:[0-9a-f]{1,4}:){1,7}:(?:[0-9a-f]{1,4}(?::[0-9a-f]{1,4}){0,6})?\b|::(?:[0-9a-f]{1,4}:){0,6}[0-9a-f]{1,4}\b)",
             "IPv6 address", 0.6, _ipv6, ("ip", "host", "server", "address")),
    Detector("mac_address", "network", r"(?i)\b[0-9a-f]{2}(?:[:-][0-9a-f]{2}){5}\b", "MAC address", 0.5, _mac,
             ("mac", "ether", "hwaddr"), needs_context=True),
)
