"""Keys and links (SPEC §7.4): admin and client keys rotate separately, a rotated client key
keeps working for its overlap, the app shows fingerprints and never keys, answers carrying a key
are not stored by caches, links cannot run code."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from chalicelib.domain import keys
from chalicelib.services import clock
from tests.api.device_helpers import live_engagement
from tests.conftest import ROOT_KEY, store_snapshot

NOW = datetime(2026, 12, 2, 10, 0, tzinfo=UTC)


@pytest.fixture
def at_now():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


def client_works(api, shop, key: str) -> bool:
    reply = api.put(f"{shop.path}/devices/d-1", {}, X_Client_Key=key)
    assert reply.status in (200, 201, 401), reply.body
    return reply.status != 401


def rotate(api, shop, body=None, key=None):
    reply = api.post(shop.path + "/keys/rotate", body, key=key or shop.admin_key)
    assert reply.status == 200, reply.body
    assert reply.headers["Cache-Control"] == "no-store"
    return reply.body


def test_rotating_a_leaked_admin_key_keeps_every_shipped_client_key(api, shop, at_now):
    rotated = rotate(api, shop, {"kind": "admin"})

    assert set(rotated) == {"app_id", "admin_key", "previous_admin_key_expires_at"}
    assert api.get(shop.path, key=shop.admin_key).status == 401  # at once by default
    assert api.get(shop.path, key=rotated["admin_key"]).status == 200
    assert client_works(api, shop, shop.client_key)


def test_a_rotated_client_key_works_until_its_overlap_ends(api, shop, at_now):
    rotated = rotate(api, shop, {"kind": "client", "overlap_hours": 48})
    new_key = rotated["client_key"]
    assert rotated["previous_client_key_expires_at"] == clock.iso(NOW + timedelta(hours=48))

    assert client_works(api, shop, shop.client_key) and client_works(api, shop, new_key)
    at_now.shift(timedelta(hours=47, minutes=59))
    assert client_works(api, shop, shop.client_key)
    at_now.shift(timedelta(minutes=1))
    assert not client_works(api, shop, shop.client_key)
    assert client_works(api, shop, new_key)
    assert api.get(shop.path, key=shop.admin_key).status == 200  # the admin key never moved


def test_the_client_key_overlap_defaults_to_seven_days_and_zero_means_at_once(api, shop, at_now):
    first = rotate(api, shop, {"kind": "client"})["client_key"]
    at_now.shift(timedelta(days=7) - timedelta(seconds=1))
    assert client_works(api, shop, shop.client_key)
    rotate(api, shop, {"kind": "client", "overlap_hours": 0})
    assert not client_works(api, shop, first)
    assert not client_works(api, shop, shop.client_key)


def test_the_app_shows_fingerprints_and_expiry_never_keys(api, shop, at_now):
    rotated = rotate(api, shop, {"kind": "client", "overlap_hours": 24})
    reply = api.get(shop.path, key=rotated.get("admin_key", shop.admin_key))
    body = reply.body
    text = str(body)
    for key in (shop.admin_key, shop.client_key, rotated["client_key"]):
        assert key not in text
        assert keys.hash_key(key) not in text  # not even the stored hash
    assert body["keys"]["client"] == {
        "fingerprint": keys.hash_key(rotated["client_key"])[:16],
        "since": clock.iso(NOW),
        "previous": {
            "fingerprint": keys.hash_key(shop.client_key)[:16],
            "expires_at": clock.iso(NOW + timedelta(hours=24)),
        },
    }
    assert body["keys"]["admin"]["fingerprint"] == keys.hash_key(shop.admin_key)[:16]
    assert body["keys"]["admin"]["previous"] is None
    at_now.shift(timedelta(hours=25))
    assert api.get(shop.path, key=shop.admin_key).body["keys"]["client"]["previous"] is None


def test_rotation_without_a_body_rotates_both(api, shop, at_now):
    rotated = rotate(api, shop)
    assert set(rotated) >= {"admin_key", "client_key"}
    assert api.get(shop.path, key=shop.admin_key).status == 401
    assert client_works(api, shop, shop.client_key)  # for its overlap
    assert client_works(api, shop, rotated["client_key"])


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({"kind": "root"}, "kind"),
        ({"kind": "client", "overlap_hours": -1}, "overlap_hours"),
        ({"kind": "client", "overlap_hours": 1.5}, "overlap_hours"),
        ({"kind": "client", "overlap_hours": "24"}, "overlap_hours"),
        ({"kind": "client", "overlap_hours": 10**6}, "overlap_hours"),
        ({"kind": "client", "hours": 1}, "unknown field"),
        (b"{not json", "JSON"),
        ([], "JSON object"),
    ],
)
def test_bad_rotation_bodies_are_400_and_change_nothing(api, shop, body, fragment):
    before = store_snapshot()
    reply = api.post(shop.path + "/keys/rotate", body, key=shop.admin_key)
    assert reply.status == 400, reply.body
    assert fragment in reply.body["Message"]
    assert store_snapshot() == before


def test_answers_carrying_keys_are_no_store_and_every_answer_is_nosniff(api, shop):
    created = api.post("/v1/apps", {"name": "Another"}, key=ROOT_KEY)
    assert created.headers["Cache-Control"] == "no-store"
    for reply in (
        created,
        api.get(shop.path, key=shop.admin_key),
        api.get(shop.path),  # 401
        api.get(shop.path + "/engagements/nope", key=shop.admin_key),  # 404
        api.post(shop.path + "/engagements", b"{", key=shop.admin_key),  # 400
        api.get("/v1/openapi.json"),
        api.get(f"{shop.path}/devices/d-1/messages", X_Client_Key=shop.client_key),
    ):
        assert reply.headers["X-Content-Type-Options"] == "nosniff"


REFUSED_LINKS = [
    "javascript:alert(1)",
    "JavaScript:alert(1)",
    "JAVASCRIPT:alert(1)",
    " javascript:alert(1)",
    "\tjavascript:alert(1)",
    "java\tscript:alert(1)",
    "java\nscript:alert(1)",
    "\x01javascript:alert(1)",
    "java%73cript:alert(1)",
    "%6A%61%76%61%73%63%72%69%70%74:alert(1)",
    "%256A%2561vascript:alert(1)",
    "&#106;avascript:alert(1)",
    "javascript&colon;alert(1)",
    "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
    "DATA:text/html,<script>alert(1)</script>",
    "vbscript:msgbox(1)",
    "file:///etc/passwd",
    "FILE:///c:/windows",
    "blob:https://example.com/uuid",
    "about:blank",
    "intent://scan/#Intent;scheme=zxing;end",
    "http://shop.example.com/sale",
    "shop://sale ",
]


def engagement_with(action: dict | None = None, image_url: str | None = None) -> dict:
    message = {"layout": "modal", "title": "Hi"}
    if action is not None:
        message["buttons"] = [{"id": "go", "label": "Go", "action": action}]
    if image_url is not None:
        message["image_url"] = image_url
    return live_engagement("Links", variants=[{"key": "A", "message": message}])


@pytest.mark.parametrize("target", REFUSED_LINKS)
def test_dangerous_deep_links_are_refused(api, shop, target):
    body = engagement_with({"type": "deep_link", "target": target})
    reply = api.post(shop.path + "/engagements", body, key=shop.admin_key)
    assert reply.status == 400, target
    assert "buttons[0].action" in reply.body["Message"]
    assert store_snapshot()["herald-dev-engagements"] == []


@pytest.mark.parametrize(
    "url",
    [
        "http://shop.example.com/sale",
        "HTTP://shop.example.com",
        "javascript:alert(1)",
        "https:///nohost",
        " https://shop.example.com",
        "ftp://shop.example.com/a.png",
    ],
)
def test_url_targets_and_images_must_be_https(api, shop, url):
    for body in (
        engagement_with({"type": "url", "target": url}),
        engagement_with(image_url=url),
    ):
        reply = api.post(shop.path + "/engagements", body, key=shop.admin_key)
        assert reply.status == 400, (url, reply.body)


@pytest.mark.parametrize(
    "action",
    [
        {"type": "deep_link", "target": "shop://sale?code=BF70"},
        {"type": "deep_link", "target": "https://shop.example.com/app/sale"},
        {"type": "deep_link", "target": "com.example.shop:/sale"},
        {"type": "url", "target": "https://shop.example.com/sale?x=%20y"},
    ],
)
def test_safe_links_are_kept(api, shop, action):
    body = engagement_with(action, image_url="https://cdn.example.com/a.png")
    reply = api.post(shop.path + "/engagements", body, key=shop.admin_key)
    assert reply.status == 201, reply.body


@pytest.mark.parametrize(
    ("key", "fragment"),
    [
        ("short", "at least 32"),
        ("a" * 64, "predictable"),
        ("ab" * 40, "predictable"),
        ("correct horse battery staple and more words", "spaces"),
    ],
)
def test_a_weak_root_key_is_refused(key, fragment):
    assert fragment in keys.root_key_problem(key)


def test_generated_root_keys_are_strong():
    assert keys.root_key_problem(keys.new_root_key()) is None
    assert keys.root_key_problem(ROOT_KEY) is None
