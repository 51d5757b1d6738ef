"""Fetch cost against moto: DynamoDB requests per fetch, and latency relative to a bare GetItem.

Run: .venv/bin/python bench/fetch_bench.py
Prints, for 1, 10, 100 and 500 active engagements in one app (and 10 or 1,000 registered
devices), the DynamoDB requests a steady-state fetch makes, and the median in-process latency of
a fetch as a ratio to a bare Chalice route doing a single GetItem, measured in the same run.
"""

import json
import statistics
import time
from datetime import UTC, datetime, timedelta

from benchmarking import COUNTER, create_tenant  # first: it sets the environment
from chalice import Chalice
from chalice.test import Client
from moto import mock_aws

from app import app
from chalicelib.adapters.dynamo import Apps
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


def median_seconds(call, times: int) -> float:
    samples = []
    for _ in range(times):
        start = time.perf_counter()
        call()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


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


if __name__ == "__main__":
    main()
