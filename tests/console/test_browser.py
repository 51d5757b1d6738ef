"""The console in Debian's Chromium, against the local run: the seed's flow end to end.

Each test makes its own app (a tenant) on the module's LocalHerald, so tests stand alone.
Screenshots of every step land in build/screenshots/<test>/.
"""

import re
import time
import uuid
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from playwright.sync_api import Page, expect

from tests import builders
from tests.conftest import ROOT_KEY
from tests.console.conftest import PHONE, TIMEZONE, Http

XSS = "<img src=x onerror=alert(1)>"


def make_app(http: Http, name: str = "Shop") -> dict:
    status, app = http.call("POST", "/v1/apps", {"name": name}, key=ROOT_KEY)
    assert status == 201, app
    return app


def iso(delta: timedelta) -> str:
    return (datetime.now(UTC) + delta).replace(microsecond=0).isoformat()


def live_engagement(name: str, **overrides) -> dict:
    """An engagement running now, for everyone: two variants with a "buy" button each."""
    body = {
        "name": name,
        "ab_test": True,
        "variants": [
            {
                "key": key,
                "weight": 50,
                "message": {
                    "layout": "modal",
                    "title": title,
                    "buttons": [
                        {
                            "id": "buy",
                            "label": "Buy",
                            "action": {"type": "deep_link", "target": "shop://sale"},
                        }
                    ],
                },
            }
            for key, title in (("A", "Spring sale"), ("B", "Sale: 20 % off"))
        ],
        "schedule": {"start_at": iso(-timedelta(minutes=5)), "end_at": iso(timedelta(days=7))},
        "metrics": [{"element": "buy", "metric": "spring_buy_clicked"}],
    }
    body.update(overrides)
    return body


def create_engagement(http: Http, app: dict, body: dict) -> dict:
    status, engagement = http.call(
        "POST", f"/v1/apps/{app['app_id']}/engagements", body, key=app["admin_key"]
    )
    assert status == 201, engagement
    return engagement


def sign_in(page: Page, herald, key: str, heading: str = "Engagements") -> None:
    page.goto(f"{herald.url}/console")
    page.get_by_label("Key").fill(key)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", level=1, name=heading)).to_be_visible()


def step(page: Page):
    return page.locator("section.wizard-step:not([hidden])")


def at_path(scope, path: str):
    return scope.locator(f'[data-path="{path}"]')


def unlabelled_controls(page: Page) -> list[str]:
    return page.evaluate(
        """() => [...document.querySelectorAll('input, select, textarea')]
            .filter(el => !(el.labels && el.labels.length) && !el.getAttribute('aria-label')
                          && !el.getAttribute('aria-labelledby'))
            .map(el => el.outerHTML)"""
    )


