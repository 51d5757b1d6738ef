"""Amazon Pinpoint's in-app messaging REST dialect (SPEC §6.3), as Amplify JS and boto3 speak it.

A translation only: requests become calls of Herald's services (devices, the one eligibility
decision, the events intake), their answers become Pinpoint's JSON. No rule is decided here,
except which of Herald's trigger conditions Pinpoint's event filter can carry (`triggers`).
"""

from typing import Any

from chalicelib.api import bodies
from chalicelib.dialects.pinpoint.errors import error_body, error_headers, status_of
from chalicelib.dialects.pinpoint.service import PinpointDialect, request_id
from chalicelib.dialects.pinpoint.triggers import DIALECT, ON_ANY_EVENT
from chalicelib.errors import InvalidInput
from chalicelib.services.ingestion import MAX_BODY_BYTES

BATCH = "BatchItem"  # PutEvents' top-level key
HERALD_EVENTS = "events"  # Herald's


def events_body(raw: bytes | None) -> dict[str, Any]:
    """The body of `POST /v1/apps/{app_id}/events`, with exactly one of the two dialects'
    top-level keys."""
    body = bodies.parse_json_object(raw, MAX_BODY_BYTES)
    if BATCH in body and HERALD_EVENTS in body:
        raise InvalidInput(f'send "{HERALD_EVENTS}" (Herald) or "{BATCH}" (Pinpoint), not both')
    if BATCH not in body and HERALD_EVENTS not in body:
        raise InvalidInput(
            f'{HERALD_EVENTS}: Field required (or "{BATCH}" for Pinpoint\'s PutEvents)'
        )
    return body


__all__ = [
    "BATCH",
    "DIALECT",
    "ON_ANY_EVENT",
    "PinpointDialect",
    "error_body",
    "error_headers",
    "events_body",
    "request_id",
    "status_of",
]
