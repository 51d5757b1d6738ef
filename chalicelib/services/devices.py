"""Device registration (client key), with identity verification when the app requires it."""

import re
from collections.abc import Callable
from typing import Any

from chalicelib.adapters.dynamo import App, Devices
from chalicelib.api import bodies
from chalicelib.api.models import DEVICE_ID_PATTERN, RegisterDevice
from chalicelib.domain import identity
from chalicelib.errors import InvalidInput, Unauthorized
from chalicelib.services import clock

_DEVICE_ID = re.compile(DEVICE_ID_PATTERN)


def check_device_id(device_id: str) -> str:
    if not _DEVICE_ID.match(device_id):
        raise InvalidInput("device_id: 1-128 characters among letters, digits and _ . : -")
    return device_id


class DeviceService:
    def __init__(self, devices: Devices):
        self._devices = devices

    def register(self, app: App, device_id: str, raw_body: bytes | None) -> tuple[dict, bool]:
        """Create or replace a registration; returns the device and whether it is new. When the
        app requires identity, a user_id needs its user_token (401 without a valid one)."""
        check_device_id(device_id)
        request = bodies.parse(RegisterDevice, raw_body)
        fields = request.model_dump(exclude_none=True, exclude={"user_token"})
        created = self._devices.register(
            app.app_id, device_id, _proven(app, request, fields), clock.iso(clock.now())
        )
        return {"device_id": device_id, "app_id": app.app_id, **fields}, created

    def upsert(
        self,
        app_id: str,
        device_id: str,
        authorize: Callable[[App | None], object],
        merge: Callable[[dict[str, Any] | None], dict[str, Any]],
        user_token: str | None = None,
    ) -> bool:
        """Merge changes into a device (or create it) for a dialect whose updates are partial:
        one read of the app and the device, `authorize(app)`, `merge(stored fields or None)`
        validated as a registration (with `user_token` proving its user id, as on register),
        one write. True when the device is new."""
        check_device_id(device_id)
        app, stored = self._devices.app_and_device(app_id, device_id)
        authorize(app)
        previous = None
        if stored is not None:
            previous = {k: v for k, v in stored.fields.items() if k != "user_verified_by"}
        merged = merge(previous)
        if user_token is not None:
            merged["user_token"] = user_token
        request = bodies.validate(RegisterDevice, merged)
        fields = request.model_dump(exclude_none=True, exclude={"user_token"})
        return self._devices.register(
            app_id, device_id, _proven(app, request, fields), clock.iso(clock.now())
        )


def _proven(app: App, request: RegisterDevice, fields: dict[str, Any]) -> dict[str, Any]:
    """The fields to store: with `user_verified_by` when the app requires identity and the
    user id carries a valid user_token; 401 when it requires it and the token is missing or
    wrong."""
    stored = dict(fields)
    if app.identity == identity.REQUIRED and request.user_id is not None:
        secrets = identity.valid(identity.load(app.identity_secrets), clock.now())
        proven = identity.verify(secrets, request.user_id, request.user_token)
        if proven is None:
            raise Unauthorized(
                "user_token: this app requires a valid user_token for a user_id "
                "(hex HMAC-SHA256 of the user_id with the app's identity secret)"
            )
        stored["user_verified_by"] = proven
    return stored
