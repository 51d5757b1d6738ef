"""Fault injection under moto: chosen AWS operations fail as botocore reports a failure after its
own retries (a ClientError with the AWS error code), so tests can prove what each failure does.

    with injected_faults() as faults:
        faults.fail("scheduler", "CreateSchedule", "ThrottlingException", times=2)
        ...
    faults.calls  # Counter of (service, operation) seen while injecting, failed or not
"""

from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from botocore.exceptions import ClientError
from moto.core.botocore_stubber import BotocoreStubber


@dataclass
class Rule:
    service: str
    operation: str | tuple[str, ...]  # "*" for every operation of the service
    code: str
    times: int | None  # None: every call until cleared
    reasons: list[str] | None = None  # a TransactionCanceledException's reason codes

    def matches(self, service: str, operation: str) -> bool:
        if isinstance(self.operation, tuple):
            return self.service == service and operation in self.operation
        return self.service == service and self.operation in ("*", operation)


class Faults:
    def __init__(self):
        self.rules: list[Rule] = []
        self.calls: Counter = Counter()
        self.failed: Counter = Counter()

    def fail(
        self,
        service: str,
        operation: str | tuple[str, ...],
        code: str = "ThrottlingException",
        times: int | None = None,
        reasons: list[str] | None = None,
    ) -> None:
        self.rules.append(Rule(service, operation, code, times, reasons))

    def clear(self) -> None:
        self.rules.clear()

    def _error_for(self, service: str, operation: str) -> ClientError | None:
        self.calls[(service, operation)] += 1
        for rule in self.rules:
            if rule.matches(service, operation) and (rule.times is None or rule.times > 0):
                if rule.times is not None:
                    rule.times -= 1
                self.failed[(service, operation)] += 1
                response = {"Error": {"Code": rule.code, "Message": f"injected {rule.code}"}}
                if rule.reasons is not None:
                    response["CancellationReasons"] = [{"Code": code} for code in rule.reasons]
                return ClientError(response, operation)
        return None


@contextmanager
def injected_faults() -> Iterator[Faults]:
    faults = Faults()
    original = BotocoreStubber.__call__

    def maybe_fail(self, event_name, *args, **kwargs):
        # "before-send.<service>.<Operation>"
        parts = event_name.split(".")
        if len(parts) == 3:
            error = faults._error_for(parts[1], parts[2])
            if error is not None:
                raise error
        return original(self, event_name, *args, **kwargs)

    BotocoreStubber.__call__ = maybe_fail
    try:
        yield faults
    finally:
        BotocoreStubber.__call__ = original
