"""Optimistic concurrency: `If-Match: <version>` on updates."""

import re

from chalicelib.errors import Conflict, InvalidInput, PreconditionRequired

VERSION_PATTERN = r'^(W/)?"?([0-9]{1,12})"?$'
_VERSION = re.compile(VERSION_PATTERN)


def check_version(if_match: str | None, current: int, required: bool) -> None:
    """Raise unless `If-Match` names the current version (or is absent and not required)."""
    if if_match is None or not if_match.strip():
        if required:
            raise PreconditionRequired("send 'If-Match: <version>' with the version you read")
        return
    found = _VERSION.match(if_match.strip())
    if not found:
        raise InvalidInput("If-Match: must be the version number you read, e.g. 3")
    if int(found.group(2)) != current:
        raise Conflict(
            f"version {found.group(2)} is stale: the current version is {current}; "
            "read it again and retry"
        )
