"""The console's side of personalization in Chromium: templates rendered in the preview with
sample values (the same cases as the server's), a question edited and kept, answers shown."""

import json
import time
import uuid
from datetime import timedelta
from pathlib import Path

from playwright.sync_api import expect

from tests.console.test_browser import (
    at_path,
    create_engagement,
    iso,
    live_engagement,
    make_app,
    send_events,
    sign_in,
    step,
    unlabelled_controls,
)

CASES = json.loads((Path(__file__).parents[1] / "cases" / "templates.json").read_text())


def test_the_preview_renders_templates_as_the_server_does(new_page, herald):
    page = new_page()
    page.goto(f"{herald.url}/console")
    results = page.evaluate(
        """async (cases) => {
            const templates = await import('./console/templates.js');
            const values = (given) => ({user_id: given.user_id ?? null,
                                        attributes: given.attributes || {},
                                        event: given.event || {}});
            const rendered = cases.render.map(
                (c) => templates.render(c.template, values(c.values), c.limit));
            const errors = cases.invalid.map((c) => {
                try { templates.parse(c.template); return null; } catch (e) { return e.message; }
            });
            return {rendered, errors};
        }""",
        CASES,
    )
    assert results["rendered"] == [case["expected"] for case in CASES["render"]]
    for case, error in zip(CASES["invalid"], results["errors"], strict=True):
        assert error is not None and case["fragment"] in error, (case, error)


def register(http, app, device_id):
    status, _ = http.call(
        "PUT", f"/v1/apps/{app['app_id']}/devices/{device_id}", {}, client=app["client_key"]
    )
    assert status in (200, 201)


def surveyed(name: str) -> dict:
    body = live_engagement(name)
    body["variants"][0]["message"].update(
        title='Hi {{ attributes.first_name | default: "there" }}',
        question={"type": "rating", "prompt": "How was {{ event.product }}?"},
    )
    body["variants"][1]["message"]["question"] = {
        "type": "text",
        "prompt": "Tell us more",
        "max_length": 200,
    }
    return body


def test_sample_values_fill_the_preview_and_the_question_is_kept(new_page, herald, http, shots):
    app = make_app(http)
    engagement = create_engagement(http, app, surveyed("Feedback"))
    path = f"/v1/apps/{app['app_id']}/engagements/{engagement['engagement_id']}"
    page = new_page()
    sign_in(page, herald, app["admin_key"])
    page.get_by_role("link", name="Feedback", exact=True).click()
    page.get_by_role("link", name="Edit").click()
    page.get_by_role("button", name="Message").click()
    panel = page.locator("[role=tabpanel]:not([hidden])")
    preview = panel.locator(".preview")
    expect(preview.locator(".msg-title")).to_have_text("Hi there")
    expect(preview.locator(".msg-prompt")).to_have_text("How was ?")
    expect(preview.locator(".msg-question[data-question=rating] .msg-choice")).to_have_count(5)
    preview.get_by_label("Sample attributes.first_name").fill("Ann")
    preview.get_by_label("Sample event.product").fill("the tea")
    expect(preview.locator(".msg-title")).to_have_text("Hi Ann")
    expect(preview.locator(".msg-prompt")).to_have_text("How was the tea?")
    shots.take(page, "template-preview")

    # the question's prompt is edited; the other variant's text question stays as it was
    at_path(panel, "variants[0].message.question.prompt").fill("Rate {{ event.product }}")
    expect(preview.locator(".msg-prompt")).to_have_text("Rate the tea")
    page.get_by_role("tab", name="Variant B").click()
    expect(page.locator("[role=tabpanel]:not([hidden]) .msg-text-answer")).to_be_visible()
    page.get_by_role("button", name="Review and save").click()
    step(page).get_by_role("button", name="Save").click()
    expect(page.locator("dl.review")).to_contain_text("Version2, updated")
    status, saved = http.call("GET", path, key=app["admin_key"])
    assert status == 200
    assert saved["variants"][0]["message"]["question"] == {
        "type": "rating",
        "prompt": "Rate {{ event.product }}",
        "submit_label": "Submit",
    }
    assert saved["variants"][1]["message"]["question"]["type"] == "text"
    assert saved["variants"][1]["message"]["question"]["max_length"] == 200


