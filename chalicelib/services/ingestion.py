"""Events: accepted from apps onto the queue, then counted exactly once by the queue's consumer.

Accepting (POST /events): the whole batch is validated first (one invalid event refuses it all,
nothing is queued), then its events go to SQS, several to a message.

Counting (the SQS consumer), for each batch of messages:
- A message whose body is not a valid `QueuedEvents` is poison: it is reported failed, so SQS
  delivers it again and, after the queue's maxReceiveCount, moves it to the dead-letter queue,
  where it can be looked at. Nothing of it counts. (The API only queues valid events, so such a
  message is a bug or a foreign producer: keeping it beats dropping it.)
- A well-formed event about an engagement or variant the app does not have (deleted since, or a
  client bug) is dropped with a warning: no retry could ever count it.
- The rest is counted in chunks, one DynamoDB transaction each (at most 100 items): the chunk's
  event markers (condition: not there yet), one counter update per (engagement, group, day) with
  every metric's ADD, the delivery histories it changes (condition: the version read), and the
  reach markers (condition: as read). All or nothing, so a crash before the commit counts none of
  the chunk and after it all of it; a copy of an event then finds its marker and is skipped.
- A transaction cancelled by a condition (another consumer counted some of the same things in
  the meantime) makes the consumer read again and count what is still uncounted. Any other
  failure (throttling, an unreachable table) fails the messages of that chunk: SQS redelivers
  them, and what was committed before is skipped by its markers.

Integrity (SPEC §7.3, chalicelib/domain/integrity.py): an event is one per (app, device, id); an
event of an unregistered device, of an unknown variant or on an unknown element is refused and
counted under its reason (`rejected` in the report), with its marker, in the same transaction; a
click, dismissal or render error that no counted impression of its subject allows yet is held:
sent back to the queue with a delay and `held_since`, and refused as `no_impression` once its
window has passed. A held event writes nothing, so its copies and its later look stay exactly
once; when sending it back fails, its messages fail and SQS delivers them again.
"""

import json
import logging
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from botocore.exceptions import BotoCoreError
from pydantic import ValidationError
from pynamodb.exceptions import PynamoDBException

from chalicelib import observability
from chalicelib.adapters.dynamo import (
    MAX_TRANSACTION_BYTES,
    AnswerWrite,
    App,
    Apps,
    AudienceRules,
    Contention,
    CountingWrite,
    DeviceUsers,
    Engagements,
    EventCounts,
    HistoryWrite,
    ReachWrite,
    TooLarge,
    answer_id,
    counter_bucket,
    counter_key,
    event_marker,
    reach_marker,
    subject_key,
)
from chalicelib.adapters.events import EventQueue, QueueUnavailable
from chalicelib.api import bodies
from chalicelib.api.models import (
    EVENT_TYPES,
    ClientEvent,
    PostEvents,
    QueuedEvent,
    QueuedEvents,
)
from chalicelib.domain import (
    assignment,
    history,
    identity,
    integrity,
    profile,
    questions,
    rules,
    tally,
)
from chalicelib.domain.eligibility import Device
from chalicelib.domain.history import Entry
from chalicelib.domain.integrity import ENGAGED_TYPES
from chalicelib.domain.tally import EngagementFacts, Increment
from chalicelib.errors import InvalidInput
from chalicelib.services import clock
from chalicelib.services.access import Access

log = logging.getLogger("herald.ingestion")

MAX_BODY_BYTES = 256 * 1024
MAX_FUTURE = timedelta(hours=24)
MAX_PAST = timedelta(days=30)
EVENTS_PER_MESSAGE = 10
MAX_MESSAGE_BYTES = 64 * 1024
MAX_TRANSACTION_ITEMS = 100  # DynamoDB's limit for TransactWriteItems
MAX_CHUNK_BYTES = MAX_TRANSACTION_BYTES // 2  # the estimate leaves room for what it leaves out
MAX_CONTENTION_RETRIES = 5
TOO_LARGE = "too_large"  # EventsRejected reason of an event no transaction can hold
CACHED_APPS = 256


# --- accepting ---------------------------------------------------------------------------------


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


# --- counting ----------------------------------------------------------------------------------


