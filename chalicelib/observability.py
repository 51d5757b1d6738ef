"""Structured logs and CloudWatch metrics for every invocation, through Powertools for AWS Lambda.

An invocation (an HTTP request, a batch of queued events, a schedule firing, a sweep) is opened
by app.py with `invocation(...)`; while it runs, services add to it with `count(metric, n)` and
`note(field=value)`. When it ends it writes exactly one JSON log line (Powertools Logger: the
request id, what ran, its status or outcome, its latency, its counts) and one EMF blob per
dimension set of its metrics (Powertools Metrics, namespace `Herald`, dimension `stage` and, for
HTTP metrics, the bounded `route` template), which CloudWatch turns into metrics with no API call.
Both go to stdout, as Lambda expects (`written_to` sends them elsewhere).

Only ids, route templates, statuses and counts are passed here, never a key, a token or a body.
Powertools is imported when the first invocation ends, not when app.py is imported.
"""

import json
import logging
import sys
import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from chalicelib.settings import get_settings

NAMESPACE = "Herald"
SERVICE = "herald"  # also the name of Chalice's app.log logger: one JSON handler for both


@dataclass(frozen=True)
class MetricSpec:
    name: str
    description: str
    dimensions: tuple[str, ...] = ()  # besides `stage`; `route` is the invocation's own


def _specs(*specs: MetricSpec) -> dict[str, MetricSpec]:
    return {spec.name: spec for spec in specs}


FETCHES = "Fetches"
MESSAGES_SHOWN = "MessagesShown"
EVENTS_ACCEPTED = "EventsAccepted"
TRIGGERS_SYNCED = "TriggersSynced"
EVENTS_COUNTED = "EventsCounted"
EVENTS_REJECTED = "EventsRejected"
CONSUMER_BATCH_FAILURES = "ConsumerBatchFailures"
SCHEDULE_FIRINGS = "ScheduleFirings"
SWEEP_REPAIRS = "SweepRepairs"

METRICS = _specs(
    MetricSpec(FETCHES, "message fetches served", ("route",)),
    MetricSpec(MESSAGES_SHOWN, "messages the fetches returned", ("route",)),
    MetricSpec(EVENTS_ACCEPTED, "events accepted onto the queue", ("route",)),
    MetricSpec(TRIGGERS_SYNCED, "triggers the clients' trigger syncs returned", ("route",)),
    MetricSpec(EVENTS_COUNTED, "queued events counted (first time seen)"),
    MetricSpec(EVENTS_REJECTED, "queued events that can never count, by reason", ("reason",)),
    MetricSpec(CONSUMER_BATCH_FAILURES, "messages a batch handed back to SQS for a retry"),
    MetricSpec(SCHEDULE_FIRINGS, "schedule firings, by outcome", ("outcome",)),
    MetricSpec(SWEEP_REPAIRS, "schedules and records the sweep repaired"),
)


@dataclass
class Invocation:
    kind: str  # http, batch, schedule, sweep...
    fields: dict[str, Any]
    counts: dict[tuple[str, tuple[tuple[str, str], ...]], float] = field(
        default_factory=lambda: defaultdict(float)
    )

    def add(self, name: str, value: float, dimensions: dict[str, str]) -> None:
        spec = METRICS[name]
        wanted = set(spec.dimensions) - {"route"}
        if set(dimensions) != wanted:
            raise ValueError(f"{name} takes the dimensions {sorted(wanted)}, not {dimensions}")
        self.counts[(name, tuple(sorted(dimensions.items())))] += value


_current: ContextVar[Invocation | None] = ContextVar("herald_invocation", default=None)
_cold = True
_output = None  # where lines go; None: whatever sys.stdout is when one is written


@contextmanager
def written_to(stream) -> Iterator[None]:
    """Write the log lines and metrics to `stream` meanwhile: the local run sends them to its
    terminal's stderr, so that a process serving it in a thread keeps its stdout to itself."""
    global _output
    previous, _output = _output, stream
    try:
        yield
    finally:
        _output = previous


