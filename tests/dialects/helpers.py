"""What the dialect tests share: an app with the Pinpoint dialect on, and its report totals."""

import json
import urllib.error
import urllib.request

from tests.conftest import ROOT_KEY


def call(base_url: str, method: str, path: str, body=None, **headers):
    """One JSON request over HTTP: (status, parsed body, headers)."""
    data = body if isinstance(body, bytes) else None
    if body is not None and data is None:
        data = json.dumps(body).encode()
    request = urllib.request.Request(
        base_url + path,
        method=method,
        data=data,
        headers={"Content-Type": "application/json", **headers},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read() or b"null"), dict(response.headers)
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null"), dict(error.headers)


class HeraldApp:
    """An app of a running Herald, driven through its admin API."""

    def __init__(self, base_url: str, name: str = "Shop", pinpoint: bool = True):
        self.base_url = base_url
        status, created, _ = call(
            base_url, "POST", "/v1/apps", {"name": name}, Authorization=f"Bearer {ROOT_KEY}"
        )
        assert status == 201, created
        self.app_id = created["app_id"]
        self.admin_key = created["admin_key"]
        self.client_key = created["client_key"]
        self.path = f"/v1/apps/{self.app_id}"
        if pinpoint:
            self.admin("PATCH", "", {"pinpoint": {"enabled": True}})

    def admin(self, method: str, path: str, body=None, expect: int | None = None):
        status, answer, _ = call(
            self.base_url,
            method,
            self.path + path,
            body,
            Authorization=f"Bearer {self.admin_key}",
        )
        assert status < 300 if expect is None else status == expect, (status, answer)
        return answer

    def engagement(self, body: dict) -> str:
        return self.admin("POST", "/engagements", body)["engagement_id"]

    def metrics(self, engagement_id: str) -> dict:
        return self.admin("GET", f"/engagements/{engagement_id}/metrics")

    def explain(self, device_id: str) -> dict:
        answer = self.admin("GET", f"/devices/{device_id}/messages/explain?dialect=pinpoint")
        return {item["engagement_id"]: item for item in answer["engagements"]}


def variant_totals(report: dict, key: str) -> tuple[int, int, int]:
    [variant] = [v for v in report["variants"] if v["key"] == key]
    return variant["impressions"], variant["clicks"], variant["dismissals"]
