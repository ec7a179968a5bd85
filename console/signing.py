"""Key material kept in the database: the Ed25519 policy-signing key and watermark mark secrets.

A policy is signed over the UTF-8 bytes of the exact text served to agents (which names its
zone and version in a header line, see `console.policies`); the agent checks the signature with
the public key it received at enrollment.

Rotating the policy-signing key (`leakguard console rotate-keys`): the old key signs an
endorsement of the new one (``endorsement_message``), the endorsement is stored, the old private
key is wiped and the current policies are re-signed. Every policy answer carries the chain of
endorsements, so an agent pinned to any earlier key walks it link by link, each signed by the key
it already trusts, and then pins the newest key (a ratchet: once moved on, it no longer trusts
the old key). This is routine rotation. A key known to be stolen cannot be rotated away like
this, since the thief could endorse a key of their own: re-enroll the agents instead.

At rest: with a master key file (`LEAKGUARD_MASTER_KEY_FILE`, or `serve --master-key-file`; made by
`leakguard console master-key PATH`), the private signing key and the mark secrets are sealed in
the database with AES-256-GCM under that key (`console.sealing`: `LGK1`, a 96-bit nonce, the
ciphertext and its tag, the key's kind as associated data), so a copy of the database or of its backups alone neither
signs policies nor forges or reads marks. Keys kept in clear before a master key was given are
sealed at the next start. A console started without the master key (or with another one) over
sealed keys refuses to start, saying so. Without a master key file, keys are kept in clear, as
before, and the console warns at start. `leakguard console rekey` seals them under a new master key
(opening them with the old one).
"""

from __future__ import annotations

import base64
import logging
import secrets

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from sqlmodel import Session, col, select

from console.sealing import MASTER_KEY_ENV, SEALED_OVERHEAD, current_master, open_bytes, seal_bytes
from console.tables import KeyMaterial

log = logging.getLogger(__name__)

POLICY_SIGN = "policy_sign"
MARK_SECRET = "mark_secret"
#: A stored endorsement: ``secret`` is the old key's signature, ``public`` the old and new public keys.
POLICY_ENDORSEMENT = "policy_endorse"
ENDORSEMENT_CONTEXT = b"leakguard policy key endorsement v1\n"
SEALED = b"LGK1"  # a sealed key: SEALED, nonce, ciphertext, tag
_SEALED_KINDS = (POLICY_SIGN, MARK_SECRET)


def seal(kind: str, raw: bytes, master: bytes | None) -> bytes:
    """A key's secret sealed under `master` (kept as it is without one)."""
    if master is None or kind not in _SEALED_KINDS or not raw:
        return raw
    return seal_bytes(SEALED, raw, b"leakguard key material " + kind.encode(), master)


def is_sealed(stored: bytes) -> bool:
    return stored.startswith(SEALED) and len(stored) == len(SEALED) + SEALED_OVERHEAD + 32


def unseal(key: KeyMaterial) -> bytes:
    """A key's secret in clear."""
    if not is_sealed(key.secret):
        return key.secret
    return open_bytes(SEALED, key.secret, b"leakguard key material " + key.kind.encode(), "the console's keys")


def endorsement_message(old_public: bytes, new_public: bytes) -> bytes:
    return ENDORSEMENT_CONTEXT + old_public + new_public


def sign_text(key: KeyMaterial, text: str) -> str:
    private = Ed25519PrivateKey.from_private_bytes(unseal(key))
    return base64.b64encode(private.sign(text.encode("utf-8"))).decode("ascii")


def verify_text(public_key_b64: str, signature_b64: str, text: str) -> bool:
    """What an agent does; kept here so the console's tests prove the scheme end to end."""
    from cryptography.exceptions import InvalidSignature

    public = Ed25519PublicKey.from_public_bytes(base64.b64decode(public_key_b64))
    try:
        public.verify(base64.b64decode(signature_b64), text.encode("utf-8"))
    except InvalidSignature:
        return False
    return True


def public_key_b64(key: KeyMaterial) -> str:
    return base64.b64encode(key.public or b"").decode("ascii")


