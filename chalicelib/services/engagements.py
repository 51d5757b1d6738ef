"""Engagements: create, read, list, update, delete, publish, pause, resume, and schedule firings.

The API writes the store only, in one transaction, and answers from that committed write. The
schedules follow the stored engagement (a transactional outbox): the engagements table's stream
feeds `follow_stream`, which creates, moves or deletes them to match the engagement as stored
now, and records the schedule revision it synced; a stream batch that fails is retried, and
`sweep` (every 5 minutes) repairs statuses whose boundary has passed and schedules left behind
any revision. Every fetch checks the time window itself, so a schedule that is late, lost or
fires twice never shows a message outside it.
"""

import json
import logging
from collections.abc import Sequence
from typing import Any

from chalicelib.adapters.dynamo import Engagement, Engagements, TransactionFailed, spec_json
from chalicelib.adapters.scheduler import Schedules
from chalicelib.api import bodies, paging
from chalicelib.api.models import CreateEngagement, EngagementSpec
from chalicelib.domain import lifecycle
from chalicelib.domain.ids import new_id
from chalicelib.domain.lifecycle import TransitionError, Window
from chalicelib.errors import Conflict, InvalidInput, NotFound, PayloadTooLarge
from chalicelib.services import clock
from chalicelib.services.preconditions import check_version

log = logging.getLogger("herald.engagements")

TRANSITION_RETRIES = 5
READ_ONLY = (
    "engagement_id",
    "app_id",
    "status",
    "version",
    "ever_active",
    "created_at",
    "updated_at",
)


