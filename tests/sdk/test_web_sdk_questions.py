"""The web SDK's questions and test devices in Chromium against the local Herald, through the
demo page: each question type drawn with native, labelled controls and answered by keyboard, the
answer reaching the engagement's report once; and an enrolled test device (its enrolment link in
the page URL's fragment) seeing a draft that a device knowing only the id does not."""

import time
from urllib.parse import urlencode

import pytest
from playwright.sync_api import expect

from tests.local.waiting import wait_for
from tests.sdk.test_web_sdk_browser import Shop, engagement, make_app, metrics


@pytest.fixture
def app(http) -> dict:
    return make_app(http)


def asking(question: dict, title: str = "Quick question") -> dict:
    return {"layout": "modal", "title": title, "question": question}


def test_a_rating_answered_by_keyboard_counts_once_in_the_report(
    new_page, herald, http, app, shots
):
    rating = {"type": "rating", "prompt": "How was checkout?", "submit_label": "Send"}
    eid = engagement(http, app, "Rate", "checkout", asking(rating))
    shop = Shop(new_page(), herald, app).open()
    shop.track("checkout")
    dialog = shop.page.get_by_role("dialog", name="Quick question")
    expect(dialog).to_be_visible()
    group = dialog.get_by_role("group", name="How was checkout?")
    expect(group.get_by_role("radio")).to_have_count(5)
    send = dialog.get_by_role("button", name="Send")
    expect(send).to_be_disabled()  # nothing chosen yet
    expect(group.get_by_role("radio", name="1 / 5")).to_be_focused()  # the dialog's first control
    for _ in range(3):
        shop.page.keyboard.press("ArrowRight")
    expect(group.get_by_role("radio", name="4 / 5")).to_be_checked()
    shop.page.keyboard.press("Tab")
    expect(send).to_be_focused()
    shots.take(shop.page, "rating")
    shop.page.keyboard.press("Enter")
    expect(dialog).to_have_count(0)
    assert shop.pending_types()[-2:] == ["impression", "response"]
    shop.flush()
    assert shop.pending() == 0
    wait_for(lambda: metrics(http, app, eid)["responses"] == 1, 15)
    time.sleep(1.5)  # a redelivery would have been counted by now
    report = metrics(http, app, eid)
    assert (report["impressions"], report["responses"], report["mean"]) == (1, 1, 4)
    assert report["distribution"] == {"1": 0, "2": 0, "3": 0, "4": 1, "5": 0}