def no_horizontal_scroll(page: Page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def test_wizard_creates_an_ab_engagement_that_the_list_shows(new_page, herald, http, shots):
    app = make_app(http)
    page = new_page()
    sign_in(page, herald, app["admin_key"])
    shots.take(page, "engagements-empty")

    # An enrolled test device (SPEC §7.2), which step 4 names: its token and link shown once.
    page.get_by_role("link", name="Test devices").click()
    expect(page.get_by_role("heading", level=1, name="Test devices")).to_be_visible()
    expect(page.get_by_text("No test device is enrolled yet.")).to_be_visible()
    page.get_by_label("Device id").fill("qa-phone-1")
    page.get_by_label("Label").fill("QA iPhone")
    page.get_by_role("button", name="Enrol").click()
    link = rf"^herald-test://enrol\?app_id={app['app_id']}&device_id=qa-phone-1"
    link += r"&test_token=herald_test_[0-9a-f]{64}$"
    expect(page.get_by_label("Enrolment link")).to_have_value(re.compile(link))
    expect(page.locator('tr[data-device="qa-phone-1"]')).to_contain_text("QA iPhone")
    assert unlabelled_controls(page) == []
    shots.take(page, "test-devices")
    page.get_by_role("link", name="New engagement").first.click()

    # 1. Name and description; Enter goes to the next step, whose heading gets the focus.
    expect(page.get_by_role("heading", name="Step 1 of 7: Name")).to_be_visible()
    step(page).get_by_label("Name").fill("Spring sale")
    step(page).get_by_label("Description").fill("20 % off, two wordings")
    shots.take(page, "step1-name")
    step(page).get_by_label("Name").press("Enter")
    expect(page.get_by_role("heading", name="Step 2 of 7: Type and A/B test")).to_be_focused()

    # 2. A/B test with two variants whose weights do not add up (the API will say so).
    step(page).get_by_label("A/B testing").check()
    step(page).get_by_label("Weight of variant 1 (%)").fill("60")
    step(page).get_by_label("Weight of variant 2 (%)").fill("30")
    expect(step(page).locator(".total")).to_contain_text("90 %")
    shots.take(page, "step2-ab-test")
    step(page).get_by_role("button", name="Next").click()

    # 3. Variant A: modal, a deep-link button, a French localization; the preview follows.
    expect(page.get_by_role("heading", name="Step 3 of 7: Message")).to_be_visible()
    panel = page.locator("[role=tabpanel]:not([hidden])")
    a = "variants[0].message"
    at_path(panel, f"{a}.title").fill("Spring sale")
    at_path(panel, f"{a}.body").fill("20 % off today")
    panel.get_by_role("button", name="+ Add a button").click()
    at_path(panel, f"{a}.buttons[0].id").fill("buy")
    at_path(panel, f"{a}.buttons[0].label").fill("Shop now")
    at_path(panel, f"{a}.buttons[0].action.type").select_option("deep_link")
    at_path(panel, f"{a}.buttons[0].action.target").fill("shop://sale")
    panel.get_by_role("button", name="+ Add a localization").click()
    at_path(panel, f"{a}.localizations[0].locale").fill("fr")
    at_path(panel, f"{a}.localizations[0].title").fill("Soldes")
    at_path(panel, f"{a}.localizations[0].buttons.buy").fill("Acheter")
    preview = panel.locator(".preview")
    expect(preview.locator(".msg-modal .msg-title")).to_have_text("Spring sale")
    expect(preview.locator(".msg-button")).to_have_text(["Shop now"])
    preview.get_by_label("Preview locale").select_option("fr")
    expect(preview.locator(".msg-title")).to_have_text("Soldes")
    expect(preview.locator(".msg-button")).to_have_text(["Acheter"])
    shots.take(page, "step3-variant-a")

    # Variant B, reached with the arrow key on the tabs: a banner with a web link.
    page.get_by_role("tab", name="Variant A").focus()
    page.keyboard.press("ArrowRight")
    expect(page.get_by_role("tab", name="Variant B")).to_be_focused()
    expect(page.get_by_role("tab", name="Variant B")).to_have_attribute("aria-selected", "true")
    panel = page.locator("[role=tabpanel]:not([hidden])")
    b = "variants[1].message"
    at_path(panel, f"{b}.layout").select_option("banner_top")
    at_path(panel, f"{b}.title").fill("Sale: 20 % off")
    at_path(panel, f"{b}.body").fill("Today only")
    panel.get_by_role("button", name="+ Add a button").click()
    at_path(panel, f"{b}.buttons[0].id").fill("buy")
    at_path(panel, f"{b}.buttons[0].label").fill("Go")
    at_path(panel, f"{b}.buttons[0].action.type").select_option("url")
    at_path(panel, f"{b}.buttons[0].action.target").fill("https://shop.example.com/sale")
    expect(panel.locator(".preview .msg-banner.top .msg-title")).to_have_text("Sale: 20 % off")
    shots.take(page, "step3-variant-b")
    step(page).get_by_role("button", name="Next").click()

    # 4. Everyone, all of them; a test device.
    expect(page.get_by_role("heading", name="Step 4 of 7: Audience")).to_be_visible()
    step(page).get_by_label("Test device ids").fill("qa-phone-1")
    shots.take(page, "step4-audience")
    step(page).get_by_role("button", name="Next").click()

    # 5. The default window (now, for a week, Paris time); a condition, a cap and a priority.
    expect(page.get_by_role("heading", name="Step 5 of 7: Schedule and trigger")).to_be_visible()
    expect(step(page).get_by_text("Europe/Paris")).to_be_visible()
    step(page).get_by_role("button", name="+ Add a condition").click()
    at_path(step(page), "trigger.conditions[0].value").fill("home")
    step(page).get_by_label("At most, per day").fill("1")
    step(page).get_by_label("Priority").select_option("3")
    shots.take(page, "step5-trigger")
    step(page).get_by_role("button", name="Next").click()

    # 6. The button's clicks count towards a metric.
    expect(page.get_by_role("heading", name="Step 6 of 7: Metrics")).to_be_visible()
    step(page).get_by_label("Metric for button “buy”").fill("spring_buy_clicked")
    shots.take(page, "step6-metrics")
    step(page).get_by_role("button", name="Next").click()

    # 7. Review, every input labelled; Save: the API's 400 is shown next to the variants.
    expect(page.get_by_role("heading", name="Step 7 of 7: Review and save")).to_be_visible()
    expect(step(page).locator("dl.review")).to_contain_text("A (60 %)")
    assert unlabelled_controls(page) == []
    shots.take(page, "step7-review")
    step(page).get_by_role("button", name="Save").click()
    summary = page.locator(".error-summary")
    expect(summary).to_contain_text("variants: weights must sum to 100, not 90")
    expect(page.get_by_role("heading", name="Step 2 of 7: Type and A/B test")).to_be_visible()
    expect(at_path(step(page), "variants").locator(".field-error")).to_have_text(
        "weights must sum to 100, not 90"
    )
    shots.take(page, "api-error-next-to-the-field")

    step(page).get_by_label("Weight of variant 2 (%)").fill("40")
    page.keyboard.press("Tab")
    focus_style = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert focus_style == "solid"  # keyboard focus is visible
    page.get_by_role("button", name="Review and save").click()
    step(page).get_by_role("button", name="Save").click()

    # Saved: the details page, then the list.
    expect(page.get_by_role("heading", level=1, name="Spring sale")).to_be_visible()
    expect(page.locator(".title-line .badge")).to_have_text("active")
    shots.take(page, "saved-details")
    engagement_id = page.url.rsplit("/", 1)[-1]
    status, saved = http.call(
        "GET", f"/v1/apps/{app['app_id']}/engagements/{engagement_id}", key=app["admin_key"]
    )
    assert status == 200
    assert [(v["key"], v["weight"]) for v in saved["variants"]] == [("A", 60), ("B", 40)]
    assert saved["variants"][0]["message"]["localizations"] == {
        "fr": {"title": "Soldes", "buttons": {"buy": "Acheter"}}
    }
    assert saved["variants"][1]["message"]["buttons"][0]["action"] == {
        "type": "url",
        "target": "https://shop.example.com/sale",
    }
    assert saved["trigger"] == {
        "event": "app_launch",
        "conditions": [{"attribute": "screen", "op": "eq", "value": "home"}],
    }
    assert saved["metrics"] == [{"element": "buy", "metric": "spring_buy_clicked"}]
    assert saved["frequency"] == {"max_per_day": 1}
    assert saved["priority"] == 3
    assert saved["test_device_ids"] == ["qa-phone-1"]
    start = datetime.fromisoformat(saved["schedule"]["start_at"])
    assert start.utcoffset() == start.astimezone(ZoneInfo(TIMEZONE)).utcoffset()  # Paris offset
    assert datetime.fromisoformat(saved["schedule"]["end_at"]) - start == timedelta(days=7)

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Engagements").click()
    row = page.locator(f'tr[data-engagement-id="{engagement_id}"]')
    expect(row.get_by_role("link", name="Spring sale", exact=True)).to_be_visible()
    expect(row.locator(".badge")).to_have_text("active")
    expect(row).to_contain_text("A 60 % · B 40 %")
    expect(row.locator('[data-label="Priority"]')).to_have_text("3")
    shots.take(page, "list")
    page.get_by_label("Filter by status").select_option("paused")
    expect(page.get_by_text("No paused engagement.")).to_be_visible()
    page.set_viewport_size(PHONE)
    page.get_by_label("Filter by status").select_option("")
    expect(row).to_be_visible()
    assert no_horizontal_scroll(page)
    shots.take(page, "list")


def test_pause_resume_and_delete_ask_first(new_page, herald, http, shots):
    app = make_app(http)
    engagement = create_engagement(http, app, live_engagement("Spring sale"))
    path = f"/v1/apps/{app['app_id']}/engagements/{engagement['engagement_id']}"
    page = new_page()
    sign_in(page, herald, app["admin_key"])
    row = page.locator(f'tr[data-engagement-id="{engagement["engagement_id"]}"]')
    expect(row.locator(".badge")).to_have_text("active")

    row.get_by_role("button", name="Pause Spring sale").click()
    dialog = page.get_by_role("dialog", name="Pause “Spring sale”?")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_role("button", name="Cancel")).to_be_focused()
    shots.take(page, "pause-confirmation")
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    assert http.call("GET", path, key=app["admin_key"])[1]["status"] == "active"

    row.get_by_role("button", name="Pause Spring sale").click()
    page.get_by_role("dialog").get_by_role("button", name="Pause").click()
    expect(row.locator(".badge")).to_have_text("paused")
    assert http.call("GET", path, key=app["admin_key"])[1]["status"] == "paused"
    shots.take(page, "paused")

    row.get_by_role("button", name="Resume Spring sale").click()
    page.get_by_role("dialog").get_by_role("button", name="Resume").click()
    expect(row.locator(".badge")).to_have_text("active")
    assert http.call("GET", path, key=app["admin_key"])[1]["status"] == "active"
    shots.take(page, "resumed")

    row.get_by_role("button", name="Delete Spring sale").click()
    expect(page.get_by_role("dialog")).to_contain_text("cannot be undone")
    shots.take(page, "delete-confirmation")
    page.get_by_role("dialog").get_by_role("button", name="Delete").click()
    expect(page.get_by_text("No engagement yet.")).to_be_visible()
    assert http.call("GET", path, key=app["admin_key"])[0] == 404


