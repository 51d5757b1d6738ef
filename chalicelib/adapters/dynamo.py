"""DynamoDB storage through PynamoDB: table models, their lazy binding, and repositories.

Table names come from settings at call time: `bind(settings)` points every model at the stage's
tables before a repository touches them. Writes that must hold together (an engagement and its
unique name, the audiences it uses) go in one transaction.
"""

import json
import unicodedata
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

from pynamodb.attributes import (
    BooleanAttribute,
    MapAttribute,
    NumberAttribute,
    TTLAttribute,
    UnicodeAttribute,
    UnicodeSetAttribute,
)
from pynamodb.connection import Connection
from pynamodb.exceptions import TransactWriteError
from pynamodb.expressions.operand import Path
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.models import Model
from pynamodb.transactions import TransactGet, TransactWrite

from chalicelib.settings import Settings


class AppRecord(Model):
    class Meta:
        table_name = "herald-apps"

    app_id = UnicodeAttribute(hash_key=True)
    name = UnicodeAttribute()
    admin_key_hash = UnicodeAttribute()
    client_key_hash = UnicodeAttribute()
    created_at = UnicodeAttribute()
    keys_rotated_at = UnicodeAttribute(null=True)
    # Bumped by every write that can change what a device is shown (engagements, audiences):
    # the fetch reads it with the device and reloads its cached engagements only when it moved.
    catalog_version = NumberAttribute(default=0)


class AudienceRecord(Model):
    class Meta:
        table_name = "herald-audiences"

    app_id = UnicodeAttribute(hash_key=True)
    audience_id = UnicodeAttribute(range_key=True)
    name = UnicodeAttribute()
    description = UnicodeAttribute(default="")
    rules = UnicodeAttribute()  # the rule as JSON
    used_by = UnicodeSetAttribute(null=True)  # ids of engagements that target this audience
    version = NumberAttribute()
    created_at = UnicodeAttribute()
    updated_at = UnicodeAttribute()


class StatusIndex(GlobalSecondaryIndex):
    class Meta:
        index_name = "by-status"
        projection = AllProjection()

    app_status = UnicodeAttribute(hash_key=True)
    engagement_id = UnicodeAttribute(range_key=True)


class EngagementRecord(Model):
    class Meta:
        table_name = "herald-engagements"

    app_id = UnicodeAttribute(hash_key=True)
    engagement_id = UnicodeAttribute(range_key=True)
    name = UnicodeAttribute()
    status = UnicodeAttribute()
    app_status = UnicodeAttribute()  # "<app_id>#<status>", the status index's key
    version = NumberAttribute()
    spec = UnicodeAttribute()  # the validated engagement spec as JSON
    start_at = UnicodeAttribute()  # UTC, for the fetch's own window check
    end_at = UnicodeAttribute()
    ever_active = BooleanAttribute(default=False)
    schedule_revision = NumberAttribute(default=0)
    created_at = UnicodeAttribute()
    updated_at = UnicodeAttribute()
    by_status = StatusIndex()


class NameRecord(Model):
    """A claimed name: the item's existence is what makes names unique within an app."""

    class Meta:
        table_name = "herald-names"

    app_id = UnicodeAttribute(hash_key=True)
    name_key = UnicodeAttribute(range_key=True)  # "<kind>#<normalized name>"
    owner_id = UnicodeAttribute()


class DeviceRecord(Model):
    class Meta:
        table_name = "herald-devices"

    app_id = UnicodeAttribute(hash_key=True)
    device_id = UnicodeAttribute(range_key=True)
    user_id = UnicodeAttribute(null=True)
    platform = UnicodeAttribute(null=True)
    os_version = UnicodeAttribute(null=True)
    app_version = UnicodeAttribute(null=True)
    locale = UnicodeAttribute(null=True)
    timezone = UnicodeAttribute(null=True)
    attributes = UnicodeAttribute(null=True)  # custom attributes as JSON
    created_at = UnicodeAttribute()
    updated_at = UnicodeAttribute()


