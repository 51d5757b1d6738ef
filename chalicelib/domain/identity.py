"""Identity verification (SPEC §7.1): the app's backend proves a user id with
`user_token = hex(HMAC-SHA256(identity_secret, user_id))`, and Herald checks it in constant time.

An app holds at most two secrets: the current one and, after a rotation, the previous one until
the overlap its owner chose ends. Each has a short id (`sec_…`), which a device's registration
records when its user id was proven, so a device proven with a secret that has since expired is
anonymous again. The secret itself must be kept to verify an HMAC (a hash of it would not do);
how it is protected at rest is in README "Security model".
"""

import hashlib
import hmac
import json
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

REQUIRED = "required"
OFF = "off"
_TOKEN = re.compile(r"^[0-9a-fA-F]{64}$")


@dataclass(frozen=True)
class Secret:
    secret_id: str
    secret: str  # 64 hex characters
    expires_at: datetime | None = None  # None: the current secret

    def valid_at(self, now: datetime) -> bool:
        return self.expires_at is None or now < self.expires_at


def new_secret() -> Secret:
    return Secret(secret_id=f"sec_{secrets.token_hex(6)}", secret=secrets.token_hex(32))


def user_token(secret: str, user_id: str) -> str:
    """What the app's backend computes for a signed-in user."""
    return hmac.new(secret.encode(), user_id.encode(), hashlib.sha256).hexdigest()


def verify(valid: Iterable[Secret], user_id: str, token: str | None) -> str | None:
    """The id of the secret that proves `token` for `user_id`, or None. Every valid secret is
    compared, in constant time, whichever matches."""
    if token is None or not _TOKEN.match(token):
        return None
    proven = None
    for candidate in valid:
        if hmac.compare_digest(user_token(candidate.secret, user_id), token.lower()):
            proven = candidate.secret_id
    return proven


def load(stored: str | None) -> tuple[Secret, ...]:
    """The secrets as the app stores them (JSON)."""
    return tuple(
        Secret(
            item["secret_id"],
            item["secret"],
            datetime.fromisoformat(item["expires_at"]) if item.get("expires_at") else None,
        )
        for item in json.loads(stored or "[]")
    )


def dump(stored: Iterable[Secret]) -> str:
    return json.dumps(
        [
            {
                "secret_id": item.secret_id,
                "secret": item.secret,
                "expires_at": item.expires_at.isoformat() if item.expires_at else None,
            }
            for item in stored
        ]
    )


def valid(stored: Iterable[Secret], now: datetime) -> tuple[Secret, ...]:
    return tuple(item for item in stored if item.valid_at(now))


def trusted_user(
    mode: str | None,
    stored: Iterable[Secret],
    user_id: str | None,
    verified_by: str | None,
    now: datetime,
) -> str | None:
    """The user id a device may be treated as: the one it registered with, unless the app
    requires proof and that proof (the secret that verified it) is gone. None: anonymous."""
    if mode != REQUIRED:
        return user_id
    if user_id is None or verified_by is None:
        return None
    return user_id if any(item.secret_id == verified_by for item in valid(stored, now)) else None