def engagement_view(engagement: Engagement) -> dict:
    return {
        "engagement_id": engagement.engagement_id,
        "app_id": engagement.app_id,
        **engagement.spec,
        "status": engagement.status,
        "version": engagement.version,
        # Once true, the assignment fields are frozen (see update): clients can check first.
        "ever_active": engagement.ever_active,
        "created_at": engagement.created_at,
        "updated_at": engagement.updated_at,
    }


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386 JSON merge patch: objects merge key by key, null removes, anything else replaces."""
    if not isinstance(patch, dict):
        return patch
    merged = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = merge_patch(merged.get(key), value)
    return merged


def _check_test_devices(device_ids: list[str], enrolled: frozenset[str]) -> None:
    unknown = [device_id for device_id in device_ids if device_id not in enrolled]
    if unknown:
        raise InvalidInput(
            f"test_device_ids: {', '.join(unknown)} not enrolled: enrol test devices with "
            "POST /v1/apps/{app_id}/test-devices first"
        )


MAX_STORED_SPEC_BYTES = 128 * 1024  # twice a body: a few PATCHes can grow it, never past this


def _within_stored_limit(spec: dict[str, Any]) -> dict[str, Any]:
    """The spec, if it is small enough to store: a merge patch merges objects, so PATCHes of
    small bodies could otherwise grow an engagement towards DynamoDB's 400 KB item limit (and
    make every catalog read of the app slower)."""
    size = len(spec_json(spec).encode())
    if size > MAX_STORED_SPEC_BYTES:
        raise PayloadTooLarge(
            f"engagement: would be {size} bytes stored; the limit is {MAX_STORED_SPEC_BYTES}"
            " (remove content, or replace a list instead of adding to it)"
        )
    return spec


def _window(spec: EngagementSpec) -> Window:
    return Window(spec.schedule.start_at, spec.schedule.end_at)


def _stored_window(engagement: Engagement) -> Window:
    return Window(clock.parse_iso(engagement.start_at), clock.parse_iso(engagement.end_at))


class EngagementService:
    def __init__(self, engagements: Engagements, schedules: Schedules):
        self._engagements = engagements
        self._schedules = schedules

    # --- admin routes -------------------------------------------------------------------------

    def create(
        self, app_id: str, raw_body: bytes | None, enrolled: frozenset[str] = frozenset()
    ) -> dict:
        """`enrolled`: the app's enrolled test devices, the only ones test_device_ids may name."""
        request = bodies.parse(CreateEngagement, raw_body)
        _check_test_devices(request.test_device_ids, enrolled)
        now = clock.now()
        window = _window(request)
        try:
            status = lifecycle.initial_status(window, now, draft=request.status == "draft")
        except TransitionError as error:
            raise InvalidInput(str(error)) from None
        stamp = clock.iso(now)
        engagement = Engagement(
            app_id=app_id,
            engagement_id=new_id("eng"),
            name=request.name,
            status=status,
            version=1,
            spec=_within_stored_limit(
                request.model_dump(mode="json", exclude={"status"}, exclude_none=True)
            ),
            start_at=clock.iso_seconds(window.start_at),
            end_at=clock.iso_seconds(window.end_at),
            created_at=stamp,
            updated_at=stamp,
            ever_active=status == lifecycle.ACTIVE,
            schedule_revision=1,
        )
        try:
            self._engagements.create(engagement)
        except TransactionFailed as failure:
            raise _store_error(failure, request.name) from None
        return engagement_view(engagement)

    def get(self, app_id: str, engagement_id: str) -> dict:
        return engagement_view(self._load(app_id, engagement_id))

    def list(self, app_id: str, status: str | None, limit: str | None, cursor: str | None) -> dict:
        if status is not None and status not in lifecycle.STATUSES:
            raise InvalidInput(f"status: must be one of {', '.join(lifecycle.STATUSES)}")
        page = self._engagements.page(
            app_id, status, paging.parse_limit(limit), paging.decode_cursor(cursor)
        )
        return {
            "engagements": [engagement_view(item) for item in page.items],
            "cursor": paging.encode_cursor(page.last_id),
        }

    def update(
        self,
        app_id: str,
        engagement_id: str,
        raw_body: bytes | None,
        if_match: str | None,
        enrolled: frozenset[str] = frozenset(),
    ) -> dict:
        current = self._load(app_id, engagement_id)
        patch = bodies.parse_json_object(raw_body)
        for field in READ_ONLY:
            if field in patch:
                hint = "; use /publish, /pause or /resume" if field == "status" else ""
                raise InvalidInput(f"{field}: read-only{hint}")
        check_version(if_match, current.version, required=True)
        spec = bodies.validate(EngagementSpec, merge_patch(current.spec, patch))
        kept = set(current.spec.get("test_device_ids", []))  # withdrawn since: harmless, kept
        _check_test_devices([d for d in spec.test_device_ids if d not in kept], enrolled)
        before = EngagementSpec.model_validate_json(json.dumps(current.spec))
        now = clock.now()
        if _has_run(current, now) and spec.assignment_fields != before.assignment_fields:
            raise Conflict(
                "variants: keys, weights, ab_test and control_percent are frozen once the "
                "engagement has been active (changing them would reassign devices mid-test); "
                "content, schedule, audience and caps may still change"
            )
        window = _window(spec)
        moved = window != _stored_window(current)
        if moved and window.end_at <= now:
            raise InvalidInput("schedule.end_at: must be in the future")
        status = lifecycle.after_window_change(current.status, window, now)
        reschedule = moved or status != current.status
        updated = current.changed(
            name=spec.name,
            status=status,
            version=current.version + 1,
            spec=_within_stored_limit(spec.model_dump(mode="json", exclude_none=True)),
            start_at=clock.iso_seconds(window.start_at),
            end_at=clock.iso_seconds(window.end_at),
            updated_at=clock.iso(now),
            ever_active=current.ever_active or status == lifecycle.ACTIVE,
            schedule_revision=current.schedule_revision + (1 if reschedule else 0),
        )
        self._store_update(current, updated, spec.name)
        return engagement_view(updated)

    def delete(self, app_id: str, engagement_id: str, if_match: str | None) -> None:
        current = self._load(app_id, engagement_id)
        check_version(if_match, current.version, required=False)
        try:
            self._engagements.delete(current)
        except TransactionFailed:
            raise _stale() from None

    def publish(self, app_id: str, engagement_id: str) -> dict:
        return self._change_status(app_id, engagement_id, lifecycle.publish)

    def pause(self, app_id: str, engagement_id: str) -> dict:
        return self._change_status(
            app_id, engagement_id, lambda status, _w, _n: lifecycle.pause(status)
        )

    def resume(self, app_id: str, engagement_id: str) -> dict:
        return self._change_status(app_id, engagement_id, lifecycle.resume)

    # --- the schedule target ------------------------------------------------------------------

    def apply_schedule_firing(self, firing: dict[str, Any]) -> dict:
        """Recompute the status of the engagement a schedule fired for. Harmless when the firing is
        late, repeated, out of order, from a replaced schedule or for a deleted engagement."""
        app_id, engagement_id, revision = _parse_firing(firing)
        return self._recompute(app_id, engagement_id, revision)

    def _recompute(self, app_id: str, engagement_id: str, revision: int | None) -> dict:
        """Move the status to what the clock gives (forward only); `revision`: only if the
        schedules still follow it (None: the sweep, whatever the revision)."""
        for _attempt in range(TRANSITION_RETRIES):
            current = self._engagements.get(app_id, engagement_id)
            if current is None:
                return {"outcome": "gone"}
            if revision is not None and revision != current.schedule_revision:
                return {"outcome": "stale", "status": current.status}
            now = clock.now()
            status = lifecycle.on_schedule_fired(current.status, _stored_window(current), now)
            if status == current.status:
                return {"outcome": "unchanged", "status": status}
            updated = current.changed(
                status=status,
                version=current.version + 1,
                updated_at=clock.iso(now),
                ever_active=current.ever_active or status == lifecycle.ACTIVE,
            )
            try:
                self._engagements.update(current, updated)
            except TransactionFailed:
                continue  # changed meanwhile: read it again and decide afresh
            return {"outcome": "changed", "status": status}
        raise RuntimeError(f"engagement {engagement_id} kept changing; the firing will be retried")

    # --- the schedules follow the store: the stream function and the sweep --------------------

    def follow_stream(self, records: Sequence[dict[str, Any]]) -> "list[str]":
        """Sync the schedules of the engagements a batch of stream records (DynamoDB JSON, in
        stream order) changed. Returns the sequence numbers to retry: the first record whose
        sync failed and every one after it, as Lambda's partial batch response wants."""
        done: set[tuple[str, str]] = set()
        for index, record in enumerate(records):
            change = _stream_change(record)
            if change is None or change in done:
                continue
            try:
                self.sync_schedules(*change)
            except Exception:
                log.exception("syncing the schedules of %s failed; the stream retries", change)
                return [r["dynamodb"]["SequenceNumber"] for r in records[index:]]
            done.add(change)
        return []

    def sync_schedules(self, app_id: str, engagement_id: str) -> str:
        """Make the engagement's schedules what it needs as stored now; idempotent, so a record
        seen twice, late or after a newer one changes nothing more."""
        current = self._engagements.get(app_id, engagement_id)
        if current is None:
            self._schedules.delete_all(engagement_id)
            return "deleted"
        if current.synced_revision == current.schedule_revision:
            return "in_sync"
        wanted = lifecycle.schedules_needed(current.status, _stored_window(current))
        self._schedules.replace(app_id, engagement_id, current.schedule_revision, wanted)
        self._engagements.mark_synced(app_id, engagement_id, current.schedule_revision)
        return "synced"

    def sweep(self) -> dict[str, int]:
        """Repair what lost calls left behind, across every app, from the due index: a status
        whose boundary has passed (a firing that never came) and schedules that do not follow
        the current revision (a stream record that ended in the on-failure destination)."""
        now = clock.now()
        stamp = clock.iso_seconds(now)
        repaired = {"statuses": 0, "schedules": 0}
        for status in (lifecycle.SCHEDULED, lifecycle.ACTIVE):
            for due in self._engagements.running(status):
                if due.next_boundary <= stamp:
                    outcome = self._recompute(due.app_id, due.engagement_id, None)
                    repaired["statuses"] += outcome["outcome"] == "changed"
                elif due.synced_revision != due.schedule_revision:
                    synced = self.sync_schedules(due.app_id, due.engagement_id)
                    repaired["schedules"] += synced == "synced"
        return repaired

    # --- helpers ------------------------------------------------------------------------------

    def _change_status(self, app_id: str, engagement_id: str, transition) -> dict:
        current = self._load(app_id, engagement_id)
        now = clock.now()
        try:
            status = transition(current.status, _stored_window(current), now)
        except TransitionError as error:
            raise Conflict(str(error)) from None
        updated = current.changed(
            status=status,
            version=current.version + 1,
            updated_at=clock.iso(now),
            ever_active=current.ever_active or status == lifecycle.ACTIVE,
            schedule_revision=current.schedule_revision + 1,
        )
        self._store_update(current, updated, current.name)
        return engagement_view(updated)

    def _store_update(self, current: Engagement, updated: Engagement, name: str) -> None:
        try:
            self._engagements.update(current, updated)
        except TransactionFailed as failure:
            raise _store_error(failure, name) from None

    def _load(self, app_id: str, engagement_id: str) -> Engagement:
        engagement = self._engagements.get(app_id, engagement_id)
        if engagement is None:
            raise NotFound(f"no engagement {engagement_id} in this app")
        return engagement


