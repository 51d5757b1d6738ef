"""The local queue consumer, on a throwaway Chalice app whose handler reads the events queue."""

import json

import boto3
import pytest
from chalice import Chalice

from chalicelib.local.queue import QueueConsumer, failed_ids
from chalicelib.local.resources import MAX_RECEIVE_COUNT
from chalicelib.local.server import LocalHerald
from chalicelib.settings import get_settings
from tests.local.waiting import wait_for


class Queues:
    def __init__(self):
        settings = get_settings()
        self.sqs = boto3.client("sqs", region_name=settings.region)
        self.url = self.sqs.get_queue_url(QueueName=settings.events_queue)["QueueUrl"]
        self.dlq_url = self.sqs.get_queue_url(QueueName=settings.events_dead_letter_queue)[
            "QueueUrl"
        ]

    def send(self, *bodies: str) -> None:
        for body in bodies:
            self.sqs.send_message(QueueUrl=self.url, MessageBody=body)

    def left(self, url: str) -> int:
        names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
        found = self.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=names)["Attributes"]
        return sum(int(found[name]) for name in names)

    def dead_letters(self) -> list[str]:
        found = self.sqs.receive_message(QueueUrl=self.dlq_url, MaxNumberOfMessages=10)
        return [message["Body"] for message in found.get("Messages", [])]


@pytest.fixture
def queues(aws):
    return Queues()


@pytest.fixture
def run_consumer(aws):
    """Starts the local run for a throwaway app with `handler` on the events queue."""
    started = []

    def run(handler, batch_size: int) -> LocalHerald:
        test_app = Chalice(app_name="queue-test")
        test_app.on_sqs_message(queue=get_settings().events_queue, batch_size=batch_size)(handler)
        harness = LocalHerald(port=0, mock=False, app=test_app, visibility_timeout=1)
        harness.start()
        started.append(harness)
        return harness

    yield run
    for harness in started:
        harness.stop()


def test_moto_moves_a_message_to_the_dead_letter_queue_after_max_receive_count(queues):
    queues.send("poison")
    for _ in range(MAX_RECEIVE_COUNT):
        found = queues.sqs.receive_message(QueueUrl=queues.url, VisibilityTimeout=0)
        assert [message["Body"] for message in found["Messages"]] == ["poison"]

    assert "Messages" not in queues.sqs.receive_message(QueueUrl=queues.url, VisibilityTimeout=0)
    assert queues.dead_letters() == ["poison"]


def test_batches_partial_failures_retried_and_poison_dead_lettered(queues, run_consumer):
    batches = []

    def handler(event):
        records = [record.to_dict() for record in event]
        batches.append([(r["body"], r["attributes"]["ApproximateReceiveCount"]) for r in records])
        failed = [
            r["messageId"]
            for r in records
            if r["body"] == "poison"
            or (r["body"] == "flaky" and r["attributes"]["ApproximateReceiveCount"] == "1")
        ]
        return {"batchItemFailures": [{"itemIdentifier": message_id} for message_id in failed]}

    queues.send("ok-1", "ok-2", "ok-3", "flaky", "poison")
    run_consumer(handler, batch_size=3)

    # moto moves a message to the dead-letter queue in two steps another thread can see apart
    wait_for(lambda: queues.left(queues.url) == 0 and queues.left(queues.dlq_url) == 1, 30)
    assert queues.dead_letters() == ["poison"]
    assert max(len(batch) for batch in batches) == 3
    delivered = [body for batch in batches for body, _ in batch]
    assert sorted(delivered) == sorted(
        ["ok-1", "ok-2", "ok-3", "flaky", "flaky"] + ["poison"] * MAX_RECEIVE_COUNT
    )
    assert ("flaky", "2") in [message for batch in batches for message in batch]


def test_a_handler_that_raises_gets_its_whole_batch_again(queues, run_consumer):
    batches = []

    def handler(event):
        batches.append(sorted(record.body for record in event))
        if len(batches) == 1:
            raise RuntimeError("the store is down")

    queues.send("a", "b", "c")
    run_consumer(handler, batch_size=10)

    wait_for(lambda: queues.left(queues.url) == 0, 15)
    assert batches == [["a", "b", "c"], ["a", "b", "c"]]
    assert queues.dead_letters() == []


def test_lambda_sqs_event_shape(queues, run_consumer):
    records = []
    queues.sqs.send_message(
        QueueUrl=queues.url,
        MessageBody=json.dumps({"event_id": "e1"}),
        MessageAttributes={"kind": {"DataType": "String", "StringValue": "view"}},
    )
    run_consumer(lambda event: records.extend(r.to_dict() for r in event), batch_size=1)

    wait_for(lambda: records, 10)
    record = records[0]
    assert record["eventSource"] == "aws:sqs"
    assert record["eventSourceARN"].endswith(":" + get_settings().events_queue)
    assert json.loads(record["body"]) == {"event_id": "e1"}
    assert record["messageAttributes"]["kind"]["stringValue"] == "view"
    assert record["attributes"]["ApproximateReceiveCount"] == "1"
    assert {"messageId", "receiptHandle", "md5OfBody", "awsRegion"} <= record.keys()


def test_no_sqs_handler_means_no_consumer(aws):
    harness = LocalHerald(port=0, mock=False, app=Chalice(app_name="no-queues"))
    harness.start()
    harness.stop()
    assert not any(isinstance(thread, QueueConsumer) for thread in harness.threads)


@pytest.mark.parametrize(
    ("outcome", "failed"),
    [
        (None, set()),
        ({"batchItemFailures": []}, set()),
        ({"batchItemFailures": [{"itemIdentifier": "m2"}]}, {"m2"}),
        ({"batchItemFailures": [{"itemIdentifier": "elsewhere"}]}, {"m1", "m2"}),
        ({"batchItemFailures": [{}]}, {"m1", "m2"}),
    ],
)
def test_failed_ids_follow_lambda_report_batch_item_failures(outcome, failed):
    assert failed_ids(outcome, {"m1", "m2"}) == failed
