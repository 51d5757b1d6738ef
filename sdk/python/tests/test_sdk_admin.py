"""Every method of the admin client against a real local Herald."""

import boto3
import pytest
from conftest import ROOT_KEY, engagement_spec
from herald_sdk import (
    BadRequest,
    Conflict,
    DeviceClient,
    Forbidden,
    Herald,
    HeraldError,
    NotFound,
    PreconditionRequired,
    StaleVersion,
    Unauthorized,
    app_id_of,
)
from herald_sdk.errors import error_from

from chalicelib.local.resources import create_all
from chalicelib.settings import get_settings


def test_apps_are_created_with_the_root_key_and_read_with_their_admin_key(shop, root):
    assert app_id_of(shop.created.admin_key) == shop.app_id
    assert shop.admin.app_id == shop.app_id
    app = shop.admin.get_app()
    assert (app.app_id, app.name) == (shop.app_id, shop.created.name)
    assert root.for_app(shop.app_id).get_app().app_id == shop.app_id  # the root key manages all

    with pytest.raises(HeraldError, match="root key"):
        shop.admin.create_app("No root key")


def test_rotated_keys_replace_the_old_ones(shop, server):
    keys = shop.admin.rotate_keys()
    assert keys.admin_key != shop.created.admin_key

    with pytest.raises(Unauthorized) as refused:
        shop.admin.get_app()
    assert refused.value.status == 401
    assert refused.value.code == "UnauthorizedError"
    assert refused.value.message
    with Herald(server.url, admin_key=keys.admin_key) as renewed:
        assert renewed.get_app().app_id == shop.app_id


def test_another_apps_key_is_forbidden_and_errors_carry_code_and_message(shop, root, server):
    other = root.create_app("Other shop")
    stranger = Herald(server.url, admin_key=other.admin_key)
    with pytest.raises(Forbidden) as refused:
        stranger.for_app(shop.app_id).get_app()
    assert refused.value.code == "ForbiddenError"

    with pytest.raises(NotFound) as missing:
        shop.admin.get_engagement("eng0000000000000000000000000000")
    assert missing.value.code == "NotFoundError"
    assert "no engagement" in missing.value.message

    with pytest.raises(BadRequest) as bad:
        shop.admin.create_engagement({"name": "No variants", "schedule": {}})
    assert bad.value.status == 400
    assert "variants" in bad.value.message


def test_audiences_are_created_read_listed_page_by_page_replaced_and_deleted(shop):
    rules = {"all": [{"attribute": "platform", "op": "eq", "value": "ios"}]}
    made = [shop.admin.create_audience(f"Audience {n}", rules, f"number {n}") for n in range(5)]
    assert shop.admin.get_audience(made[0].audience_id).rules == rules

    first = shop.admin.list_audiences(limit=2)
    assert [a.name for a in first] == ["Audience 0", "Audience 1"]
    assert first.cursor
    assert [a.name for a in shop.admin.iter_audiences(page_size=2)] == [
        f"Audience {n}" for n in range(5)
    ]

    android = {"all": [{"attribute": "platform", "op": "eq", "value": "android"}]}
    replaced = shop.admin.replace_audience(made[0].audience_id, "Android", android)
    assert (replaced.name, replaced.version) == ("Android", 2)
    with pytest.raises(StaleVersion):
        shop.admin.replace_audience(made[0].audience_id, "Stale", rules, version=1)
    assert shop.admin.get_audience(made[0].audience_id).name == "Android"

    target = {"audience_ids": [made[1].audience_id]}
    shop.admin.create_engagement(engagement_spec("Uses audience 1", audience=target))
    with pytest.raises(Conflict, match="used by"):
        shop.admin.delete_audience(made[1].audience_id)
    shop.admin.delete_audience(made[2].audience_id)
    with pytest.raises(NotFound):
        shop.admin.get_audience(made[2].audience_id)


def test_engagements_are_created_listed_found_and_paged(shop):
    live = shop.admin.create_engagement(engagement_spec("Live"))
    draft = shop.admin.create_engagement(engagement_spec("Kept back"), draft=True)
    for n in range(3):
        shop.admin.create_engagement(engagement_spec(f"Later {n}", running=False))
    assert (live.status, live.version, live.ever_active) == ("active", 1, True)
    assert draft.status == "draft"

    assert shop.admin.get_engagement(live.engagement_id).name == "Live"
    page = shop.admin.list_engagements(limit=2)
    assert len(page) == 2 and page.cursor
    assert len(list(shop.admin.iter_engagements(page_size=2))) == 5
    assert [e.name for e in shop.admin.iter_engagements("scheduled")] == [
        "Later 0",
        "Later 1",
        "Later 2",
    ]
    assert shop.admin.find_engagement("kept BACK").engagement_id == draft.engagement_id
    assert shop.admin.find_engagement(live.engagement_id).name == "Live"
    with pytest.raises(HeraldError, match="no engagement named"):
        shop.admin.find_engagement("Nothing like it")


