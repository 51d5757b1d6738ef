"""The device side (client key): register, fetch what to show, report what happened.

What a mobile SDK does, in Python: used by `herald simulate`, and handy in back-end tests.
Events are batched: `track`/`impression`/`click`/... queue them, `flush()` sends them in
requests of at most 100 (Herald's limit), each event with an id, so a retried send counts once.
"""

import uuid
from datetime import UTC, datetime
from typing import Any

from herald_sdk.admin import app_id_of
from herald_sdk.models import Device, FetchedMessage, Messages
from herald_sdk.transport import RetryPolicy, Transport

MAX_EVENTS_PER_REQUEST = 100


class DeviceClient:
    """One app's device routes, for any number of devices (the client key is per app)."""

    def __init__(
        self,
        url: str,
        client_key: str,
        app_id: str | None = None,
        timeout: float = 10.0,
        retry: RetryPolicy | None = None,
        transport: Transport | None = None,
    ):
        self.app_id = app_id or app_id_of(client_key)
        if not self.app_id:
            raise ValueError("a client key names its app; give app_id for any other key")
        self._http = transport or Transport(url, {"X-Client-Key": client_key}, timeout, retry)

    def __enter__(self) -> "DeviceClient":
        return self

    def __exit__(self, *_exc) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    @property
    def transport(self) -> Transport:
        return self._http

    def _path(self, device_id: str) -> str:
        return f"/v1/apps/{self.app_id}/devices/{device_id}"

    def register(self, device_id: str, **fields: Any) -> Device:
        """Create or replace the registration: user_id, platform, os_version, app_version,
        locale, timezone, attributes."""
        body = {k: v for k, v in fields.items() if v is not None}
        reply = self._http.request("PUT", self._path(device_id), json=body)
        return Device.model_validate(reply.body)

    def fetch(
        self,
        device_id: str,
        event: str | None = None,
        attributes: dict[str, Any] | None = None,
        test_token: str | None = None,
    ) -> Messages:
        """The messages to show now for this app event (app_launch when not given). An enrolled
        test device passes its `test_token` to get the engagements that name it too."""
        path = self._path(device_id) + "/messages"
        headers = {"X-Herald-Test-Token": test_token} if test_token else None
        if attributes:
            body = {"event": event or "app_launch", "attributes": attributes}
            reply = self._http.request("POST", path, json=body, headers=headers)
        else:
            reply = self._http.request("GET", path, params={"event": event}, headers=headers)
        return Messages.model_validate(reply.body)

    def send_events(self, events: list[dict[str, Any]]) -> int:
        """Send events as they are (each with id, device_id, type, timestamp, ...), in requests
        of at most 100; returns how many Herald accepted. Sending again is harmless (Herald
        counts an event id once), so a send that got no answer is retried."""
        accepted = 0
        for start in range(0, len(events), MAX_EVENTS_PER_REQUEST):
            chunk = events[start : start + MAX_EVENTS_PER_REQUEST]
            reply = self._http.request(
                "POST", f"/v1/apps/{self.app_id}/events", json={"events": chunk}, idempotent=True
            )
            accepted += reply.body["accepted"]
        return accepted

    def session(self, device_id: str) -> "DeviceSession":
        return DeviceSession(self, device_id)


class DeviceSession:
    """One device's event buffer, sent by `flush()` as a mobile SDK sends its batches."""

    def __init__(self, client: DeviceClient, device_id: str):
        self.client = client
        self.device_id = device_id
        self.pending: list[dict[str, Any]] = []

    def _queue(self, kind: str, **fields: Any) -> dict[str, Any]:
        event = {
            "id": uuid.uuid4().hex,
            "device_id": self.device_id,
            "type": kind,
            "timestamp": datetime.now(UTC).isoformat(timespec="milliseconds"),
            **{k: v for k, v in fields.items() if v is not None},
        }
        self.pending.append(event)
        return event

    def impression(self, shown: FetchedMessage) -> dict[str, Any]:
        return self._queue("impression", engagement_id=shown.engagement_id, variant=shown.variant)

    def click(self, shown: FetchedMessage, element: str) -> dict[str, Any]:
        return self._queue(
            "click", engagement_id=shown.engagement_id, variant=shown.variant, element=element
        )

    def dismiss(self, shown: FetchedMessage) -> dict[str, Any]:
        return self._queue("dismiss", engagement_id=shown.engagement_id, variant=shown.variant)

    def answer(self, shown: FetchedMessage, value: int | str | list[str]) -> dict[str, Any]:
        """The answer to the message's question: a rating (1-5), an NPS score (0-10), an option
        id (a list of them when several may be chosen) or a text."""
        return self._queue(
            "response", engagement_id=shown.engagement_id, variant=shown.variant, value=value
        )

    def track(self, name: str, attributes: dict[str, Any] | None = None) -> dict[str, Any]:
        """A custom app event (a conversion when it is an engagement's conversion event)."""
        return self._queue("custom", name=name, attributes=attributes or None)

    def flush(self) -> int:
        """Send what is pending; it stays pending if the send fails, so it can be retried."""
        if not self.pending:
            return 0
        accepted = self.client.send_events(self.pending)
        self.pending = []
        return accepted
