"""Questions in messages through the routes: validated when saved, localized on the fetch."""

import pytest

from tests.api.device_helpers import create_engagement, fetch, live_engagement, register
from tests.conftest import store_snapshot

CHOICE = {
    "type": "choice",
    "prompt": 'What brought you here, {{ attributes.first_name | default: "friend" }}?',
    "submit_label": "Send",
    "multiple": True,
    "options": [
        {"id": "ads", "label": "An ad"},
        {"id": "friend", "label": "A friend"},
        {"id": "search", "label": "A search"},
    ],
}


def asking(question, name="Survey", **message) -> dict:
    body = {"layout": "modal", "title": "Quick question", "question": question, **message}
    return live_engagement(name, variants=[{"key": "A", "message": body}])


@pytest.mark.parametrize(
    "question",
    [
        {"type": "rating", "prompt": "How was it?"},
        {"type": "nps", "prompt": "Would you recommend us?", "submit_label": "Rate"},
        CHOICE,
        {
            "type": "choice",
            "prompt": "Pick",
            "options": [{"id": "a", "label": "A"}] * 1 + [{"id": "b", "label": "B"}],
        },
        {"type": "text", "prompt": "Tell us more", "max_length": 500},
    ],
)
def test_each_question_type_is_stored_and_shown(api, shop, question):
    engagement_id = create_engagement(api, shop, asking(question))
    stored = api.get(f"{shop.path}/engagements/{engagement_id}", key=shop.admin_key).body
    shown_question = stored["variants"][0]["message"]["question"]
    assert shown_question["type"] == question["type"]
    assert shown_question["submit_label"] == question.get("submit_label", "Submit")
    (message,) = fetch(api, shop, "d-1")["messages"]
    assert message["message"]["question"]["type"] == question["type"]


def test_a_question_is_localized_and_its_prompt_rendered(api, shop):
    localizations = {
        "fr": {
            "title": "Une question",
            "question": {
                "prompt": "Qu'est-ce qui vous amène, {{ attributes.first_name }} ?",
                "submit_label": "Envoyer",
                "options": {"ads": "Une pub", "friend": "Un ami"},
            },
        }
    }
    create_engagement(api, shop, asking(CHOICE, localizations=localizations))
    register(api, shop, "d-fr", locale="fr-FR", attributes={"first_name": "Léa"})
    (message,) = fetch(api, shop, "d-fr")["messages"]
    question = message["message"]["question"]
    assert question["prompt"] == "Qu'est-ce qui vous amène, Léa ?"
    assert question["submit_label"] == "Envoyer"
    assert [o["label"] for o in question["options"]] == ["Une pub", "Un ami", "A search"]
    assert [o["id"] for o in question["options"]] == ["ads", "friend", "search"]
    register(api, shop, "d-en", locale="en-GB")
    (message,) = fetch(api, shop, "d-en")["messages"]
    assert message["message"]["question"]["prompt"] == "What brought you here, friend?"


def option(index):
    return {"id": f"o{index}", "label": f"Option {index}"}


@pytest.mark.parametrize(
    ("question", "path", "fragment"),
    [
        ({"type": "stars", "prompt": "?"}, "question.type", "must be one of"),
        ({"type": "rating"}, "question.prompt", "Field required"),
        ({"type": "rating", "prompt": ""}, "question.prompt", "at least 1"),
        ({"type": "rating", "prompt": "{{ nope }}"}, "question.prompt", "unknown variable"),
        ({"type": "rating", "prompt": "?", "scale": 10}, "question.scale", "unknown field"),
        (
            {"type": "choice", "prompt": "?", "options": [option(1)]},
            "question.options",
            "at least 2",
        ),
        (
            {"type": "choice", "prompt": "?", "options": [option(i) for i in range(7)]},
            "question.options",
            "at most 6",
        ),
        (
            {"type": "choice", "prompt": "?", "options": [option(1), option(1)]},
            "question.options",
            "unique",
        ),
        (
            {"type": "choice", "prompt": "?", "options": [option(1), {"id": "x y", "label": "X"}]},
            "question.options[1].id",
            "pattern",
        ),
        (
            {"type": "choice", "prompt": "?", "options": [option(1), option(2)], "multiple": "yes"},
            "question.multiple",
            "boolean",
        ),
        ({"type": "text", "prompt": "?", "max_length": 501}, "question.max_length", "500"),
        ({"type": "text", "prompt": "?", "max_length": 0}, "question.max_length", "1"),
    ],
)
def test_bad_questions_are_400s_naming_the_field(api, shop, question, path, fragment):
    before = store_snapshot()
    reply = api.post(shop.path + "/engagements", asking(question), key=shop.admin_key)
    assert reply.status == 400, reply.body
    message = reply.body["Message"]
    assert message.startswith(f"variants[0].message.{path}"), message
    assert fragment in message
    assert store_snapshot() == before


def test_localized_questions_must_match_the_question(api, shop):
    reply = api.post(
        shop.path + "/engagements",
        asking(CHOICE, localizations={"fr": {"question": {"options": {"nope": "Non"}}}}),
        key=shop.admin_key,
    )
    assert reply.status == 400
    assert (
        "localizations.fr.question.options: unknown option id(s) ['nope']"
        in (reply.body["Message"])
    )
    body = live_engagement(
        "No question",
        variants=[
            {
                "key": "A",
                "message": {
                    "layout": "modal",
                    "title": "Hi",
                    "localizations": {"fr": {"question": {"prompt": "Alors ?"}}},
                },
            }
        ],
    )
    reply = api.post(shop.path + "/engagements", body, key=shop.admin_key)
    assert reply.status == 400
    assert "localizations.fr.question: the message asks no question" in reply.body["Message"]
