"""Audiences through HTTP: validated rules, unique names, paging, and deletion only when unused."""

import pytest

from tests.builders import FRENCH_USERS, minimal_engagement
from tests.conftest import store_snapshot


def create(api, shop, body=FRENCH_USERS):
    reply = api.post(shop.path + "/audiences", body, key=shop.admin_key)
    assert reply.status == 201, reply.body
    return reply.body


def test_create_read_replace_delete(api, shop):
    audience = create(api, shop)
    assert audience["audience_id"].startswith("aud")
    assert audience["rules"] == FRENCH_USERS["rules"]
    path = f"{shop.path}/audiences/{audience['audience_id']}"
    assert api.get(path, key=shop.admin_key).body == audience

    changed = {**FRENCH_USERS, "name": "Francophones"}
    replaced = api.put(path, changed, key=shop.admin_key, If_Match="1")
    assert replaced.status == 200
    assert replaced.body["name"] == "Francophones" and replaced.body["version"] == 2

    assert api.delete(path, key=shop.admin_key).status == 204
    assert api.get(path, key=shop.admin_key).status == 404
    create(api, shop)  # both names are free again


@pytest.mark.parametrize(
    ("rules", "path"),
    [
        ({"all": [{"attribute": "locale", "op": "matches", "value": "fr"}]}, "rules.all[0].op"),
        ({"all": [{"attribute": "locale", "op": "in", "value": "fr-FR"}]}, "rules.all[0].value"),
        (
            {"all": [{"any": [{"attribute": "attributes.age", "op": "gte", "value": "x"}]}]},
            "rules.all[0].any[0].value",
        ),
        (
            {
                "all": [
                    {
                        "all": [
                            {
                                "all": [
                                    {
                                        "all": [
                                            {
                                                "all": [
                                                    {
                                                        "all": [
                                                            {"attribute": "locale", "op": "exists"}
                                                        ]
                                                    }
                                                ]
                                            }
                                        ]
                                    }
                                ]
                            }
                        ]
                    }
                ]
            },
            "rules.all[0].all[0].all[0].all[0].all[0]",
        ),
        ({"any": [{"attribute": "locale", "op": "exists"}] * 51}, "rules.any[50]"),
        ({"none": []}, "rules"),
    ],
)
def test_invalid_rules_are_refused_naming_the_path_and_store_nothing(api, shop, rules, path):
    before = store_snapshot()
    reply = api.post(shop.path + "/audiences", {"name": "Bad", "rules": rules}, key=shop.admin_key)
    assert reply.status == 400
    assert reply.body["Code"] == "BadRequestError"
    assert reply.body["Message"].startswith(path + ":")
    assert store_snapshot() == before


@pytest.mark.parametrize(
    "body",
    [
        {"rules": FRENCH_USERS["rules"]},
        {"name": "X"},
        {"name": "X", "rules": "locale = fr"},
        {**FRENCH_USERS, "owner": "me"},
    ],
)
def test_incomplete_or_unknown_fields_are_refused(api, shop, body):
    before = store_snapshot()
    assert api.post(shop.path + "/audiences", body, key=shop.admin_key).status == 400
    assert store_snapshot() == before


def test_names_are_unique_per_app_ignoring_case(api, shop, other_shop):
    create(api, shop)
    before = store_snapshot()
    reply = api.post(
        shop.path + "/audiences", {**FRENCH_USERS, "name": "FRENCH USERS"}, key=shop.admin_key
    )
    assert reply.status == 409
    assert store_snapshot() == before
    create(api, other_shop)  # another app may use the name


def test_renaming_onto_a_taken_name_is_refused(api, shop):
    create(api, shop)
    second = create(api, shop, {**FRENCH_USERS, "name": "Belgians"})
    path = f"{shop.path}/audiences/{second['audience_id']}"
    before = store_snapshot()
    assert api.put(path, FRENCH_USERS, key=shop.admin_key).status == 409
    assert store_snapshot() == before


def test_a_stale_version_is_refused(api, shop):
    audience = create(api, shop)
    path = f"{shop.path}/audiences/{audience['audience_id']}"
    assert api.put(path, FRENCH_USERS, key=shop.admin_key, If_Match="1").status == 200
    before = store_snapshot()
    assert api.put(path, FRENCH_USERS, key=shop.admin_key, If_Match="1").status == 409
    assert store_snapshot() == before


def test_an_audience_in_use_cannot_be_deleted_until_released(api, shop):
    audience = create(api, shop)
    audience_path = f"{shop.path}/audiences/{audience['audience_id']}"
    body = minimal_engagement(audience={"audience_ids": [audience["audience_id"]]})
    engagement = api.post(shop.path + "/engagements", body, key=shop.admin_key).body
    assert api.get(audience_path, key=shop.admin_key).body["used_by"] == [
        engagement["engagement_id"]
    ]

    before = store_snapshot()
    reply = api.delete(audience_path, key=shop.admin_key)
    assert reply.status == 409
    assert engagement["engagement_id"] in reply.body["Message"]
    assert store_snapshot() == before

    engagement_path = f"{shop.path}/engagements/{engagement['engagement_id']}"
    released = api.patch(
        engagement_path, {"audience": {"audience_ids": []}}, key=shop.admin_key, If_Match="1"
    )
    assert released.status == 200
    assert api.get(audience_path, key=shop.admin_key).body["used_by"] == []
    assert api.delete(audience_path, key=shop.admin_key).status == 204


def test_deleting_the_engagement_releases_its_audiences(api, shop):
    audience = create(api, shop)
    body = minimal_engagement(audience={"audience_ids": [audience["audience_id"]]})
    engagement = api.post(shop.path + "/engagements", body, key=shop.admin_key).body
    path = f"{shop.path}/engagements/{engagement['engagement_id']}"
    assert api.delete(path, key=shop.admin_key).status == 204
    assert (
        api.delete(f"{shop.path}/audiences/{audience['audience_id']}", key=shop.admin_key).status
        == 204
    )


def test_paging_walks_every_audience_once(api, shop):
    made = [create(api, shop, {**FRENCH_USERS, "name": f"A{i}"})["audience_id"] for i in range(5)]
    seen, cursor, pages = [], None, 0
    while True:
        query = f"?limit=2&cursor={cursor}" if cursor else "?limit=2"
        page = api.get(shop.path + "/audiences" + query, key=shop.admin_key).body
        seen += [item["audience_id"] for item in page["audiences"]]
        pages += 1
        cursor = page["cursor"]
        if cursor is None:
            break
    assert seen == made and pages == 3


def test_another_apps_audience_is_not_found(api, shop, other_shop):
    audience = create(api, shop)
    path = f"{other_shop.path}/audiences/{audience['audience_id']}"
    assert api.get(path, key=other_shop.admin_key).status == 404
    assert api.delete(path, key=other_shop.admin_key).status == 404
    assert (
        api.get(f"{shop.path}/audiences/{audience['audience_id']}", key=other_shop.admin_key).status
        == 403
    )
