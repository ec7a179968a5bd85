"""Policy sync: verify the console's Ed25519 signature, keep the last good policy, persist it.

The file on disk is the console's signed answer as received, and it is verified again at boot,
so a policy edited on the PC is refused exactly like one forged on the wire.

Key rotation: the answer carries ``key_chain``, endorsements from each earlier signing key to the
next (console/signing.py). Starting from the key it trusts, the agent follows only links signed
by a key it already trusts, and reports the key that verified the policy so the caller can pin
it (after which the older keys are no longer trusted).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey


class PolicyVerifyError(ValueError):
    """The console's policy answer is malformed or its signature does not verify."""


ENDORSEMENT_CONTEXT = b"leakguard policy key endorsement v1\n"
MAX_CHAIN = 1000


@dataclass(frozen=True)
class SignedPolicy:
    text: str
    zone: str | None
    version: int | None
    sha256: str
    etag: str | None
    raw: dict[str, Any]
    #: Raw public key that verified the policy: the pinned one, or a newer one reached by the chain.
    signer: bytes = b""


def decode_key(value: str) -> Ed25519PublicKey:
    """An Ed25519 public key given as base64 or hex of its 32 raw bytes, or as PEM."""
    from cryptography.hazmat.primitives.serialization import load_pem_public_key

    if value.strip().startswith("-----BEGIN"):
        key = load_pem_public_key(value.encode())
        if not isinstance(key, Ed25519PublicKey):
            raise PolicyVerifyError("the console's policy key is not an Ed25519 key")
        return key
    return Ed25519PublicKey.from_public_bytes(_decode_bytes(value, 32, "public key"))


def _decode_bytes(value: str, length: int, what: str) -> bytes:
    for decoder in (bytes.fromhex, base64.b64decode, base64.urlsafe_b64decode):
        try:
            raw = decoder(value) if decoder is bytes.fromhex else decoder(value + "=" * (-len(value) % 4))
        except (ValueError, binascii.Error):
            continue
        if len(raw) == length:
            return raw
    raise PolicyVerifyError(f"the {what} is not {length} bytes of hex or base64")


def follow_key_chain(chain: Any, key: Ed25519PublicKey) -> Ed25519PublicKey:
    """The newest key reachable from ``key`` through endorsements each signed by a trusted key."""
    if chain is None:
        return key
    if not isinstance(chain, list) or len(chain) > MAX_CHAIN:
        raise PolicyVerifyError("the policy's key_chain is not a list of endorsements")
    current = key.public_bytes_raw()
    for number, link in enumerate(chain):
        if not isinstance(link, dict) or not all(isinstance(link.get(f), str) for f in ("from", "to", "signature")):
            raise PolicyVerifyError(f"key_chain[{number}] needs string fields from, to and signature")
        old = _decode_bytes(link["from"], 32, f"key_chain[{number}].from")
        if old != current:
            continue  # a link from a key this agent never trusted (or already left behind)
        new = _decode_bytes(link["to"], 32, f"key_chain[{number}].to")
        try:
            Ed25519PublicKey.from_public_bytes(old).verify(
                _decode_bytes(link["signature"], 64, f"key_chain[{number}].signature"),
                ENDORSEMENT_CONTEXT + old + new)
        except InvalidSignature as exc:
            raise PolicyVerifyError(f"key_chain[{number}]: the endorsement does not verify") from exc
        current = new
    return Ed25519PublicKey.from_public_bytes(current)


def verify_policy(body: Any, key: Ed25519PublicKey, *, etag: str | None = None) -> SignedPolicy:
    """Check the shape and the signature (over the policy text's UTF-8 bytes) of a policy answer,
    with ``key`` or a newer key that ``key`` endorsed through the answer's ``key_chain``."""
    if not isinstance(body, dict):
        raise PolicyVerifyError("policy answer is not a JSON object")
    text, signature = body.get("policy", body.get("text")), body.get("signature")
    if not isinstance(text, str) or not isinstance(signature, str):
        raise PolicyVerifyError("policy answer lacks the policy text or its signature")
    data = text.encode("utf-8")
    signer = follow_key_chain(body.get("key_chain"), key)
    try:
        signer.verify(_decode_bytes(signature, 64, "signature"), data)
    except InvalidSignature as exc:
        raise PolicyVerifyError("the policy signature does not verify with the console's key") from exc
    digest = hashlib.sha256(data).hexdigest()
    claimed = body.get("sha256")
    if isinstance(claimed, str) and claimed.lower() != digest:
        raise PolicyVerifyError("the policy's sha256 does not match its text")
    version = body.get("version")
    return SignedPolicy(
        text=text,
        zone=body.get("zone") if isinstance(body.get("zone"), str) else None,
        version=version if isinstance(version, int) else None,
        sha256=digest,
        etag=etag or body.get("etag"),
        raw=body,
        signer=signer.public_bytes_raw(),
    )