def send_events(http: Http, app: dict, events: list[dict]) -> None:
    for device in dict.fromkeys(event["device_id"] for event in events):
        path = f"/v1/apps/{app['app_id']}/devices/{device}"  # unregistered devices' are refused
        status, answer = http.call("PUT", path, {}, client=app["client_key"])
        assert status in (200, 201), answer
    for start in range(0, len(events), 100):
        status, answer = http.call(
            "POST",
            f"/v1/apps/{app['app_id']}/events",
            {"events": events[start : start + 100]},
            client=app["client_key"],
        )
        assert status == 202, answer


def message_events(engagement_id: str, variant: str, impressions: int, clicks: int) -> list[dict]:
    now = iso(timedelta(0))
    events = []
    for n in range(impressions):
        device = f"{variant.lower()}-{n}"
        common = {"device_id": device, "engagement_id": engagement_id, "variant": variant}
        events.append({"id": uuid.uuid4().hex, "type": "impression", "timestamp": now, **common})
        if n < clicks:
            events.append(
                {
                    "id": uuid.uuid4().hex,
                    "type": "click",
                    "element": "buy",
                    "timestamp": now,
                    **common,
                }
            )
    return events


def wait_for_counts(http: Http, app: dict, engagement_id: str, impressions: int) -> dict:
    path = f"/v1/apps/{app['app_id']}/engagements/{engagement_id}/metrics"
    deadline = time.monotonic() + 30
    while True:
        status, report = http.call("GET", path, key=app["admin_key"])
        assert status == 200, report
        if all(variant["impressions"] == impressions for variant in report["variants"]):
            return report
        assert time.monotonic() < deadline, f"events not counted in 30 s: {report}"
        time.sleep(0.3)


