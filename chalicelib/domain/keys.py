"""API keys: long random secrets, stored only as SHA-256 hashes, compared in constant time.

A key names the app it belongs to (`herald_admin_<app_id>_<secret>`), so a key of one app used on
another app's route can be refused as forbidden without a lookup by secret. The secret carries
256 bits of entropy, which is why a fast hash is enough (no password stretching is needed).
"""

import hashlib
import hmac
import math
import re
import secrets
from dataclasses import dataclass
from datetime import datetime

ADMIN = "admin"
CLIENT = "client"
_KEY = re.compile(r"^herald_(admin|client)_([a-z0-9]{1,64})_([0-9a-f]{64})$")


@dataclass(frozen=True)
class ParsedKey:
    kind: str
    app_id: str


def new_key(kind: str, app_id: str) -> str:
    return f"herald_{kind}_{app_id}_{secrets.token_hex(32)}"


def new_root_key() -> str:
    return f"herald_root_{secrets.token_hex(32)}"


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def matches(key: str, expected_hash: str) -> bool:
    """Constant-time comparison of a presented key against a stored hash."""
    if not expected_hash:
        return False
    return hmac.compare_digest(hash_key(key), expected_hash)


def matches_any(key: str, current_hash: str, previous_hash: str | None, still_valid: bool) -> bool:
    """Whether `key` is the current key or, while its overlap lasts, the previous one (both
    compared, in constant time, whatever the first answers)."""
    current = matches(key, current_hash)
    previous = matches(key, previous_hash or "") and still_valid
    return current or previous


def fingerprint(key_hash: str) -> str:
    """A key's public name: the first 16 hex digits of its SHA-256 (what is stored), so an owner
    can tell which key an app has (`sha256sum` of the key) without the key ever being shown."""
    return key_hash[:16]


MIN_ROOT_KEY_LENGTH = 32
MIN_ROOT_KEY_BITS = 128


def root_key_problem(key: str) -> str | None:
    """Why a root key chosen by hand is too weak, or None. The estimate is generous to the key
    (length times the bits of its alphabet as used), so it only refuses what is plainly weak."""
    if len(key) < MIN_ROOT_KEY_LENGTH:
        return f"a root key needs at least {MIN_ROOT_KEY_LENGTH} characters"
    if any(char.isspace() or not char.isprintable() for char in key):
        return "a root key has no spaces or control characters"
    if len(key) * math.log2(len(set(key))) < MIN_ROOT_KEY_BITS:
        return "this root key is too predictable: use python -m deploy root-key"
    return None


def expired(expires_at: str | None, now: datetime) -> bool:
    return expires_at is None or datetime.fromisoformat(expires_at) <= now


def parse(key: str) -> ParsedKey | None:
    found = _KEY.match(key)
    if not found:
        return None
    return ParsedKey(kind=found.group(1), app_id=found.group(2))