def test_updates_send_if_match_and_a_stale_version_is_refused_not_overwritten(shop, server):
    made = shop.admin.create_engagement(engagement_spec("Sale", running=False))
    updated = shop.admin.update_engagement(made.engagement_id, {"priority": 7})  # reads first
    assert (updated.priority, updated.version) == (7, 2)

    again = shop.admin.update_engagement(made.engagement_id, {"priority": 8}, version=2)
    assert again.version == 3
    with pytest.raises(StaleVersion) as stale:
        shop.admin.update_engagement(made.engagement_id, {"priority": 1}, version=2)
    assert stale.value.status == 409 and "stale" in stale.value.message
    assert shop.admin.get_engagement(made.engagement_id).priority == 8

    # Without the SDK's If-Match the server insists on one: the SDK never sends that request.
    import httpx

    bare = httpx.patch(
        f"{server.url}/v1/apps/{shop.app_id}/engagements/{made.engagement_id}",
        json={"priority": 2},
        headers={"Authorization": f"Bearer {shop.created.admin_key}"},
    )
    assert bare.status_code == 428
    assert isinstance(error_from(428, bare.json()), PreconditionRequired)


def test_publish_pause_resume_and_delete(shop):
    draft = shop.admin.create_engagement(engagement_spec("Flow"), draft=True)
    assert shop.admin.publish(draft.engagement_id).status == "active"
    assert shop.admin.pause(draft.engagement_id).status == "paused"
    with pytest.raises(Conflict, match="only a paused"):
        shop.admin.resume(shop.admin.resume(draft.engagement_id).engagement_id)
    current = shop.admin.get_engagement(draft.engagement_id)
    with pytest.raises(StaleVersion):
        shop.admin.delete_engagement(draft.engagement_id, version=current.version - 1)
    shop.admin.delete_engagement(draft.engagement_id, version=current.version)
    with pytest.raises(NotFound):
        shop.admin.get_engagement(draft.engagement_id)


def test_explain_metrics_and_the_openapi_document(shop):
    made = shop.admin.create_engagement(engagement_spec("Explained"))
    shop.device.register("phone-1", platform="ios")
    why = shop.admin.explain("phone-1", event="app_launch")
    assert why.device_id == "phone-1"
    assert [(e.name, e.eligible) for e in why.engagements] == [("Explained", True)]
    assert shop.admin.explain("phone-1", event="checkout").engagements[0].reason == (
        "event_mismatch"
    )

    report = shop.admin.metrics(made.engagement_id, daily=True)
    assert (report.goal, [v.key for v in report.variants]) == ("ctr", ["A", "B"])
    assert report.series == []
    assert "paths" in shop.admin.openapi()


@pytest.fixture
def local_shop(in_process_server):
    with Herald(in_process_server.url, root_key=ROOT_KEY) as root:
        created = root.create_app("Queue-less shop")
    return DeviceClient(in_process_server.url, created.client_key)


def test_a_503_is_retried_after_the_servers_retry_after(local_shop):
    """The events queue gone: Herald answers 503 with Retry-After: 5. The client waits what
    the server asks (here: records it, and brings the queue back meanwhile) and retries."""
    settings = get_settings()
    sqs = boto3.client("sqs", region_name=settings.region)
    sqs.delete_queue(QueueUrl=sqs.get_queue_url(QueueName=settings.events_queue)["QueueUrl"])
    waits = []

    def wait(seconds):
        waits.append(seconds)
        create_all(settings)  # the queue is back before the retry

    local_shop.transport._sleep = wait
    event = {"id": "e-1", "device_id": "d-1", "type": "custom", "name": "purchase"}
    event["timestamp"] = engagement_spec()["schedule"]["start_at"]
    assert local_shop.send_events([event]) == 1
    assert waits == [5.0]
    assert local_shop.transport.retries == 1


def test_an_unreachable_server_is_a_connection_failure():
    from herald_sdk import ConnectionFailed

    nowhere = Herald("http://127.0.0.1:9", root_key=ROOT_KEY, timeout=2)
    with pytest.raises(ConnectionFailed, match="cannot reach"):
        nowhere.create_app("Nowhere")


def test_the_apps_settings_are_changed_by_a_merge_patch(shop):
    changed = shop.admin.update_app(web_origins=["https://shop.example"])
    assert (changed.name, changed.web_origins) == (shop.created.name, ["https://shop.example"])
    renamed = shop.admin.update_app(name="Renamed")
    assert (renamed.name, renamed.web_origins) == ("Renamed", ["https://shop.example"])
    assert shop.admin.get_app().web_origins == ["https://shop.example"]
    with pytest.raises(BadRequest, match="web_origins"):
        shop.admin.update_app(web_origins=["javascript:alert(1)"])
    assert shop.admin.update_app(web_origins=[]).web_origins == []
