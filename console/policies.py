"""Versioned, signed zone policies stored as the rules engine's YAML.

The policy an agent receives is the stored YAML behind one header comment naming its zone and
version, so the Ed25519 signature over the text's UTF-8 bytes also binds zone and version: an
old or other zone's policy cannot be replayed as the current one.
"""

from __future__ import annotations

import hashlib
import random
import re
import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from console.signing import POLICY_SIGN, active_key, key_chain, public_key_b64, rotate_policy_key, sign_text
from console.tables import Policy

ZONE_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_-]{0,31}$")
BUILT_IN_ZONES = ("low", "medium", "high")
MAX_POLICY_BYTES = 1024 * 1024
#: Racing publishers of one zone each take the next version number; the database's unique
#: constraint admits one per round and the others retry with jittered back-off (about 2.5 s).
PUBLISH_ATTEMPTS = 12


class PublishContention(RuntimeError):
    """Publishers kept racing for the next version number; the caller gets 503 and retries."""


class PolicyInvalid(ValueError):
    """The YAML is not a valid policy; the message names the place and field."""


class PolicyEngineMissing(RuntimeError):
    """The rules engine (rules.policy) is not installed in this build."""


def _rules_policy() -> Any:
    """The one place that imports the rules engine's policy module."""
    try:
        from rules import policy
    except ImportError as exc:
        raise PolicyEngineMissing("the rules engine (rules.policy) is not available in this build") from exc
    return policy


def validate_policy_text(text: str, *, source: str) -> None:
    if len(text.encode("utf-8")) > MAX_POLICY_BYTES:
        raise PolicyInvalid(f"{source}: policy is larger than {MAX_POLICY_BYTES} bytes")
    module = _rules_policy()
    try:
        module.load_policy(text, source=source)
    except module.PolicyError as exc:
        raise PolicyInvalid(str(exc)) from exc


def check_zone(zone: str) -> str:
    if not ZONE_PATTERN.fullmatch(zone):
        raise PolicyInvalid(f"zone {zone!r}: use 1-32 of a-z, 0-9, '_' and '-'")
    return zone


def served_text(zone: str, version: int, text: str) -> str:
    return f"# leakguard policy zone={zone} version={version}\n{text}"


def current_policy(session: Session, zone: str) -> Policy | None:
    """The newest version; a built-in zone without one gets the rules engine's default."""
    query = select(Policy).where(Policy.zone == zone).order_by(Policy.version.desc())  # type: ignore[attr-defined]
    row = session.exec(query).first()
    if row is None and zone in BUILT_IN_ZONES:
        text = _rules_policy().default_policy_text(zone)
        row = publish_policy(session, zone, text, actor="system", expected_version=0)
    return row


def latest_version(session: Session, zone: str) -> int | None:
    """The newest version number, without creating a default policy."""
    return session.exec(select(func.max(Policy.version)).where(Policy.zone == zone)).one()


def publish_policy(
    session: Session, zone: str, text: str, *, actor: str, expected_version: int | None = None
) -> Policy:
    """Store a new version. Two writers racing for one version number: the database's unique
    constraint lets one win and the other re-reads (or retries when no version was expected)."""
    check_zone(zone)
    validate_policy_text(text, source=f"zone {zone}")
    for attempt in range(PUBLISH_ATTEMPTS):
        if attempt:
            time.sleep(random.uniform(0, 0.01 * 2 ** min(attempt, 6)))  # jittered: racers fall out of step
        latest = session.exec(select(func.max(Policy.version)).where(Policy.zone == zone)).one() or 0
        if expected_version is not None and latest != expected_version:
            existing = current_policy(session, zone)
            if existing is not None:
                return existing
        row = _signed_row(session, zone, latest + 1, text, actor)
        session.add(row)
        try:
            session.commit()
        except IntegrityError:
            session.rollback()
            continue
        return row
    raise PublishContention(f"zone {zone}: too many simultaneous publishes, retry later")


def _signed_row(session: Session, zone: str, version: int, text: str, actor: str) -> Policy:
    key = active_key(session, POLICY_SIGN)
    served = served_text(zone, version, text)
    return Policy(
        zone=zone, version=version, text=text, created_by=actor, key_id=int(key.id or 0),
        sha256=hashlib.sha256(served.encode("utf-8")).hexdigest(),
        signature=sign_text(key, served),
    )


@dataclass(frozen=True)
class PolicyDocument:
    zone: str
    version: int
    policy: str
    sha256: str
    signature: str
    key_id: int
    public_key: str
    algorithm: str = "Ed25519"
    #: Endorsements from each earlier signing key to the next (see console.signing).
    key_chain: tuple[dict[str, str], ...] = ()

    @property
    def etag(self) -> str:
        """Changes with the signing key too, so agents fetch a re-signed policy and its chain."""
        return f'"{self.zone}-{self.version}-k{self.key_id}-{self.sha256[:16]}"'


def policy_document(session: Session, row: Policy) -> PolicyDocument:
    from console.tables import KeyMaterial

    key = session.get(KeyMaterial, row.key_id)
    return PolicyDocument(
        zone=row.zone, version=row.version, policy=served_text(row.zone, row.version, row.text),
        sha256=row.sha256, signature=row.signature, key_id=row.key_id,
        public_key=public_key_b64(key) if key else "", key_chain=tuple(key_chain(session)),
    )


def rotate_signing_key(session: Session) -> tuple[int, int]:
    """New policy-signing key (endorsed by the old one); re-sign each zone's current policy.

    One transaction: agents see either the old key and signatures or the new ones, never a mix.
    Returns the new key's id and how many policies were re-signed."""
    key = rotate_policy_key(session)
    newest = select(Policy.zone, func.max(Policy.version)).group_by(Policy.zone)
    resigned = 0
    for zone, version in session.exec(newest).all():
        row = session.exec(select(Policy).where(Policy.zone == zone, Policy.version == version)).one()
        row.signature, row.key_id = sign_text(key, served_text(row.zone, row.version, row.text)), int(key.id or 0)
        session.add(row)
        resigned += 1
    session.commit()
    return int(key.id or 0), resigned


def list_versions(session: Session, zone: str) -> list[Policy]:
    query = select(Policy).where(Policy.zone == zone).order_by(Policy.version.desc())  # type: ignore[attr-defined]
    return list(session.exec(query).all())
