"""Helpers for pipeline tests: posting events, draining the events queue, running the consumer.

The consumer runs through its real handler (`app.consume_events`) with Lambda SQS events built by
Chalice's `generate_sqs_event`, each record given the id SQS gave its message (Chalice's helper
gives every record the same id, which would hide which message failed).
"""

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import boto3
from chalice.test import Client

from app import app, consume_events
from chalicelib.adapters.dynamo import DeviceRecord
from chalicelib.services.consumer import EveryMessageFailed
from chalicelib.settings import get_settings


@dataclass(frozen=True)
class Message:
    message_id: str
    body: str


def event(device_id: str, type_: str, at: datetime, **fields) -> dict:
    """One client event with a fresh id; `at` is sent with its own offset."""
    return {
        "id": fields.pop("id", uuid.uuid4().hex),
        "device_id": device_id,
        "type": type_,
        "timestamp": at.isoformat(),
        **fields,
    }


def register_devices(api, shop, events: list[dict]) -> list[dict]:
    """Register every device the events name that is not registered yet (events of unregistered
    devices are refused)."""
    for device_id in dict.fromkeys(e["device_id"] for e in events):
        if DeviceRecord.count(shop.app_id, DeviceRecord.device_id == device_id):
            continue
        reply = api.put(f"{shop.path}/devices/{device_id}", {}, X_Client_Key=shop.client_key)
        assert reply.status in (200, 201), reply.body
    return events


def post_events(api, shop, events: list[dict], key: str | None = None):
    return api.post(f"{shop.path}/events", {"events": events}, X_Client_Key=key or shop.client_key)


def queue_url() -> str:
    sqs = boto3.client("sqs", region_name=get_settings().region)
    return sqs.get_queue_url(QueueName=get_settings().events_queue)["QueueUrl"]


def drain() -> list[Message]:
    """Every message waiting on the events queue, removed from it (as a consumer would)."""
    sqs = boto3.client("sqs", region_name=get_settings().region)
    url = queue_url()
    found: list[Message] = []
    while True:
        received = sqs.receive_message(
            QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=600
        ).get("Messages", [])
        if not received:
            return found
        for message in received:
            found.append(Message(message["MessageId"], message["Body"]))
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])


def poison(body: str = "{not json") -> Message:
    return Message(f"poison-{uuid.uuid4().hex}", body)


def in_batches(messages: list[Message], size: int = 10) -> list[list[Message]]:
    return [messages[start : start + size] for start in range(0, len(messages), size)]


def sqs_event(batch: list[Message]) -> dict:
    with Client(app) as client:
        generated = client.events.generate_sqs_event(
            message_bodies=[message.body for message in batch],
            queue_name=get_settings().events_queue,
        )
    for record, message in zip(generated["Records"], batch, strict=True):
        record["messageId"] = message.message_id
        record["receiptHandle"] = f"receipt-{message.message_id}"
    return generated


def consume(batch: list[Message]) -> list[str]:
    """Run the consumer's handler on one batch; the ids it reports failed (all of them when it
    raises because every one failed, as SQS then retries them all)."""
    try:
        outcome = consume_events(sqs_event(batch), None)
    except EveryMessageFailed:
        return [message.message_id for message in batch]
    return [failure["itemIdentifier"] for failure in outcome["batchItemFailures"]]


def consume_all() -> list[str]:
    """Consume everything queued, in batches of ten; the ids reported failed."""
    return [failed for batch in in_batches(drain()) for failed in consume(batch)]


def settle(traveller, rounds: int = 8) -> list[str]:
    """Let held events come back: move the clock past their delay and consume what the queue
    then holds, until nothing is left (events wait at most 15 minutes between looks); the ids
    reported failed."""
    failed: list[str] = []
    for _ in range(rounds):
        traveller.shift(timedelta(minutes=15, seconds=1))
        waiting = drain()
        if not waiting:
            return failed
        failed += [f for batch in in_batches(waiting) for f in consume(batch)]
    raise AssertionError("held events still coming back")


def metrics(api, shop, engagement_id: str, query: str = "") -> dict:
    reply = api.get(f"{shop.path}/engagements/{engagement_id}/metrics{query}", key=shop.admin_key)
    assert reply.status == 200, reply.body
    return reply.body


def variant(report: dict, key: str) -> dict:
    return next(v for v in report["variants"] if v["key"] == key)


def now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)