def _has_run(engagement: Engagement, now) -> bool:
    """Whether devices may have been assigned: it was seen active, or it is published and its
    start has passed (the clock decides, not a status a lost schedule firing left behind)."""
    if engagement.ever_active:
        return True
    return engagement.status != lifecycle.DRAFT and now >= clock.parse_iso(engagement.start_at)


def _stream_change(record: dict[str, Any]) -> tuple[str, str] | None:
    """(app_id, engagement_id) when the record asks for a schedule sync: a new engagement, a
    removed one, or a schedule revision the schedules do not follow yet."""
    data = record.get("dynamodb") or {}
    keys = data.get("Keys") or {}
    try:
        change = (keys["app_id"]["S"], keys["engagement_id"]["S"])
    except (KeyError, TypeError):
        return None
    if record.get("eventName") == "REMOVE":
        return change
    image = data.get("NewImage") or {}
    revision = (image.get("schedule_revision") or {}).get("N")
    synced = (image.get("synced_revision") or {}).get("N")
    return change if revision != synced else None


def _stale() -> Conflict:
    return Conflict("the engagement changed meanwhile; read it again and retry")


def _store_error(failure: TransactionFailed, name: str) -> Exception:
    if "version" in failure.labels:
        return _stale()
    if "name" in failure.labels:
        return Conflict(f"name: an engagement named {name!r} already exists in this app")
    for label in failure.labels:
        if label.startswith("audience:"):
            audience_id = label.removeprefix("audience:")
            return InvalidInput(f"audience.audience_ids: no audience {audience_id} in this app")
    return failure


def _parse_firing(firing: Any) -> tuple[str, str, int]:
    if not isinstance(firing, dict):
        raise ValueError("a schedule firing must be a JSON object")
    app_id, engagement_id, revision = (
        firing.get("app_id"),
        firing.get("engagement_id"),
        firing.get("revision"),
    )
    if not isinstance(app_id, str) or not isinstance(engagement_id, str):
        raise ValueError("a schedule firing names app_id and engagement_id")
    if not isinstance(revision, int) or isinstance(revision, bool):
        raise ValueError("a schedule firing carries its schedule revision")
    return app_id, engagement_id, revision
