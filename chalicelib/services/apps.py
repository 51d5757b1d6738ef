"""Apps (tenants) and their keys."""

from chalicelib.adapters.dynamo import App, Apps
from chalicelib.api import bodies
from chalicelib.api.models import AppSettings, CreateApp
from chalicelib.domain import keys
from chalicelib.domain.ids import new_id
from chalicelib.services import clock
from chalicelib.services.engagements import merge_patch


def app_view(app: App) -> dict:
    return {"app_id": app.app_id, "created_at": app.created_at, **settings_of(app)}


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

    def rotate_keys(self, app: App) -> dict:
        """New admin and client keys; the old ones stop working at once."""
        admin_key = keys.new_key(keys.ADMIN, app.app_id)
        client_key = keys.new_key(keys.CLIENT, app.app_id)
        self._apps.replace_keys(
            app.app_id, keys.hash_key(admin_key), keys.hash_key(client_key), clock.iso(clock.now())
        )
        return {"app_id": app.app_id, "admin_key": admin_key, "client_key": client_key}
