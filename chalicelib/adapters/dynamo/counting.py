"""The event pipeline's storage: markers, delivery histories and the daily counters."""

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from pynamodb.exceptions import TransactWriteError
from pynamodb.expressions.operand import Path
from pynamodb.transactions import TransactWrite

from chalicelib.adapters.dynamo.tables import (
    AnswerRecord,
    CounterRecord,
    DeliveryRecord,
    MarkerRecord,
    bind,
)
from chalicelib.adapters.dynamo.transactions import connection
from chalicelib.settings import Settings

# --- the event pipeline: what the consumer counts, and the daily counters the report reads ---

EVENT_MARKER_LIFETIME = timedelta(days=35)
SUBJECT_RETENTION = timedelta(days=400)  # a delivery record outlives a year without activity
MAX_TRANSACTION_ITEMS = 100  # DynamoDB's limits for one TransactWriteItems
MAX_TRANSACTION_BYTES = 4 * 1024 * 1024
ITEM_OVERHEAD = 128  # key names, types and the expression around each item, generously
CONTENTION_CODES = frozenset({"ConditionalCheckFailed", "TransactionConflict"})


def event_marker(app_id: str, device_id: str, event_id: str) -> str:
    return f"{app_id}#event#{device_id}#{event_id}"


def reach_marker(app_id: str, engagement_id: str, device_id: str) -> str:
    return f"{app_id}#reach#{engagement_id}#{device_id}"


def counter_key(app_id: str, engagement_id: str) -> str:
    return f"{app_id}#{engagement_id}"


def counter_bucket(day: str, group: str) -> str:
    return f"{day}#{group}"


@dataclass(frozen=True)
class HistoryWrite:
    subject_key: str
    history: dict[str, Any]
    version: int | None  # the version read; None when the record had none or did not exist
    profile: dict[str, Any] | None = None  # the subject's behaviour (domain/profile.py)


ANSWER_PREFIX = "~answer#"  # sorts after every "<YYYY-MM-DD>#…" bucket of the same engagement


def answer_id(at: float, event_key: str) -> str:
    """An answer's id: its moment in milliseconds, then a digest of its event, so ids sort by
    time and two answers of the same millisecond stay apart."""
    digest = hashlib.sha256(event_key.encode()).hexdigest()[:16]
    return f"{int(at * 1000):013d}{digest}"


@dataclass(frozen=True)
class AnswerWrite:
    """A text answer, kept for GET …/responses (counts are in the counters)."""

    counter_key: str  # "<app_id>#<engagement_id>"
    answer_id: str
    variant: str
    text: str
    answered_at: str  # ISO 8601, UTC
    subject: str


@dataclass(frozen=True)
class Answer:
    answer_id: str
    variant: str
    text: str
    answered_at: str
    subject: str


@dataclass(frozen=True)
class ReachWrite:
    key: str
    first_at: float
    group: str
    previous_first_at: float | None  # None: the marker did not exist
    expires_at: float  # epoch seconds


@dataclass(frozen=True)
class CountingWrite:
    """Everything one chunk of events changes, written as one transaction."""

    event_markers: tuple[str, ...]
    reach: tuple[ReachWrite, ...]
    histories: tuple[HistoryWrite, ...]
    counters: Mapping[tuple[str, str], Mapping[str, int]]  # (key, bucket) -> attribute -> delta
    answers: tuple[AnswerWrite, ...] = ()

    @property
    def items(self) -> int:
        return (
            len(self.event_markers)
            + len(self.reach)
            + len(self.histories)
            + len(self.counters)
            + len(self.answers)
        )

    @property
    def size(self) -> int:
        """An upper estimate of the transaction's bytes, as DynamoDB sizes items (names and
        values, UTF-8), with room for the expressions around them."""
        total = sum(len(key.encode()) + ITEM_OVERHEAD for key in self.event_markers)
        total += sum(len(reach.key.encode()) + ITEM_OVERHEAD for reach in self.reach)
        for history in self.histories:
            body = json.dumps(history.history, separators=(",", ":"), ensure_ascii=False)
            total += len(history.subject_key.encode()) + len(body.encode()) + ITEM_OVERHEAD
        for (key, bucket), deltas in self.counters.items():
            names = sum(len(name.encode()) + 24 for name in deltas)
            total += len(key.encode()) + len(bucket.encode()) + names + ITEM_OVERHEAD
        return total


class TooLarge(Exception):
    """A transaction DynamoDB would refuse for its size (more than MAX_TRANSACTION_ITEMS items
    or MAX_TRANSACTION_BYTES): nothing of it was written."""


class Contention(Exception):
    """A counting transaction was cancelled because someone changed what it was based on: an
    event or a device was counted meanwhile, or a subject's history moved on."""