class DeliveryRecord(Model):
    """What one subject (a user, or a device without user) was shown: what frequency caps read.

    `history` maps an engagement id to {"total": n, "last": epoch seconds of the latest
    impression, "buckets": {"<epoch // 900>": impressions in that quarter hour}}; the event
    consumer keeps the buckets of the last two days, and adds the keys that conversions need
    (chalicelib/domain/history.py documents every key of an entry).
    `version` counts the consumer's writes: each one is conditioned on the version it read.
    """

    class Meta:
        table_name = "herald-delivery"

    subject = UnicodeAttribute(hash_key=True)  # "<app_id>#user:<id>" or "<app_id>#device:<id>"
    history = MapAttribute(default=dict)
    version = NumberAttribute(null=True)


class CounterRecord(Model):
    """One UTC day of one engagement's counters for one variant or for the control group.

    The counts are top-level numbers named as chalicelib/domain/tally.py says: impressions,
    unique_devices, clicks, dismissals, render_errors, conversions, assigned, "element#<id>" per
    clicked button and "metric#<name>" per mapped metric. They are flat because DynamoDB can ADD
    to a number inside a map only once the map exists, and the first update creates the item.
    """

    class Meta:
        table_name = "herald-counters"

    engagement = UnicodeAttribute(hash_key=True)  # "<app_id>#<engagement_id>"
    bucket = UnicodeAttribute(range_key=True)  # "<YYYY-MM-DD>#<variant key or ~control>"

    @classmethod
    def from_raw_data(cls, data: dict[str, Any]) -> "CounterRecord":
        """The record, with every count of the item in `counts` (the model declares none)."""
        record = super().from_raw_data(data)
        record.counts = {name: int(value["N"]) for name, value in data.items() if "N" in value}
        return record


class MarkerRecord(Model):
    """Something that must count once.

    "<app_id>#event#<event id>": that event was counted. It expires EVENT_MARKER_LIFETIME after
    it was written, beyond the 30 days an event's timestamp may lag and the queue's retention, so
    no copy of the event can come back after it.
    "<app_id>#reach#<engagement id>#<device id>": that device was reached, with the moment and
    group its unique-device count is on. It never expires: an engagement may run for months.
    """

    class Meta:
        table_name = "herald-markers"

    marker = UnicodeAttribute(hash_key=True)
    expires_at = TTLAttribute(null=True)
    first_at = NumberAttribute(null=True)
    group = UnicodeAttribute(null=True)


MODELS: dict[str, type[Model]] = {
    "apps": AppRecord,
    "audiences": AudienceRecord,
    "engagements": EngagementRecord,
    "names": NameRecord,
    "devices": DeviceRecord,
    "delivery": DeliveryRecord,
    "counters": CounterRecord,
    "markers": MarkerRecord,
}


def bind(settings: Settings) -> None:
    """Point every model at this stage's table and region (cheap when nothing changed)."""
    for key, model in MODELS.items():
        table = settings.tables[key]
        if model.Meta.table_name != table or getattr(model.Meta, "region", None) != settings.region:
            model.Meta.table_name = table
            model.Meta.region = settings.region
            model._connection = None


def create_tables(settings: Settings) -> None:
    """Create every table (used by the local run and the tests; on AWS, CloudFormation does it)."""
    bind(settings)
    for model in MODELS.values():
        if not model.exists():
            model.create_table(billing_mode="PAY_PER_REQUEST", wait=True)


# --- rows: what the services see -------------------------------------------------------------


@dataclass(frozen=True)
class App:
    app_id: str
    name: str
    admin_key_hash: str
    client_key_hash: str
    created_at: str
    catalog_version: int = 0


@dataclass(frozen=True)
class Device:
    app_id: str
    device_id: str
    fields: dict[
        str, Any
    ]  # user_id, platform, os_version, app_version, locale, timezone, attributes
    created_at: str
    updated_at: str


