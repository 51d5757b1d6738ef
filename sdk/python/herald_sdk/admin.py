"""The admin API: apps, keys, audiences, engagements, metrics and explain, typed.

`Herald(url, admin_key=...)` manages the app the admin key belongs to (the key names its app);
`Herald(url, root_key=...)` creates apps and, with `app_id`, manages any app. Versioned writes
send `If-Match`: pass the `version` you read to be sure nothing changed since, or let the client
read the current version just before writing (a change between the two still gets a
StaleVersion, never an overwrite).
"""

import re
from collections.abc import Iterator
from typing import Any, TypeVar

from herald_sdk.errors import BadRequest, HeraldError, NotFound
from herald_sdk.models import (
    App,
    AppCreated,
    Audience,
    Engagement,
    Explain,
    Identity,
    Keys,
    Metrics,
    Model,
    TestDevice,
    TextAnswer,
)
from herald_sdk.transport import RetryPolicy, Transport

_KEY = re.compile(r"^herald_(admin|client)_([a-z0-9]{1,64})_[0-9a-f]{64}$")
PAGE_SIZE = 100
T = TypeVar("T", bound=Model)


def app_id_of(key: str | None) -> str | None:
    """The app an admin or client key belongs to (keys name their app), or None."""
    found = _KEY.match(key or "")
    return found.group(2) if found else None


class Page(list[T]):
    """One page of a list: its items, and the cursor of the next page (None on the last)."""

    def __init__(self, items: list[T], cursor: str | None):
        super().__init__(items)
        self.cursor = cursor