class EventCounts:
    """Markers, delivery histories and daily counters, as the event consumer and report use them."""

    def __init__(self, settings: Settings):
        bind(settings)
        self._connection = connection(settings.region)

    def markers(self, keys: set[str]) -> dict[str, MarkerRecord]:
        """The markers among `keys` that exist (strongly consistent)."""
        if not keys:
            return {}
        found = MarkerRecord.batch_get(sorted(keys), consistent_read=True)
        return {record.marker: record for record in found}

    def histories(self, subject_keys: set[str]) -> dict[str, tuple[dict[str, Any], int | None]]:
        """(history, version) of each existing delivery record among `subject_keys`."""
        return {
            key: (history, version)
            for key, (history, _profile, version) in self.delivery_records(subject_keys).items()
        }

    def delivery_records(
        self, subject_keys: set[str]
    ) -> dict[str, tuple[dict[str, Any], dict[str, Any], int | None]]:
        """(history, profile, version) of each existing delivery record among `subject_keys`."""
        if not subject_keys:
            return {}
        found = DeliveryRecord.batch_get(sorted(subject_keys), consistent_read=True)
        return {
            record.subject: (
                record.history.as_dict() if record.history else {},
                json.loads(record.profile) if record.profile else {},
                int(record.version) if record.version is not None else None,
            )
            for record in found
        }

    def commit(self, write: CountingWrite, now: datetime) -> None:
        """Write it all or nothing; raise Contention when a condition no longer held, TooLarge
        when DynamoDB would refuse it (or did) for its size."""
        if write.items > MAX_TRANSACTION_ITEMS or write.size > MAX_TRANSACTION_BYTES:
            raise TooLarge(f"{write.items} items, about {write.size} bytes")
        expires_at = now + EVENT_MARKER_LIFETIME
        try:
            with TransactWrite(connection=self._connection) as tx:
                for key in write.event_markers:
                    tx.save(
                        MarkerRecord(key, expires_at=expires_at),
                        condition=MarkerRecord.marker.does_not_exist(),
                    )
                for reach in write.reach:
                    _write_reach(tx, reach)
                for history in write.histories:
                    _write_history(tx, history, now + SUBJECT_RETENTION)
                for answer in write.answers:
                    tx.save(
                        AnswerRecord(
                            answer.counter_key,
                            ANSWER_PREFIX + answer.answer_id,
                            variant=answer.variant,
                            text=answer.text,
                            answered_at=answer.answered_at,
                            subject=answer.subject,
                        ),
                        condition=AnswerRecord.bucket.does_not_exist(),
                    )
                for (key, bucket), deltas in write.counters.items():
                    tx.update(
                        CounterRecord(key, bucket),
                        actions=[Path([name]).add(delta) for name, delta in sorted(deltas.items())],
                    )
        except TransactWriteError as error:
            codes = {
                reason.code
                for reason in error.cancellation_reasons or []
                if reason is not None and reason.code not in (None, "None")
            }
            if codes and codes <= CONTENTION_CODES:
                raise Contention(", ".join(sorted(codes))) from error
            if error.cause_response_code == "ValidationException" and _about_size(error):
                raise TooLarge(error.cause_response_message or "refused") from error
            raise

    def daily_counters(
        self, app_id: str, engagement_id: str, first_day: str | None, last_day: str | None
    ) -> list[tuple[str, str, dict[str, int]]]:
        """(day, group, counts) of the engagement's counter items between the two days
        (inclusive; None: unbounded), in day order."""
        low = first_day or "0000-00-00"
        high = (last_day or "9999-99-99") + "$"  # "$" sorts right after the "#" of a bucket
        found = []
        for record in CounterRecord.query(
            counter_key(app_id, engagement_id),
            CounterRecord.bucket.between(low, high),
            consistent_read=True,
        ):
            day, _, group = record.bucket.partition("#")
            found.append((day, group, record.counts))
        return found

    def answers(
        self, app_id: str, engagement_id: str, limit: int, after: str | None
    ) -> tuple[list[Answer], str | None]:
        """Text answers of an engagement, newest first, `limit` at a time after the answer id
        `after`; and the id to continue after (None on the last page)."""
        key = counter_key(app_id, engagement_id)
        start = (
            {"engagement": {"S": key}, "bucket": {"S": ANSWER_PREFIX + after}} if after else None
        )
        records = list(
            AnswerRecord.query(
                key,
                AnswerRecord.bucket.startswith(ANSWER_PREFIX),
                scan_index_forward=False,
                consistent_read=True,
                limit=limit + 1,
                page_size=limit + 1,
                last_evaluated_key=start,
            )
        )
        answers = [
            Answer(
                answer_id=record.bucket.removeprefix(ANSWER_PREFIX),
                variant=record.variant,
                text=record.text,
                answered_at=record.answered_at,
                subject=record.subject,
            )
            for record in records[:limit]
        ]
        return answers, answers[-1].answer_id if len(records) > limit else None


SIZE_REFUSALS = (  # DynamoDB's words when it refuses a transaction for its size
    "cannot be larger than",  # "Transaction request cannot be larger than 4 MB"
    "maximum allowed size",  # "Item size has exceeded the maximum allowed size"
    "length less than or equal",  # "Member must have length less than or equal to 100"
)


def _about_size(error: TransactWriteError) -> bool:
    message = (error.cause_response_message or "").lower()
    return any(words in message for words in SIZE_REFUSALS)


def _write_reach(tx: TransactWrite, reach: ReachWrite) -> None:
    expires_at = datetime.fromtimestamp(reach.expires_at, UTC)
    if reach.previous_first_at is None:
        tx.save(
            MarkerRecord(
                reach.key, first_at=reach.first_at, group=reach.group, expires_at=expires_at
            ),
            condition=MarkerRecord.marker.does_not_exist(),
        )
    else:
        tx.update(
            MarkerRecord(reach.key),
            actions=[
                MarkerRecord.first_at.set(reach.first_at),
                MarkerRecord.group.set(reach.group),
                MarkerRecord.expires_at.set(expires_at),
            ],
            condition=MarkerRecord.first_at == reach.previous_first_at,
        )


def _write_history(tx: TransactWrite, history: HistoryWrite, expires_at: datetime) -> None:
    if history.version is None:
        condition = DeliveryRecord.version.does_not_exist()
    else:
        condition = DeliveryRecord.version == history.version
    record = DeliveryRecord(
        history.subject_key,
        history=history.history,
        profile=json.dumps(history.profile, separators=(",", ":")) if history.profile else None,
        version=(history.version or 0) + 1,
        expires_at=expires_at,
    )
    tx.save(record, condition=condition)