@dataclass(frozen=True)
class Audience:
    app_id: str
    audience_id: str
    name: str
    description: str
    rules: dict[str, Any]
    version: int
    created_at: str
    updated_at: str
    used_by: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Engagement:
    app_id: str
    engagement_id: str
    name: str
    status: str
    version: int
    spec: dict[str, Any]
    start_at: str
    end_at: str
    created_at: str
    updated_at: str
    ever_active: bool = False
    schedule_revision: int = 0

    @property
    def audience_ids(self) -> list[str]:
        return list(self.spec.get("audience", {}).get("audience_ids", []))

    def changed(self, **changes: Any) -> "Engagement":
        return replace(self, **changes)


@dataclass(frozen=True)
class Page:
    items: list
    last_id: str | None  # the id to continue after, None on the last page


@lru_cache(maxsize=8)
def _connection(region: str) -> Connection:
    """One low-level connection per region for transactions: building a client costs ~40 ms."""
    return Connection(region=region)


def name_key(kind: str, name: str) -> str:
    """Names compare case-insensitively and after Unicode normalization: 'Sale' and 'SALE' clash."""
    return f"{kind}#{unicodedata.normalize('NFKC', name).casefold().strip()}"


class _Transaction:
    """A TransactWrite whose items carry labels, so a cancellation says which purpose failed.

    PynamoDB sends deletes, then puts, then updates, whatever order they were added in; the
    cancellation reasons follow that order, and so do the labels here.
    """

    def __init__(self, settings: Settings):
        self._tx = TransactWrite(connection=_connection(settings.region))
        self._labels: dict[str, list[str]] = {"delete": [], "save": [], "update": []}

    def save(self, label: str, record: Model, condition=None) -> None:
        self._labels["save"].append(label)
        self._tx.save(record, condition=condition)

    def update(self, label: str, record: Model, actions: list, condition=None) -> None:
        self._labels["update"].append(label)
        self._tx.update(record, actions=actions, condition=condition)

    def delete(self, label: str, record: Model, condition=None) -> None:
        self._labels["delete"].append(label)
        self._tx.delete(record, condition=condition)

    def commit(self) -> None:
        """Run the transaction; raise TransactionFailed naming the labels of the failed items."""
        labels = self._labels["delete"] + self._labels["save"] + self._labels["update"]
        try:
            self._tx._commit()
        except TransactWriteError as error:
            failed = [
                labels[index]
                for index, reason in enumerate(error.cancellation_reasons)
                if reason is not None and reason.code not in (None, "None")
            ]
            if not failed:
                raise
            raise TransactionFailed(failed) from error


class TransactionFailed(Exception):
    def __init__(self, labels: list[str]):
        super().__init__(", ".join(labels))
        self.labels = labels


def _app(record: AppRecord) -> App:
    return App(
        app_id=record.app_id,
        name=record.name,
        admin_key_hash=record.admin_key_hash,
        client_key_hash=record.client_key_hash,
        created_at=record.created_at,
        catalog_version=int(record.catalog_version or 0),
    )


def _bump_catalog(tx: "_Transaction", app_id: str) -> None:
    tx.update(
        "app",
        AppRecord(app_id),
        actions=[AppRecord.catalog_version.add(1)],
        condition=AppRecord.app_id.exists(),
    )


class Apps:
    def __init__(self, settings: Settings):
        bind(settings)

    def create(self, app: App) -> None:
        AppRecord(
            app.app_id,
            name=app.name,
            admin_key_hash=app.admin_key_hash,
            client_key_hash=app.client_key_hash,
            created_at=app.created_at,
        ).save(condition=AppRecord.app_id.does_not_exist())

    def get(self, app_id: str) -> App | None:
        try:
            return _app(AppRecord.get(app_id))
        except AppRecord.DoesNotExist:
            return None

    def replace_keys(
        self, app_id: str, admin_key_hash: str, client_key_hash: str, now: str
    ) -> None:
        AppRecord(app_id).update(
            actions=[
                AppRecord.admin_key_hash.set(admin_key_hash),
                AppRecord.client_key_hash.set(client_key_hash),
                AppRecord.keys_rotated_at.set(now),
            ],
            condition=AppRecord.app_id.exists(),
        )


