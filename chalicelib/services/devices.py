"""Device registration (client key)."""

import re

from chalicelib.adapters.dynamo import Devices
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
