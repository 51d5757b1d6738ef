"""Questions end to end: answers posted as `response` events, checked against the question at
POST /events, counted once per subject by the consumer, and reported per variant."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from tests.api.device_helpers import create_engagement, live_engagement, register
from tests.conftest import store_snapshot
from tests.pipeline.helpers import consume, consume_all, drain, event, metrics, post_events, variant

NOW = datetime(2026, 12, 10, 12, 0, tzinfo=UTC)

QUESTIONS = {
    "rating": {"type": "rating", "prompt": "How was it?"},
    "nps": {"type": "nps", "prompt": "Would you recommend us?"},
    "choice": {
        "type": "choice",
        "prompt": "What do you use?",
        "multiple": True,
        "options": [{"id": "ios", "label": "iPhone"}, {"id": "web", "label": "The web"}],
    },
    "single": {
        "type": "choice",
        "prompt": "Which one?",
        "options": [
            {"id": "a", "label": "A"},
            {"id": "b", "label": "B"},
            {"id": "c", "label": "C"},
        ],
    },
    "text": {"type": "text", "prompt": "Anything else?", "max_length": 20},
}


@pytest.fixture(autouse=True)
def at_now():
    with time_machine.travel(NOW, tick=False):
        yield


def survey(api, shop, kind: str) -> str:
    message = {"layout": "modal", "title": "Feedback", "question": QUESTIONS[kind]}
    return create_engagement(
        api, shop, live_engagement(f"Survey {kind}", variants=[{"key": "A", "message": message}])
    )


def answers(api, shop, engagement_id, values, shown=None) -> None:
    """Devices d-0, d-1… each shown the message, then answering with its value."""
    events = []
    for index, value in enumerate(values):
        device = f"d-{index}"
        register(api, shop, device)
        at = NOW - timedelta(minutes=30 - index)
        common = {"engagement_id": engagement_id, "variant": "A"}
        events.append(event(device, "impression", at, **common))
        events.append(event(device, "response", at + timedelta(seconds=5), value=value, **common))
    for device in shown or []:
        register(api, shop, device)
        events.append(event(device, "impression", NOW, engagement_id=engagement_id, variant="A"))
    assert post_events(api, shop, events).status == 202, post_events
    assert consume_all() == []


def test_ratings_give_a_distribution_a_mean_and_a_rate(api, shop):
    engagement_id = survey(api, shop, "rating")
    answers(api, shop, engagement_id, [5, 4, 4, 1], shown=["d-quiet"])
    counted = variant(metrics(api, shop, engagement_id), "A")
    assert counted["question"] == "rating"
    assert counted["responses"] == 4 and counted["impressions"] == 5
    assert counted["response_rate"] == pytest.approx(0.8)
    assert counted["distribution"] == {"1": 1, "2": 0, "3": 0, "4": 2, "5": 1}
    assert counted["mean"] == 3.5
    assert counted["nps"] is None


def test_nps_in_points(api, shop):
    engagement_id = survey(api, shop, "nps")
    answers(api, shop, engagement_id, [10, 9, 8, 7, 6, 0, 10, 3])
    counted = variant(metrics(api, shop, engagement_id), "A")
    assert counted["distribution"]["10"] == 2 and counted["distribution"]["5"] == 0
    assert len(counted["distribution"]) == 11
    # promoters 3 (10, 9, 10), detractors 3 (6, 0, 3), passives 2: 0 points
    assert counted["nps"] == 0.0
    assert counted["mean"] == pytest.approx(53 / 8, abs=1e-4)


def test_choices_count_per_option(api, shop):
    engagement_id = survey(api, shop, "choice")
    answers(api, shop, engagement_id, [["ios"], ["ios", "web"], ["web"]])
    counted = variant(metrics(api, shop, engagement_id), "A")
    assert counted["responses"] == 3
    assert counted["distribution"] == {"ios": 2, "web": 2}
    assert counted["mean"] is None

    single = survey(api, shop, "single")
    answers(api, shop, single, ["b", "b", "c"])
    assert variant(metrics(api, shop, single), "A")["distribution"] == {"a": 0, "b": 2, "c": 1}


def test_text_answers_page_newest_first(api, shop):
    engagement_id = survey(api, shop, "text")
    texts = [f"answer {n}" for n in range(5)]
    answers(api, shop, engagement_id, texts)
    counted = variant(metrics(api, shop, engagement_id), "A")
    assert counted["responses"] == 5 and counted["distribution"] == {}
    path = f"{shop.path}/engagements/{engagement_id}/responses"
    first = api.get(path + "?limit=2", key=shop.admin_key)
    assert first.status == 200, first.body
    assert [a["value"] for a in first.body["responses"]] == ["answer 4", "answer 3"]
    assert first.body["responses"][0]["variant"] == "A"
    assert first.body["responses"][0]["subject"] == "device:d-4"
    seen = [a["value"] for a in first.body["responses"]]
    cursor = first.body["cursor"]
    while cursor:
        page = api.get(f"{path}?limit=2&cursor={cursor}", key=shop.admin_key).body
        seen += [a["value"] for a in page["responses"]]
        cursor = page["cursor"]
    assert seen == list(reversed(texts))


def test_the_responses_route_is_the_owners_only(api, shop, other_shop):
    engagement_id = survey(api, shop, "text")
    path = f"{shop.path}/engagements/{engagement_id}/responses"
    assert api.get(path, key=other_shop.admin_key).status == 403
    assert api.get(path, X_Client_Key=shop.client_key).status == 401
    assert api.get(f"{shop.path}/engagements/nope/responses", key=shop.admin_key).status == 404
    assert api.get(path + "?cursor=garbage", key=shop.admin_key).status == 400
    assert api.get(path + "?limit=1000", key=shop.admin_key).status == 400


@pytest.mark.parametrize(
    ("kind", "value", "fragment"),
    [
        ("rating", 7, "a rating answer is a whole number from 1 to 5"),
        ("rating", 0, "from 1 to 5"),
        ("rating", "5", "from 1 to 5"),
        ("nps", 11, "from 0 to 10"),
        ("choice", "ios", "a list of one or more option ids"),
        ("choice", ["ios", "ios"], "an option is chosen once"),
        ("choice", ["android"], "unknown option 'android'"),
        ("single", ["a"], "one option id"),
        ("text", "x" * 21, "at most 20 characters"),
        ("text", "   ", "non-empty"),
        ("text", 3, "a text answer is a non-empty string"),
    ],
)
def test_an_answer_that_does_not_fit_its_question_is_a_400(api, shop, kind, value, fragment):
    engagement_id = survey(api, shop, kind)
    register(api, shop, "d-1")
    before = store_snapshot()
    fine = event("d-1", "custom", NOW, name="browse")
    bad = event("d-1", "response", NOW, engagement_id=engagement_id, variant="A", value=value)
    reply = post_events(api, shop, [fine, bad])
    assert reply.status == 400, reply.body
    assert reply.body["Message"].startswith("events[1].value: "), reply.body
    assert fragment in reply.body["Message"]
    assert drain() == [] and store_snapshot() == before


def test_a_response_needs_a_value_of_a_known_shape(api, shop):
    engagement_id = survey(api, shop, "rating")
    common = {"engagement_id": engagement_id, "variant": "A"}
    for value in (None, 2.5, True, {"a": 1}, [], ["x"] * 7):
        reply = post_events(api, shop, [event("d-1", "response", NOW, value=value, **common)])
        assert reply.status == 400, (value, reply.body)
        assert reply.body["Message"].startswith("events[0].value"), reply.body
    reply = post_events(api, shop, [event("d-1", "response", NOW, **common)])
    assert reply.status == 400 and "events[0].value: Field required" in reply.body["Message"]
    plain = create_engagement(api, shop, live_engagement("No question"))
    reply = post_events(
        api, shop, [event("d-1", "response", NOW, engagement_id=plain, variant="A", value=3)]
    )
    assert reply.status == 400
    assert reply.body["Message"] == "events[0].variant: variant A asks no question"


def test_one_answer_per_subject_counts_whatever_is_resent(api, shop):
    engagement_id = survey(api, shop, "rating")
    register(api, shop, "phone", user_id="u-1")
    register(api, shop, "tablet", user_id="u-1")
    common = {"engagement_id": engagement_id, "variant": "A"}
    first = event("phone", "response", NOW - timedelta(minutes=1), value=2, **common)
    sent = [
        event("phone", "impression", NOW - timedelta(minutes=2), **common),
        first,
        first,  # the same event twice
        event("phone", "response", NOW, value=5, **common),  # a second answer
        event("tablet", "response", NOW, value=4, **common),  # the same user elsewhere
    ]
    assert post_events(api, shop, sent).status == 202
    messages = drain()
    for _ in range(2):
        assert consume(messages) == []
    counted = variant(metrics(api, shop, engagement_id), "A")
    assert counted["responses"] == 1
    assert counted["distribution"]["2"] == 1 and counted["mean"] == 2
