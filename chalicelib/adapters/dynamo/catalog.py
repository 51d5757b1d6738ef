"""Apps, audiences and engagements: what the admin API writes and the fetch's catalog reads.

Writes that must hold together (an engagement and its unique name, the audiences it uses, the
app's catalog version) go in one transaction.
"""

import json
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any

from pynamodb.exceptions import UpdateError

from chalicelib.adapters.dynamo.tables import (
    AppRecord,
    AudienceRecord,
    EngagementRecord,
    NameRecord,
    bind,
)
from chalicelib.adapters.dynamo.transactions import (
    Page,
    Transaction,
    name_key,
)
from chalicelib.settings import Settings


class TrustChanged(Exception):
    """The app's keys, identity or test devices changed since they were read."""


@dataclass(frozen=True)
class App:
    app_id: str
    name: str
    admin_key_hash: str
    client_key_hash: str
    created_at: str
    catalog_version: int = 0
    web_origins: tuple[str, ...] = ()
    pinpoint_enabled: bool = False
    admin_key_since: str | None = None
    client_key_since: str | None = None
    previous_admin_key_hash: str | None = None
    previous_admin_key_expires_at: str | None = None
    previous_client_key_hash: str | None = None
    previous_client_key_expires_at: str | None = None
    identity: str | None = None
    identity_secrets: str | None = None  # JSON, see AppRecord
    test_devices: str | None = None  # JSON, see AppRecord


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
    synced_revision: int | None = None  # what the stream function last synced the schedules to

    @property
    def audience_ids(self) -> list[str]:
        return list(self.spec.get("audience", {}).get("audience_ids", []))

    def changed(self, **changes: Any) -> "Engagement":
        return replace(self, **changes)


def app_row(record: AppRecord) -> App:
    return App(
        app_id=record.app_id,
        name=record.name,
        admin_key_hash=record.admin_key_hash,
        client_key_hash=record.client_key_hash,
        created_at=record.created_at,
        catalog_version=int(record.catalog_version or 0),
        web_origins=tuple(record.web_origins or ()),
        pinpoint_enabled=bool(record.pinpoint and record.pinpoint.enabled),
        **{name: getattr(record, name) for name in TRUST_FIELDS},
    )


# The app's attributes that keys, identity and test devices keep (see AppRecord).
TRUST_FIELDS = (
    "admin_key_since",
    "client_key_since",
    "previous_admin_key_hash",
    "previous_admin_key_expires_at",
    "previous_client_key_hash",
    "previous_client_key_expires_at",
    "identity",
    "identity_secrets",
    "test_devices",
)


def _bump_catalog(tx: Transaction, app_id: str) -> None:
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
            return app_row(AppRecord.get(app_id))
        except AppRecord.DoesNotExist:
            return None

    def update_settings(self, app_id: str, settings: dict[str, Any]) -> App:
        """Set the app's owner-chosen settings (AppSettings fields); the app as it now is."""
        actions = [getattr(AppRecord, name).set(value) for name, value in settings.items()]
        record = AppRecord(app_id)
        record.update(actions=actions, condition=AppRecord.app_id.exists())
        return app_row(record)

    def update_trust(self, app: App, changes: dict[str, Any], read: tuple[str, ...]) -> App:
        """Set TRUST_FIELDS attributes (None removes one), on condition that the attributes named
        in `read` (and every changed one) are still as `app` has them: two owners rotating at
        once cannot both replace the same key. TrustChanged when they are not."""
        actions = []
        for name, value in changes.items():
            attribute = getattr(AppRecord, name)
            actions.append(attribute.set(value) if value is not None else attribute.remove())
        condition = AppRecord.app_id.exists()
        for name in dict.fromkeys((*read, *changes)):
            attribute, before = getattr(AppRecord, name), getattr(app, name)
            condition &= attribute.does_not_exist() if before is None else attribute == before
        record = AppRecord(app.app_id)
        try:
            record.update(actions=actions, condition=condition)
        except UpdateError as error:
            if error.cause_response_code == "ConditionalCheckFailedException":
                raise TrustChanged(app.app_id) from error
            raise
        return app_row(record)


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
        tx = Transaction(self._settings)
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
        tx = Transaction(self._settings)
        tx.update(
            "version",
            AudienceRecord(old.app_id, old.audience_id),
            actions=[
                AudienceRecord.name.set(new.name),
                AudienceRecord.description.set(new.description),
                AudienceRecord.rules.set(rules_json(new.rules)),
                AudienceRecord.version.set(new.version),
                AudienceRecord.updated_at.set(new.updated_at),
            ],
            condition=AudienceRecord.version == old.version,
        )
        _move_name(tx, old.app_id, "audience", old.name, new.name, old.audience_id)
        _bump_catalog(tx, old.app_id)
        tx.commit()

    def delete(self, audience: Audience) -> None:
        tx = Transaction(self._settings)
        tx.delete(
            "in_use",
            AudienceRecord(audience.app_id, audience.audience_id),
            condition=AudienceRecord.audience_id.exists() & AudienceRecord.used_by.does_not_exist(),
        )
        tx.delete("name", NameRecord(audience.app_id, name_key("audience", audience.name)))
        _bump_catalog(tx, audience.app_id)
        tx.commit()


