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
the database with AES-256-GCM under that key (`LGK1`, a 96-bit nonce, the ciphertext and its tag,
the key's kind as associated data), so a copy of the database or of its backups alone neither
signs policies nor forges or reads marks. Keys kept in clear before a master key was given are
sealed at the next start. A console started without the master key (or with another one) over
sealed keys refuses to start, saying so. Without a master key file, keys are kept in clear, as
before, and the console warns at start. `leakguard console rekey` seals them under a new master key
(opening them with the old one).
"""

from __future__ import annotations

import base64
import logging
import os
import secrets
import stat
from functools import lru_cache

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from sqlmodel import Session, col, select

from console.tables import KeyMaterial

log = logging.getLogger(__name__)

POLICY_SIGN = "policy_sign"
MARK_SECRET = "mark_secret"
#: A stored endorsement: ``secret`` is the old key's signature, ``public`` the old and new public keys.
POLICY_ENDORSEMENT = "policy_endorse"
ENDORSEMENT_CONTEXT = b"leakguard policy key endorsement v1\n"
SEALED = b"LGK1"  # a sealed secret: SEALED, nonce, ciphertext, tag
_SEALED_KINDS = (POLICY_SIGN, MARK_SECRET)
_NONCE, _TAG = 12, 16
MASTER_KEY_ENV = "LEAKGUARD_MASTER_KEY_FILE"


class LockedKeys(Exception):
    """Key material this console cannot open: sealed under a master key it was not given (or under
    another one), or a master key file that is not one."""


def new_master_key(path: str) -> None:
    """Write a new master key (32 random bytes, base64) to `path`, readable by its owner only;
    never over an existing file."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(base64.b64encode(secrets.token_bytes(32)).decode("ascii") + "\n")


@lru_cache(maxsize=4)
def master_key(path: str | None) -> bytes | None:
    """The master key in the file at `path` (32 bytes, raw or base64); None without a path."""
    if not path:
        return None
    try:
        with open(path, "rb") as handle:
            raw = handle.read(1024)
            mode = os.fstat(handle.fileno()).st_mode
    except OSError as exc:
        raise LockedKeys(f"master key file {path}: {exc.strerror or exc}") from None
    if len(raw) != 32:
        try:
            raw = base64.b64decode(raw.strip(), validate=True)
        except ValueError:
            raw = b""
    if len(raw) != 32:
        raise LockedKeys(f"master key file {path}: not a master key (32 random bytes, or their base64)")
    if stat.S_IMODE(mode) & 0o077:
        log.warning("master key file %s can be read by others than its owner (chmod 600 it)", path)
    return raw


def _master() -> bytes | None:
    return master_key(os.environ.get(MASTER_KEY_ENV) or None)


def seal(kind: str, raw: bytes, master: bytes | None) -> bytes:
    """`raw` sealed under `master` (kept as it is without one)."""
    if master is None or kind not in _SEALED_KINDS or not raw:
        return raw
    nonce = secrets.token_bytes(_NONCE)
    return SEALED + nonce + AESGCM(master).encrypt(nonce, raw, b"leakguard key material " + kind.encode())


def is_sealed(stored: bytes) -> bool:
    return stored.startswith(SEALED) and len(stored) == len(SEALED) + _NONCE + 32 + _TAG


def unseal(key: KeyMaterial) -> bytes:
    """A key's secret in clear."""
    if not is_sealed(key.secret):
        return key.secret
    master = _master()
    if master is None:
        raise LockedKeys(f"the console's keys are sealed under a master key: give its file in {MASTER_KEY_ENV} "
                         "(or serve --master-key-file)")
    body = key.secret[len(SEALED):]
    try:
        return AESGCM(master).decrypt(body[:_NONCE], body[_NONCE:], b"leakguard key material " + key.kind.encode())
    except InvalidTag:
        raise LockedKeys(f"the master key in {os.environ.get(MASTER_KEY_ENV)} does not open the console's keys "
                         "(they were sealed under another one)") from None


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
    return KeyMaterial(kind=POLICY_SIGN, secret=seal(POLICY_SIGN, raw, _master()), public=public)


def new_mark_key() -> KeyMaterial:
    return KeyMaterial(kind=MARK_SECRET, secret=seal(MARK_SECRET, secrets.token_bytes(32), _master()))


def ensure_keys(session: Session) -> None:
    """Seal keys kept in clear when a master key is given (and check that sealed ones open: a
    console that could not sign or resolve refuses to start), then make missing keys."""
    master = _master()
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
