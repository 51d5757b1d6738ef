"""API keys: long random secrets, stored only as SHA-256 hashes, compared in constant time.

A key names the app it belongs to (`herald_admin_<app_id>_<secret>`), so a key of one app used on
another app's route can be refused as forbidden without a lookup by secret. The secret carries
256 bits of entropy, which is why a fast hash is enough (no password stretching is needed).
"""

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass

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


def parse(key: str) -> ParsedKey | None:
    found = _KEY.match(key)
    if not found:
        return None
    return ParsedKey(kind=found.group(1), app_id=found.group(2))
