"""Helpers for device-plane tests: engagements that run now, fetches, seeded impressions."""

from datetime import UTC, datetime, timedelta

from chalicelib.adapters.dynamo import DeliveryRecord, subject_key
from chalicelib.domain.eligibility import BUCKET_SECONDS


def live_engagement(name: str, **overrides) -> dict:
    """An engagement running from an hour ago to a week ahead, shown on app_launch."""
    now = datetime.now(UTC).replace(microsecond=0)
    body = {
        "name": name,
        "variants": [{"key": "A", "message": {"layout": "modal", "title": f"{name} title"}}],
        "schedule": {
            "start_at": (now - timedelta(hours=1)).isoformat(),
            "end_at": (now + timedelta(days=7)).isoformat(),
        },
    }
    body.update(overrides)
    return body


def create_engagement(api, shop, body) -> str:
    reply = api.post(shop.path + "/engagements", body, key=shop.admin_key)
    assert reply.status == 201, reply.body
    return reply.body["engagement_id"]


def register(api, shop, device_id, **fields):
    reply = api.put(f"{shop.path}/devices/{device_id}", fields, X_Client_Key=shop.client_key)
    assert reply.status in (200, 201), reply.body
    return reply


def fetch(api, shop, device_id, event=None, test_token=None):
    query = f"?event={event}" if event else ""
    token = {"X_Herald_Test_Token": test_token} if test_token else {}
    reply = api.get(
        f"{shop.path}/devices/{device_id}/messages{query}", X_Client_Key=shop.client_key, **token
    )
    assert reply.status == 200, reply.body
    return reply.body


def shown_ids(api, shop, device_id, event=None, test_token=None) -> list[str]:
    return [m["engagement_id"] for m in fetch(api, shop, device_id, event, test_token)["messages"]]


def explain(api, shop, device_id, event=None) -> dict:
    query = f"?event={event}" if event else ""
    path = f"{shop.path}/devices/{device_id}/messages/explain{query}"
    reply = api.get(path, key=shop.admin_key)
    assert reply.status == 200, reply.body
    return {item["engagement_id"]: item for item in reply.body["engagements"]}


def seed_impressions(app_id: str, subject: str, engagement_id: str, times: list[datetime]):
    """Write impression history in the delivery record's format (what the event consumer keeps)."""
    buckets: dict[str, int] = {}
    for moment in times:
        key = str(int(moment.timestamp()) // BUCKET_SECONDS)
        buckets[key] = buckets.get(key, 0) + 1
    entry = {
        "total": len(times),
        "last": max(moment.timestamp() for moment in times),
        "buckets": buckets,
    }
    key = subject_key(app_id, subject)
    try:
        record = DeliveryRecord.get(key)
    except DeliveryRecord.DoesNotExist:
        record = DeliveryRecord(key, history={})
    history = record.history.as_dict() if record.history else {}
    history[engagement_id] = entry
    DeliveryRecord(key, history=history).save()
