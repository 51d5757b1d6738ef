"""What an app's owner sets up so that a public client key cannot be abused: identity
verification (SPEC §7.1) and enrolled test devices (SPEC §7.2)."""

from dataclasses import replace
from datetime import timedelta

from chalicelib.adapters.dynamo import App, Apps, TrustChanged
from chalicelib.api import bodies
from chalicelib.api.models import ConfigureIdentity, EnrolTestDevice
from chalicelib.domain import enrolment, identity, keys
from chalicelib.errors import Conflict, InvalidInput, NotFound
from chalicelib.services import clock

DEFAULT_IDENTITY_OVERLAP_HOURS = 7 * 24


def identity_view(app: App) -> dict:
    """The app's identity setting and its secrets by id and expiry, never the secrets."""
    now = clock.now()
    return {
        "identity": identity.REQUIRED if app.identity == identity.REQUIRED else identity.OFF,
        "identity_secrets": [
            {
                "secret_id": secret.secret_id,
                "expires_at": clock.iso(secret.expires_at) if secret.expires_at else None,
            }
            for secret in identity.valid(identity.load(app.identity_secrets), now)
        ],
    }


def test_device_ids(app: App) -> frozenset[str]:
    return frozenset(enrolment.load(app.test_devices))


class TrustService:
    def __init__(self, apps: Apps):
        self._apps = apps

    def configure_identity(self, app: App, raw_body: bytes | None) -> dict:
        """Require proven user ids with a new secret (shown once; a previous one keeps working
        for the overlap), or turn identity verification off."""
        request = bodies.parse(ConfigureIdentity, raw_body) if raw_body else ConfigureIdentity()
        if request.identity == identity.OFF:
            if request.overlap_hours is not None:
                raise InvalidInput("overlap_hours: only when identity is required")
            self._update(app, {"identity": None, "identity_secrets": None})
            return {"identity": identity.OFF}
        now = clock.now()
        hours = request.overlap_hours
        overlap = timedelta(hours=DEFAULT_IDENTITY_OVERLAP_HOURS if hours is None else hours)
        kept = [
            replace(secret, expires_at=now + overlap) if secret.expires_at is None else secret
            for secret in identity.valid(identity.load(app.identity_secrets), now)
        ]
        kept = [secret for secret in kept if secret.valid_at(now)]
        fresh = identity.new_secret()
        stored = (fresh, *kept)
        self._update(
            app, {"identity": identity.REQUIRED, "identity_secrets": identity.dump(stored)}
        )
        return {
            "identity": identity.REQUIRED,
            "identity_secret": fresh.secret,
            "secret_id": fresh.secret_id,
            "identity_secrets": [
                {
                    "secret_id": secret.secret_id,
                    "expires_at": clock.iso(secret.expires_at) if secret.expires_at else None,
                }
                for secret in stored
            ],
        }

    def enrol(self, app: App, raw_body: bytes | None) -> dict:
        """Enrol a test device: its test token, shown once (only its hash is kept)."""
        request = bodies.parse(EnrolTestDevice, raw_body)
        devices = enrolment.load(app.test_devices)
        if request.device_id in devices:
            raise Conflict(f"{request.device_id} is enrolled already: delete it to re-enrol it")
        if len(devices) >= enrolment.MAX_TEST_DEVICES:
            raise Conflict(f"an app enrols at most {enrolment.MAX_TEST_DEVICES} test devices")
        token = enrolment.new_token()
        enrolled = enrolment.TestDevice(
            request.device_id, request.label, keys.hash_key(token), clock.iso(clock.now())
        )
        self._update(
            app, {"test_devices": enrolment.dump({**devices, request.device_id: enrolled})}
        )
        return {**enrolled.view(), "test_token": token}

    def test_devices(self, app: App) -> dict:
        devices = enrolment.load(app.test_devices)
        return {"test_devices": [device.view() for _, device in sorted(devices.items())]}

    def withdraw(self, app: App, device_id: str) -> None:
        devices = enrolment.load(app.test_devices)
        if device_id not in devices:
            raise NotFound(f"no enrolled test device {device_id}")
        del devices[device_id]
        self._update(app, {"test_devices": enrolment.dump(devices)})

    def _update(self, app: App, changes: dict) -> None:
        try:
            self._apps.update_trust(app, changes, read=("identity_secrets", "test_devices"))
        except TrustChanged:
            raise Conflict("the app changed meanwhile: read it and try again") from None