def active_key(session: Session, kind: str) -> KeyMaterial:
    """The newest active key of a kind; `ensure_keys` made one at start-up."""
    query = select(KeyMaterial).where(KeyMaterial.kind == kind, col(KeyMaterial.active))
    key = session.exec(query.order_by(col(KeyMaterial.id).desc())).first()
    if key is None:
        raise LookupError(f"no active {kind} key; run `leakguard console serve` once to create it")
    return key


def mark_secrets(session: Session) -> list[tuple[int, bytes]]:
    """Every mark secret ever issued, so that marks made before a rotation still resolve."""
    rows = session.exec(select(KeyMaterial).where(KeyMaterial.kind == MARK_SECRET)).all()
    return [(int(row.id or 0), unseal(row)) for row in rows]


def new_policy_key() -> KeyMaterial:
    private = Ed25519PrivateKey.generate()
    raw = private.private_bytes_raw()
    public = private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    return KeyMaterial(kind=POLICY_SIGN, secret=seal(POLICY_SIGN, raw, current_master()), public=public)


def new_mark_key() -> KeyMaterial:
    return KeyMaterial(kind=MARK_SECRET, secret=seal(MARK_SECRET, secrets.token_bytes(32), current_master()))


def ensure_keys(session: Session) -> None:
    """Seal keys kept in clear when a master key is given (and check that sealed ones open: a
    console that could not sign or resolve refuses to start), then make missing keys."""
    master = current_master()
    if master is None:
        log.warning("no master key file (%s): the console's private keys are kept in the database in clear",
                    MASTER_KEY_ENV)
    for row in session.exec(select(KeyMaterial).where(col(KeyMaterial.kind).in_(_SEALED_KINDS))).all():
        if is_sealed(row.secret):
            unseal(row)
        elif master is not None and row.secret:
            row.secret = seal(row.kind, row.secret, master)
            session.add(row)
    for kind, factory in ((POLICY_SIGN, new_policy_key), (MARK_SECRET, new_mark_key)):
        try:
            active_key(session, kind)
        except LookupError:
            session.add(factory())
    session.commit()


def reseal(session: Session, new_master: bytes) -> int:
    """Seal every key under `new_master` (opened with the master key given now, or kept in clear
    before); how many. One transaction: the caller commits."""
    rows = session.exec(select(KeyMaterial).where(col(KeyMaterial.kind).in_(_SEALED_KINDS))).all()
    resealed = 0
    for row in rows:
        if row.secret:
            row.secret = seal(row.kind, unseal(row), new_master)
            session.add(row)
            resealed += 1
    return resealed


def rotate_policy_key(session: Session) -> KeyMaterial:
    """Make a new policy-signing key, endorsed by the old one; wipe the old private key.

    Adds to the caller's transaction (the caller re-signs the current policies and commits)."""
    old = active_key(session, POLICY_SIGN)
    new = new_policy_key()
    old_public, new_public = old.public or b"", new.public or b""
    signature = Ed25519PrivateKey.from_private_bytes(unseal(old)).sign(endorsement_message(old_public, new_public))
    session.add(KeyMaterial(kind=POLICY_ENDORSEMENT, secret=signature, public=old_public + new_public))
    old.active, old.secret = False, b""
    session.add(old)
    session.add(new)
    session.flush()
    return new


def key_chain(session: Session) -> list[dict[str, str]]:
    """Every endorsement, oldest first, as the agents receive it."""
    rows = session.exec(select(KeyMaterial).where(KeyMaterial.kind == POLICY_ENDORSEMENT)
                        .order_by(col(KeyMaterial.id))).all()
    b64 = base64.b64encode
    return [{"from": b64((row.public or b"")[:32]).decode(), "to": b64((row.public or b"")[32:]).decode(),
             "signature": b64(row.secret).decode()} for row in rows]


def rotate_mark_secret(session: Session) -> int:
    """Add a new mark secret; old ones stay for resolving (only the newest issues marks)."""
    key = new_mark_key()
    session.add(key)
    session.commit()
    return int(key.id or 0)