def test_events_sent_through_the_api_show_on_the_performance_page(new_page, herald, http, shots):
    app = make_app(http)
    engagement = create_engagement(http, app, live_engagement("Spring sale"))
    engagement_id = engagement["engagement_id"]
    page = new_page()
    sign_in(page, herald, app["admin_key"])
    page.get_by_role("link", name="Spring sale", exact=True).click()
    expect(page.get_by_role("heading", level=1, name="Spring sale")).to_be_visible()
    expect(page.locator(".verdict-banner")).to_contain_text("No data yet")
    shots.take(page, "no-data-yet")

    # A: 100 impressions, 10 clicks (10 %); B: 100 impressions, 40 clicks (40 %).
    send_events(http, app, message_events(engagement_id, "A", 100, 10))
    send_events(http, app, message_events(engagement_id, "B", 100, 40))
    report = wait_for_counts(http, app, engagement_id, 100)
    assert report["variants"][1]["significant"] is True

    page.get_by_role("button", name="Refresh").click()
    banner = page.locator(".verdict-banner")
    expect(banner).to_contain_text(
        "Variant B is significantly better than variant A on click-through rate"
    )
    a_row = page.locator('table.figures tr[data-variant="A"]')
    b_row = page.locator('table.figures tr[data-variant="B"]')
    expect(a_row.locator('[data-label="Impressions"]')).to_have_text("100")
    expect(a_row.locator('[data-label="Clicks"]')).to_have_text("10")
    expect(a_row.locator('[data-label="CTR"]')).to_have_text("10.0 %")
    expect(a_row.locator('[data-label="Verdict"]')).to_have_text("Baseline")
    expect(b_row.locator('[data-label="Clicks"]')).to_have_text("40")
    expect(b_row.locator('[data-label="CTR"]')).to_have_text("40.0 %")
    expect(b_row.locator('[data-label="Lift vs first"]')).to_have_text("+300.0 %")
    expect(b_row.locator('[data-label="p-value"]')).to_have_text("< 0.001")
    expect(b_row.locator('[data-label="Verdict"]')).to_have_text("Significant: better")
    bars = page.locator("svg.chart rect.bar")
    expect(bars).to_have_count(2)
    expect(page.locator("svg.chart").first).to_have_attribute("role", "img")
    expect(page.locator("svg.chart circle.dot")).to_have_count(2)  # one day, two variants
    expect(page.get_by_text("spring_buy_clicked: 40")).to_be_visible()
    assert unlabelled_controls(page) == []
    shots.take(page, "performance")

    page.get_by_label("Show").select_option("ctr")
    expect(page.locator("svg.chart title").nth(1)).to_have_text("Click-through rate per day")
    page.set_viewport_size(PHONE)
    expect(b_row.locator('[data-label="Verdict"]')).to_be_visible()
    assert no_horizontal_scroll(page)
    shots.take(page, "performance")


