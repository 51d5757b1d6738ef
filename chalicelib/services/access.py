"""Who may call what: the root key, an app's admin key, an app's client key.

A key names its app and kind (`herald_<kind>_<app_id>_<secret>`), so a missing or malformed key,
or one of another app or of the wrong kind, is refused before any DynamoDB request (SPEC §7.4);
only a well-formed key of this app costs the read of the app, to compare its hash. After a
rotation, the previous key of each kind works until the overlap its owner chose ends.
"""

from contextvars import ContextVar

from chalicelib.adapters.dynamo import App, Apps
from chalicelib.domain import keys
from chalicelib.errors import Forbidden, NotFound, Unauthorized
from chalicelib.services import clock


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
        check_format(app_id, token, keys.ADMIN)
        return verify(self._apps.get(app_id), token, keys.ADMIN)

    def presented_app(self, app_id: str) -> App | None:
        """The app `app_id` when this request already read it to check a key (else None)."""
        app = _presented.get()
        return app if app is not None and app.app_id == app_id else None

    def forget_presented(self) -> None:
        _presented.set(None)

    def require_client(self, app_id: str, client_key: str | None) -> App:
        """The app, when `client_key` is its client key."""
        token = client_token(app_id, client_key)
        return self.verify_client(self._apps.get(app_id), token)

    def verify_client(self, app: App | None, token: str) -> App:
        """`app` (already read) when `token` (format-checked by client_token) is its client
        key; the app is remembered for this request's CORS headers either way."""
        _presented.set(app)
        return verify(app, token, keys.CLIENT)


def client_token(app_id: str, client_key: str | None) -> str:
    """The client key sent, when it is well formed and of this app (no read: see verify)."""
    if not client_key or not client_key.strip():
        raise Unauthorized("send the app's client key as 'X-Client-Key: <key>'")
    token = client_key.strip()
    check_format(app_id, token, keys.CLIENT)
    return token


def check_format(app_id: str, token: str, kind: str) -> None:
    """Refuse, without reading anything, a key that cannot be this app's key of this kind."""
    parsed = keys.parse(token)
    if parsed is None:
        raise Unauthorized("invalid key")
    if parsed.app_id != app_id:
        raise Forbidden("this key belongs to another app")
    if parsed.kind != kind:
        raise Forbidden(f"this route needs the app's {kind} key")


def verify(app: App | None, token: str, kind: str) -> App:
    """The app, when `token` (already format-checked) is its current key of this kind or its
    previous one within the overlap."""
    if app is None:
        raise Unauthorized("invalid key")
    if kind == keys.ADMIN:
        current, previous = app.admin_key_hash, app.previous_admin_key_hash
        expires_at = app.previous_admin_key_expires_at
    else:
        current, previous = app.client_key_hash, app.previous_client_key_hash
        expires_at = app.previous_client_key_expires_at
    in_overlap = not keys.expired(expires_at, clock.now())
    if not keys.matches_any(token, current, previous, in_overlap):
        raise Unauthorized("invalid key")
    return app