def test_a_bad_template_is_shown_next_to_its_field(new_page, herald, http):
    app = make_app(http)
    create_engagement(http, app, surveyed("Feedback"))
    page = new_page()
    sign_in(page, herald, app["admin_key"])
    page.get_by_role("link", name="Feedback", exact=True).click()
    page.get_by_role("link", name="Edit").click()
    page.get_by_role("button", name="Message").click()
    at_path(page, "variants[0].message.title").fill("Hi {{ name }}")
    page.get_by_role("button", name="Review and save").click()
    step(page).get_by_role("button", name="Save").click()
    expect(page.locator(".error-summary")).to_contain_text("unknown variable 'name'")


def test_answers_show_per_variant_with_the_text_answers(new_page, herald, http, shots):
    app = make_app(http)
    engagement = create_engagement(http, app, surveyed("Feedback"))
    engagement_id = engagement["engagement_id"]
    events = []
    for n, (key, value) in enumerate(
        [("A", 5), ("A", 4), ("A", 5), ("B", "Loved it"), ("B", "<b>too slow</b>")]
    ):
        now = iso(timedelta(seconds=n - 10))
        device = f"p-{n}"
        register(http, app, device)
        common = {"device_id": device, "engagement_id": engagement_id, "variant": key}
        events.append({"id": uuid.uuid4().hex, "type": "impression", "timestamp": now, **common})
        events.append(
            {"id": uuid.uuid4().hex, "type": "response", "timestamp": now, "value": value, **common}
        )
    send_events(http, app, events)
    path = f"/v1/apps/{app['app_id']}/engagements/{engagement_id}/metrics"
    deadline = time.monotonic() + 30
    while (
        sum(v["responses"] for v in http.call("GET", path, key=app["admin_key"])[1]["variants"]) < 5
    ):
        assert time.monotonic() < deadline, "answers not counted in 30 s"
        time.sleep(0.3)

    page = new_page()
    sign_in(page, herald, app["admin_key"])
    page.get_by_role("link", name="Feedback", exact=True).click()
    figure = page.locator('figure[data-answers="A"]')
    expect(figure).to_contain_text("3 answers")
    expect(figure).to_contain_text("mean 4.6667")
    expect(figure.locator("rect.bar")).to_have_count(5)
    expect(page.locator('figure[data-answers="B"]')).to_contain_text("2 answers")
    answers = page.locator('[data-testid="text-answers"] .answer-text')
    expect(answers).to_have_count(2)
    expect(answers.nth(0)).to_have_text("<b>too slow</b>")  # newest first, shown as text
    shots.take(page, "answers")


def test_behaviour_conditions_in_the_audience_builder(new_page, herald, http, shots):
    app = make_app(http)
    page = new_page()
    sign_in(page, herald, app["admin_key"])
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Audiences").click()
    page.get_by_role("button", name="New audience").click()
    editor = page.locator("form", has=page.get_by_role("button", name="Create audience"))
    editor.get_by_label("Name", exact=True).fill("Loyal buyers")
    at_path(editor, "rules.all[0].value").fill("ios")
    editor.get_by_role("button", name="+ Event behaviour").click()
    at_path(editor, "rules.all[1].event").fill("purchase")
    at_path(editor, "rules.all[1].value").fill("3")
    at_path(editor, "rules.all[1].within_days").fill("120")
    editor.get_by_role("button", name="+ Engagement behaviour").click()
    at_path(editor, "rules.all[2].engagement").fill("eng_welcome")
    at_path(editor, "rules.all[2].op").select_option("clicked")
    expect(editor.locator(".rule-words")).to_have_text(
        'all of (platform is "ios"; purchase was sent at least 3 times in 120 days;'
        " engagement eng_welcome was clicked)"
    )
    editor.get_by_role("button", name="Create audience").click()
    expect(page.locator(".condition-row .field-error")).to_contain_text("from 1 to 90")
    at_path(editor, "rules.all[1].within_days").fill("30")
    page.get_by_role("button", name="Create audience").click()
    card = page.locator("article.audience", has_text="Loyal buyers")
    expect(card).to_contain_text("purchase was sent at least 3 times in 30 days")
    assert unlabelled_controls(page) == []
    shots.take(page, "behaviour-audience")
    status, listed = http.call("GET", f"/v1/apps/{app['app_id']}/audiences", key=app["admin_key"])
    assert status == 200
    assert listed["audiences"][0]["rules"]["all"][1:] == [
        {"event": "purchase", "op": "count_gte", "value": 3, "within_days": 30},
        {"engagement": "eng_welcome", "op": "clicked"},
    ]