def test_a_title_made_of_markup_is_shown_as_text(new_page, herald, http, shots):
    app = make_app(http)
    body = live_engagement(XSS)
    body["description"] = XSS
    body["variants"][0]["message"]["title"] = XSS
    engagement = create_engagement(http, app, body)
    page = new_page()  # fails the test on any dialog (alert) or script error
    sign_in(page, herald, app["admin_key"])

    expect(page.get_by_role("link", name=XSS, exact=True)).to_be_visible()
    shots.take(page, "list")
    page.get_by_role("link", name=XSS, exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(XSS)
    expect(page.locator("dl.review")).to_contain_text(XSS)
    shots.take(page, "details")
    page.get_by_role("link", name="Edit").click()
    page.get_by_role("button", name="Message").click()
    expect(page.locator(".preview .msg-title").first).to_have_text(XSS)
    expect(at_path(page, "variants[0].message.title")).to_have_value(XSS)
    shots.take(page, "preview")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Explain").click()
    page.get_by_label("Device id").fill("d-1")
    page.get_by_role("button", name="Explain").click()
    expect(page.locator(".explain-list")).to_contain_text(XSS)
    assert page.locator("img[src='x']").count() == 0
    assert engagement["name"] == XSS


def test_the_root_key_creates_an_app_and_sees_its_keys_once(new_page, herald, shots):
    page = new_page()
    sign_in(page, herald, ROOT_KEY, heading="Apps")
    page.get_by_label("App name").fill("Travel")
    page.get_by_role("button", name="Create app").click()
    admin_key = page.get_by_label("Admin key")
    expect(admin_key).to_have_value(re.compile(r"^herald_admin_[a-z0-9]+_[0-9a-f]{64}$"))
    expect(page.get_by_label("Client key")).to_have_value(re.compile(r"^herald_client_"))
    expect(page.get_by_text("will not show them again")).to_be_visible()
    assert unlabelled_controls(page) == []
    shots.take(page, "keys-shown-once")
    key = admin_key.input_value()
    page.get_by_role("button", name="Open “Travel” with its admin key").click()
    expect(page.get_by_role("heading", level=1, name="Engagements")).to_be_visible()
    expect(page.locator(".app-name")).to_contain_text("Travel")
    assert "herald_" not in page.url
    stored = page.evaluate("sessionStorage.getItem('herald.session')")
    assert f'"key":"{key}"' in stored  # this tab's session storage, nowhere else
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="Sign in to Herald")).to_be_visible()
    assert page.evaluate("sessionStorage.length") == 0
    page.get_by_label("Key").fill("herald_admin_nope_" + "0" * 64)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_have_text("Herald refused this key.")


