"""The web SDK end to end in Chromium against the local Herald, through the demo page (which
imports /sdk/herald.js): every layout, keyboard use, exactly-once counting across offline spells,
reloads and 503s, trigger refreshes, and the requests it makes.

Each test makes its own app; the page is /demo?app=…&key=…&device=…, whose `window.herald` is
the SDK instance. Images come from https://img.test, answered by Playwright with a PNG.
"""

import json
import struct
import time
import uuid
import zlib
from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import Page, expect

from tests.browser import DESKTOP, PHONE, Http
from tests.conftest import ROOT_KEY
from tests.local.waiting import wait_for
from tests.sdk.conftest import TRIGGER_SECONDS

LAYOUTS = ("banner_top", "banner_bottom", "modal", "full_screen", "card", "image_only")
IMAGE = "https://img.test/sale.png"
ACTIVE_ELEMENT = (
    "() => document.activeElement.dataset.heraldElement || document.activeElement.className"
)


def png(width: int = 320, height: int = 160, rgb=(29, 78, 216)) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    row = b"\x00" + bytes(rgb) * width
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(row * height))
        + chunk(b"IEND", b"")
    )


PNG = png()


def iso(delta: timedelta) -> str:
    return (datetime.now(UTC) + delta).replace(microsecond=0).isoformat()


def make_app(http: Http) -> dict:
    status, app = http.call(
        "POST", "/v1/apps", {"name": f"Web {uuid.uuid4().hex[:6]}"}, key=ROOT_KEY
    )
    assert status == 201, app
    return app


def engagement(http: Http, app: dict, name: str, event: str, message: dict, **extra) -> str:
    body = {
        "name": name,
        "variants": [{"key": "A", "message": message}],
        "schedule": {"start_at": iso(-timedelta(minutes=5)), "end_at": iso(timedelta(days=7))},
        "trigger": {"event": event},
        **extra,
    }
    status, made = http.call(
        "POST", f"/v1/apps/{app['app_id']}/engagements", body, key=app["admin_key"]
    )
    assert status == 201, made
    return made["engagement_id"]


def sale(layout: str = "modal", **changes) -> dict:
    message = {
        "layout": layout,
        "title": "Spring sale",
        "body": "20 % off today <b>only</b>",
        "image_url": IMAGE,
        "background_color": "#FFF7ED",
        "text_color": "#111111",
        "buttons": [
            {
                "id": "buy",
                "label": "Shop now",
                "action": {"type": "deep_link", "target": "shop://sale"},
            },
            {"id": "later", "label": "Later", "action": {"type": "dismiss"}},
        ],
    }
    message.update(changes)
    return message


def metrics(http: Http, app: dict, engagement_id: str) -> dict:
    status, report = http.call(
        "GET",
        f"/v1/apps/{app['app_id']}/engagements/{engagement_id}/metrics",
        key=app["admin_key"],
    )
    assert status == 200, report
    return report["variants"][0]


class Shop:
    """The demo page for one app, with every request it sends recorded."""

    def __init__(self, page: Page, herald, app: dict, device: str = "web-1"):
        self.page = page
        self.app = app
        self.requests: list[tuple[str, str]] = []
        page.route(
            "https://img.test/**", lambda route: route.fulfill(body=PNG, content_type="image/png")
        )
        page.on("request", lambda request: self.requests.append((request.method, request.url)))
        self.url = f"{herald.url}/demo?app={app['app_id']}&key={app['client_key']}&device={device}"

    def open(self) -> "Shop":
        self.page.goto(self.url)
        self.wait_ready()
        return self

    def wait_ready(self) -> None:
        # (wait_for_function would eval a string: the demo's CSP forbids that)
        wait_for(lambda: self.page.evaluate("() => window.herald !== undefined"), 10)

    def track(self, event: str, attributes: dict | None = None) -> None:
        self.page.evaluate("([e, a]) => window.herald.track(e, a)", [event, attributes or {}])

    def flush(self) -> None:
        self.page.evaluate("() => window.herald.flush()")

    def pending(self) -> int:
        return self.page.evaluate("() => window.herald.queue.pending().length")

    def pending_types(self) -> list[str]:
        return self.page.evaluate("() => window.herald.queue.pending().map((e) => e.type)")

    def message(self, engagement_id: str):
        return self.page.locator(f'[data-herald-engagement="{engagement_id}"]')

    def api_calls(self, suffix: str, method: str = "POST") -> int:
        return sum(
            1 for m, url in self.requests if m == method and url.split("?")[0].endswith(suffix)
        )


