"""List parameters: `limit` and an opaque `cursor` (the id to continue after)."""

import base64
import binascii
import json
import re

from chalicelib.errors import InvalidInput

DEFAULT_LIMIT = 20
MAX_LIMIT = 100
_ID = re.compile(r"^[a-z0-9]{1,64}$")


def parse_limit(value: str | None) -> int:
    if value is None:
        return DEFAULT_LIMIT
    if not value.isdigit() or not 1 <= int(value) <= MAX_LIMIT:
        raise InvalidInput(f"limit: must be a whole number from 1 to {MAX_LIMIT}")
    return int(value)


def encode_cursor(last_id: str | None) -> str | None:
    if last_id is None:
        return None
    return base64.urlsafe_b64encode(json.dumps({"after": last_id}).encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> str | None:
    if cursor is None:
        return None
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        after = json.loads(base64.urlsafe_b64decode(padded.encode()))["after"]
    except (ValueError, KeyError, TypeError, binascii.Error, UnicodeDecodeError):
        raise InvalidInput("cursor: not a cursor returned by this list") from None
    if not isinstance(after, str) or not _ID.match(after):
        raise InvalidInput("cursor: not a cursor returned by this list")
    return after
