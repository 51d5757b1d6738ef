"""Fetch cost against moto: DynamoDB requests per fetch, and latency relative to a bare GetItem.

Run: .venv/bin/python bench/fetch_bench.py
Prints, for 1, 10, 100 and 500 active engagements in one app (and 10 or 1,000 registered
devices), the DynamoDB requests a steady-state fetch makes, and the median in-process latency of
a fetch as a ratio to a bare Chalice route doing a single GetItem, measured in the same run.
Then, at 100 engagements, the same fetch in an app whose every engagement targets a behavioural
audience, for a subject whose profile is as large as its bounds allow, next to the plain app:
the requests (the profile is in the delivery record the fetch reads anyway) and the cost.
"""

import json
import statistics
import time
from datetime import UTC, datetime, timedelta

from benchmarking import COUNTER, MOTO, create_tenant  # first: it sets the environment
from chalice import Chalice
from chalice.test import Client
from moto import mock_aws

from app import app
from chalicelib.adapters.dynamo import Apps, DeliveryRecord, subject_key
from chalicelib.domain import profile
from chalicelib.local.resources import create_all
from chalicelib.settings import get_settings

ENGAGEMENT_COUNTS = (1, 10, 100, 500)
TIMED_CALLS = 200

bare = Chalice(app_name="bare")


@bare.route("/bare/{app_id}")
def bare_get_item(app_id):
    """The yardstick: one route, one GetItem."""
    return {"found": Apps(get_settings()).get(app_id) is not None}


def engagement_body(n: int) -> str:
    now = datetime.now(UTC).replace(microsecond=0)
    return json.dumps(
        {
            "name": f"Engagement {n}",
            "variants": [{"key": "A", "message": {"layout": "modal", "title": f"Hello {n}"}}],
            "schedule": {
                "start_at": (now - timedelta(hours=1)).isoformat(),
                "end_at": (now + timedelta(days=7)).isoformat(),
            },
            "audience": {"percent": 50},
            "frequency": {"max_per_day": 3},
            "priority": 1 + n % 10,
        }
    )


BEHAVIOURAL_AUDIENCES = 10


def behavioural_rule(n: int, engagement_id: str) -> dict:
    return {
        "all": [
            {"event": f"ev-{n}", "op": "count_gte", "value": 3, "within_days": 30},
            {
                "any": [
                    {"event": "ev-0", "op": "last_within_days", "value": 7},
                    {"engagement": engagement_id, "op": "seen"},
                    {"event": f"ev-{n + 1}", "op": "count_lt", "value": 100, "within_days": 90},
                ]
            },
            {"attribute": "platform", "op": "eq", "value": "ios"},
        ]
    }


def largest_profile(now: float, engagement_ids: list[str]) -> dict:
    """A profile at its bounds: MAX_EVENT_NAMES names with a count on each of KEEP_DAYS days,
    MAX_ENGAGEMENTS engagements seen, clicked and dismissed."""
    raw: dict = {}
    for day in range(profile.KEEP_DAYS):
        at = now - day * profile.DAY_SECONDS
        for n in range(profile.MAX_EVENT_NAMES):
            name = f"ev-{n}" if n < 12 else f"an_event_name_of_64_characters_{n:02d}".ljust(64, "x")
            raw = profile.custom_event(raw, name, at, now)
    for n in range(profile.MAX_ENGAGEMENTS):
        engagement_id = engagement_ids[n] if n < len(engagement_ids) else f"eng{n:029d}"
        for action in ("seen", "clicked", "dismissed"):
            raw = profile.engagement_action(raw, engagement_id, action, now - n)
    return raw


def median_seconds(call, times: int) -> float:
    samples = []
    for _ in range(times):
        start = time.perf_counter()
        call()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


behavioural_size: dict = {}


