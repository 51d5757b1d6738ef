"""List parameters: `limit` and an opaque `cursor`.

The cursor is the id of the last item of the page, which the next page continues after; any
id-shaped cursor is a valid place to continue from (DynamoDB starts after that key whether or
not it exists), so the cursor's pattern is all there is to check: nothing nested, nothing to
decode.
"""

import re

from chalicelib.api import inputs
from chalicelib.errors import InvalidInput

DEFAULT_LIMIT = 20
MAX_LIMIT = 100
CURSOR_PATTERN = r"^[a-z]{3}[0-9a-f]{28}$"  # the shape of chalicelib.domain.ids.new_id
# the shape of chalicelib.adapters.dynamo.counting.answer_id (text answers page by it)
ANSWER_CURSOR_PATTERN = r"^[0-9]{13}[0-9a-f]{16}$"
_CURSOR = re.compile(CURSOR_PATTERN)
ANSWER_CURSOR = re.compile(ANSWER_CURSOR_PATTERN)


def parse_limit(value: str | None) -> int:
    if value is None:
        return DEFAULT_LIMIT
    return inputs.limit(value, MAX_LIMIT)


def encode_cursor(last_id: str | None) -> str | None:
    return last_id


def decode_cursor(cursor: str | None, shape: re.Pattern = _CURSOR) -> str | None:
    if cursor is None:
        return None
    if not shape.match(cursor):
        raise InvalidInput("cursor: not a cursor returned by this list")
    return cursor
