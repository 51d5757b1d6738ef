"""The message fetch (the hot path: every app event of every user) and its explanation.

A fetch costs two DynamoDB requests whatever the number of engagements: one BatchGetItem for
the app (its key hash and catalog version) and the device, one GetItem for the subject's
delivery record: its impression histories and its behaviour profile, which behavioural audience
conditions read (so they cost no request of their own). The app's engagements are compiled once
per catalog version and kept in memory, so they are re-read only after an owner changed
something. A subject found in a control
group that its history does not record yet is counted through the events queue (an SQS send).
"""

import json
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from threading import Lock
from typing import Any

from chalicelib import observability
from chalicelib.adapters.dynamo import (
    App,
    AudienceRules,
    Deliveries,
    Devices,
    Engagements,
    spec_json,
)
from chalicelib.api.models import FetchMessages
from chalicelib.domain import eligibility, enrolment, identity, rules, templates
from chalicelib.domain.eligibility import CompiledEngagement, Decision, ImpressionHistory
from chalicelib.domain.history import records_control
from chalicelib.domain.lifecycle import ACTIVE, SCHEDULED
from chalicelib.domain.localization import localize
from chalicelib.domain.profile import ProfileView
from chalicelib.errors import NotFound
from chalicelib.services import access, clock
from chalicelib.services.access import Access
from chalicelib.services.devices import check_device_id
from chalicelib.services.ingestion import ControlAssignments

CACHED_APPS = 256
# the cached catalogs' engagements, as stored JSON: the compiled objects take a few times more
CACHED_BYTES = 16 * 1024 * 1024


@dataclass(frozen=True)
class Catalog:
    """An app's engagements, compiled, indexed by trigger event."""

    version: int
    engagements: tuple[CompiledEngagement, ...]
    by_event: Mapping[str, tuple[CompiledEngagement, ...]]
    size: int = 0  # the bytes of the engagements it was compiled from, as stored

    @classmethod
    def of(cls, version: int, engagements: list[CompiledEngagement], size: int = 0) -> "Catalog":
        by_event: dict[str, list[CompiledEngagement]] = {}
        for engagement in engagements:
            by_event.setdefault(engagement.event, []).append(engagement)
        by_event_tuples = {k: tuple(v) for k, v in by_event.items()}
        return cls(version, tuple(engagements), by_event_tuples, size)

    def next_change_after(self, now: datetime) -> datetime | None:
        """The next start or end among the engagements: when a fetch may answer differently."""
        upcoming = [
            moment
            for engagement in self.engagements
            for moment in (engagement.start_at, engagement.end_at)
            if moment > now
        ]
        return min(upcoming, default=None)


class CatalogCache:
    """Compiled catalogs per app, replaced when the app's catalog version moves; the least
    recently used go first beyond CACHED_APPS apps or CACHED_BYTES (the app just loaded always
    stays, however large)."""

    def __init__(self, engagements: Engagements, audience_rules: AudienceRules):
        self._engagements = engagements
        self._audience_rules = audience_rules
        self._catalogs: OrderedDict[str, Catalog] = OrderedDict()
        self._lock = Lock()

    def for_app(self, app: App) -> Catalog:
        cached = self._catalogs.get(app.app_id)
        if cached is not None and cached.version == app.catalog_version:
            with self._lock:
                if app.app_id in self._catalogs:  # unless another thread just evicted it
                    self._catalogs.move_to_end(app.app_id)
            return cached
        catalog = self._load(app)
        with self._lock:
            self._catalogs[app.app_id] = catalog
            self._catalogs.move_to_end(app.app_id)
            while len(self._catalogs) > 1 and (
                len(self._catalogs) > CACHED_APPS or self.size > CACHED_BYTES
            ):
                self._catalogs.popitem(last=False)
        return catalog

    @property
    def size(self) -> int:
        return sum(catalog.size for catalog in self._catalogs.values())

    def _load(self, app: App) -> Catalog:
        stored = self._engagements.all_of_app(app.app_id)
        audience_ids = {aid for engagement in stored for aid in engagement.audience_ids}
        rules = self._audience_rules.rules_of(app.app_id, audience_ids) if audience_ids else {}
        compiled = [
            eligibility.compile_engagement(e.engagement_id, e.status, e.spec, rules) for e in stored
        ]
        size = sum(len(spec_json(e.spec).encode()) for e in stored)
        return Catalog.of(app.catalog_version, compiled, size)


