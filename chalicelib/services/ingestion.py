"""Events: accepted from apps onto the queue, then counted exactly once by the queue's consumer.

Accepting (POST /events): the whole batch is validated first (one invalid event refuses it all,
nothing is queued), then its events go to SQS, several to a message.

The queue's consumer, which counts them, is chalicelib/services/consumer.py.
"""

import json
import logging
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any, Protocol

from pydantic import ValidationError

from chalicelib import observability
from chalicelib.adapters.dynamo import App
from chalicelib.adapters.events import EventQueue, QueueUnavailable
from chalicelib.api import bodies
from chalicelib.api.models import EVENT_TYPES, ClientEvent, PostEvents
from chalicelib.domain import questions
from chalicelib.domain.eligibility import Device
from chalicelib.errors import InvalidInput
from chalicelib.services import clock
from chalicelib.services.access import Access

log = logging.getLogger("herald.ingestion")

MAX_BODY_BYTES = 256 * 1024
MAX_FUTURE = timedelta(hours=24)
MAX_PAST = timedelta(days=30)
EVENTS_PER_MESSAGE = 10
MAX_MESSAGE_BYTES = 64 * 1024


def parse_events(raw: bytes | None, now: datetime) -> PostEvents:
    """The validated batch, or InvalidInput naming each bad event's index and field."""
    bodies.parse_json_object(raw, MAX_BODY_BYTES)
    try:
        batch = PostEvents.model_validate_json(raw)
    except ValidationError as error:
        raise InvalidInput(_describe(error)) from None
    problems = [
        f"events[{index}].timestamp: {problem}"
        for index, event in enumerate(batch.events)
        if (problem := _timing_problem(event.timestamp, now))
    ]
    if problems:
        raise InvalidInput("; ".join(problems[: bodies.MAX_ERRORS_SHOWN]))
    return batch


def parse_event(data: dict[str, Any], now: datetime) -> ClientEvent:
    """One client event, checked as in a batch; InvalidInput naming the field (`timestamp: ...`)."""
    try:
        [event] = PostEvents.model_validate_json(json.dumps({"events": [data]})).events
    except ValidationError as error:
        raise InvalidInput(_describe(error).replace("events[0].", "")) from None
    problem = _timing_problem(event.timestamp, now)
    if problem:
        raise InvalidInput(f"timestamp: {problem}")
    return event


def _timing_problem(moment: datetime, now: datetime) -> str | None:
    if moment > now + MAX_FUTURE:
        return "more than 24 hours in the future"
    if moment < now - MAX_PAST:
        return "more than 30 days in the past"
    return None


def _describe(error: ValidationError) -> str:
    problems = [_problem(item) for item in error.errors()[: bodies.MAX_ERRORS_SHOWN]]
    if error.error_count() > len(problems):
        problems.append(f"and {error.error_count() - len(problems)} more")
    return "; ".join(problems)


def _problem(item: Mapping[str, Any]) -> str:
    """One error as `events[3].element: ...`: without the event type pydantic puts in the path
    of a discriminated union."""
    loc = list(item["loc"])
    if len(loc) > 2 and loc[0] == "events" and loc[2] in EVENT_TYPES:
        del loc[2]
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        elif "[" not in part and part != "function-after":
            path += f".{part}" if path else part
    if item["type"] in ("union_tag_invalid", "union_tag_not_found"):
        return f"{path}.type: must be one of {', '.join(EVENT_TYPES)}"
    if item["type"] == "extra_forbidden":
        return f"{path}: unknown field"
    return f"{path}: {item['msg'].removeprefix('Value error, ')}"


def pack(app_id: str, events: list[dict[str, Any]], held_since: float | None = None) -> list[str]:
    """Queue message bodies holding the events, EVENTS_PER_MESSAGE (or MAX_MESSAGE_BYTES) each;
    `held_since` marks events the consumer sent back (see integrity)."""
    envelope: dict[str, Any] = {"app_id": app_id}
    if held_since is not None:
        envelope["held_since"] = held_since
    messages: list[str] = []
    group: list[dict[str, Any]] = []
    size = 0
    for event in events:
        length = len(json.dumps(event))
        if group and (len(group) == EVENTS_PER_MESSAGE or size + length > MAX_MESSAGE_BYTES):
            messages.append(json.dumps({**envelope, "events": group}))
            group, size = [], 0
        group.append(event)
        size += length
    if group:
        messages.append(json.dumps({**envelope, "events": group}))
    return messages


class Catalogs(Protocol):
    """The fetch's compiled engagements per app (services/delivery.py's CatalogCache)."""

    def for_app(self, app: App) -> Any: ...


def answer_problems(batch: PostEvents, engagements: Iterable[Any]) -> list[str]:
    """What is wrong with the batch's answers, against the questions of the app's engagements as
    the fetch has them. An answer about an engagement or variant the app does not have is left to
    the consumer, which drops or refuses it like any event about them."""
    by_id = {engagement.engagement_id: engagement for engagement in engagements}
    problems = []
    for index, event in enumerate(batch.events):
        if event.type != "response" or event.engagement_id not in by_id:
            continue
        message = by_id[event.engagement_id].messages.get(event.variant)
        if message is None:
            continue
        question = message.get("question")
        if question is None:
            problems.append(f"events[{index}].variant: variant {event.variant} asks no question")
        elif problem := questions.answer_problem(question, event.value):
            problems.append(f"events[{index}].value: {problem}")
    return problems


class EventIntake:
    def __init__(self, access: Access, queue: EventQueue, catalogs: Catalogs | None = None):
        self._access = access
        self._queue = queue
        self._catalogs = catalogs

    def accept(self, app_id: str, client_key: str | None, raw: bytes | None) -> int:
        """Queue a valid batch of the app's events; the number accepted. Answers are checked
        against their question here (a rating of 7 is a 400), with the catalog the fetch keeps
        in memory: no DynamoDB request while the app's engagements have not changed."""
        app = self._access.require_client(app_id, client_key)
        batch = parse_events(raw, clock.now())
        if self._catalogs is not None and any(e.type == "response" for e in batch.events):
            problems = answer_problems(batch, self._catalogs.for_app(app).engagements)
            if problems:
                raise InvalidInput("; ".join(problems[: bodies.MAX_ERRORS_SHOWN]))
        return self.enqueue(app_id, batch.events)

    def enqueue(self, app_id: str, events: list[ClientEvent]) -> int:
        """Queue validated events of the app, whose sender the caller has checked."""
        dumped = [event.model_dump(mode="json", exclude_defaults=True) for event in events]
        self._queue.send(pack(app_id, dumped))
        observability.count(observability.EVENTS_ACCEPTED, len(dumped))
        return len(dumped)


class ControlAssignments:
    """Counts control-group subjects when a fetch finds them, through the events queue: an SQS
    send, so the fetch stays at two DynamoDB requests. The event id derives from the engagement
    and the subject, and the consumer records the assignment in the subject's history, which the
    fetch reads: a subject is sent until it is recorded, and counted once."""

    def __init__(self, queue: EventQueue):
        self._queue = queue

    def record(self, app_id: str, device: Device, engagement_ids: list[str], now: datetime) -> None:
        events = [
            {
                "id": f"assigned#{engagement_id}#{device.subject}",
                "type": "assigned",
                "device_id": device.device_id,
                "subject": device.subject,
                "engagement_id": engagement_id,
                "timestamp": clock.iso(now),
            }
            for engagement_id in engagement_ids
        ]
        try:
            self._queue.send(pack(app_id, events))
        except QueueUnavailable:
            log.warning("control assignments not queued; the next fetch sends them again")
