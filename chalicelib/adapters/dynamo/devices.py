"""Devices and what each subject (a user, or a device without user) was shown."""

import json
import time
from dataclasses import dataclass
from typing import Any

from chalicelib.adapters import throttling
from chalicelib.adapters.dynamo.catalog import App, app_row, rules_json
from chalicelib.adapters.dynamo.tables import AppRecord, DeliveryRecord, DeviceRecord, bind
from chalicelib.adapters.dynamo.transactions import connection
from chalicelib.settings import Settings


@dataclass(frozen=True)
class Device:
    app_id: str
    device_id: str
    fields: dict[
        str, Any
    ]  # user_id, platform, os_version, app_version, locale, timezone, attributes
    created_at: str
    updated_at: str


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


UNPROCESSED_RETRIES = 3
DEVICE_FIELDS = (
    "user_id",
    "user_verified_by",
    "platform",
    "os_version",
    "app_version",
    "locale",
    "timezone",
)


class Devices:
    def __init__(self, settings: Settings):
        self._settings = settings
        bind(settings)

    def register(self, app_id: str, device_id: str, fields: dict[str, Any], now: str) -> bool:
        """Create or replace a device's registration in one write; True when it is new."""
        actions = [
            DeviceRecord.updated_at.set(now),
            DeviceRecord.created_at.set(DeviceRecord.created_at | now),
            DeviceRecord.attributes.set(rules_json(fields.get("attributes") or {})),
        ]
        for name in DEVICE_FIELDS:
            attribute = getattr(DeviceRecord, name)
            value = fields.get(name)
            actions.append(attribute.set(value) if value is not None else attribute.remove())
        stored = DeviceRecord(app_id, device_id).update(actions=actions)
        return stored["Attributes"]["created_at"]["S"] == now

    def app_and_device(self, app_id: str, device_id: str) -> tuple[App | None, Device | None]:
        """The app and the device in one strongly consistent BatchGetItem.

        Not a TransactGetItems: DynamoDB cancels a transactional read that races a write to
        either item (every admin change bumps the app's catalog version), and the fetch needs
        no snapshot of the two. Keys DynamoDB leaves unprocessed (throttling) are asked again
        a few times, then the read fails as throttled.
        """
        apps, devices = AppRecord.Meta.table_name, DeviceRecord.Meta.table_name
        wanted = {
            apps: {"Keys": [{"app_id": {"S": app_id}}], "ConsistentRead": True},
            devices: {
                "Keys": [{"app_id": {"S": app_id}, "device_id": {"S": device_id}}],
                "ConsistentRead": True,
            },
        }
        found: dict[str, list[dict]] = {apps: [], devices: []}
        client = connection(self._settings.region).client
        for attempt in range(UNPROCESSED_RETRIES + 1):
            answer = client.batch_get_item(RequestItems=wanted)
            for table, items in answer.get("Responses", {}).items():
                found[table].extend(items)
            wanted = answer.get("UnprocessedKeys") or {}
            if not wanted:
                break
            time.sleep(0.02 * 2**attempt)
        else:
            raise throttling.Throttled("the app and device reads stayed unprocessed")
        app = app_row(AppRecord.from_raw_data(found[apps][0])) if found[apps] else None
        device = _device(DeviceRecord.from_raw_data(found[devices][0])) if found[devices] else None
        return app, device


def subject_key(app_id: str, subject: str) -> str:
    return f"{app_id}#{subject}"


class Deliveries:
    def __init__(self, settings: Settings):
        bind(settings)

    def history(self, app_id: str, subject: str) -> dict[str, dict]:
        """Per-engagement impression history of a subject ({} when it has seen nothing)."""
        return self.of_subject(app_id, subject).history

    def of_subject(self, app_id: str, subject: str) -> "SubjectRecord":
        """The subject's histories and profile, in one GetItem."""
        try:
            record = DeliveryRecord.get(subject_key(app_id, subject), consistent_read=True)
        except DeliveryRecord.DoesNotExist:
            return SubjectRecord({}, {})
        return SubjectRecord(
            record.history.as_dict() if record.history else {},
            json.loads(record.profile) if record.profile else {},
        )


@dataclass(frozen=True)
class SubjectRecord:
    history: dict[str, dict]  # engagement id -> entry (chalicelib/domain/history.py)
    profile: dict[str, Any]  # chalicelib/domain/profile.py


class DeviceUsers:
    """The user id of each device, to know whose history an event belongs to."""

    def __init__(self, settings: Settings):
        bind(settings)

    def identities(
        self, app_id: str, device_ids: set[str]
    ) -> dict[str, tuple[str | None, str | None]]:
        """(user_id, user_verified_by) of each registered device among `device_ids`."""
        if not device_ids:
            return {}
        keys = [(app_id, device_id) for device_id in sorted(device_ids)]
        wanted = ["app_id", "device_id", "user_id", "user_verified_by"]
        found = DeviceRecord.batch_get(keys, attributes_to_get=wanted)
        return {record.device_id: (record.user_id, record.user_verified_by) for record in found}