def _audience(record: AudienceRecord) -> Audience:
    return Audience(
        app_id=record.app_id,
        audience_id=record.audience_id,
        name=record.name,
        description=record.description,
        rules=json.loads(record.rules),
        version=int(record.version),
        created_at=record.created_at,
        updated_at=record.updated_at,
        used_by=frozenset(record.used_by or ()),
    )


class Audiences:
    def __init__(self, settings: Settings):
        self._settings = settings
        bind(settings)

    def get(self, app_id: str, audience_id: str) -> Audience | None:
        try:
            return _audience(AudienceRecord.get(app_id, audience_id, consistent_read=True))
        except AudienceRecord.DoesNotExist:
            return None

    def page(self, app_id: str, limit: int, after: str | None) -> Page:
        start = {"app_id": {"S": app_id}, "audience_id": {"S": after}} if after else None
        records = list(
            AudienceRecord.query(
                app_id, limit=limit + 1, page_size=limit + 1, last_evaluated_key=start
            )
        )
        items = [_audience(record) for record in records[:limit]]
        return Page(items, items[-1].audience_id if len(records) > limit else None)

    def create(self, audience: Audience) -> None:
        tx = _Transaction(self._settings)
        tx.save(
            "name",
            _name_record(audience.app_id, "audience", audience.name, audience.audience_id),
            condition=NameRecord.name_key.does_not_exist(),
        )
        tx.save(
            "audience",
            _audience_record(audience),
            condition=AudienceRecord.audience_id.does_not_exist(),
        )
        tx.commit()

    def update(self, old: Audience, new: Audience) -> None:
        tx = _Transaction(self._settings)
        tx.update(
            "version",
            AudienceRecord(old.app_id, old.audience_id),
            actions=[
                AudienceRecord.name.set(new.name),
                AudienceRecord.description.set(new.description),
                AudienceRecord.rules.set(_rules_json(new.rules)),
                AudienceRecord.version.set(new.version),
                AudienceRecord.updated_at.set(new.updated_at),
            ],
            condition=AudienceRecord.version == old.version,
        )
        _move_name(tx, old.app_id, "audience", old.name, new.name, old.audience_id)
        _bump_catalog(tx, old.app_id)
        tx.commit()

    def delete(self, audience: Audience) -> None:
        tx = _Transaction(self._settings)
        tx.delete(
            "in_use",
            AudienceRecord(audience.app_id, audience.audience_id),
            condition=AudienceRecord.audience_id.exists() & AudienceRecord.used_by.does_not_exist(),
        )
        tx.delete("name", NameRecord(audience.app_id, name_key("audience", audience.name)))
        _bump_catalog(tx, audience.app_id)
        tx.commit()


def _rules_json(rules: dict[str, Any]) -> str:
    return json.dumps(rules, separators=(",", ":"))


def _audience_record(audience: Audience) -> AudienceRecord:
    return AudienceRecord(
        audience.app_id,
        audience.audience_id,
        name=audience.name,
        description=audience.description,
        rules=_rules_json(audience.rules),
        version=audience.version,
        created_at=audience.created_at,
        updated_at=audience.updated_at,
    )


def _name_record(app_id: str, kind: str, name: str, owner_id: str) -> NameRecord:
    return NameRecord(app_id, name_key(kind, name), owner_id=owner_id)


def _move_name(tx: _Transaction, app_id: str, kind: str, old: str, new: str, owner: str) -> None:
    if name_key(kind, old) == name_key(kind, new):
        return
    tx.delete("old_name", NameRecord(app_id, name_key(kind, old)))
    tx.save(
        "name",
        _name_record(app_id, kind, new, owner),
        condition=NameRecord.name_key.does_not_exist(),
    )