@pytest.fixture
def app(http) -> dict:
    return make_app(http)


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_each_layout_renders_with_its_hooks(new_page, herald, http, app, shots, viewport):
    ids = {
        layout: engagement(http, app, layout, f"show_{layout}", sale(layout)) for layout in LAYOUTS
    }
    shop = Shop(new_page(viewport), herald, app).open()
    for layout, eid in ids.items():
        shop.track(f"show_{layout}")
        root = shop.message(eid)
        expect(root).to_be_visible()
        expect(root).to_have_attribute("data-herald-variant", "A")
        if layout != "image_only":
            expect(root.locator(".herald-title")).to_have_text("Spring sale")
            # text is text: the tags in the body are shown, never parsed
            expect(root.locator(".herald-body")).to_have_text("20 % off today <b>only</b>")
            expect(root.locator("[data-herald-element=buy]")).to_have_text("Shop now")
            expect(root.locator("[data-herald-element]")).to_have_count(2)
        expect(root.locator("img.herald-image")).to_have_js_property("complete", True)
        dialog = layout not in ("banner_top", "banner_bottom")
        expect(root).to_have_attribute("role", "dialog" if dialog else "status")
        shots.take(shop.page, layout)
        shop.page.keyboard.press("Escape")
        expect(root).to_have_count(0)


def test_a_modal_works_with_the_keyboard_alone(new_page, herald, http, app, shots):
    engagement(http, app, "Keys", "checkout", sale("modal"))
    shop = Shop(new_page(), herald, app).open()
    opener = shop.page.get_by_role("button", name="Checkout")
    opener.focus()
    shop.page.keyboard.press("Enter")
    dialog = shop.page.get_by_role("dialog", name="Spring sale")
    expect(dialog).to_be_visible()
    expect(dialog).to_have_attribute("aria-modal", "true")
    buy = dialog.locator("[data-herald-element=buy]")
    expect(buy).to_be_focused()
    focused = []
    for _ in range(4):  # Tab goes round the three controls, never out of the dialog
        shop.page.keyboard.press("Tab")
        focused.append(shop.page.evaluate(ACTIVE_ELEMENT))
    assert focused == ["later", "herald-close", "buy", "later"]
    shop.page.keyboard.press("Shift+Tab")
    expect(buy).to_be_focused()
    shots.take(shop.page, "modal-focus")
    shop.page.keyboard.press("Escape")
    expect(dialog).to_have_count(0)
    expect(opener).to_be_focused()  # focus goes back where it was


def test_a_banner_does_not_take_focus(new_page, herald, http, app):
    eid = engagement(http, app, "Banner", "checkout", sale("banner_top"))
    shop = Shop(new_page(), herald, app).open()
    opener = shop.page.get_by_role("button", name="Checkout")
    opener.focus()
    shop.page.keyboard.press("Enter")
    expect(shop.message(eid)).to_be_visible()
    expect(opener).to_be_focused()