def behavioural_comparison(client) -> dict:
    """Two new apps of 100 engagements each, one plain, one behavioural; their fetch costs."""
    results = {}
    for label in ("plain", "behavioural, no profile", "behavioural, largest profile"):
        tenant, admin, base = create_tenant(client)
        device = {"X-Client-Key": tenant["client_key"], "Content-Type": "application/json"}
        body = {"user_id": "u-1", "platform": "ios", "locale": "fr-FR"}
        client.http.put(f"{base}/devices/d-1", headers=device, body=json.dumps(body))
        engagement_ids = []
        audience_ids = []
        behaves = label != "plain"
        for n in range(100):
            spec = json.loads(engagement_body(n))
            if behaves and n < BEHAVIOURAL_AUDIENCES:
                rule = behavioural_rule(n, engagement_ids[0] if engagement_ids else "eng-x")
                made = client.http.post(
                    f"{base}/audiences",
                    headers=admin,
                    body=json.dumps({"name": f"Behaviour {n}", "rules": rule}),
                )
                audience_ids.append(json.loads(made.body)["audience_id"])
            if behaves:
                spec["audience"] = {"audience_ids": [audience_ids[n % BEHAVIOURAL_AUDIENCES]]}
            made = client.http.post(f"{base}/engagements", headers=admin, body=json.dumps(spec))
            engagement_ids.append(json.loads(made.body)["engagement_id"])
        key = subject_key(tenant["app_id"], "user:u-1")
        raw = largest_profile(time.time(), engagement_ids) if "largest" in label else {}
        stored = json.dumps(raw, separators=(",", ":")) if raw else None
        DeliveryRecord(key, history={}, profile=stored, version=1).save()
        if raw:
            behavioural_size["bytes"] = len(stored.encode())

        def fetch(base=base, device=device):
            reply = client.http.get(f"{base}/devices/d-1/messages", headers=device)
            assert reply.status_code == 200, reply.body
            return json.loads(reply.body)

        fetch()
        with COUNTER as counter:
            fetch()
        in_moto = MOTO.seconds
        start = time.perf_counter()
        median = median_seconds(fetch, TIMED_CALLS)
        elapsed = time.perf_counter() - start
        without_moto = (elapsed - (MOTO.seconds - in_moto)) / TIMED_CALLS
        results[label] = (counter.total, ",".join(sorted(counter.calls)), median, without_moto)
    return results


def main() -> None:
    with mock_aws():
        create_all(get_settings())
        with Client(app) as client, Client(bare) as bare_client:
            tenant, admin, base = create_tenant(client)
            device = {"X-Client-Key": tenant["client_key"], "Content-Type": "application/json"}

            def register(count: int) -> None:
                for n in range(count):
                    body = {"user_id": f"u-{n}", "platform": "ios", "locale": "fr-FR"}
                    client.http.put(f"{base}/devices/d-{n}", headers=device, body=json.dumps(body))

            def fetch():
                reply = client.http.get(f"{base}/devices/d-1/messages", headers=device)
                assert reply.status_code == 200, reply.body
                return json.loads(reply.body)

            def bare_call():
                assert bare_client.http.get(f"/bare/{tenant['app_id']}").status_code == 200

            def measure(active: int, devices: int) -> tuple:
                fetch()  # the first fetch after a change reloads the catalog
                with COUNTER as counter:
                    fetch()
                fetch_time = median_seconds(fetch, TIMED_CALLS)
                bare_time = median_seconds(bare_call, TIMED_CALLS)
                operations = ",".join(sorted(counter.calls))
                return active, devices, counter.total, operations, fetch_time, bare_time

            register(10)
            rows, created = [], 0
            for target in ENGAGEMENT_COUNTS:
                while created < target:
                    body = engagement_body(created)
                    client.http.post(f"{base}/engagements", headers=admin, body=body)
                    created += 1
                rows.append(measure(created, 10))
            register(1000)
            rows.append(measure(created, 1000))

            behavioural = behavioural_comparison(client)
            listed = json.loads(client.http.get(f"{base}/engagements?limit=1", headers=admin).body)
            first_id = listed["engagements"][0]["engagement_id"]
            client.http.post(f"{base}/engagements/{first_id}/pause", headers=admin)
            with COUNTER as counter:
                fetch()
            reload_requests = counter.total

    print(
        f"{'active':>7} {'devices':>8} {'DynamoDB requests':>18}  {'operations':<26}"
        f" {'fetch ms':>9} {'bare GetItem ms':>16} {'ratio':>6}"
    )
    for active, devices, requests, operations, fetch_time, bare_time in rows:
        print(
            f"{active:>7} {devices:>8} {requests:>18}  {operations:<26} {fetch_time * 1000:>9.2f}"
            f" {bare_time * 1000:>16.2f} {fetch_time / bare_time:>6.2f}"
        )
    print(
        f"first fetch after an owner's change (catalog reload, {created} engagements):"
        f" {reload_requests} requests"
    )
    print()
    print(
        f"{'at 100 engagements':<28} {'DynamoDB requests':>18}  {'operations':<26}"
        f" {'fetch ms':>9} {'ratio':>6} {'without moto ms':>16} {'ratio':>6}"
    )
    base_time, base_own = behavioural["plain"][2], behavioural["plain"][3]
    for label, (requests, operations, fetch_time, own) in behavioural.items():
        print(
            f"{label:<28} {requests:>18}  {operations:<26} {fetch_time * 1000:>9.2f}"
            f" {fetch_time / base_time:>6.2f} {own * 1000:>16.2f} {own / base_own:>6.2f}"
        )
    print(
        f"largest profile: {behavioural_size['bytes']:,} bytes of JSON in the delivery record"
        f" ({profile.MAX_EVENT_NAMES} event names x {profile.KEEP_DAYS} days,"
        f" {profile.MAX_ENGAGEMENTS} engagements)"
    )


if __name__ == "__main__":
    main()
