"""The policy the agent enforces: the last good signed policy, persisted for offline boots.

Until a verified policy has ever arrived, the built-in default policy of the configured fallback
zone applies, and the agent says so in its status and heartbeat.
"""

from __future__ import annotations

import base64
import logging
import threading
import time
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from agent.policysync import PolicyVerifyError, SignedPolicy, verify_policy
from agent.state import StateDir, read_json, write_json

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ActivePolicy:
    policy: Any  # rules.policy.Policy
    source: str  # "console" | "persisted" | "fallback"
    zone: str | None
    version: int | None
    sha256: str | None
    etag: str | None


def parse_policy_text(text: str, source: str) -> Any:
    from rules.policy import load_policy

    return load_policy(text, source=source)


def fallback_policy(zone: str) -> ActivePolicy:
    from rules.policy import default_policy_text

    text = default_policy_text(zone)
    return ActivePolicy(parse_policy_text(text, f"built-in {zone} policy"), "fallback", zone, None, None, None)


class PolicyStore:
    def __init__(self, state: StateDir, key: Ed25519PublicKey | None, *, fallback_zone: str = "medium") -> None:
        self._state = state
        self._key = key
        self._lock = threading.Lock()
        self._active = fallback_policy(fallback_zone)

    @property
    def active(self) -> ActivePolicy:
        with self._lock:
            return self._active

    def load_persisted(self) -> str | None:
        """Re-verify the policy kept on disk; returns why it was refused, or None."""
        saved = read_json(self._state.policy)
        if saved is None or self._key is None:
            return None
        try:
            signed = verify_policy(saved.get("body"), self._key, etag=saved.get("etag"))
            self._install(signed, "persisted")
        except (PolicyVerifyError, ValueError, AttributeError) as exc:
            log.error("refusing the persisted policy: %s", exc)
            return str(exc)
        self._pin(signed.signer)  # a rotation seen just before a crash is pinned now
        return None

    def accept(self, body: Any, etag: str | None) -> ActivePolicy:
        """Verify, parse and persist a policy from the console; on any error the old one stays.

        The policy becomes active last, after it is on disk and a rotated key is pinned: whoever
        sees the new version (the status, a test) sees a state a restart keeps."""
        if self._key is None:
            raise PolicyVerifyError("no console key: enroll the agent first")
        signed = verify_policy(body, self._key, etag=etag)
        active = self._parse(signed, "console")
        write_json(self._state.policy, {"body": body, "etag": etag}, mode=0o600)
        self._pin(signed.signer)
        with self._lock:
            self._active = active
        return active

    def _pin(self, signer: bytes) -> None:
        """After a rotation the newest key is pinned, in memory and in credentials.json, so that
        the old key is trusted no more (the chain is only ever followed forward)."""
        if self._key is None or not signer or signer == self._key.public_bytes_raw():
            return
        self._key = Ed25519PublicKey.from_public_bytes(signer)
        creds = read_json(self._state.credentials)
        if isinstance(creds, dict):
            previous = creds.get("policy_key")
            creds.update(policy_key=base64.b64encode(signer).decode("ascii"), policy_key_rotated_at=time.time())
            write_json(self._state.credentials, creds, mode=0o600)
            log.info("console's policy-signing key rotated: now pinned %s (was %s)", creds["policy_key"], previous)

    def _install(self, signed: SignedPolicy, source: str) -> ActivePolicy:
        active = self._parse(signed, source)
        with self._lock:
            self._active = active
        return active

    @staticmethod
    def _parse(signed: SignedPolicy, source: str) -> ActivePolicy:
        try:
            parsed = parse_policy_text(signed.text, f"console policy {signed.zone} v{signed.version}")
        except ValueError as exc:  # rules.policy.PolicyError is a ValueError
            raise PolicyVerifyError(f"the signed policy does not parse: {exc}") from exc
        return ActivePolicy(parsed, source, signed.zone, signed.version, signed.sha256, signed.etag)

    def describe(self) -> dict[str, Any]:
        active = self.active
        return {"source": active.source, "zone": active.zone, "version": active.version,
                "sha256": active.sha256, "etag": active.etag}
