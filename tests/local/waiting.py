"""Waiting, with a deadline, for something the local run does in the background."""

import time
from collections.abc import Callable


def wait_for(condition: Callable[[], object], seconds: float, every: float = 0.1):
    deadline = time.monotonic() + seconds
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"not true within {seconds} s: {condition}")
        time.sleep(every)
