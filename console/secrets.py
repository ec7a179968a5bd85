"""Tokens and passwords: high-entropy tokens are kept as SHA-256, human passwords as argon2."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

#: Prefixes make a leaked token recognisable to secret scanners and to people.
AGENT_PREFIX = "lga_"
ENROLL_PREFIX = "lge_"
SESSION_PREFIX = "lgs_"
API_PREFIX = "lgp_"


def new_token(prefix: str) -> str:
    """A 256-bit random token."""
    return prefix + secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def same_hash(a: str, b: str) -> bool:
    return hmac.compare_digest(a, b)


@lru_cache(maxsize=1)
def _hasher() -> PasswordHasher:
    return PasswordHasher()


def hash_password(password: str) -> str:
    return _hasher().hash(password)


def verify_password(stored_hash: str, password: str) -> bool:
    try:
        return _hasher().verify(stored_hash, password)
    except (VerificationError, InvalidHashError):
        return False


#: Verified against when a username is unknown, so that timing does not reveal which names exist.
DUMMY_HASH = "$argon2id$v=19$m=65536,t=3,p=4$mCWq+ZJXOuTEIm5YmHfTxw$OGf6ZxSAY6zcnb9Udx500MPyNOEXqJi/DwPQ3PLeKyw"
