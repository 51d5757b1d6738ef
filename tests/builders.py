"""Request bodies used across tests: the SPEC's example engagement, shifted to a chosen window."""

import copy
from datetime import UTC, datetime, timedelta, timezone

from chalicelib.api.openapi import AUDIENCE_EXAMPLE, ENGAGEMENT_EXAMPLE

PARIS_WINTER = timezone(timedelta(hours=1))

# The SPEC's example, as the OpenAPI document shows it.
SPEC_EXAMPLE = ENGAGEMENT_EXAMPLE


def at(offset: timedelta) -> str:
    """Now + offset, to the second, written with a +01:00 offset as a user in Paris would."""
    return (datetime.now(UTC) + offset).replace(microsecond=0).astimezone(PARIS_WINTER).isoformat()


def engagement(
    name: str = "Spring sale",
    start: timedelta = timedelta(days=1),
    end: timedelta = timedelta(days=8),
    **overrides,
) -> dict:
    """The SPEC example, named `name`, running from now+start to now+end."""
    body = copy.deepcopy(SPEC_EXAMPLE)
    body["name"] = name
    body["schedule"] = {"start_at": at(start), "end_at": at(end)}
    body.update(overrides)
    return body


def minimal_engagement(name: str = "Welcome", **overrides) -> dict:
    body = {
        "name": name,
        "variants": [{"key": "A", "message": {"layout": "banner_top", "title": "Hello"}}],
        "schedule": {"start_at": at(timedelta(days=1)), "end_at": at(timedelta(days=2))},
    }
    body.update(overrides)
    return body


FRENCH_USERS = AUDIENCE_EXAMPLE
