"""The events consumer against moto: throughput, and DynamoDB requests per SQS batch.

Run: .venv/bin/python bench/pipeline_bench.py
For SQS batches of 10 and of 100 events (10 events per message) about 1 or 20 distinct
engagements (impressions, clicks, dismissals and purchases from 200 devices), prints:
- events per second through the consumer's handler in-process, against moto. moto makes every
  transaction copy each table it touches (to roll back), so this slows as the tables grow; the
  second figure leaves out the time spent inside moto: Herald's own code;
- DynamoDB requests per batch, writes (TransactWriteItems) and reads, counted by a botocore
  'before-call.dynamodb.*' hook on every client.
"""

import json
import random
import time
import uuid
from datetime import UTC, datetime, timedelta

from benchmarking import COUNTER, MOTO, create_tenant  # first: it sets the environment
from chalice.test import Client
from moto import mock_aws

from app import app, consume_events
from chalicelib.local.resources import create_all
from chalicelib.services.ingestion import pack
from chalicelib.settings import get_settings

BATCHES = {10: 40, 100: 8}  # events per batch -> batches measured
ENGAGEMENTS = (1, 20)
DEVICES = 200
WRITES = {"TransactWriteItems", "PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem"}


def engagement_body(n: int) -> str:
    now = datetime.now(UTC).replace(microsecond=0)
    buttons = [{"id": "buy", "label": "Buy", "action": {"type": "dismiss"}}]
    return json.dumps(
        {
            "name": f"Engagement {n}",
            "ab_test": True,
            "control_percent": 10,
            "variants": [
                {
                    "key": key,
                    "weight": 50,
                    "message": {"layout": "modal", "title": key, "buttons": buttons},
                }
                for key in ("A", "B")
            ],
            "schedule": {
                "start_at": (now - timedelta(days=3)).isoformat(),
                "end_at": (now + timedelta(days=7)).isoformat(),
            },
            "metrics": [{"element": "buy", "metric": "bought"}],
            "conversion": {"event": "purchase", "window_hours": 24},
        }
    )


def events(rng: random.Random, count: int, engagement_ids: list[str]) -> list[dict]:
    now = datetime.now(UTC)
    made = []
    for _ in range(count):
        device = f"d-{rng.randrange(DEVICES)}"
        at = (now - timedelta(seconds=rng.randrange(2 * 86_400))).isoformat()
        base = {"id": uuid.uuid4().hex, "device_id": device, "timestamp": at}
        kind = rng.random()
        if kind < 0.05:
            made.append({**base, "type": "custom", "name": "purchase"})
            continue
        shown = {"engagement_id": rng.choice(engagement_ids), "variant": rng.choice("AB")}
        if kind < 0.6:
            made.append({**base, "type": "impression", **shown})
        elif kind < 0.85:
            made.append({**base, "type": "click", "element": "buy", **shown})
        else:
            made.append({**base, "type": "dismiss", **shown})
    return made


def sqs_event(bodies: list[str]) -> dict:
    generated = Client(app).events.generate_sqs_event(bodies, get_settings().events_queue)
    for record in generated["Records"]:
        record["messageId"] = uuid.uuid4().hex
    return generated


def main() -> None:
    rng = random.Random(4)
    rows = []
    with mock_aws():
        create_all(get_settings())
        with Client(app) as client:
            tenant, admin, base = create_tenant(client)
            engagement_ids = [
                json.loads(
                    client.http.post(
                        f"{base}/engagements", headers=admin, body=engagement_body(n)
                    ).body
                )["engagement_id"]
                for n in range(max(ENGAGEMENTS))
            ]
            device = {"X-Client-Key": tenant["client_key"], "Content-Type": "application/json"}
            for n in range(DEVICES):  # events of unregistered devices are refused
                client.http.put(f"{base}/devices/d-{n}", headers=device, body="{}")
        for per_batch, batches in BATCHES.items():
            for distinct in ENGAGEMENTS:
                chosen = engagement_ids[:distinct]
                prepared = [
                    sqs_event(pack(tenant["app_id"], events(rng, per_batch, chosen)))
                    for _ in range(batches)
                ]
                consume_events(prepared[0], None)  # warm: the catalog is read once per app
                elapsed = 0.0
                in_moto = MOTO.seconds
                with COUNTER as counter:
                    for batch in prepared[1:]:
                        start = time.perf_counter()
                        outcome = consume_events(batch, None)
                        elapsed += time.perf_counter() - start
                        assert outcome["batchItemFailures"] == [], outcome
                measured = batches - 1
                in_moto = MOTO.seconds - in_moto
                writes = sum(n for name, n in counter.calls.items() if name in WRITES)
                reads = sum(n for name, n in counter.calls.items() if name not in WRITES)
                rows.append(
                    (
                        per_batch,
                        len(prepared[0]["Records"]),
                        distinct,
                        measured * per_batch / elapsed,
                        measured * per_batch / (elapsed - in_moto),
                        writes / measured,
                        reads / measured,
                        ",".join(sorted(counter.calls)),
                    )
                )

    print(
        f"{'events/batch':>12} {'messages':>8} {'engagements':>11} {'events/s':>9}"
        f" {'without moto':>12} {'writes/batch':>12} {'reads/batch':>11}  operations"
    )
    for per_batch, messages, distinct, rate, own_rate, writes, reads, operations in rows:
        print(
            f"{per_batch:>12} {messages:>8} {distinct:>11} {rate:>9.0f} {own_rate:>12.0f}"
            f" {writes:>12.1f} {reads:>11.1f}  {operations}"
        )


if __name__ == "__main__":
    main()