def test_audience_rule_builder_and_explain_in_words(new_page, herald, http, shots):
    app = make_app(http)
    page = new_page()
    sign_in(page, herald, app["admin_key"])
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Audiences").click()
    page.get_by_role("button", name="New audience").click()
    editor = page.locator("form", has=page.get_by_role("button", name="Create audience"))
    editor.get_by_label("Name", exact=True).fill("Recent iPhones")
    at_path(editor, "rules.all[0].value").fill("ios")
    editor.get_by_role("button", name="+ Condition").click()
    at_path(editor, "rules.all[1].attribute").fill("app_version")
    at_path(editor, "rules.all[1].op").select_option("version_gte")
    at_path(editor, "rules.all[1].value").fill("two")
    expect(editor.locator(".rule-words")).to_have_text(
        'all of (platform is "ios"; app_version is version at least "two")'
    )
    editor.get_by_role("button", name="Create audience").click()
    value = at_path(page, "rules.all[1].value")
    expect(value).to_have_attribute("aria-invalid", "true")
    expect(page.locator(".condition-row .field-error")).to_contain_text(
        "version_gte needs a version string"
    )
    assert unlabelled_controls(page) == []
    shots.take(page, "audience-api-error")
    value.fill("2.3.0")
    page.get_by_role("button", name="Create audience").click()
    card = page.locator("article.audience", has_text="Recent iPhones")
    expect(card).to_contain_text('app_version is version at least "2.3.0"')
    shots.take(page, "audiences")

    create_engagement(http, app, live_engagement("Spring sale"))
    status, _ = http.call(
        "PUT",
        f"/v1/apps/{app['app_id']}/devices/phone-1",
        {"platform": "ios", "app_version": "2.4.0", "locale": "fr-FR"},
        client=app["client_key"],
    )
    assert status == 201
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Explain").click()
    page.get_by_label("Device id").fill("phone-1")
    page.get_by_role("button", name="Explain").click()
    item = page.locator(".explain-list li", has_text="Spring sale")
    expect(item).to_contain_text("Would be shown now: variant")
    assert unlabelled_controls(page) == []
    shots.take(page, "explain-shown")
    page.get_by_label("Event").fill("checkout")
    page.get_by_role("button", name="Explain").click()
    expect(item).to_contain_text("Shown on the event “app_launch”, not on “checkout”.")
    page.set_viewport_size(PHONE)
    assert no_horizontal_scroll(page)
    shots.take(page, "explain-not-shown")