class Herald:
    def __init__(
        self,
        url: str,
        admin_key: str | None = None,
        root_key: str | None = None,
        app_id: str | None = None,
        timeout: float = 10.0,
        retry: RetryPolicy | None = None,
        transport: Transport | None = None,
    ):
        self.url = url.rstrip("/")
        self.admin_key = admin_key
        self.root_key = root_key
        self.app_id = app_id or app_id_of(admin_key)
        key = admin_key or root_key
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        self._http = transport or Transport(self.url, headers, timeout, retry)

    def __enter__(self) -> "Herald":
        return self

    def __exit__(self, *_exc) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def for_app(self, app_id: str) -> "Herald":
        """This client's key on another app (a root key manages every app)."""
        return Herald(self.url, self.admin_key, self.root_key, app_id, transport=self._http)

    # --- apps and keys ------------------------------------------------------------------------

    def create_app(self, name: str) -> AppCreated:
        """Create an app (root key). Its keys are in the answer, and only there."""
        reply = self._http.request("POST", "/v1/apps", json={"name": name}, headers=self._root())
        return AppCreated.model_validate(reply.body)

    def get_app(self) -> App:
        return App.model_validate(self._get(self._app()))

    def update_app(
        self, name: str | None = None, web_origins: list[str] | None = None, **settings: Any
    ) -> App:
        """Change the app's settings, a merge patch: what is not given stays. Settings this
        SDK does not name go through as given (e.g. `pinpoint={"enabled": True}`)."""
        patch: dict[str, Any] = dict(settings)
        if name is not None:
            patch["name"] = name
        if web_origins is not None:
            patch["web_origins"] = web_origins
        reply = self._http.request("PATCH", self._app(), json=patch)
        return App.model_validate(reply.body)

    def rotate_keys(self, kind: str | None = None, overlap_hours: int | None = None) -> Keys:
        """A new key of `kind` ("admin" or "client"; both when None); the answer holds it
        (shown once). The key it replaces works `overlap_hours` more (Herald's default: 0 for
        the admin key, 7 days for the client key, which shipped builds carry)."""
        asked = {"kind": kind, "overlap_hours": overlap_hours}
        body = {name: value for name, value in asked.items() if value is not None}
        return Keys.model_validate(self._post(self._app() + "/keys/rotate", body or None))

    # --- trust: identity verification and test devices ----------------------------------------

    def require_identity(self, overlap_hours: int | None = None) -> Identity:
        """Require proven user ids, with a new secret (in the answer only; the previous one
        keeps working `overlap_hours`, Herald's default 7 days). Devices then prove a user id
        with `user_token(secret, user_id)`."""
        body = {"identity": "required"}
        if overlap_hours is not None:
            body["overlap_hours"] = overlap_hours
        return Identity.model_validate(self._post(self._app() + "/identity", body))

    def disable_identity(self) -> Identity:
        return Identity.model_validate(self._post(self._app() + "/identity", {"identity": "off"}))

    def enrol_test_device(self, device_id: str, label: str) -> TestDevice:
        """Enrol a test device; its `test_token` is in this answer only (see enrolment_link)."""
        body = {"device_id": device_id, "label": label}
        return TestDevice.model_validate(self._post(self._app() + "/test-devices", body))

    def list_test_devices(self) -> list[TestDevice]:
        body = self._get(self._app() + "/test-devices")
        return [TestDevice.model_validate(device) for device in body["test_devices"]]

    def withdraw_test_device(self, device_id: str) -> None:
        self._http.request("DELETE", f"{self._app()}/test-devices/{device_id}")

    # --- audiences ----------------------------------------------------------------------------

    def create_audience(self, name: str, rules: dict[str, Any], description: str = "") -> Audience:
        body = {"name": name, "description": description, "rules": rules}
        return Audience.model_validate(self._post(self._app() + "/audiences", body))

    def get_audience(self, audience_id: str) -> Audience:
        return Audience.model_validate(self._get(f"{self._app()}/audiences/{audience_id}"))

    def list_audiences(self, limit: int | None = None, cursor: str | None = None) -> Page[Audience]:
        body = self._get(self._app() + "/audiences", limit=limit, cursor=cursor)
        return Page([Audience.model_validate(a) for a in body["audiences"]], body.get("cursor"))

    def iter_audiences(self, page_size: int = PAGE_SIZE) -> Iterator[Audience]:
        return _pages(lambda cursor: self.list_audiences(page_size, cursor))

    def replace_audience(
        self,
        audience_id: str,
        name: str,
        rules: dict[str, Any],
        description: str = "",
        version: int | None = None,
    ) -> Audience:
        if version is None:
            version = self.get_audience(audience_id).version
        body = {"name": name, "description": description, "rules": rules}
        reply = self._http.request(
            "PUT", f"{self._app()}/audiences/{audience_id}", json=body, headers=_if_match(version)
        )
        return Audience.model_validate(reply.body)

    def delete_audience(self, audience_id: str) -> None:
        self._http.request("DELETE", f"{self._app()}/audiences/{audience_id}")

    # --- engagements --------------------------------------------------------------------------

    def create_engagement(self, spec: dict[str, Any], draft: bool = False) -> Engagement:
        """Create from a spec (name, variants, schedule, ...); `draft=True` keeps it unpublished."""
        body = {**spec, "status": "draft"} if draft else spec
        return Engagement.model_validate(self._post(self._app() + "/engagements", body))

    def get_engagement(self, engagement_id: str) -> Engagement:
        return Engagement.model_validate(self._get(self._engagement(engagement_id)))

    def list_engagements(
        self, status: str | None = None, limit: int | None = None, cursor: str | None = None
    ) -> Page[Engagement]:
        body = self._get(self._app() + "/engagements", status=status, limit=limit, cursor=cursor)
        items = [Engagement.model_validate(e) for e in body["engagements"]]
        return Page(items, body.get("cursor"))

    def iter_engagements(
        self, status: str | None = None, page_size: int = PAGE_SIZE
    ) -> Iterator[Engagement]:
        return _pages(lambda cursor: self.list_engagements(status, page_size, cursor))

    def find_engagement(self, name_or_id: str) -> Engagement:
        """By id, or by name ignoring case (names are unique per app, ignoring case)."""
        if name_or_id.startswith("eng"):
            try:
                return self.get_engagement(name_or_id)
            except (NotFound, BadRequest):
                pass
        wanted = name_or_id.casefold()
        for engagement in self.iter_engagements():
            if engagement.name.casefold() == wanted:
                return engagement
        raise HeraldError(f"no engagement named or with id {name_or_id!r} in app {self.app_id}")

    def update_engagement(
        self, engagement_id: str, patch: dict[str, Any], version: int | None = None
    ) -> Engagement:
        """A JSON merge patch (null removes a field) under `If-Match`."""
        if version is None:
            version = self.get_engagement(engagement_id).version
        reply = self._http.request(
            "PATCH", self._engagement(engagement_id), json=patch, headers=_if_match(version)
        )
        return Engagement.model_validate(reply.body)

    def delete_engagement(self, engagement_id: str, version: int | None = None) -> None:
        headers = _if_match(version) if version is not None else None
        self._http.request("DELETE", self._engagement(engagement_id), headers=headers)

    def publish(self, engagement_id: str) -> Engagement:
        return Engagement.model_validate(self._post(self._engagement(engagement_id) + "/publish"))

    def pause(self, engagement_id: str) -> Engagement:
        return Engagement.model_validate(self._post(self._engagement(engagement_id) + "/pause"))

    def resume(self, engagement_id: str) -> Engagement:
        return Engagement.model_validate(self._post(self._engagement(engagement_id) + "/resume"))

    # --- reading results ----------------------------------------------------------------------

    def metrics(
        self,
        engagement_id: str,
        from_day: str | None = None,
        to_day: str | None = None,
        daily: bool = False,
    ) -> Metrics:
        body = self._get(
            self._engagement(engagement_id) + "/metrics",
            **{"from": from_day, "to": to_day, "granularity": "day" if daily else None},
        )
        return Metrics.model_validate(body)

    def list_responses(
        self, engagement_id: str, limit: int | None = None, cursor: str | None = None
    ) -> Page[TextAnswer]:
        """One page of the text answers to the engagement's question, newest first."""
        body = self._get(self._engagement(engagement_id) + "/responses", limit=limit, cursor=cursor)
        items = [TextAnswer.model_validate(r) for r in body["responses"]]
        return Page(items, body.get("cursor"))

    def iter_responses(
        self, engagement_id: str, page_size: int = PAGE_SIZE
    ) -> Iterator[TextAnswer]:
        return _pages(lambda cursor: self.list_responses(engagement_id, page_size, cursor))

    def explain(self, device_id: str, event: str | None = None) -> Explain:
        body = self._get(f"{self._app()}/devices/{device_id}/messages/explain", event=event)
        return Explain.model_validate(body)

    def openapi(self) -> dict[str, Any]:
        return self._get("/v1/openapi.json")

    # --- helpers ------------------------------------------------------------------------------

    def _app(self) -> str:
        if not self.app_id:
            raise HeraldError("no app: give an admin key, or an app id with the root key")
        return f"/v1/apps/{self.app_id}"

    def _engagement(self, engagement_id: str) -> str:
        return f"{self._app()}/engagements/{engagement_id}"

    def _root(self) -> dict[str, str]:
        if not self.root_key:
            raise HeraldError("creating an app needs the root key")
        return {"Authorization": f"Bearer {self.root_key}"}

    def _get(self, path: str, **params: Any) -> Any:
        return self._http.request("GET", path, params=params).body

    def _post(self, path: str, body: Any = None) -> Any:
        return self._http.request("POST", path, json=body).body


def _if_match(version: int) -> dict[str, str]:
    return {"If-Match": f'"{version}"'}


def _pages(fetch) -> Iterator[Any]:
    cursor = None
    while True:
        page = fetch(cursor)
        yield from page
        cursor = page.cursor
        if not cursor:
            return
