"""The events queue (SQS): where accepted events wait for the consumer.

The queue is named in settings; its URL is looked up once per EventQueue (one per settings, see
wiring) and kept. Any failure to reach the queue is a QueueUnavailable, which the API answers
with 503 and a Retry-After: the client sends the same events again, harmlessly, since events
count once per (app, id).
"""

import logging
from collections.abc import Callable, Iterator
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from chalicelib.errors import HeraldError
from chalicelib.settings import Settings

log = logging.getLogger("herald.events")

MAX_ENTRIES_PER_SEND = 10  # SendMessageBatch's limits
MAX_BYTES_PER_SEND = 256 * 1024


class QueueUnavailable(HeraldError):
    status_code = 503
    code = "ServiceUnavailableError"
    retry_after_seconds = 5


class EventQueue:
    def __init__(self, settings: Settings, sqs: Callable[[], Any]):
        """`sqs()` gives the SQS client (made when the first event is sent)."""
        self._name = settings.events_queue
        self._sqs = sqs
        self._url: str | None = None

    def send(self, bodies: list[str], delay_seconds: int = 0) -> None:
        """Send every message body, in as few SendMessageBatch requests as the limits allow,
        each to be received after `delay_seconds` (at most 900); raise QueueUnavailable unless
        all of them were accepted."""
        delay = {"DelaySeconds": delay_seconds} if delay_seconds else {}
        try:
            url = self._queue_url()
            for group in _groups(bodies):
                answer = self._sqs().send_message_batch(
                    QueueUrl=url,
                    Entries=[
                        {"Id": str(i), "MessageBody": body, **delay} for i, body in enumerate(group)
                    ],
                )
                if answer.get("Failed"):
                    reasons = sorted({failure.get("Code", "?") for failure in answer["Failed"]})
                    raise QueueUnavailable(f"the events queue refused messages: {reasons}")
        except (BotoCoreError, ClientError) as error:
            log.warning("events queue %s unreachable: %s", self._name, error)
            raise QueueUnavailable("the events queue cannot be reached; try again") from error

    def _queue_url(self) -> str:
        if self._url is None:
            self._url = self._sqs().get_queue_url(QueueName=self._name)["QueueUrl"]
        return self._url


def _groups(bodies: list[str]) -> Iterator[list[str]]:
    """Consecutive bodies, at most MAX_ENTRIES_PER_SEND and MAX_BYTES_PER_SEND per group."""
    group: list[str] = []
    size = 0
    for body in bodies:
        length = len(body.encode())
        if group and (len(group) == MAX_ENTRIES_PER_SEND or size + length > MAX_BYTES_PER_SEND):
            yield group
            group, size = [], 0
        group.append(body)
        size += length
    if group:
        yield group