def rules_json(rules: dict[str, Any]) -> str:
    return json.dumps(rules, separators=(",", ":"))


def _audience_record(audience: Audience) -> AudienceRecord:
    return AudienceRecord(
        audience.app_id,
        audience.audience_id,
        name=audience.name,
        description=audience.description,
        rules=rules_json(audience.rules),
        version=audience.version,
        created_at=audience.created_at,
        updated_at=audience.updated_at,
    )


def _name_record(app_id: str, kind: str, name: str, owner_id: str) -> NameRecord:
    return NameRecord(app_id, name_key(kind, name), owner_id=owner_id)


def _move_name(tx: Transaction, app_id: str, kind: str, old: str, new: str, owner: str) -> None:
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
        synced_revision=(
            int(record.synced_revision) if record.synced_revision is not None else None
        ),
    )


RUNNING_BOUNDARY = {"scheduled": "start_at", "active": "end_at"}


def _engagement_record(engagement: Engagement) -> EngagementRecord:
    return EngagementRecord(
        engagement.app_id,
        engagement.engagement_id,
        name=engagement.name,
        status=engagement.status,
        app_status=f"{engagement.app_id}#{engagement.status}",
        version=engagement.version,
        spec=spec_json(engagement.spec),
        start_at=engagement.start_at,
        end_at=engagement.end_at,
        ever_active=engagement.ever_active,
        schedule_revision=engagement.schedule_revision,
        synced_revision=engagement.synced_revision,
        created_at=engagement.created_at,
        updated_at=engagement.updated_at,
        running_status=engagement.status if engagement.status in RUNNING_BOUNDARY else None,
        next_boundary=(
            getattr(engagement, RUNNING_BOUNDARY[engagement.status])
            if engagement.status in RUNNING_BOUNDARY
            else None
        ),
    )


def spec_json(spec: dict[str, Any]) -> str:
    """The spec as stored: UTF-8 as is (an emoji is 4 bytes, not the 12 of `\\ud83c\\udf89`)."""
    return json.dumps(spec, separators=(",", ":"), ensure_ascii=False)


@dataclass(frozen=True)
class Due:
    """A running engagement as the due index has it."""

    app_id: str
    engagement_id: str
    status: str
    next_boundary: str
    schedule_revision: int
    synced_revision: int | None


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
        tx = Transaction(self._settings)
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
        tx = Transaction(self._settings)
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

    def running(self, status: str) -> Iterator[Due]:
        """Every engagement of every app with this running status (scheduled or active), by
        next boundary, from the due index (a Query, never a Scan)."""
        for record in EngagementRecord.due.query(status):
            yield Due(
                record.app_id,
                record.engagement_id,
                status,
                record.next_boundary,
                int(record.schedule_revision or 0),
                int(record.synced_revision) if record.synced_revision is not None else None,
            )

    def mark_synced(self, app_id: str, engagement_id: str, revision: int) -> bool:
        """Record that the schedules follow `revision`; False if the engagement moved on (or
        is gone) meanwhile, so its own stream record will sync it."""
        try:
            EngagementRecord(app_id, engagement_id).update(
                actions=[EngagementRecord.synced_revision.set(revision)],
                condition=EngagementRecord.schedule_revision == revision,
            )
        except UpdateError as error:
            if error.cause_response_code == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def all_of_app(self, app_id: str) -> list[Engagement]:
        """Every engagement of an app (to build the fetch's catalog; paginates as needed)."""
        return [_engagement(r) for r in EngagementRecord.query(app_id, consistent_read=True)]

    def delete(self, engagement: Engagement) -> None:
        tx = Transaction(self._settings)
        tx.delete(
            "version",
            EngagementRecord(engagement.app_id, engagement.engagement_id),
            condition=EngagementRecord.version == engagement.version,
        )
        tx.delete("name", NameRecord(engagement.app_id, name_key("engagement", engagement.name)))
        _mark_audiences(tx, engagement, engagement.audience_ids, add=False)
        _bump_catalog(tx, engagement.app_id)
        tx.commit()


def _mark_audiences(tx: Transaction, engagement: Engagement, audience_ids, add: bool) -> None:
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
