"""Apps (tenants) and their keys."""

from chalicelib.adapters.dynamo import App, Apps
from chalicelib.api import bodies
from chalicelib.api.models import CreateApp
from chalicelib.domain import keys
from chalicelib.domain.ids import new_id
from chalicelib.services import clock


def app_view(app: App) -> dict:
    return {"app_id": app.app_id, "name": app.name, "created_at": app.created_at}


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

    def rotate_keys(self, app: App) -> dict:
        """New admin and client keys; the old ones stop working at once."""
        admin_key = keys.new_key(keys.ADMIN, app.app_id)
        client_key = keys.new_key(keys.CLIENT, app.app_id)
        self._apps.replace_keys(
            app.app_id, keys.hash_key(admin_key), keys.hash_key(client_key), clock.iso(clock.now())
        )
        return {"app_id": app.app_id, "admin_key": admin_key, "client_key": client_key}