def _engagement(record: EngagementRecord) -> Engagement:
    spec = json.loads(record.spec)
    return Engagement(
        app_id=record.app_id,
        engagement_id=record.engagement_id,
        name=record.name,
        status=record.status,
        version=int(record.version),
        spec=spec,
        start_at=record.start_at,
        end_at=record.end_at,
        created_at=record.created_at,
        updated_at=record.updated_at,
        ever_active=bool(record.ever_active),
        schedule_revision=int(record.schedule_revision or 0),
    )


def _engagement_record(engagement: Engagement) -> EngagementRecord:
    return EngagementRecord(
        engagement.app_id,
        engagement.engagement_id,
        name=engagement.name,
        status=engagement.status,
        app_status=f"{engagement.app_id}#{engagement.status}",
        version=engagement.version,
        spec=json.dumps(engagement.spec, separators=(",", ":")),
        start_at=engagement.start_at,
        end_at=engagement.end_at,
        ever_active=engagement.ever_active,
        schedule_revision=engagement.schedule_revision,
        created_at=engagement.created_at,
        updated_at=engagement.updated_at,
    )


class Engagements:
    def __init__(self, settings: Settings):
        self._settings = settings
        bind(settings)

    def get(self, app_id: str, engagement_id: str) -> Engagement | None:
        try:
            return _engagement(EngagementRecord.get(app_id, engagement_id, consistent_read=True))
        except EngagementRecord.DoesNotExist:
            return None

    def page(self, app_id: str, status: str | None, limit: int, after: str | None) -> Page:
        if status:
            key = f"{app_id}#{status}"
            start = None
            if after:
                start = {
                    "app_status": {"S": key},
                    "engagement_id": {"S": after},
                    "app_id": {"S": app_id},
                }
            results: Iterator[EngagementRecord] = EngagementRecord.by_status.query(
                key, limit=limit + 1, page_size=limit + 1, last_evaluated_key=start
            )
        else:
            start = {"app_id": {"S": app_id}, "engagement_id": {"S": after}} if after else None
            results = EngagementRecord.query(
                app_id, limit=limit + 1, page_size=limit + 1, last_evaluated_key=start
            )
        records = list(results)
        items = [_engagement(record) for record in records[:limit]]
        return Page(items, items[-1].engagement_id if len(records) > limit else None)

    def create(self, engagement: Engagement) -> None:
        """Store a new engagement, claim its name and mark the audiences it uses, atomically."""
        tx = _Transaction(self._settings)
        tx.save(
            "name",
            _name_record(
                engagement.app_id, "engagement", engagement.name, engagement.engagement_id
            ),
            condition=NameRecord.name_key.does_not_exist(),
        )
        tx.save(
            "engagement",
            _engagement_record(engagement),
            condition=EngagementRecord.engagement_id.does_not_exist(),
        )
        _mark_audiences(tx, engagement, engagement.audience_ids, add=True)
        _bump_catalog(tx, engagement.app_id)
        tx.commit()

    def update(self, old: Engagement, new: Engagement) -> None:
        """Replace `old` with `new` if the stored version is still `old.version`."""
        tx = _Transaction(self._settings)
        tx.save(
            "version",
            _engagement_record(new),
            condition=EngagementRecord.version == old.version,
        )
        added = [a for a in new.audience_ids if a not in old.audience_ids]
        removed = [a for a in old.audience_ids if a not in new.audience_ids]
        _mark_audiences(tx, new, added, add=True)
        _mark_audiences(tx, new, removed, add=False)
        _move_name(tx, old.app_id, "engagement", old.name, new.name, old.engagement_id)
        _bump_catalog(tx, old.app_id)
        tx.commit()

    def all_of_app(self, app_id: str) -> list[Engagement]:
        """Every engagement of an app (to build the fetch's catalog; paginates as needed)."""
        return [_engagement(r) for r in EngagementRecord.query(app_id, consistent_read=True)]

    def delete(self, engagement: Engagement) -> None:
        tx = _Transaction(self._settings)
        tx.delete(
            "version",
            EngagementRecord(engagement.app_id, engagement.engagement_id),
            condition=EngagementRecord.version == engagement.version,
        )
        tx.delete("name", NameRecord(engagement.app_id, name_key("engagement", engagement.name)))
        _mark_audiences(tx, engagement, engagement.audience_ids, add=False)
        _bump_catalog(tx, engagement.app_id)
        tx.commit()