def test_edit_sends_a_merge_patch_with_the_version_read(new_page, herald, http, shots):
    app = make_app(http)
    original = create_engagement(http, app, builders.engagement("Spring sale"))
    path = f"/v1/apps/{app['app_id']}/engagements/{original['engagement_id']}"
    page = new_page()
    sign_in(page, herald, app["admin_key"])
    page.get_by_role("link", name="Spring sale", exact=True).click()
    expect(page.get_by_role("heading", level=1, name="Spring sale")).to_be_visible()
    expect(page.locator("dl.review")).to_contain_text("“purchase” within 24 h")
    page.get_by_role("link", name="Edit").click()
    expect(page.get_by_role("heading", level=1, name="Edit “Spring sale”")).to_be_visible()
    shots.take(page, "edit-step1")

    page.get_by_role("button", name="Message").click()
    page.get_by_role("tab", name="Variant B").click()
    at_path(page, "variants[1].message.title").fill("Last day: 20 % off")
    expect(page.locator("[role=tabpanel]:not([hidden]) .preview .msg-title")).to_have_text(
        "Last day: 20 % off"
    )
    page.get_by_role("button", name="Metrics").click()
    step(page).get_by_label("Count conversions").uncheck()
    page.get_by_role("button", name="Review and save").click()
    shots.take(page, "edit-review")
    step(page).get_by_role("button", name="Save").click()
    expect(page.locator("dl.review")).to_contain_text("not counted")
    expect(page.locator("dl.review")).to_contain_text("Version2, updated")

    status, saved = http.call("GET", path, key=app["admin_key"])
    assert status == 200
    assert saved["version"] == 2
    assert saved["variants"][1]["message"]["title"] == "Last day: 20 % off"
    assert "conversion" not in saved
    unchanged = ("schedule", "audience", "trigger", "frequency", "metrics", "control_percent")
    for name in (*unchanged, "test_device_ids", "description", "priority"):
        assert saved[name] == original[name], name
    assert saved["variants"][0] == original["variants"][0]

    # Someone else changes it meanwhile: saving the version read is refused, and says why.
    page.get_by_role("link", name="Edit").click()
    page.get_by_role("button", name="Name").click()
    step(page).get_by_label("Description").fill("changed in the console")
    status, _ = http.call("PATCH", path, {"priority": 2}, key=app["admin_key"], if_match=2)
    assert status == 200
    page.get_by_role("button", name="Review and save").click()
    step(page).get_by_role("button", name="Save").click()
    expect(page.locator(".error-summary")).to_contain_text("version 2 is stale")
    shots.take(page, "stale-version")
    assert http.call("GET", path, key=app["admin_key"])[1]["description"] == original["description"]


def test_the_wizard_fits_a_phone_and_goes_step_by_step_from_the_keyboard(
    new_page, herald, http, shots
):
    app = make_app(http)
    page = new_page(PHONE)
    sign_in(page, herald, app["admin_key"])
    page.get_by_role("link", name="New engagement").first.click()
    step(page).get_by_label("Name").fill("Welcome")
    titles = ["Name", "Type and A/B test", "Message", "Audience", "Schedule and trigger"]
    titles += ["Metrics", "Review and save"]
    for number, title in enumerate(titles, start=1):
        heading = page.get_by_role("heading", name=f"Step {number} of 7: {title}")
        expect(heading).to_be_visible()
        if number == 2:
            step(page).get_by_label("A/B testing").check()
        if number == 3:
            at_path(page, "variants[0].message.title").fill("Hello")
            at_path(page, "variants[0].message.layout").select_option("full_screen")
            page.get_by_role("tab", name="Variant B").click()
            at_path(page, "variants[1].message.title").fill("Hi there")
        if number == 4:
            step(page).get_by_label("Chosen audiences").check()
            step(page).get_by_label("Device ids", exact=True).fill("phone-1\nphone-2")
        assert no_horizontal_scroll(page), title
        shots.take(page, f"step{number}")
        if number < len(titles):
            step(page).get_by_role("button", name="Next").focus()
            page.keyboard.press("Enter")
            expect(page.get_by_role("heading", name=f"Step {number + 1} of 7")).to_be_focused()
    step(page).get_by_role("button", name="Save").focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1, name="Welcome")).to_be_visible()
    assert no_horizontal_scroll(page)
    shots.take(page, "saved")


