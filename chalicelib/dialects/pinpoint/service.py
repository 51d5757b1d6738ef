"""The three Pinpoint operations, each a call of Herald's services and a Pinpoint answer."""

import json
import re
import uuid
from typing import Any

from pydantic import ValidationError

from chalicelib.adapters.dynamo import App
from chalicelib.adapters.events import QueueUnavailable
from chalicelib.api import bodies
from chalicelib.dialects.pinpoint import campaigns, endpoints, events, triggers
from chalicelib.dialects.pinpoint.models import EndpointRequest, Event, validation_message
from chalicelib.errors import Forbidden, HeraldError, InvalidInput
from chalicelib.services import clock
from chalicelib.services.delivery import CatalogCache, DeliveryService
from chalicelib.services.devices import DeviceService, check_device_id
from chalicelib.services.ingestion import EventIntake, parse_event

MAX_EVENTS = 100  # PutEvents' limit per request, as Pinpoint's
MAX_ENDPOINT_BYTES = 64 * 1024
_APP_ID = re.compile(r"^app[0-9a-f]{28}$")
DISABLED = "the Pinpoint dialect is not enabled for this app"
ACCEPTED = {"StatusCode": 202, "Message": "Accepted"}


def request_id() -> str:
    return str(uuid.uuid4())


class PinpointDialect:
    def __init__(
        self,
        apps,
        devices: DeviceService,
        delivery: DeliveryService,
        catalogs: CatalogCache,
        intake: EventIntake,
    ):
        self._apps = apps
        self._devices = devices
        self._delivery = delivery
        self._catalogs = catalogs
        self._intake = intake

    # --- who may call: the app id is the credential, when its owner enabled the dialect ------

    @staticmethod
    def check_app_id(app_id: str) -> None:
        """Refuse an id that cannot be an app's before any database read."""
        if not _APP_ID.match(app_id):
            raise Forbidden(DISABLED)

    @staticmethod
    def enabled(app: App | None) -> App:
        if app is None or not app.pinpoint_enabled:
            raise Forbidden(DISABLED)
        return app

    def _app(self, app_id: str) -> App:
        self.check_app_id(app_id)
        return self.enabled(self._apps.get(app_id))

    # --- UpdateEndpoint --------------------------------------------------------------------

    def update_endpoint(self, app_id: str, endpoint_id: str, raw: bytes | None) -> dict:
        self.check_app_id(app_id)
        check_device_id(endpoint_id)
        request = _parse(EndpointRequest, bodies.parse_json_object(raw, MAX_ENDPOINT_BYTES))
        self._upsert(app_id, endpoint_id, request)
        return {"Message": "Accepted", "RequestID": request.RequestId or request_id()}

    def _upsert(self, app_id: str, endpoint_id: str, request: EndpointRequest) -> None:
        self._devices.upsert(
            app_id,
            endpoint_id,
            authorize=self.enabled,
            merge=lambda stored: endpoints.merged_fields(stored, request),
            user_token=endpoints.user_token(request),
        )

    # --- GetInAppMessages ------------------------------------------------------------------

    def in_app_messages(self, app_id: str, endpoint_id: str) -> dict:
        self.check_app_id(app_id)
        check_device_id(endpoint_id)
        shown = self._delivery.on_any_event(
            app_id, endpoint_id, self.enabled, triggers.ON_ANY_EVENT
        )
        return {"InAppMessageCampaigns": [campaigns.campaign(item) for item in shown or []]}

    # --- PutEvents (the body's top-level key is BatchItem) ---------------------------------

    def put_events(self, app_id: str, body: dict[str, Any]) -> dict:
        app = self._app(app_id)
        batch = _batch_items(body)
        catalog = self._catalogs.for_app(app)
        by_id = {engagement.engagement_id: engagement for engagement in catalog.engagements}
        now = clock.now()
        results: dict[str, dict] = {}
        queued: list[tuple[str, str, Any]] = []  # (endpoint, event id, Herald event)
        for endpoint_id, item in batch.items():
            endpoint_result, per_event = self._endpoint_events(
                app_id, endpoint_id, item, by_id.get, now, queued
            )
            results[endpoint_id] = {
                "EndpointItemResponse": endpoint_result,
                "EventsItemResponse": per_event,
            }
        if queued:
            try:
                self._intake.enqueue(app_id, [event for _, _, event in queued])
            except QueueUnavailable as error:
                # Amplify resends an event answered 429 (or 500), never one answered 503.
                for endpoint_id, event_id, _ in queued:
                    results[endpoint_id]["EventsItemResponse"][event_id] = {
                        "StatusCode": 429,
                        "Message": str(error),
                    }
        return {"Results": results}

    def _endpoint_events(self, app_id, endpoint_id, item, find, now, queued):
        if not isinstance(item, dict) or not isinstance(item.get("Events"), dict):
            problem = {"StatusCode": 400, "Message": "must be an object with Events (an object)"}
            return problem, {}
        unknown = set(item) - {"Endpoint", "Events"}
        try:
            if unknown:
                raise InvalidInput(f"unknown field(s) {sorted(unknown)}")
            check_device_id(endpoint_id)
            endpoint = _parse(EndpointRequest, _object(item.get("Endpoint", {}), "Endpoint"))
            if not endpoint.is_empty:
                self._upsert(app_id, endpoint_id, endpoint)
        except HeraldError as error:
            refused = {"StatusCode": error.status_code, "Message": str(error)}
            return refused, {event_id: refused for event_id in item["Events"]}
        per_event = {}
        for event_id, raw_event in item["Events"].items():
            try:
                event = _parse(Event, _object(raw_event, "event"))
                herald = events.herald_event(endpoint_id, event_id, event, find)
                queued.append((endpoint_id, event_id, _checked(herald, now)))
                per_event[event_id] = ACCEPTED
            except InvalidInput as error:
                per_event[event_id] = {"StatusCode": 400, "Message": str(error)}
        return ACCEPTED, per_event


def _parse(model, data: dict):
    try:
        return model.model_validate_json(json.dumps(data))
    except ValidationError as error:
        raise InvalidInput(validation_message(error)) from None


def _object(value: Any, name: str) -> dict:
    if not isinstance(value, dict):
        raise InvalidInput(f"{name}: must be an object")
    return value


def _checked(herald: dict, now) -> Any:
    """The Herald event, validated as Herald's own events route would; Pinpoint field names
    in the message."""
    try:
        return parse_event(herald, now)
    except InvalidInput as error:
        problems = []
        for problem in str(error).split("; "):
            field, _, message = problem.partition(": ")
            top, dot, rest = field.partition(".")
            problems.append(f"{events.field_name(top)}{dot}{rest}: {message}")
        raise InvalidInput("; ".join(problems)) from None


def _batch_items(body: dict[str, Any]) -> dict:
    unknown = set(body) - {"BatchItem"}
    if unknown:
        raise InvalidInput(f"unknown field(s) {sorted(unknown)}")
    batch = body["BatchItem"]
    if not isinstance(batch, dict) or not batch:
        raise InvalidInput("BatchItem: must be an object of endpoint ids")
    total = sum(
        len(item["Events"])
        for item in batch.values()
        if isinstance(item, dict) and isinstance(item.get("Events"), dict)
    )
    if total > MAX_EVENTS:
        raise InvalidInput(f"BatchItem: at most {MAX_EVENTS} events per request, got {total}")
    return batch