def test_nps_choices_and_text_are_drawn_and_answered(new_page, herald, http, app, shots):
    nps = {"type": "nps", "prompt": "Would you recommend us?"}
    pick = {
        "type": "choice",
        "prompt": "What did you buy?",
        "submit_label": "Done",
        "multiple": True,
        "options": [{"id": "shoes", "label": "Shoes"}, {"id": "hats", "label": "Hats"}],
    }
    one = {**pick, "multiple": False, "prompt": "Which one next?"}
    text = {"type": "text", "prompt": "Anything else?", "max_length": 20}
    french = {
        "fr": {
            "question": {
                "prompt": "Qu'avez-vous acheté ?",
                "submit_label": "Valider",
                "options": {"shoes": "Chaussures", "hats": "Chapeaux"},
            }
        }
    }
    messages = {
        "nps": asking(nps, title="nps"),
        "choice": {**asking(pick, title="choice"), "localizations": french},
        "one": asking(one, title="one"),
        "text": asking(text, title="text"),
    }
    ids = {kind: engagement(http, app, kind, f"ask_{kind}", m) for kind, m in messages.items()}
    shop = Shop(new_page(), herald, app)
    shop.url += "&locale=fr-FR"  # the fetch localizes the choice question; the others have no fr
    shop.open()
    page = shop.page

    shop.track("ask_nps")
    dialog = page.get_by_role("dialog", name="nps")
    scores = dialog.get_by_role("group", name="Would you recommend us?").get_by_role("radio")
    expect(scores).to_have_count(11)
    for _ in range(9):  # from 0, the first
        page.keyboard.press("ArrowRight")
    expect(dialog.get_by_role("radio", name="9")).to_be_checked()
    shots.take(page, "nps")
    page.keyboard.press("Enter")  # a radio's Enter submits its form
    expect(dialog).to_have_count(0)

    shop.track("ask_choice")
    dialog = page.get_by_role("dialog", name="choice")
    expect(dialog.get_by_role("group", name="Qu'avez-vous acheté ?")).to_be_visible()
    done = dialog.get_by_role("button", name="Valider")
    expect(dialog.get_by_role("checkbox", name="Chaussures")).to_be_focused()
    page.keyboard.press("Space")
    page.keyboard.press("Tab")
    page.keyboard.press("Space")
    expect(dialog.get_by_role("checkbox", name="Chapeaux")).to_be_checked()
    page.keyboard.press("Tab")
    expect(done).to_be_focused()
    shots.take(page, "choice")
    page.keyboard.press("Enter")
    expect(dialog).to_have_count(0)

    shop.track("ask_one")
    dialog = page.get_by_role("dialog", name="one")
    expect(dialog.get_by_role("radio", name="Shoes")).to_be_focused()
    page.keyboard.press("ArrowDown")
    expect(dialog.get_by_role("radio", name="Hats")).to_be_checked()
    page.keyboard.press("Enter")
    expect(dialog).to_have_count(0)

    shop.track("ask_text")
    dialog = page.get_by_role("dialog", name="text")
    answer = dialog.get_by_role("textbox", name="Anything else?")
    expect(answer).to_be_focused()
    expect(answer).to_have_attribute("maxlength", "20")
    submit = dialog.get_by_role("button", name="Submit")  # the default label
    page.keyboard.type("   ")
    expect(submit).to_be_disabled()  # blank is no answer
    page.keyboard.type(
        "more hats please, and socks"
    )  # the browser stops at 20 characters (the 3 spaces count)
    expect(dialog.locator(".herald-count")).to_have_text("20 / 20")
    shots.take(page, "text")
    submit.click()
    expect(dialog).to_have_count(0)

    values = page.evaluate(
        "() => window.herald.queue.pending().filter((e) => e.type === 'response')"
        ".map((e) => [e.engagement_id, e.value])"
    )
    assert values == [
        [ids["nps"], 9],
        [ids["choice"], ["shoes", "hats"]],
        [ids["one"], "hats"],
        [ids["text"], "more hats please,"],
    ]
    shop.flush()
    wait_for(lambda: metrics(http, app, ids["text"])["responses"] == 1, 15)
    assert metrics(http, app, ids["nps"])["nps"] == 100.0
    assert metrics(http, app, ids["choice"])["distribution"] == {"shoes": 1, "hats": 1}


def test_an_enrolled_test_device_sees_a_draft_that_others_do_not(new_page, herald, http, app):
    status, enrolled = http.call(
        "POST",
        f"/v1/apps/{app['app_id']}/test-devices",
        {"device_id": "qa-web-1", "label": "QA laptop"},
        key=app["admin_key"],
    )
    assert status == 201, enrolled
    draft = engagement(
        http,
        app,
        "Draft",
        "checkout",
        asking({"type": "rating", "prompt": "Rate the new checkout"}, title="Draft"),
        status="draft",
        test_device_ids=["qa-web-1"],
        priority=1,
    )
    live = engagement(
        http,
        app,
        "Live",
        "checkout",
        asking({"type": "rating", "prompt": "Rate us"}, title="Live"),
        priority=5,
    )

    # Knowing the device id is not enough: without the token the fetch shows only live content.
    known_id = Shop(new_page(), herald, app, device="qa-web-1").open()
    known_id.track("checkout")
    expect(known_id.message(live)).to_be_visible()
    expect(known_id.message(draft)).to_have_count(0)

    tester = Shop(new_page(), herald, app)
    fetches = []
    tester.page.on(
        "request",
        lambda r: (
            r.url.endswith("/messages") and fetches.append(r.headers.get("x-herald-test-token"))
        ),
    )
    query = urlencode(
        {"app_id": app["app_id"], "device_id": "qa-web-1", "test_token": enrolled["test_token"]}
    )
    tester.url = (
        f"{herald.url}/demo?app={app['app_id']}&key={app['client_key']}#herald-test://enrol?{query}"
    )
    tester.open()
    assert "herald-test" not in tester.page.url  # the token left the address bar
    assert tester.page.evaluate("() => window.herald.testDevice") == {"deviceId": "qa-web-1"}
    tester.track("checkout")
    expect(tester.message(draft)).to_be_visible()  # priority 1 comes first
    expect(tester.message(draft)).to_have_attribute("data-herald-engagement", draft)
    tester.page.keyboard.press("Escape")
    expect(tester.message(live)).to_be_visible()
    assert fetches and all(token == enrolled["test_token"] for token in fetches)

    tester.page.reload()  # the enrolment was kept
    tester.wait_ready()
    assert tester.page.evaluate("() => window.herald.deviceId") == "qa-web-1"
    tester.track("checkout")
    expect(tester.message(draft)).to_be_visible()