@dataclass
class _Pending:
    """An event to count, and the messages that carried it (a copy may be in several)."""

    key: str  # its event marker
    event: QueuedEvent
    at: float  # epoch seconds
    messages: set[str] = field(default_factory=set)
    held_since: float | None = None  # when the consumer first held it (the oldest copy's)
    refusal: str | None = None  # why it is refused, if it is (an integrity reason)

    def held(self, since: float | None) -> None:
        if since is not None and (self.held_since is None or since < self.held_since):
            self.held_since = since


@dataclass
class _State:
    """What counting is based on, as read, then as the planned chunks leave it."""

    counted: set[str]  # event markers found
    histories: dict[str, dict[str, Any]]  # subject key -> history map
    versions: dict[str, int | None]
    reach: dict[str, tuple[float, str]]  # reach marker -> (moment, group)
    reach_expiry: dict[str, float | None] = field(default_factory=dict)  # reach marker -> TTL
    profiles: dict[str, dict[str, Any]] = field(default_factory=dict)  # subject key -> profile

    def entry(self, key: str, engagement_id: str) -> Entry:
        """The entry of an engagement in the history of the subject whose record is `key`."""
        return Entry.read(self.histories.get(key, {}).get(engagement_id, {}))

    def profile(self, key: str) -> dict[str, Any]:
        return self.profiles.get(key, {})


@dataclass
class _Change:
    """What one event changes."""

    entries: dict[str, dict[str, Entry]] = field(default_factory=dict)  # subject -> id -> entry
    reach: dict[str, tuple[float, str]] = field(default_factory=dict)
    increments: list[tuple[str, Increment]] = field(default_factory=list)  # (engagement, +n)
    profiles: dict[str, dict[str, Any]] = field(default_factory=dict)  # subject -> profile
    answers: list[AnswerWrite] = field(default_factory=list)
    reach_expiry: dict[str, float] = field(default_factory=dict)  # every marker of `reach`

    def __bool__(self) -> bool:
        return bool(self.entries or self.reach or self.increments or self.profiles)

    @property
    def subjects(self) -> set[str]:
        return self.entries.keys() | self.profiles.keys()


@dataclass
class _Chunk:
    """Events whose changes are written together, in one transaction."""

    pending: list[_Pending] = field(default_factory=list)
    subjects: dict[str, int | None] = field(default_factory=dict)  # key -> version expected
    reach: dict[str, tuple[float, str] | None] = field(default_factory=dict)  # key -> as before
    counters: dict[tuple[str, str, str], Counter] = field(default_factory=dict)
    answers: list[AnswerWrite] = field(default_factory=list)

    def items_with(self, change: _Change) -> int:
        counters = self.counters.keys() | {_counter_item(e, i) for e, i in change.increments}
        return (
            len(self.pending)
            + 1
            + len(self.subjects.keys() | change.subjects)
            + len(self.reach.keys() | change.reach.keys())
            + len(counters)
            + len(self.answers)
            + len(change.answers)
        )

    def bytes_with(self, change: _Change, state: _State) -> int:
        """About the bytes of the histories the chunk would rewrite with `change` (the rest of
        a chunk is small next to them)."""
        subjects = self.subjects.keys() | change.entries.keys()
        return sum(
            len(json.dumps(state.histories.get(subject, {}), ensure_ascii=False).encode())
            for subject in subjects
        )

    def add(self, pending: _Pending, change: _Change, state: _State) -> None:
        self.pending.append(pending)
        self.answers += change.answers
        for subject in change.subjects:
            self.subjects.setdefault(subject, state.versions.get(subject))
        for key in change.reach:
            self.reach.setdefault(key, state.reach.get(key))
        for engagement_id, increment in change.increments:
            counter = self.counters.setdefault(_counter_item(engagement_id, increment), Counter())
            counter[increment.metric] += increment.delta

    def write(
        self, app_id: str, state: _State, ends: Mapping[str, float], now: float
    ) -> CountingWrite:
        """The transaction, with the histories and reach as `state` has them now, histories
        without the entries no event needs any more (`ends`: engagement id -> end); `state` then
        holds the versions the transaction leaves."""
        histories = []
        for subject, version in self.subjects.items():
            # a copy: later chunks replace entries of the same map
            histories.append(
                HistoryWrite(
                    subject,
                    history.pruned(state.histories.get(subject, {}), ends, now),
                    version,
                    state.profiles.get(subject),
                )
            )
            state.versions[subject] = (version or 0) + 1
        counters = {}
        for (engagement_id, day, group), counts in self.counters.items():
            deltas = {metric: delta for metric, delta in counts.items() if delta}
            if deltas:
                key = (counter_key(app_id, engagement_id), counter_bucket(day, group))
                counters[key] = deltas
        return CountingWrite(
            event_markers=tuple(pending.key for pending in self.pending),
            reach=tuple(
                ReachWrite(
                    key,
                    *state.reach[key],
                    previous[0] if previous else None,
                    state.reach_expiry[key],
                )
                for key, previous in self.reach.items()
            ),
            histories=tuple(histories),
            counters=counters,
            answers=tuple(self.answers),
        )

    @property
    def messages(self) -> set[str]:
        return {message for pending in self.pending for message in pending.messages}