def test_a_click_reaches_the_report_exactly_once(new_page, herald, http, app):
    eid = engagement(
        http,
        app,
        "Click",
        "checkout",
        sale("modal"),
        metrics=[{"element": "buy", "metric": "bought"}],
    )
    shop = Shop(new_page(), herald, app).open()
    actions = []
    shop.page.expose_function("recordAction", lambda target: actions.append(target))
    shop.page.evaluate(
        "() => window.herald.on('action', (b) => window.recordAction(b.action.target))"
    )
    shop.track("checkout", {"screen": "checkout"})
    shop.message(eid).locator("[data-herald-element=buy]").click()
    expect(shop.message(eid)).to_have_count(0)
    shop.flush()
    assert shop.pending() == 0
    report = wait_for(lambda: (r := metrics(http, app, eid))["clicks"] == 1 and r, 15)
    time.sleep(1.5)  # a redelivery would have been counted by now
    report = metrics(http, app, eid)
    assert (report["impressions"], report["clicks"], report["metrics"]) == (1, 1, {"bought": 1})
    assert report["clicks_by_element"]["buy"] == 1
    assert actions == ["shop://sale"]  # the deep link went to the host's handler


def test_offline_click_dismiss_reload_online_counts_each_once(new_page, herald, http, app):
    first = engagement(http, app, "First", "checkout", sale("modal"), priority=1)
    second = engagement(http, app, "Second", "checkout", sale("card", title="Second"), priority=2)
    page = new_page()
    shop = Shop(page, herald, app).open()
    shop.track("checkout")
    expect(shop.message(first)).to_be_visible()
    page.context.set_offline(True)
    shop.message(first).locator("[data-herald-element=buy]").click()
    expect(shop.message(second)).to_be_visible()  # the next one waited its turn
    shop.message(second).locator(".herald-close").click()
    shop.flush()
    assert shop.pending_types() == [
        "custom",
        "custom",
        "impression",
        "click",
        "impression",
        "dismiss",
    ]
    # Back on the network but Herald unreachable: the page reloads, the SDK cannot send yet.
    page.route("**/v1/apps/**", lambda route: route.abort())
    page.context.set_offline(False)
    page.reload()
    shop.wait_ready()
    shop.flush()
    assert shop.pending() >= 6
    page.unroute("**/v1/apps/**")
    page.evaluate("() => { window.herald.queue.blockedUntil = 0; return window.herald.flush(); }")
    assert shop.pending() == 0
    wait_for(lambda: metrics(http, app, second)["dismissals"] == 1, 15)
    time.sleep(1.5)
    one, two = metrics(http, app, first), metrics(http, app, second)
    assert (one["impressions"], one["clicks"], one["dismissals"]) == (1, 1, 0)
    assert (two["impressions"], two["clicks"], two["dismissals"]) == (1, 0, 1)


def test_a_503_from_the_events_route_is_retried_and_counted_once(new_page, herald, http, app):
    eid = engagement(http, app, "Busy", "checkout", sale("modal"))
    page = new_page()
    shop = Shop(page, herald, app).open()
    answered = []

    def events(route):
        answered.append(route.request.post_data)
        if len(answered) == 1:
            body = json.dumps({"Code": "ServiceUnavailable", "Message": "queue down"})
            route.fulfill(
                status=503,
                body=body,
                headers={"Retry-After": "1", "Content-Type": "application/json"},
            )
        else:
            route.continue_()

    page.route("**/events", events)
    shop.track("checkout")
    shop.message(eid).locator("[data-herald-element=later]").click()
    shop.flush()
    assert shop.pending() > 0
    wait_for(lambda: shop.pending() == 0, 15)  # the retry, after Retry-After, succeeded
    assert len(answered) >= 2 and answered[0] == answered[1]  # the same events, the same ids
    wait_for(lambda: metrics(http, app, eid)["clicks"] == 1, 15)
    time.sleep(1.5)
    report = metrics(http, app, eid)
    assert (report["impressions"], report["clicks"]) == (1, 1)


