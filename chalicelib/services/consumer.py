"""Events counted exactly once by the queue's consumer (accepted by services/ingestion.py).

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

import logging
from collections.abc import Iterable, Mapping
from datetime import datetime

from botocore.exceptions import BotoCoreError
from pydantic import ValidationError
from pynamodb.exceptions import PynamoDBException

from chalicelib import observability
from chalicelib.adapters.dynamo import (
    App,
    Apps,
    AudienceRules,
    Contention,
    CountingWrite,
    DeviceUsers,
    Engagements,
    EventCounts,
    TooLarge,
    event_marker,
    reach_marker,
    subject_key,
)
from chalicelib.adapters.events import EventQueue, QueueUnavailable
from chalicelib.api.models import QueuedEvent, QueuedEvents
from chalicelib.domain import identity, integrity, questions, rules
from chalicelib.domain.eligibility import Device
from chalicelib.domain.tally import EngagementFacts
from chalicelib.services import clock
from chalicelib.services.chunks import MAX_TRANSACTION_ITEMS, CountingState, Pending, plan
from chalicelib.services.ingestion import pack

log = logging.getLogger("herald.ingestion")

MAX_CONTENTION_RETRIES = 5
TOO_LARGE = "too_large"  # EventsRejected reason of an event no transaction can hold
CACHED_APPS = 256


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
        by_app: dict[str, dict[str, Pending]] = {}
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
                    pending[key] = Pending(key, event, event.timestamp.timestamp())
                pending[key].messages.add(message_id)
                pending[key].held(message.held_since)
        for app_id, pending in by_app.items():
            try:
                failed |= self._count_app(app_id, list(pending.values()))
            except Exception:  # one app's trouble (throttled reads...) must not fail the others
                log.exception("counting events of app %s failed; SQS will retry them", app_id)
                failed |= {message for p in pending.values() for message in p.messages}
        return list(dict.fromkeys(mid for mid, _body in messages if mid in failed))

    def _count_app(self, app_id: str, pending: list[Pending]) -> set[str]:
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
        held: dict[str, Pending] = {}
        contention = 0
        max_events = MAX_TRANSACTION_ITEMS
        while remaining:
            state = self._read(app_id, remaining, subjects)
            remaining = [p for p in remaining if p.key not in state.counted]
            chunks, idle, waiting = plan(
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
        self, app_id: str, alone: Pending, now: datetime, error: TooLarge
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

    def _hold(self, app_id: str, held: list[Pending], now: float) -> set[str]:
        """Send held events back to the queue, to be looked at again after their delay; the
        messages to retry when that fails (SQS then brings the held events back itself)."""
        by_start: dict[float, list[Pending]] = {}
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

    def _read(self, app_id: str, pending: list[Pending], subjects: dict[str, str]) -> CountingState:
        reach_keys = {
            reach_marker(app_id, p.event.engagement_id, p.event.device_id)
            for p in pending
            if p.event.type == "impression"
        }
        markers = self._counts.markers({p.key for p in pending} | reach_keys)
        subject_keys = {subject_key(app_id, subjects[p.key]) for p in pending if p.key in subjects}
        records = self._counts.delivery_records(subject_keys)
        return CountingState(
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


def _subjects(pending: list[Pending], users: Mapping[str, str | None]) -> dict[str, str]:
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
