"""The DynamoDB tables as PynamoDB models, and their lazy binding to the stage's tables.

Table names come from settings at call time: `bind(settings)` points every model at the stage's
tables before a repository touches them.
"""

from typing import Any

from pynamodb.attributes import (
    BooleanAttribute,
    ListAttribute,
    MapAttribute,
    NumberAttribute,
    TTLAttribute,
    UnicodeAttribute,
    UnicodeSetAttribute,
)
from pynamodb.constants import STREAM_NEW_AND_OLD_IMAGE
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex, IncludeProjection
from pynamodb.models import Model

from chalicelib.adapters import aws
from chalicelib.settings import Settings

aws.share_with_pynamodb()


class PinpointSettings(MapAttribute):
    enabled = BooleanAttribute(default=False)


class AppRecord(Model):
    class Meta:
        table_name = "herald-apps"

    app_id = UnicodeAttribute(hash_key=True)
    name = UnicodeAttribute()
    admin_key_hash = UnicodeAttribute()
    client_key_hash = UnicodeAttribute()
    created_at = UnicodeAttribute()
    keys_rotated_at = UnicodeAttribute(null=True)
    # Key rotation (SPEC §7.4): when each current key was made, and the key it replaced, still
    # valid until its overlap ends (hashes only, like the current keys).
    admin_key_since = UnicodeAttribute(null=True)
    client_key_since = UnicodeAttribute(null=True)
    previous_admin_key_hash = UnicodeAttribute(null=True)
    previous_admin_key_expires_at = UnicodeAttribute(null=True)
    previous_client_key_hash = UnicodeAttribute(null=True)
    previous_client_key_expires_at = UnicodeAttribute(null=True)
    # Identity verification (SPEC §7.1): "required" or absent; the secrets as JSON
    # [{"secret_id", "secret", "expires_at"}] (README "Security model": how they are protected)
    identity = UnicodeAttribute(null=True)
    identity_secrets = UnicodeAttribute(null=True)
    # Enrolled test devices (SPEC §7.2) as JSON {device_id: {"label", "token_hash",
    # "enrolled_at"}}: on the app, so the fetch checks a test token with no extra request.
    test_devices = UnicodeAttribute(null=True)
    web_origins = ListAttribute(of=UnicodeAttribute, null=True)  # for CORS, exact origins
    pinpoint = PinpointSettings(null=True)  # the Pinpoint dialect, off when absent
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


class DueIndex(GlobalSecondaryIndex):
    """Running engagements of every app by status and next boundary, for the sweep: sparse, an
    engagement is in it only while scheduled (boundary: its start) or active (its end)."""

    class Meta:
        index_name = "due-by-status"
        projection = IncludeProjection(["schedule_revision", "synced_revision"])

    running_status = UnicodeAttribute(hash_key=True)
    next_boundary = UnicodeAttribute(range_key=True)


class EngagementRecord(Model):
    """An engagement. Its stream (new and old images) drives its schedules: the stream function
    syncs them and records the revision it synced in `synced_revision`."""

    class Meta:
        table_name = "herald-engagements"
        stream_view_type = STREAM_NEW_AND_OLD_IMAGE

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
    synced_revision = NumberAttribute(null=True)  # the revision the schedules were synced to
    created_at = UnicodeAttribute()
    updated_at = UnicodeAttribute()
    running_status = UnicodeAttribute(null=True)  # the due index's keys (None: not running)
    next_boundary = UnicodeAttribute(null=True)
    by_status = StatusIndex()
    due = DueIndex()


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
    user_verified_by = UnicodeAttribute(null=True)  # the identity secret that proved user_id
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
    # the subject's behaviour, for behavioural audience conditions (chalicelib/domain/profile.py),
    # as compact JSON: one string reads much faster than thousands of nested typed values
    profile = UnicodeAttribute(null=True)
    version = NumberAttribute(null=True)
    # SUBJECT_RETENTION after the consumer's last write for the subject (its last activity)
    expires_at = TTLAttribute(null=True)


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


class AnswerRecord(Model):
    """A text answer to an engagement's question, in the counters table beside the engagement's
    daily counters: its range key "~answer#<answer id>" sorts after every day's bucket, so the
    report's day ranges never include it, and answers read newest first by key."""

    class Meta:
        table_name = "herald-counters"

    engagement = UnicodeAttribute(hash_key=True)  # "<app_id>#<engagement_id>"
    bucket = UnicodeAttribute(range_key=True)  # "~answer#<epoch ms, 13 digits><16 hex>"
    variant = UnicodeAttribute()
    text = UnicodeAttribute()
    answered_at = UnicodeAttribute()
    subject = UnicodeAttribute()


class MarkerRecord(Model):
    """Something that must count once.

    "<app_id>#event#<device id>#<event id>": that event was counted (ids are unique per device,
    so one device's ids never shadow another's). It expires EVENT_MARKER_LIFETIME after
    it was written, beyond the 30 days an event's timestamp may lag and the queue's retention, so
    no copy of the event can come back after it.
    "<app_id>#reach#<engagement id>#<device id>": that device was reached, with the moment and
    group its unique-device count is on. It expires KEPT_AFTER_END_SECONDS after the
    engagement's end (domain/history.py), when no event of it can come any more; an impression
    after the end moved later pushes it back.
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


# models that share a table with one of MODELS (the table is created once, for MODELS)
SHARING: tuple[tuple[str, type[Model]], ...] = (("counters", AnswerRecord),)


def bind(settings: Settings) -> None:
    """Point every model at this stage's table and region (cheap when nothing changed)."""
    for key, model in (*MODELS.items(), *SHARING):
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
