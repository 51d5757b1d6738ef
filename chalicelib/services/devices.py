"""Device registration (client key)."""

import re
from collections.abc import Callable
from typing import Any

from chalicelib.adapters.dynamo import App, Devices
from chalicelib.api import bodies
from chalicelib.api.models import DEVICE_ID_PATTERN, RegisterDevice
from chalicelib.errors import InvalidInput
from chalicelib.services import clock

_DEVICE_ID = re.compile(DEVICE_ID_PATTERN)


def check_device_id(device_id: str) -> str:
    if not _DEVICE_ID.match(device_id):
        raise InvalidInput("device_id: 1-128 characters among letters, digits and _ . : -")
    return device_id


class DeviceService:
    def __init__(self, devices: Devices):
        self._devices = devices

    def register(self, app_id: str, device_id: str, raw_body: bytes | None) -> tuple[dict, bool]:
        """Create or replace a registration; returns the device and whether it is new."""
        check_device_id(device_id)
        request = bodies.parse(RegisterDevice, raw_body)
        fields = request.model_dump(exclude_none=True)
        created = self._devices.register(app_id, device_id, fields, clock.iso(clock.now()))
        return {"device_id": device_id, "app_id": app_id, **fields}, created

    def upsert(
        self,
        app_id: str,
        device_id: str,
        authorize: Callable[[App | None], object],
        merge: Callable[[dict[str, Any] | None], dict[str, Any]],
    ) -> bool:
        """Merge changes into a device (or create it) for a dialect whose updates are partial:
        one read of the app and the device, `authorize(app)`, `merge(stored fields or None)`
        validated as a registration, one write. True when the device is new."""
        check_device_id(device_id)
        app, stored = self._devices.app_and_device(app_id, device_id)
        authorize(app)
        fields = bodies.validate(RegisterDevice, merge(stored.fields if stored else None))
        wanted = fields.model_dump(exclude_none=True)
        return self._devices.register(app_id, device_id, wanted, clock.iso(clock.now()))