def _stream():
    return _output or sys.stdout


def count(name: str, value: float = 1, **dimensions: str) -> None:
    """Add to a metric of the current invocation (nothing outside one, e.g. a script)."""
    current = _current.get()
    if current is not None:
        current.add(name, value, dimensions)


def note(**fields: Any) -> None:
    """Add fields to the current invocation's log line."""
    current = _current.get()
    if current is not None:
        current.fields.update(fields)


@contextmanager
def invocation(kind: str, message: str, **fields: Any) -> Iterator[Invocation]:
    """Run one invocation; on the way out, its log line and its metrics. An exception is noted
    (its type, never its text, which may quote input) and raised again."""
    global _cold
    logger()  # before the services log anything, so that they log JSON too
    current = Invocation(kind, {"kind": kind, "cold_start": _cold, **fields})
    _cold = False
    token = _current.set(current)
    started = time.perf_counter()
    try:
        yield current
    except Exception as error:
        current.fields.setdefault("status", 500)
        current.fields["exception"] = type(error).__name__
        raise
    finally:
        _current.reset(token)
        current.fields["latency_ms"] = round((time.perf_counter() - started) * 1000, 1)
        _write(current, message, get_settings().stage)


def _write(current: Invocation, message: str, stage: str) -> None:
    counts = {
        _label(name, dimensions): int(value) if float(value).is_integer() else value
        for (name, dimensions), value in current.counts.items()
    }
    fields = {**current.fields, **({"counts": counts} if counts else {})}
    failed = fields.get("status", 200) >= 500 or fields.get("outcome") == "failed"
    text = f"{message} {fields['status']}" if "status" in fields else message
    logger().log(logging.ERROR if failed else logging.INFO, text, extra=fields)
    _flush_metrics(current, stage)


def _label(name: str, dimensions: tuple[tuple[str, str], ...]) -> str:
    return ".".join([name, *(value for _key, value in dimensions)])


def _flush_metrics(current: Invocation, stage: str) -> None:
    """One EMF blob per dimension set (CloudWatch applies a blob's dimensions to all of it)."""
    from aws_lambda_powertools.metrics import EphemeralMetrics, MetricUnit

    by_dimensions: dict[tuple[tuple[str, str], ...], list[tuple[str, float]]] = defaultdict(list)
    for (name, dimensions), value in current.counts.items():
        if "route" in METRICS[name].dimensions:
            dimensions = (*dimensions, ("route", current.fields.get("route", "")))
        by_dimensions[tuple(sorted(dimensions))].append((name, value))
    for dimensions, values in by_dimensions.items():
        blob = EphemeralMetrics(namespace=NAMESPACE)
        blob.add_dimension(name="stage", value=stage)
        for key, value in dimensions:
            blob.add_dimension(name=key, value=value or "none")
        for name, value in values:
            blob.add_metric(name=name, unit=MetricUnit.Count, value=value)
        _stream().write(json.dumps(blob.serialize_metric_set(), separators=(",", ":")) + "\n")


class _StandardOutput(logging.StreamHandler):
    """Writes to whatever sys.stdout is when a line is written (Lambda's, or a test's), or to
    the stream of `written_to`."""

    def __init__(self) -> None:
        super().__init__(sys.stdout)

    @property
    def stream(self):  # type: ignore[override]
        return _stream()

    @stream.setter
    def stream(self, _value) -> None:
        pass


_logger = None


def logger():
    """Powertools' JSON logger, named `herald`: Chalice's app.log and the `herald.*` loggers of
    the services write through it too."""
    global _logger
    if _logger is None:
        from aws_lambda_powertools import Logger

        _logger = Logger(
            service=SERVICE, logger_handler=_StandardOutput(), utc=True, use_rfc3339=True
        )
        _logger.remove_keys(["location"])  # always this module: says nothing
    return _logger
