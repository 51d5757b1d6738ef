"""The local stand-in for Lambda's SQS event source mapping, with ReportBatchItemFailures.

One thread per `@app.on_sqs_message` handler long-polls its queue and calls the handler with a
Lambda SQS event. Messages the handler reports in `batchItemFailures` stay in the queue, as does
the whole batch when the handler raises or reports an unknown id; the rest are deleted. A message
that keeps failing reaches the dead-letter queue through the queue's RedrivePolicy, which moto
applies itself when it receives (tests/local/test_queue.py proves it).
"""

import base64
import logging
import threading
from typing import Any

import boto3
from chalice import Chalice
from chalice.app import SQSEventConfig
from chalice.local import LambdaContext

from chalicelib.settings import Settings

log = logging.getLogger("herald.local.queue")

MAX_RECEIVE = 10  # SQS's limit per receive; Lambda batches beyond it only with a batching window


def sqs_sources(app: Chalice) -> list[SQSEventConfig]:
    return [source for source in app.event_sources if isinstance(source, SQSEventConfig)]


def _lambda_attribute(value: dict[str, Any]) -> dict[str, Any]:
    """An SQS API message attribute, spelled the way Lambda's SQS event spells it."""
    binary = value.get("BinaryValue")
    return {
        "stringValue": value.get("StringValue"),
        "binaryValue": base64.b64encode(binary).decode() if binary is not None else None,
        "stringListValues": [],
        "binaryListValues": [],
        "dataType": value["DataType"],
    }


def failed_ids(outcome: Any, batch_ids: set[str]) -> set[str]:
    """The ids to leave in the queue; an invalid report fails the whole batch, as Lambda does."""
    if not isinstance(outcome, dict) or not outcome.get("batchItemFailures"):
        return set()
    reported = {failure.get("itemIdentifier") for failure in outcome["batchItemFailures"]}
    return reported if reported <= batch_ids else set(batch_ids)


class QueueConsumer(threading.Thread):
    def __init__(
        self,
        app: Chalice,
        source: SQSEventConfig,
        settings: Settings,
        stopping: threading.Event,
        visibility_timeout: int = 2,
        wait_seconds: int = 1,
    ):
        super().__init__(name=f"herald-local-queue-{source.name}", daemon=True)
        self._name = source.name
        self._handler = app.handler_map[source.name]
        self._queue = source.queue or (source.queue_arn or "").rsplit(":", 1)[-1]
        self._batch_size = min(source.batch_size, MAX_RECEIVE)
        self._region = settings.region
        self._sqs = boto3.client("sqs", region_name=settings.region)
        self._stopping = stopping
        self._visibility_timeout = visibility_timeout
        self._wait_seconds = wait_seconds
        self._url = self._arn = ""

    def run(self) -> None:
        while not self._stopping.is_set():
            try:
                self.poll()
            except Exception:
                log.exception(
                    "consumer %s of queue %s failed; trying again", self._name, self._queue
                )
                self._stopping.wait(1)

    def poll(self) -> None:
        """Receive one batch, hand it to the handler, delete what it did not report failed."""
        if not self._url:
            self._url = self._sqs.get_queue_url(QueueName=self._queue)["QueueUrl"]
            self._arn = self._sqs.get_queue_attributes(
                QueueUrl=self._url, AttributeNames=["QueueArn"]
            )["Attributes"]["QueueArn"]
        messages = self._sqs.receive_message(
            QueueUrl=self._url,
            MaxNumberOfMessages=self._batch_size,
            WaitTimeSeconds=self._wait_seconds,
            VisibilityTimeout=self._visibility_timeout,
            MessageSystemAttributeNames=["All"],
            MessageAttributeNames=["All"],
        ).get("Messages", [])
        if not messages:
            return
        event = {"Records": [self._record(message) for message in messages]}
        try:
            outcome = self._handler(event, LambdaContext(self._name, 128))
        except Exception:
            log.exception(
                "%s raised; its batch of %d will be redelivered", self._name, len(messages)
            )
            return
        failed = failed_ids(outcome, {message["MessageId"] for message in messages})
        done = [message for message in messages if message["MessageId"] not in failed]
        if failed:
            log.warning("%s failed %d of %d messages", self._name, len(failed), len(messages))
        if done:
            self._sqs.delete_message_batch(
                QueueUrl=self._url,
                Entries=[
                    {"Id": str(index), "ReceiptHandle": message["ReceiptHandle"]}
                    for index, message in enumerate(done)
                ],
            )

    def _record(self, message: dict[str, Any]) -> dict[str, Any]:
        attributes = message.get("MessageAttributes", {})
        return {
            "messageId": message["MessageId"],
            "receiptHandle": message["ReceiptHandle"],
            "body": message["Body"],
            "attributes": message.get("Attributes", {}),
            "messageAttributes": {name: _lambda_attribute(v) for name, v in attributes.items()},
            "md5OfBody": message["MD5OfBody"],
            "eventSource": "aws:sqs",
            "eventSourceARN": self._arn,
            "awsRegion": self._region,
        }
