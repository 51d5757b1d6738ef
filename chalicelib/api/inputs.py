"""What a request's text may say, before any model reads it: JSON without NaN or infinities,
date-times as RFC 3339 text within years 1000-9998, numbers in ASCII digits.

The OpenAPI document states these rules (patterns for `limit` and `cursor`; date-times as
`format: date-time` with the year bound in their description).
"""

import json
import math
import re
from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import AfterValidator, AwareDatetime, BeforeValidator, Strict, WithJsonSchema

from chalicelib.errors import InvalidInput

FIRST_YEAR = 1000
LAST_YEAR = 9998  # 9999 leaves no room for the offsets and the rounding up of a schedule

_YEAR = r"(?:1[0-9]{3}|[2-8][0-9]{3}|9[0-8][0-9]{2}|99[0-8][0-9]|999[0-8])"
_DATE = _YEAR + r"-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12][0-9]|3[01])"
_TIME = r"(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](?:\.[0-9]{1,6})?"
_OFFSET = r"(?:[Zz]|[+-](?:[01][0-9]|2[0-3]):[0-5][0-9])"
INSTANT_PATTERN = f"^{_DATE}[Tt]{_TIME}{_OFFSET}$"
_INSTANT = re.compile(INSTANT_PATTERN)
INSTANT_DESCRIPTION = (
    "An RFC 3339 date-time with an offset (Z or ±hh:mm), years 1000-9998, also once converted "
    "to UTC."
)


def _instant_text(value: Any) -> Any:
    """Only RFC 3339 text: not a number, not a numeric string (pydantic would read both as
    seconds since 1970), not Unicode digits."""
    if not isinstance(value, str) or not _INSTANT.match(value):
        raise ValueError(
            "must be an RFC 3339 date-time with an offset, e.g. 2026-12-01T09:00:00+01:00 "
            f"(years {FIRST_YEAR}-{LAST_YEAR})"
        )
    return value


def _instant_in_range(value: datetime) -> datetime:
    try:
        year = value.astimezone(UTC).year
    except OverflowError:
        year = 0
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise ValueError(f"must fall within the years {FIRST_YEAR}-{LAST_YEAR} in UTC")
    return value


# Not strict: the text has passed the pattern; pydantic then reads it as a date-time.
Instant = Annotated[
    AwareDatetime,
    Strict(False),
    BeforeValidator(_instant_text),
    AfterValidator(_instant_in_range),
    WithJsonSchema(
        {
            "type": "string",
            "format": "date-time",
            "pattern": INSTANT_PATTERN,
            "description": INSTANT_DESCRIPTION,
        }
    ),
]


def _refuse_constant(name: str) -> float:
    raise ValueError(f"{name} is not a JSON number")


def _finite_float(text: str) -> float | int:
    """A finite number; one with no fraction (`3.0`, `1e2`) is that integer, as JSON Schema
    counts it, so an integer field takes it."""
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"{text} is too large for a number")
    return int(value) if value.is_integer() else value


def loads(raw: bytes | str) -> Any:
    """json.loads, refusing NaN, Infinity and numbers too large for a double (1e400); integral
    numbers written with a fraction or an exponent are integers."""
    return json.loads(raw, parse_constant=_refuse_constant, parse_float=_finite_float)


# --- query strings -----------------------------------------------------------------------------

LIMIT_PATTERN = r"^(?:100|[1-9][0-9]?)$"
_LIMIT = re.compile(LIMIT_PATTERN)


def whole_number(value: str, pattern: re.Pattern[str], message: str) -> int:
    """An integer written in ASCII digits only (str.isdigit also takes '²', '①' and '٣')."""
    if not pattern.match(value):
        raise InvalidInput(message)
    return int(value)


def limit(value: str, maximum: int) -> int:
    return whole_number(value, _LIMIT, f"limit: must be a whole number from 1 to {maximum}")