def _mark_audiences(tx: _Transaction, engagement: Engagement, audience_ids, add: bool) -> None:
    """Record in each audience which engagements use it, so a used audience cannot be deleted."""
    ids = {engagement.engagement_id}
    for audience_id in audience_ids:
        action = AudienceRecord.used_by.add(ids) if add else AudienceRecord.used_by.delete(ids)
        tx.update(
            f"audience:{audience_id}",
            AudienceRecord(engagement.app_id, audience_id),
            actions=[action],
            condition=AudienceRecord.audience_id.exists(),
        )


def _device(record: DeviceRecord) -> Device:
    fields = {
        name: getattr(record, name) for name in DEVICE_FIELDS if getattr(record, name) is not None
    }
    fields["attributes"] = json.loads(record.attributes) if record.attributes else {}
    return Device(
        app_id=record.app_id,
        device_id=record.device_id,
        fields=fields,
        created_at=record.created_at,
        updated_at=record.updated_at,
    )


DEVICE_FIELDS = ("user_id", "platform", "os_version", "app_version", "locale", "timezone")


class Devices:
    def __init__(self, settings: Settings):
        self._settings = settings
        bind(settings)

    def register(self, app_id: str, device_id: str, fields: dict[str, Any], now: str) -> bool:
        """Create or replace a device's registration in one write; True when it is new."""
        actions = [
            DeviceRecord.updated_at.set(now),
            DeviceRecord.created_at.set(DeviceRecord.created_at | now),
            DeviceRecord.attributes.set(_rules_json(fields.get("attributes") or {})),
        ]
        for name in DEVICE_FIELDS:
            attribute = getattr(DeviceRecord, name)
            value = fields.get(name)
            actions.append(attribute.set(value) if value is not None else attribute.remove())
        stored = DeviceRecord(app_id, device_id).update(actions=actions)
        return stored["Attributes"]["created_at"]["S"] == now

    def app_and_device(self, app_id: str, device_id: str) -> tuple[App | None, Device | None]:
        """The app and the device in one strongly consistent request (TransactGetItems)."""
        with TransactGet(connection=_connection(self._settings.region)) as get:
            app_future = get.get(AppRecord, app_id)
            device_future = get.get(DeviceRecord, app_id, device_id)
        try:
            app = _app(app_future.get())
        except AppRecord.DoesNotExist:
            app = None
        try:
            device = _device(device_future.get())
        except DeviceRecord.DoesNotExist:
            device = None
        return app, device


def subject_key(app_id: str, subject: str) -> str:
    return f"{app_id}#{subject}"


class Deliveries:
    def __init__(self, settings: Settings):
        bind(settings)

    def history(self, app_id: str, subject: str) -> dict[str, dict]:
        """Per-engagement impression history of a subject ({} when it has seen nothing)."""
        try:
            record = DeliveryRecord.get(subject_key(app_id, subject), consistent_read=True)
        except DeliveryRecord.DoesNotExist:
            return {}
        return record.history.as_dict() if record.history else {}


class AudienceRules:
    """The rules of several audiences at once (for building a catalog)."""

    def __init__(self, settings: Settings):
        bind(settings)

    def rules_of(self, app_id: str, audience_ids: set[str]) -> dict[str, dict]:
        keys = [(app_id, audience_id) for audience_id in sorted(audience_ids)]
        return {
            record.audience_id: json.loads(record.rules)
            for record in AudienceRecord.batch_get(keys, consistent_read=True)
        }