def test_the_consoles_own_functions(new_page, herald):
    """Error paths, merge patches, the daily series and time-zone offsets, run in the browser."""
    page = new_page()
    page.goto(f"{herald.url}/console")
    results = page.evaluate(
        """async () => {
            const api = await import('./console/api.js');
            const model = await import('./console/model.js');
            const details = await import('./console/details.js');
            const format = await import('./console/format.js');
            return {
              nested: api.parseProblems(
                "variants[0].message: localizations.fr.buttons: unknown button id(s) ['x']"),
              joined: api.parseProblems(
                "variants: frozen (it would reassign devices); content may still change"),
              several: api.parseProblems(
                "name: too short; schedule.start_at: Field required; and 3 more"),
              dotted: api.parseProblems("schedule.end_at is in the past"),
              plain: api.parseProblems("send 'If-Match: <version>' with the version you read"),
              remapped: model.remapPath("metrics[1].metric",
                [["metrics[0]", "metrics.buy"], ["metrics[1]", "metrics.later"]]),
              patch: model.mergeDiff({a: 1, b: {c: 1, d: 2}, e: [1], f: 3},
                                     {a: 1, b: {c: 2}, e: [1, 2], f: 3}),
              series: details.normalizeSeries([
                {date: "2026-12-02", variants: [{key: "A", impressions: 3, clicks: 1}],
                 control: null},
                {date: "2026-12-01", variants: [{key: "A", impressions: 5, clicks: 2},
                                                {key: "B", impressions: 4, clicks: 0}]},
              ]),
              winter: format.localInputToIso("2026-12-01T09:00"),
              summer: format.localInputToIso("2026-07-01T09:00"),
              back: format.isoToLocalInput("2026-12-01T08:00:30Z"),
            };
        }"""
    )
    assert results["nested"] == [
        {
            "path": "variants[0].message.localizations.fr.buttons",
            "message": "unknown button id(s) ['x']",
        }
    ]
    assert results["joined"] == [
        {
            "path": "variants",
            "message": "frozen (it would reassign devices); content may still change",
        }
    ]
    assert results["several"] == [
        {"path": "name", "message": "too short"},
        {"path": "schedule.start_at", "message": "Field required"},
        {"path": "", "message": "and 3 more"},
    ]
    assert results["dotted"] == [
        {"path": "schedule.end_at", "message": "schedule.end_at is in the past"}
    ]
    assert results["plain"] == [
        {"path": "", "message": "send 'If-Match: <version>' with the version you read"}
    ]
    assert results["remapped"] == "metrics.later.metric"
    assert results["patch"] == {"b": {"c": 2, "d": None}, "e": [1, 2]}
    assert results["series"] == {
        "days": ["2026-12-01", "2026-12-02"],
        "perVariant": {
            "A": {
                "2026-12-01": {"impressions": 5, "clicks": 2},
                "2026-12-02": {"impressions": 3, "clicks": 1},
            },
            "B": {"2026-12-01": {"impressions": 4, "clicks": 0}},
        },
    }
    assert results["winter"] == "2026-12-01T09:00:00+01:00"  # Paris, in winter
    assert results["summer"] == "2026-07-01T09:00:00+02:00"  # and in summer
    assert results["back"] == "2026-12-01T09:00:30"


def test_the_settings_page_turns_the_pinpoint_dialect_on_and_off(new_page, herald, http, shots):
    app = make_app(http)
    endpoint = f"/v1/apps/{app['app_id']}/endpoints/ep-1/inappmessages"
    assert http.call("GET", endpoint)[0] == 403
    page = new_page()
    sign_in(page, herald, app["admin_key"])
    page.get_by_role("link", name="Settings").click()
    expect(page.get_by_role("heading", level=1, name="Settings")).to_be_visible()
    switch = page.get_by_label("Answer Amplify's Pinpoint requests for this app")
    expect(switch).not_to_be_checked()
    expect(page.locator("pre.code")).to_contain_text(f'appId: "{app["app_id"]}"')
    switch.check()
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("The Pinpoint dialect is on.")).to_be_visible()
    shots.take(page, "pinpoint-on")
    assert http.call("GET", f"/v1/apps/{app['app_id']}", key=app["admin_key"])[1]["pinpoint"] == {
        "enabled": True
    }
    assert http.call("GET", endpoint) == (200, {"InAppMessageCampaigns": []})
    assert unlabelled_controls(page) == []

    page.get_by_role("link", name="Explain").click()
    page.get_by_label("Device id").fill("ep-1")
    page.get_by_label("As Amplify's syncMessages sees it").check()
    page.get_by_role("button", name="Explain").click()
    expect(page.locator(".explain-results h2")).to_contain_text("synced by Amplify (Pinpoint)")
    page.get_by_role("link", name="Settings").click()

    page.reload()
    expect(page.get_by_label("Answer Amplify's Pinpoint requests for this app")).to_be_checked()
    page.get_by_label("Answer Amplify's Pinpoint requests for this app").uncheck()
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("The Pinpoint dialect is off.")).to_be_visible()
    assert http.call("GET", endpoint)[0] == 403