def history_of(raw: Mapping[str, Any] | None) -> ImpressionHistory:
    """Reads one engagement's entry of a delivery record (see DeliveryRecord)."""
    if not raw:
        return eligibility.NO_HISTORY
    return ImpressionHistory(
        total=int(raw.get("total", 0)),
        last_at=float(raw["last"]) if raw.get("last") is not None else None,
        buckets={int(bucket): int(count) for bucket, count in (raw.get("buckets") or {}).items()},
    )


@dataclass(frozen=True)
class Shown:
    """An engagement a device gets now: the decision, and the message as the fetch returns it."""

    engagement: CompiledEngagement
    decision: Decision
    message: dict


class DeliveryService:
    def __init__(
        self,
        access: Access,
        devices: Devices,
        deliveries: Deliveries,
        catalogs: CatalogCache,
        max_messages: int,
        fetch_interval_seconds: int,
        control_assignments: ControlAssignments,
    ):
        self._access = access
        self._devices = devices
        self._deliveries = deliveries
        self._catalogs = catalogs
        self._max_messages = max_messages
        self._fetch_interval = fetch_interval_seconds
        self._control_assignments = control_assignments

    def fetch(
        self,
        app_id: str,
        device_id: str,
        client_key: str | None,
        request: FetchMessages,
        test_token: str | None = None,
    ) -> dict:
        check_device_id(device_id)
        token = access.client_token(app_id, client_key)  # refused before any read
        app, stored_device = self._devices.app_and_device(app_id, device_id)
        self._access.verify_client(app, token)
        catalog = self._catalogs.for_app(app)
        test = enrolment.holds_token(enrolment.load(app.test_devices), device_id, test_token)
        device = _device(device_id, stored_device, app, test)
        now = clock.now()
        occasion = eligibility.OnEvent(request.event, request.attributes)
        candidates = catalog.by_event.get(request.event, ())
        shown = self._eligible(app_id, device, candidates, occasion, now)
        values = _template_values(device, request.attributes)
        messages = [
            _message(engagement, decision, device, values)
            for engagement, decision in shown[: self._max_messages]
        ]
        observability.count(observability.FETCHES)
        observability.count(observability.MESSAGES_SHOWN, len(messages))
        return {"messages": messages, "next_fetch_after": self._next_fetch_after(catalog, now)}

    def on_any_event(
        self,
        app_id: str,
        device_id: str,
        authorize: Callable[[App | None], object],
        occasion: eligibility.OnAnyEvent,
    ) -> list[Shown] | None:
        """Every engagement a registered device may be shown now on any event, by priority, for
        a client that matches triggers itself; None for a device that never registered.
        `authorize` checks the caller against the app read with the device (it raises)."""
        check_device_id(device_id)
        app, stored_device = self._devices.app_and_device(app_id, device_id)
        authorize(app)
        if stored_device is None:
            return None
        catalog = self._catalogs.for_app(app)
        device = _device(device_id, stored_device, app)
        shown = self._eligible(app_id, device, catalog.engagements, occasion, clock.now())
        values = _template_values(device, {})  # no triggering event is known yet
        observability.count(observability.FETCHES)
        observability.count(observability.MESSAGES_SHOWN, len(shown))
        return [
            Shown(engagement, decision, _message(engagement, decision, device, values))
            for engagement, decision in shown
        ]

    def _eligible(
        self,
        app_id: str,
        device: eligibility.Device,
        candidates: Iterable[CompiledEngagement],
        occasion: eligibility.Occasion,
        now: datetime,
    ) -> list[tuple[CompiledEngagement, Decision]]:
        """The candidates the device gets, by priority; control-group subjects that their
        history does not record yet are queued as assigned."""
        record = self._deliveries.of_subject(app_id, device.subject)
        behaviour = ProfileView(record.profile, now.timestamp())
        shown = []
        unrecorded_control = []
        for engagement in candidates:
            entry = record.history.get(engagement.engagement_id)
            decision = eligibility.decide(
                engagement, device, history_of(entry), occasion, now, behaviour
            )
            if decision.eligible:
                shown.append((engagement, decision))
            elif decision.reason == eligibility.CONTROL_GROUP and not records_control(entry or {}):
                unrecorded_control.append(engagement.engagement_id)
        if unrecorded_control and device.registered:  # only a registered device counts
            self._control_assignments.record(app_id, device, unrecorded_control, now)
        shown.sort(key=lambda pair: _priority_order(pair[0]))
        return shown

    def explain(self, app_id: str, device_id: str, occasion: eligibility.Occasion) -> dict:
        """Every engagement of the app, with the decision a fetch (or, for OnAnyEvent, the
        dialect) would make now, and why. The caller has checked the admin key."""
        check_device_id(device_id)
        app, stored_device = self._devices.app_and_device(app_id, device_id)
        if app is None:
            raise NotFound(f"no app {app_id}")
        catalog = self._catalogs.for_app(app)
        enrolled = device_id in enrolment.load(app.test_devices)  # as with its test token
        device = _device(device_id, stored_device, app, enrolled)
        record = self._deliveries.of_subject(app_id, device.subject)
        now = clock.now()
        behaviour = ProfileView(record.profile, now.timestamp())
        ordered = sorted(catalog.engagements, key=_priority_order)
        asked = (
            {"event": occasion.name}
            if isinstance(occasion, eligibility.OnEvent)
            else {"event": None, "dialect": occasion.dialect}
        )
        return {
            "device_id": device_id,
            **asked,
            "registered": stored_device is not None,
            "subject": device.subject,
            "profile": behaviour.summary(),
            "engagements": [
                _explanation(
                    engagement,
                    eligibility.decide(
                        engagement,
                        device,
                        history_of(record.history.get(engagement.engagement_id)),
                        occasion,
                        now,
                        behaviour,
                        explain=True,
                    ),
                )
                for engagement in ordered
            ],
        }

    def triggers(self, app_id: str, client_key: str | None) -> dict:
        """The distinct (event, conditions) of the engagements that can show something now or
        before `next_fetch_after` (test devices aside), from the catalog the fetch uses: one
        GetItem for the app, no other read while the catalog version holds."""
        app = self._access.require_client(app_id, client_key)
        catalog = self._catalogs.for_app(app)
        now = clock.now()
        seconds = self._next_fetch_after(catalog, now)
        horizon = now + timedelta(seconds=seconds)
        found: dict[str, dict] = {}
        for engagement in sorted(catalog.engagements, key=_priority_order):
            if engagement.status not in (SCHEDULED, ACTIVE):
                continue
            if not (engagement.start_at < horizon and now < engagement.end_at):
                continue
            conditions = [rules.to_json(condition) for condition in engagement.conditions]
            key = json.dumps([engagement.event, conditions], sort_keys=True)
            found.setdefault(key, {"event": engagement.event, "conditions": conditions})
        observability.count(observability.TRIGGERS_SYNCED, len(found))
        return {"triggers": list(found.values()), "next_fetch_after": seconds}

    def _next_fetch_after(self, catalog: Catalog, now: datetime) -> int:
        upcoming = catalog.next_change_after(now)
        if upcoming is None:
            return self._fetch_interval
        seconds = int((upcoming - now).total_seconds()) + 1
        return max(1, min(self._fetch_interval, seconds))