def _counter_item(engagement_id: str, increment: Increment) -> tuple[str, str, str]:
    return engagement_id, increment.day, increment.group


_HELD = _Change()  # what _change answers for an event held for its impression


class EveryMessageFailed(Exception):
    """Every message of a batch failed: the handler raises it, so that SQS retries the whole
    batch even on a mapping that does not read partial batch responses."""


class EventConsumer:
    def __init__(
        self,
        apps: Apps,
        engagements: Engagements,
        device_users: DeviceUsers,
        counts: EventCounts,
        queue: EventQueue,
        audience_rules: AudienceRules | None = None,
    ):
        self._apps = apps
        self._engagements = engagements
        self._device_users = device_users
        self._counts = counts
        self._queue = queue
        self._audience_rules = audience_rules
        self._catalogs: dict[str, tuple[int, dict[str, EngagementFacts]]] = {}
        self._pinned: dict[str, frozenset[str]] = {}  # app -> event names its audiences count

    def consume(self, messages: Iterable[tuple[str, str]]) -> list[str]:
        """Count the events of (message id, body) pairs; the ids of the messages to retry."""
        messages = list(messages)
        failed: set[str] = set()
        by_app: dict[str, dict[str, _Pending]] = {}
        for message_id, body in messages:
            try:
                message = QueuedEvents.model_validate_json(body)
            except ValidationError as error:
                log.error("poison message %s, left to the dead-letter queue: %s", message_id, error)
                observability.count(observability.EVENTS_REJECTED, reason="malformed_message")
                failed.add(message_id)
                continue
            pending = by_app.setdefault(message.app_id, {})
            for event in message.events:
                key = event_marker(message.app_id, event.device_id, event.id)
                if key not in pending:
                    pending[key] = _Pending(key, event, event.timestamp.timestamp())
                pending[key].messages.add(message_id)
                pending[key].held(message.held_since)
        for app_id, pending in by_app.items():
            try:
                failed |= self._count_app(app_id, list(pending.values()))
            except Exception:  # one app's trouble (throttled reads...) must not fail the others
                log.exception("counting events of app %s failed; SQS will retry them", app_id)
                failed |= {message for p in pending.values() for message in p.messages}
        return list(dict.fromkeys(mid for mid, _body in messages if mid in failed))

    def _count_app(self, app_id: str, pending: list[_Pending]) -> set[str]:
        app, facts = self._facts(app_id)
        remaining = [p for p in pending if _known(p.event, facts, app_id)]
        users = self._users(app, {p.event.device_id for p in remaining})
        for p in remaining:
            p.refusal = _refusal(p.event, facts, p.event.device_id in users)
            if p.refusal is not None:
                observability.count(observability.EVENTS_REJECTED, reason=p.refusal)
        # impressions first: what they allow in the same batch need not wait
        remaining.sort(key=lambda p: p.event.type not in ("impression", "assigned"))
        subjects = _subjects(remaining, users)
        now = clock.now()
        failed: set[str] = set()
        held: dict[str, _Pending] = {}
        contention = 0
        max_events = MAX_TRANSACTION_ITEMS
        while remaining:
            state = self._read(app_id, remaining, subjects)
            remaining = [p for p in remaining if p.key not in state.counted]
            chunks, idle, waiting = _plan(
                app_id,
                remaining,
                state,
                facts,
                subjects,
                now.timestamp(),
                self._pinned.get(app_id, frozenset()),
                max_events,
            )
            held.update({p.key: p for p in waiting})
            finished = set(idle) | {p.key for p in waiting}
            for chunk, write in chunks:
                try:
                    self._counts.commit(write, now)
                except TooLarge as error:
                    if len(chunk.pending) > 1:  # bisect: plan again with chunks half as big
                        max_events = max(1, len(chunk.pending) // 2)
                        log.info(
                            "a chunk of %d events is too large (%s); halving",
                            len(chunk.pending),
                            error,
                        )
                        break
                    (alone,) = chunk.pending
                    failed |= self._refuse_too_large(app_id, alone, now, error)
                    finished.add(alone.key)
                    continue
                except Contention as error:
                    contention += 1
                    log.info("counting raced another consumer (%s); reading again", error)
                    break
                except (PynamoDBException, BotoCoreError) as error:
                    log.warning("counting failed (%s); SQS will retry its messages", error)
                    failed |= chunk.messages
                    finished |= {p.key for p in chunk.pending}
                    break
                observability.count(observability.EVENTS_COUNTED, len(chunk.pending))
                finished |= {p.key for p in chunk.pending}
            remaining = [p for p in remaining if p.key not in finished]
            if remaining and contention > MAX_CONTENTION_RETRIES:
                log.warning("still racing after %d tries; SQS will retry", contention)
                failed |= {message for p in remaining for message in p.messages}
                break
        return failed | self._hold(app_id, list(held.values()), now.timestamp())

    def _refuse_too_large(
        self, app_id: str, alone: _Pending, now: datetime, error: TooLarge
    ) -> set[str]:
        """Refuse an event whose changes no transaction can hold (a conversion crediting more
        engagements than one transaction has items for): no retry could ever count it, so it is
        marked counted, and so refused once whatever SQS redelivers; the messages to retry when
        even the marker cannot be written."""
        try:
            self._counts.commit(CountingWrite((alone.key,), (), (), {}), now)
        except Contention:
            return set()  # marked already: another delivery refused it
        except (PynamoDBException, BotoCoreError) as failure:
            log.warning("refusal of event %s not written (%s); SQS will retry", alone.key, failure)
            return set(alone.messages)
        log.error(
            "refused event %s of app %s: its changes never fit one transaction (%s)",
            alone.event.id,
            app_id,
            error,
        )
        observability.count(observability.EVENTS_REJECTED, reason=TOO_LARGE)
        return set()

    def _hold(self, app_id: str, held: list[_Pending], now: float) -> set[str]:
        """Send held events back to the queue, to be looked at again after their delay; the
        messages to retry when that fails (SQS then brings the held events back itself)."""
        by_start: dict[float, list[_Pending]] = {}
        for p in held:
            by_start.setdefault(p.held_since if p.held_since is not None else now, []).append(p)
        failed: set[str] = set()
        for since, group in by_start.items():
            events = [p.event.model_dump(mode="json", exclude_defaults=True) for p in group]
            try:
                self._queue.send(pack(app_id, events, since), integrity.hold_delay(since, now))
            except QueueUnavailable:
                log.warning("held events of app %s not sent back; SQS will retry", app_id)
                failed |= {message for p in group for message in p.messages}
        return failed

    def _users(self, app: App | None, device_ids: set[str]) -> dict[str, str | None]:
        """The registered devices among `device_ids`, each with the user it counts for: None
        (the device itself) when the app requires proven user ids and its is not (SPEC §7.1)."""
        if app is None:
            return {}
        secrets = identity.load(app.identity_secrets)
        now = clock.now()
        return {
            device_id: identity.trusted_user(app.identity, secrets, user_id, verified_by, now)
            for device_id, (user_id, verified_by) in self._device_users.identities(
                app.app_id, device_ids
            ).items()
        }

    def _facts(self, app_id: str) -> tuple[App | None, dict[str, EngagementFacts]]:
        """The app and its engagements, re-read only when its catalog version moved."""
        app = self._apps.get(app_id)
        if app is None:
            return None, {}
        cached = self._catalogs.get(app_id)
        if cached is not None and cached[0] == app.catalog_version:
            return app, cached[1]
        stored = self._engagements.all_of_app(app_id)
        facts = {
            engagement.engagement_id: EngagementFacts.of(engagement.engagement_id, engagement.spec)
            for engagement in stored
        }
        if len(self._catalogs) >= CACHED_APPS:
            self._catalogs.pop(next(iter(self._catalogs)))
        self._catalogs[app_id] = (app.catalog_version, facts)
        self._pinned[app_id] = self._counted_events(app_id, stored)
        return app, facts

    def _counted_events(self, app_id: str, stored: list) -> frozenset[str]:
        """The custom event names the audiences of the app's engagements count: a subject's
        profile keeps them before any other name (domain/profile.py)."""
        audience_ids = {aid for engagement in stored for aid in engagement.audience_ids}
        if not audience_ids or self._audience_rules is None:
            return frozenset()
        found = self._audience_rules.rules_of(app_id, audience_ids)
        return frozenset(
            name
            for rule in found.values()
            for name in rules.tracked_events(rules.parse_rule(rule, "rules"))
        )

    def _read(self, app_id: str, pending: list[_Pending], subjects: dict[str, str]) -> _State:
        reach_keys = {
            reach_marker(app_id, p.event.engagement_id, p.event.device_id)
            for p in pending
            if p.event.type == "impression"
        }
        markers = self._counts.markers({p.key for p in pending} | reach_keys)
        subject_keys = {subject_key(app_id, subjects[p.key]) for p in pending if p.key in subjects}
        records = self._counts.delivery_records(subject_keys)
        return _State(
            counted={p.key for p in pending if p.key in markers},
            histories={key: found for key, (found, _profile, _version) in records.items()},
            profiles={key: found for key, (_history, found, _version) in records.items()},
            versions={key: version for key, (_history, _profile, version) in records.items()},
            reach={
                key: (float(markers[key].first_at), markers[key].group)
                for key in reach_keys
                if key in markers
            },
            reach_expiry={
                key: markers[key].expires_at.timestamp() if markers[key].expires_at else None
                for key in reach_keys
                if key in markers
            },
        )


def _known(event: QueuedEvent, facts: Mapping[str, EngagementFacts], app_id: str) -> bool:
    """Whether the event is about something the app has: an event about an engagement it does
    not have (deleted since, or a client bug) is dropped, since no retry could count it."""
    if event.type == "custom" or event.engagement_id in facts:
        return True
    observability.count(observability.EVENTS_REJECTED, reason="unknown_engagement")
    log.warning(
        "dropped event %s of app %s: no engagement %s", event.id, app_id, event.engagement_id
    )
    return False


def _refusal(
    event: QueuedEvent, facts: Mapping[str, EngagementFacts], registered: bool
) -> str | None:
    """The integrity reason to refuse the event for, before any history is looked at."""
    if not registered:
        return integrity.UNREGISTERED_DEVICE
    if event.type in ("custom", "assigned"):
        return None
    engagement = facts[event.engagement_id]
    if not engagement.has_variant(event.variant):
        return integrity.UNKNOWN_VARIANT
    if event.type == "click" and event.element not in engagement.buttons_of(event.variant):
        return integrity.UNKNOWN_ELEMENT
    if event.type == "response":
        question = engagement.questions.get(event.variant)
        if question is None or questions.answer_problem(question, event.value) is not None:
            return integrity.INVALID_ANSWER
    return None


def _subjects(pending: list[_Pending], users: Mapping[str, str | None]) -> dict[str, str]:
    """Event marker -> the subject whose delivery record the event reads or changes (user or
    device): every counted event's, since the profile records custom events too."""
    subjects = {}
    for p in pending:
        if p.refusal is not None:
            continue
        if p.event.type == "assigned":
            subjects[p.key] = p.event.subject
        else:
            fields = {"user_id": users.get(p.event.device_id)}
            subjects[p.key] = Device(p.event.device_id, True, fields).subject
    return subjects


def _plan(
    app_id: str,
    pending: list[_Pending],
    state: _State,
    facts: Mapping[str, EngagementFacts],
    subjects: Mapping[str, str],
    now: float,
    pinned: frozenset[str] = frozenset(),
    max_events: int = MAX_TRANSACTION_ITEMS,
) -> tuple[list[tuple[_Chunk, CountingWrite]], set[str], list[_Pending]]:
    """The events' changes in chunks that fit a transaction, each with its write, in order (each
    chunk's conditions are what the chunks before it leave); the events that change nothing; and
    those held for their impression. A chunk holds at most `max_events` events,
    MAX_TRANSACTION_ITEMS items and about MAX_CHUNK_BYTES (the histories it rewrites, whole, and
    its answers); an event too big for a transaction on its own gets a chunk of its own, which the
    commit refuses (TooLarge)."""
    planned: list[tuple[_Chunk, CountingWrite]] = []
    idle: set[str] = set()
    held: list[_Pending] = []
    ends = {engagement_id: fact.end_at for engagement_id, fact in facts.items()}
    chunk = _Chunk()
    for p in pending:
        change = _change(app_id, p, state, facts, subjects.get(p.key), now, pinned)
        if change is _HELD:
            held.append(p)
            continue
        if not change:
            idle.add(p.key)
            continue
        if chunk.pending and (
            len(chunk.pending) >= max_events
            or chunk.items_with(change) > MAX_TRANSACTION_ITEMS
            or chunk.bytes_with(change, state) > MAX_CHUNK_BYTES
        ):
            planned.append((chunk, chunk.write(app_id, state, ends, now)))
            chunk = _Chunk()
        chunk.add(p, change, state)
        for subject, entries in change.entries.items():
            state.histories.setdefault(subject, {}).update(
                {engagement_id: entry.stored() for engagement_id, entry in entries.items()}
            )
        state.reach.update(change.reach)
        state.reach_expiry.update(change.reach_expiry)
        state.profiles.update(change.profiles)
    if chunk.pending:
        planned.append((chunk, chunk.write(app_id, state, ends, now)))
    return planned, idle, held


def _change(
    app_id: str,
    pending: _Pending,
    state: _State,
    facts: Mapping[str, EngagementFacts],
    subject: str | None,
    now: float,
    pinned: frozenset[str] = frozenset(),
) -> _Change:
    event = pending.event
    if event.type == "custom":
        if pending.refusal is not None:
            return _refused_conversion(pending, facts)
        change = _conversion(app_id, pending, state, facts, subject)
        if subject is not None:
            key = subject_key(app_id, subject)
            change.profiles[key] = profile.custom_event(
                state.profile(key), event.name, pending.at, now, pinned
            )
        return change
    engagement = facts[event.engagement_id]
    engagement_id = engagement.engagement_id
    if pending.refusal is not None:
        refused = integrity.rejected(pending.refusal, pending.at)
        return _Change(increments=[(engagement_id, refused)])
    if event.type in ENGAGED_TYPES:
        return _engaged(app_id, pending, state, engagement, subject, now)
    if event.type == "assigned":
        key = subject_key(app_id, event.subject)
        entry, increments = history.control(
            state.entry(key, engagement_id), pending.at, engagement.window_seconds
        )
        if not increments:
            return _Change()
        return _Change({key: {engagement_id: entry}}, {}, [(engagement_id, i) for i in increments])
    increments = tally.event_increments(event.type, event.variant, pending.at, engagement)
    change = _Change(increments=[(engagement_id, increment) for increment in increments])
    if event.type == "impression":
        key = subject_key(app_id, subject)
        entry, credited = history.impression(
            state.entry(key, engagement_id),
            pending.at,
            event.variant,
            engagement.window_seconds,
            now,
        )
        change.entries[key] = {engagement_id: entry}
        change.profiles[key] = profile.engagement_action(
            state.profile(key), engagement_id, "seen", pending.at
        )
        reach_key = reach_marker(app_id, engagement_id, event.device_id)
        first, reached = tally.reach(state.reach.get(reach_key), pending.at, event.variant)
        expiry = engagement.end_at + history.KEPT_AFTER_END_SECONDS
        if first is not None:
            change.reach[reach_key] = first
            change.reach_expiry[reach_key] = expiry
        elif (state.reach_expiry.get(reach_key) or 0) < expiry:  # its end moved: kept longer
            change.reach[reach_key] = state.reach[reach_key]
            change.reach_expiry[reach_key] = expiry
        change.increments += [(engagement_id, increment) for increment in credited + reached]
    return change


PROFILE_ACTIONS = {"click": "clicked", "dismiss": "dismissed"}  # what the profile records


def _engaged(
    app_id: str,
    pending: _Pending,
    state: _State,
    engagement: EngagementFacts,
    subject: str,
    now: float,
) -> _Change:
    """A click, dismissal, render error or answer: counted when an impression allows it, else
    held (or refused once held too long). It goes in the subject's profile too, and a text
    answer is kept for GET …/responses."""
    event = pending.event
    engagement_id = engagement.engagement_id
    key = subject_key(app_id, subject)
    entry = state.entry(key, engagement_id)
    seen = history.shown(entry)
    if seen.answered(event.type):
        refused = integrity.rejected(integrity.ALREADY_ANSWERED, pending.at)
        return _Change(increments=[(engagement_id, refused)])
    if not seen.allows(event.type, event.variant):
        if integrity.hold_expired(pending.held_since, now):
            observability.count(observability.EVENTS_REJECTED, reason=integrity.NO_IMPRESSION)
            refused = integrity.rejected(integrity.NO_IMPRESSION, pending.at)
            return _Change(increments=[(engagement_id, refused)])
        return _HELD
    if event.type == "response":
        question = engagement.questions[event.variant]
        increments = questions.answer_increments(question, event.variant, pending.at, event.value)
    else:
        element = event.element if event.type == "click" else None
        increments = tally.event_increments(
            event.type, event.variant, pending.at, engagement, element
        )
    change = _Change(
        {key: {engagement_id: history.engage(entry, event.type)}},
        {},
        [(engagement_id, increment) for increment in increments],
    )
    action = PROFILE_ACTIONS.get(event.type)
    if action is not None:
        change.profiles[key] = profile.engagement_action(
            state.profile(key), engagement_id, action, pending.at
        )
    else:
        change.profiles[key] = profile.activity(state.profile(key), pending.at)
    if event.type == "response" and engagement.questions[event.variant]["type"] == "text":
        change.answers.append(
            AnswerWrite(
                counter_key=counter_key(app_id, engagement_id),
                answer_id=answer_id(pending.at, pending.key),
                variant=event.variant,
                text=event.value,
                answered_at=clock.iso(event.timestamp),
                subject=subject,
            )
        )
    return change


def _refused_conversion(pending: _Pending, facts: Mapping[str, EngagementFacts]) -> _Change:
    """A custom event of an unregistered device: refused by every engagement it could convert."""
    refused = integrity.rejected(pending.refusal, pending.at)
    return _Change(
        increments=[
            (engagement.engagement_id, refused)
            for engagement in facts.values()
            if engagement.converts_on(pending.event.name, pending.at)
        ]
    )


def _conversion(
    app_id: str,
    pending: _Pending,
    state: _State,
    facts: Mapping[str, EngagementFacts],
    subject: str | None,
) -> _Change:
    """A custom event, as a conversion of every engagement converting on its name that the
    subject may have been exposed to (in its percent: shown it, or in its control group)."""
    change = _Change()
    if subject is None:  # no engagement converts on this event
        return change
    key = subject_key(app_id, subject)
    for engagement in facts.values():
        if not engagement.converts_on(pending.event.name, pending.at):
            continue
        placed = assignment.assign(
            engagement.engagement_id,
            subject,
            engagement.percent,
            engagement.control_percent,
            engagement.variants,
        )
        if not placed.in_percent:
            continue
        engagement_id = engagement.engagement_id
        entry, credited = history.conversion(
            state.entry(key, engagement_id), pending.at, engagement.window_seconds
        )
        change.entries.setdefault(key, {})[engagement_id] = entry
        change.increments += [(engagement_id, increment) for increment in credited]
    return change
