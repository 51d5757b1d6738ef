"""Apps (tenants) and their keys."""

from datetime import timedelta

from chalicelib.adapters.dynamo import App, Apps, TrustChanged
from chalicelib.api import bodies
from chalicelib.api.models import (
    DEFAULT_OVERLAP_HOURS,
    KEY_KINDS,
    AppSettings,
    CreateApp,
    RotateKeys,
)
from chalicelib.domain import keys
from chalicelib.domain.ids import new_id
from chalicelib.errors import Conflict
from chalicelib.services import clock
from chalicelib.services.engagements import merge_patch
from chalicelib.services.trust import identity_view


def app_view(app: App) -> dict:
    """The app as its owner sees it: settings, and its keys by fingerprint and expiry only."""
    return {
        "app_id": app.app_id,
        "created_at": app.created_at,
        **settings_of(app),
        "keys": {kind: _key_view(app, kind) for kind in KEY_KINDS},
        **identity_view(app),
    }


def _key_view(app: App, kind: str) -> dict:
    previous_hash = getattr(app, f"previous_{kind}_key_hash")
    expires_at = getattr(app, f"previous_{kind}_key_expires_at")
    previous = None
    if previous_hash and not keys.expired(expires_at, clock.now()):
        previous = {"fingerprint": keys.fingerprint(previous_hash), "expires_at": expires_at}
    return {
        "fingerprint": keys.fingerprint(getattr(app, f"{kind}_key_hash")),
        "since": getattr(app, f"{kind}_key_since") or app.created_at,
        "previous": previous,
    }


def settings_of(app: App) -> dict:
    """The app's settings as AppSettings describes them (what PATCH merges into)."""
    return {
        "name": app.name,
        "web_origins": list(app.web_origins),
        "pinpoint": {"enabled": app.pinpoint_enabled},
    }


class AppService:
    def __init__(self, apps: Apps):
        self._apps = apps

    def create(self, raw_body: bytes | None) -> dict:
        request = bodies.parse(CreateApp, raw_body)
        app_id = new_id("app")
        admin_key = keys.new_key(keys.ADMIN, app_id)
        client_key = keys.new_key(keys.CLIENT, app_id)
        app = App(
            app_id=app_id,
            name=request.name,
            admin_key_hash=keys.hash_key(admin_key),
            client_key_hash=keys.hash_key(client_key),
            created_at=clock.iso(clock.now()),
        )
        self._apps.create(app)
        return {**app_view(app), "admin_key": admin_key, "client_key": client_key}

    def find(self, app_id: str) -> App | None:
        return self._apps.get(app_id)

    def update(self, app: App, raw_body: bytes | None) -> dict:
        """Apply a JSON merge patch of the app's settings; a bad patch changes nothing."""
        patch = bodies.parse_json_object(raw_body)
        current = settings_of(app)
        wanted = bodies.validate(AppSettings, merge_patch(current, patch)).model_dump()
        changes = {name: value for name, value in wanted.items() if current.get(name) != value}
        if not changes:
            return app_view(app)
        return app_view(self._apps.update_settings(app.app_id, changes))

    def rotate_keys(self, app: App, raw_body: bytes | None) -> dict:
        """A new key of the kind asked (both without a body); the one it replaces keeps working
        until its overlap ends (SPEC §7.4). Shown once: only hashes are stored."""
        request = bodies.parse(RotateKeys, raw_body) if raw_body else RotateKeys()
        kinds = (request.kind,) if request.kind else KEY_KINDS
        now = clock.now()
        answer: dict = {"app_id": app.app_id}
        changes: dict = {}
        for kind in kinds:
            key = keys.new_key(kind, app.app_id)
            hours = request.overlap_hours
            overlap = timedelta(hours=DEFAULT_OVERLAP_HOURS[kind] if hours is None else hours)
            previous_until = clock.iso(now + overlap) if overlap else None
            changes |= {
                f"{kind}_key_hash": keys.hash_key(key),
                f"{kind}_key_since": clock.iso(now),
                f"previous_{kind}_key_hash": getattr(app, f"{kind}_key_hash") if overlap else None,
                f"previous_{kind}_key_expires_at": previous_until,
            }
            answer[f"{kind}_key"] = key
            answer[f"previous_{kind}_key_expires_at"] = previous_until or clock.iso(now)
        try:
            self._apps.update_trust(app, changes, read=())
        except TrustChanged:
            raise Conflict("the keys were rotated meanwhile: read the app and try again") from None
        return answer
