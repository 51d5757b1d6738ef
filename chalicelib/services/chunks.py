"""How the consumer plans its writes: what each event changes (a delivery history entry, a
reach marker, counter increments, a profile, an answer), and those changes gathered in chunks
that each fit one DynamoDB transaction (100 items, 4 MB), each chunk's conditions being what the
chunks before it leave. Pure but for the write descriptions it builds (adapters/dynamo)."""

import json
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from chalicelib import observability
from chalicelib.adapters.dynamo import (
    MAX_TRANSACTION_BYTES,
    AnswerWrite,
    CountingWrite,
    HistoryWrite,
    ReachWrite,
    answer_id,
    counter_bucket,
    counter_key,
    reach_marker,
    subject_key,
)
from chalicelib.api.models import QueuedEvent
from chalicelib.domain import assignment, history, integrity, profile, questions, tally
from chalicelib.domain.history import Entry
from chalicelib.domain.integrity import ENGAGED_TYPES
from chalicelib.domain.tally import EngagementFacts, Increment
from chalicelib.services import clock

MAX_TRANSACTION_ITEMS = 100  # DynamoDB's limit for TransactWriteItems
MAX_CHUNK_BYTES = MAX_TRANSACTION_BYTES // 2  # the estimate leaves room for what it leaves out


@dataclass
class Pending:
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
class CountingState:
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
class Change:
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
class Chunk:
    """Events whose changes are written together, in one transaction."""

    pending: list[Pending] = field(default_factory=list)
    subjects: dict[str, int | None] = field(default_factory=dict)  # key -> version expected
    reach: dict[str, tuple[float, str] | None] = field(default_factory=dict)  # key -> as before
    counters: dict[tuple[str, str, str], Counter] = field(default_factory=dict)
    answers: list[AnswerWrite] = field(default_factory=list)

    def items_with(self, change: Change) -> int:
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

    def bytes_with(self, change: Change, state: CountingState) -> int:
        """About the bytes of the histories the chunk would rewrite with `change` (the rest of
        a chunk is small next to them)."""
        subjects = self.subjects.keys() | change.entries.keys()
        return sum(
            len(json.dumps(state.histories.get(subject, {}), ensure_ascii=False).encode())
            for subject in subjects
        )

    def add(self, pending: Pending, change: Change, state: CountingState) -> None:
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
        self, app_id: str, state: CountingState, ends: Mapping[str, float], now: float
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


HELD = Change()  # what _change answers for an event held for its impression


def plan(
    app_id: str,
    pending: list[Pending],
    state: CountingState,
    facts: Mapping[str, EngagementFacts],
    subjects: Mapping[str, str],
    now: float,
    pinned: frozenset[str] = frozenset(),
    max_events: int = MAX_TRANSACTION_ITEMS,
) -> tuple[list[tuple[Chunk, CountingWrite]], set[str], list[Pending]]:
    """The events' changes in chunks that fit a transaction, each with its write, in order (each
    chunk's conditions are what the chunks before it leave); the events that change nothing; and
    those held for their impression. A chunk holds at most `max_events` events,
    MAX_TRANSACTION_ITEMS items and about MAX_CHUNK_BYTES (the histories it rewrites, whole, and
    its answers); an event too big for a transaction on its own gets a chunk of its own, which the
    commit refuses (TooLarge)."""
    planned: list[tuple[Chunk, CountingWrite]] = []
    idle: set[str] = set()
    held: list[Pending] = []
    ends = {engagement_id: fact.end_at for engagement_id, fact in facts.items()}
    chunk = Chunk()
    for p in pending:
        change = _change(app_id, p, state, facts, subjects.get(p.key), now, pinned)
        if change is HELD:
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
            chunk = Chunk()
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
    pending: Pending,
    state: CountingState,
    facts: Mapping[str, EngagementFacts],
    subject: str | None,
    now: float,
    pinned: frozenset[str] = frozenset(),
) -> Change:
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
        return Change(increments=[(engagement_id, refused)])
    if event.type in ENGAGED_TYPES:
        return _engaged(app_id, pending, state, engagement, subject, now)
    if event.type == "assigned":
        key = subject_key(app_id, event.subject)
        entry, increments = history.control(
            state.entry(key, engagement_id), pending.at, engagement.window_seconds
        )
        if not increments:
            return Change()
        return Change({key: {engagement_id: entry}}, {}, [(engagement_id, i) for i in increments])
    increments = tally.event_increments(event.type, event.variant, pending.at, engagement)
    change = Change(increments=[(engagement_id, increment) for increment in increments])
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
    pending: Pending,
    state: CountingState,
    engagement: EngagementFacts,
    subject: str,
    now: float,
) -> Change:
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
        return Change(increments=[(engagement_id, refused)])
    if not seen.allows(event.type, event.variant):
        if integrity.hold_expired(pending.held_since, now):
            observability.count(observability.EVENTS_REJECTED, reason=integrity.NO_IMPRESSION)
            refused = integrity.rejected(integrity.NO_IMPRESSION, pending.at)
            return Change(increments=[(engagement_id, refused)])
        return HELD
    if event.type == "response":
        question = engagement.questions[event.variant]
        increments = questions.answer_increments(question, event.variant, pending.at, event.value)
    else:
        element = event.element if event.type == "click" else None
        increments = tally.event_increments(
            event.type, event.variant, pending.at, engagement, element
        )
    change = Change(
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


def _refused_conversion(pending: Pending, facts: Mapping[str, EngagementFacts]) -> Change:
    """A custom event of an unregistered device: refused by every engagement it could convert."""
    refused = integrity.rejected(pending.refusal, pending.at)
    return Change(
        increments=[
            (engagement.engagement_id, refused)
            for engagement in facts.values()
            if engagement.converts_on(pending.event.name, pending.at)
        ]
    )


def _conversion(
    app_id: str,
    pending: Pending,
    state: CountingState,
    facts: Mapping[str, EngagementFacts],
    subject: str | None,
) -> Change:
    """A custom event, as a conversion of every engagement converting on its name that the
    subject may have been exposed to (in its percent: shown it, or in its control group)."""
    change = Change()
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