def test_a_non_matching_event_makes_no_fetch_and_a_paused_engagement_drops_out(
    new_page, herald, http, app
):
    conditions = [{"attribute": "total", "op": "gte", "value": 50}]
    eid = engagement(
        http,
        app,
        "Big carts",
        "checkout",
        sale("banner_bottom"),
        trigger={"event": "checkout", "conditions": conditions},
    )
    shop = Shop(new_page(), herald, app).open()
    before = shop.api_calls("/messages")
    for event, attributes in (
        ("scroll", {}),
        ("checkout", {"total": 20}),
        ("view_cart", {"screen": "cart"}),
    ):
        shop.track(event, attributes)
    assert shop.api_calls("/messages") == before  # nothing matched: no fetch
    shop.track("checkout", {"total": 80})
    assert shop.api_calls("/messages") == before + 1
    expect(shop.message(eid)).to_be_visible()
    shop.page.keyboard.press("Escape")

    status, _ = http.call(
        "POST", f"/v1/apps/{app['app_id']}/engagements/{eid}/pause", key=app["admin_key"]
    )
    assert status == 200
    time.sleep(TRIGGER_SECONDS + 0.5)  # the page's trigger list runs out
    shop.track("checkout", {"total": 90})
    assert shop.page.evaluate("() => window.herald.triggers") == []
    assert shop.api_calls("/messages") == before + 1  # refreshed list: no fetch, nothing shown
    expect(shop.message(eid)).to_have_count(0)
    assert shop.api_calls("/triggers", "GET") >= 2


def test_a_javascript_target_is_never_followed(new_page, herald, http, app):
    eid = engagement(http, app, "Evil", "checkout", sale("modal"))
    page = new_page()
    shop = Shop(page, herald, app).open()

    def poisoned(route):
        answer = route.fetch().json()
        for item in answer["messages"]:
            item["message"]["buttons"] = [
                {
                    "id": "buy",
                    "label": "Run",
                    "action": {"type": "url", "target": "javascript:alert(1)"},
                },
                {
                    "id": "later",
                    "label": "Deep",
                    "action": {"type": "deep_link", "target": "javascript:alert(2)"},
                },
            ]
        route.fulfill(json=answer)

    page.route("**/messages", poisoned)
    url = page.url
    for element in ("buy", "later"):
        shop.track("checkout")
        shop.message(eid).locator(f"[data-herald-element={element}]").click()
        expect(shop.message(eid)).to_have_count(0)
    assert page.url == url and len(page.context.pages) == 1  # new_page fails on any alert


def test_an_image_that_fails_reports_render_error_and_the_message_stays(
    new_page, herald, http, app
):
    eid = engagement(
        http, app, "Broken", "checkout", sale("card", image_url="https://img.test/missing.png")
    )
    page = new_page()
    shop = Shop(page, herald, app)
    page.route("https://img.test/missing.png", lambda route: route.fulfill(status=404, body=""))
    shop.open()
    shop.track("checkout")
    expect(shop.message(eid).locator(".herald-title")).to_have_text("Spring sale")
    expect(shop.message(eid).locator("img")).to_have_count(0)
    shop.message(eid).locator(".herald-close").click()
    shop.flush()
    wait_for(lambda: metrics(http, app, eid)["render_errors"] == 1, 15)


def test_the_console_links_to_the_demo_page_which_shows_the_message(new_page, herald, http, app):
    eid = engagement(http, app, "Console", "app_launch", sale("modal", image_url=None))
    page = new_page()
    page.goto(f"{herald.url}/console")
    page.get_by_label("Key").fill(app["admin_key"])
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", level=1, name="Engagements")).to_be_visible()
    page.goto(f"{herald.url}/console#/engagements/{eid}")
    with page.expect_popup() as opened:
        page.get_by_role("link", name="Try it in the browser").click()
    demo = opened.value
    expect(demo.get_by_label("App id")).to_have_value(app["app_id"])
    demo.get_by_label("Client key").fill(app["client_key"])
    demo.get_by_role("button", name="Open the shop").click()
    dialog = demo.get_by_role("dialog", name="Spring sale")  # the demo tracks app_launch
    expect(dialog).to_be_visible()
    expect(dialog).to_have_attribute("data-herald-engagement", eid)