# --- the event pipeline: what the consumer counts, and the daily counters the report reads ---

EVENT_MARKER_LIFETIME = timedelta(days=35)
CONTENTION_CODES = frozenset({"ConditionalCheckFailed", "TransactionConflict"})


def event_marker(app_id: str, event_id: str) -> str:
    return f"{app_id}#event#{event_id}"


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


@dataclass(frozen=True)
class ReachWrite:
    key: str
    first_at: float
    group: str
    previous_first_at: float | None  # None: the marker did not exist


@dataclass(frozen=True)
class CountingWrite:
    """Everything one chunk of events changes, written as one transaction."""

    event_markers: tuple[str, ...]
    reach: tuple[ReachWrite, ...]
    histories: tuple[HistoryWrite, ...]
    counters: Mapping[tuple[str, str], Mapping[str, int]]  # (key, bucket) -> attribute -> delta

    @property
    def items(self) -> int:
        return len(self.event_markers) + len(self.reach) + len(self.histories) + len(self.counters)


class Contention(Exception):
    """A counting transaction was cancelled because someone changed what it was based on: an
    event or a device was counted meanwhile, or a subject's history moved on."""


class EventCounts:
    """Markers, delivery histories and daily counters, as the event consumer and report use them."""

    def __init__(self, settings: Settings):
        bind(settings)
        self._connection = _connection(settings.region)

    def markers(self, keys: set[str]) -> dict[str, MarkerRecord]:
        """The markers among `keys` that exist (strongly consistent)."""
        if not keys:
            return {}
        found = MarkerRecord.batch_get(sorted(keys), consistent_read=True)
        return {record.marker: record for record in found}

    def histories(self, subject_keys: set[str]) -> dict[str, tuple[dict[str, Any], int | None]]:
        """(history, version) of each existing delivery record among `subject_keys`."""
        if not subject_keys:
            return {}
        found = DeliveryRecord.batch_get(sorted(subject_keys), consistent_read=True)
        return {
            record.subject: (
                record.history.as_dict() if record.history else {},
                int(record.version) if record.version is not None else None,
            )
            for record in found
        }

    def commit(self, write: CountingWrite, now: datetime) -> None:
        """Write it all or nothing; raise Contention when a condition no longer held."""
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
                    _write_history(tx, history)
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


def _write_reach(tx: TransactWrite, reach: ReachWrite) -> None:
    if reach.previous_first_at is None:
        tx.save(
            MarkerRecord(reach.key, first_at=reach.first_at, group=reach.group),
            condition=MarkerRecord.marker.does_not_exist(),
        )
    else:
        tx.update(
            MarkerRecord(reach.key),
            actions=[
                MarkerRecord.first_at.set(reach.first_at),
                MarkerRecord.group.set(reach.group),
            ],
            condition=MarkerRecord.first_at == reach.previous_first_at,
        )


def _write_history(tx: TransactWrite, history: HistoryWrite) -> None:
    if history.version is None:
        condition = DeliveryRecord.version.does_not_exist()
    else:
        condition = DeliveryRecord.version == history.version
    record = DeliveryRecord(
        history.subject_key, history=history.history, version=(history.version or 0) + 1
    )
    tx.save(record, condition=condition)


class DeviceUsers:
    """The user id of each device, to know whose history an event belongs to."""

    def __init__(self, settings: Settings):
        bind(settings)

    def user_ids(self, app_id: str, device_ids: set[str]) -> dict[str, str | None]:
        """user_id (or None) of each registered device among `device_ids`."""
        if not device_ids:
            return {}
        keys = [(app_id, device_id) for device_id in sorted(device_ids)]
        found = DeviceRecord.batch_get(keys, attributes_to_get=["app_id", "device_id", "user_id"])
        return {record.device_id: record.user_id for record in found}
