"""Who may call what: the root key, an app's admin key, an app's client key."""

from contextvars import ContextVar

from chalicelib.adapters.dynamo import App, Apps
from chalicelib.domain import keys
from chalicelib.errors import Forbidden, NotFound, Unauthorized


def bearer_token(authorization: str | None) -> str:
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("send the key as 'Authorization: Bearer <key>'")
    return token.strip()


# The app whose key the current request presented, as read for checking it: CORS answers from
# its web_origins without reading it again. Each request runs in its own context (a thread of
# the local server, one invocation at a time on Lambda); app.py resets it per request.
_presented: ContextVar[App | None] = ContextVar("herald_presented_app", default=None)


class Access:
    def __init__(self, apps: Apps, root_key_hash: str):
        self._apps = apps
        self._root_key_hash = root_key_hash

    def require_root(self, authorization: str | None) -> None:
        if not keys.matches(bearer_token(authorization), self._root_key_hash):
            raise Unauthorized("this route needs the deployment's root key")

    def require_admin(self, app_id: str, authorization: str | None) -> App:
        """The app, when the caller holds its admin key or the root key."""
        token = bearer_token(authorization)
        if keys.matches(token, self._root_key_hash):
            app = self._apps.get(app_id)
            if app is None:
                raise NotFound(f"no app {app_id}")
            return app
        return self._require_app_key(app_id, token, keys.ADMIN)

    def presented_app(self, app_id: str) -> App | None:
        """The app `app_id` when this request already read it to check a key (else None)."""
        app = _presented.get()
        return app if app is not None and app.app_id == app_id else None

    def forget_presented(self) -> None:
        _presented.set(None)

    def require_client(
        self, app_id: str, client_key: str | None, known_app: App | None = None
    ) -> App:
        """The app, when `client_key` is its client key. `known_app`, when the caller has
        already read the app, saves reading it again."""
        if not client_key:
            raise Unauthorized("send the app's client key as 'X-Client-Key: <key>'")
        return self._require_app_key(app_id, client_key.strip(), keys.CLIENT, known_app)

    def _require_app_key(
        self, app_id: str, token: str, kind: str, known_app: App | None = None
    ) -> App:
        parsed = keys.parse(token)
        if parsed is None:
            raise Unauthorized("invalid key")
        if known_app is not None and known_app.app_id == parsed.app_id:
            owner: App | None = known_app
        else:
            owner = self._apps.get(parsed.app_id)
        _presented.set(owner)
        if owner is None or not _valid_for(owner, token, parsed.kind):
            raise Unauthorized("invalid key")
        if parsed.app_id != app_id:
            raise Forbidden("this key belongs to another app")
        if parsed.kind != kind:
            raise Forbidden(f"this route needs the app's {kind} key")
        return owner


def _valid_for(app: App, token: str, kind: str) -> bool:
    expected = app.admin_key_hash if kind == keys.ADMIN else app.client_key_hash
    return keys.matches(token, expected)