def _priority_order(engagement: CompiledEngagement) -> tuple:
    """Highest priority (1) first; among equals, the most recently started."""
    return (engagement.priority, -engagement.start_at.timestamp())


def _device(device_id: str, stored, app: App, test: bool = False) -> eligibility.Device:
    """The device as eligibility sees it: anonymous (no user id) when the app requires proof of
    user ids and this one's is not proven by a valid secret (SPEC §7.1)."""
    if stored is None:
        return eligibility.Device(device_id=device_id, registered=False, test=test)
    fields = {name: value for name, value in stored.fields.items() if name != "user_verified_by"}
    user_id = identity.trusted_user(
        app.identity,
        identity.load(app.identity_secrets),
        fields.get("user_id"),
        stored.fields.get("user_verified_by"),
        clock.now(),
    )
    if user_id is None:
        fields.pop("user_id", None)
    return eligibility.Device(device_id=device_id, registered=True, fields=fields, test=test)


def _template_values(
    device: eligibility.Device, event_attributes: Mapping[str, Any]
) -> templates.Values:
    return templates.Values(
        user_id=device.fields.get("user_id"),
        attributes=device.fields.get("attributes") or {},
        event=event_attributes,
    )


def _message(
    engagement: CompiledEngagement,
    decision: Decision,
    device: eligibility.Device,
    values: templates.Values,
) -> dict:
    """The message as the device shows it: localized, its templates rendered."""
    localized = localize(engagement.messages[decision.variant], device.fields.get("locale"))
    return {
        "engagement_id": engagement.engagement_id,
        "variant": decision.variant,
        "priority": engagement.priority,
        "test": decision.test,
        "message": templates.render_message(localized, values),
        "metrics": dict(engagement.metrics),
        "expires_at": clock.iso_seconds(engagement.end_at),
    }


def _explanation(engagement: CompiledEngagement, decision: Decision) -> dict:
    return {
        "engagement_id": engagement.engagement_id,
        "name": engagement.name,
        "status": engagement.status,
        "priority": engagement.priority,
        "eligible": decision.eligible,
        "reason": decision.reason,
        "detail": decision.detail,
        "variant": decision.variant,
        "test": decision.test,
    }
