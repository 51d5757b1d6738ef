"""moto answering concurrent DynamoDB requests one at a time, as DynamoDB's atomicity would.

moto applies a transaction step by step and, when one fails, restores a copy of the whole table
taken before: two threads inside it at once can lose each other's writes, which DynamoDB never
does. The local run (an HTTP thread, a scheduler and queue consumers) and the concurrency tests
therefore serve moto's DynamoDB requests one at a time (only DynamoDB's: an SQS long poll must
not hold everyone else up). moto also answers at once where a real request takes milliseconds;
`latency` adds that outside the lock so races between threads still happen.
"""

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from moto.core.botocore_stubber import BotocoreStubber


@contextmanager
def moto_one_request_at_a_time(latency: float = 0.0) -> Iterator[None]:
    lock = threading.Lock()
    original = BotocoreStubber.__call__

    def one_at_a_time(self, event_name, *args, **kwargs):
        if ".dynamodb." not in event_name:
            return original(self, event_name, *args, **kwargs)
        with lock:
            answer = original(self, event_name, *args, **kwargs)
        if latency:
            time.sleep(latency)
        return answer

    BotocoreStubber.__call__ = one_at_a_time
    try:
        yield
    finally:
        BotocoreStubber.__call__ = original
