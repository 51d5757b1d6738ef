"""The local stand-in for EventBridge Scheduler: fires the stage's due one-time schedules.

moto stores schedules but never fires them. This thread lists the stage's schedule group every
tick, invokes the target Lambda function (a `@app.lambda_function` of the Chalice app, found by
the `{app_name}-{stage}-{name}` name Chalice gives it) with the schedule's Input, retries a
failing target on later ticks up to the schedule's retry policy, then applies the schedule's
ActionAfterCompletion.
"""

import json
import logging
import re
import threading
from datetime import UTC, datetime, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

import boto3
from botocore.exceptions import ClientError
from chalice import Chalice
from chalice.local import LambdaContext

from chalicelib.settings import Settings

log = logging.getLogger("herald.local.scheduler")

_AT = re.compile(r"^at\((\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)\)$")
DEFAULT_RETRIES = 185  # EventBridge Scheduler's default MaximumRetryAttempts


def _zone(name: str | None) -> tzinfo:
    return UTC if name in (None, "", "UTC") else ZoneInfo(name)


def due(schedule: dict[str, Any], now: datetime) -> bool:
    """Whether a one-time schedule's `at(...)` time, in its own timezone, has come."""
    found = _AT.match(schedule.get("ScheduleExpression", ""))
    if not found:
        return False
    moment = datetime.strptime(found.group(1), "%Y-%m-%dT%H:%M:%S")
    return now >= moment.replace(tzinfo=_zone(schedule.get("ScheduleExpressionTimezone")))


def function_name(arn: str) -> str:
    """`arn:aws:lambda:<region>:<account>:function:<name>[:<qualifier>]` -> `<name>`."""
    parts = arn.split(":")
    return parts[6] if len(parts) > 6 and parts[5] == "function" else ""


class LocalScheduler(threading.Thread):
    def __init__(
        self, app: Chalice, settings: Settings, stopping: threading.Event, interval: float = 0.5
    ):
        super().__init__(name="herald-local-scheduler", daemon=True)
        self._group = settings.schedule_group
        self._client = boto3.client("scheduler", region_name=settings.region)
        self._stopping = stopping
        self._interval = interval
        prefix = f"{app.app_name}-{settings.stage}-"
        self._targets = {
            prefix + f.name: app.handler_map[f.name] for f in app.pure_lambda_functions
        }
        self._failures: dict[tuple, int] = {}
        # Firings already completed but whose schedule stays (ActionAfterCompletion NONE, or an
        # unknown target): a one-time schedule fires once per version.
        self._done: set[tuple] = set()

    def run(self) -> None:
        while not self._stopping.wait(self._interval):
            try:
                self.tick(datetime.now(UTC))
            except Exception:
                log.exception("local scheduler tick failed; trying again")

    def tick(self, now: datetime) -> None:
        pages = self._client.get_paginator("list_schedules").paginate(
            GroupName=self._group, State="ENABLED"
        )
        for page in pages:
            for summary in page["Schedules"]:
                if summary["GroupName"] != self._group:  # moto matches the group as a substring
                    continue
                schedule = self._get(summary["Name"])
                if schedule and schedule.get("State") == "ENABLED" and due(schedule, now):
                    self._fire(schedule)

    def _get(self, name: str) -> dict[str, Any] | None:
        try:
            return self._client.get_schedule(Name=name, GroupName=self._group)
        except ClientError as error:
            if error.response["Error"]["Code"] == "ResourceNotFoundException":
                return None  # deleted since it was listed
            raise

    def _fire(self, schedule: dict[str, Any]) -> None:
        target = schedule["Target"]
        firing = (
            schedule["Name"],
            str(schedule.get("LastModificationDate")),
            schedule["ScheduleExpression"],
            target.get("Input"),
        )
        if firing in self._done:
            return
        name = function_name(target["Arn"])
        handler = self._targets.get(name)
        if handler is None:
            log.error("schedule %s targets unknown %s; skipped", schedule["Name"], target["Arn"])
            self._done.add(firing)
            return
        try:
            handler(json.loads(target.get("Input") or "{}"), LambdaContext(name, 128))
        except Exception:
            failures = self._failures[firing] = self._failures.get(firing, 0) + 1
            retries = target.get("RetryPolicy", {}).get("MaximumRetryAttempts", DEFAULT_RETRIES)
            if failures <= retries:
                log.exception(
                    "schedule %s: target failed (%d); retrying", schedule["Name"], failures
                )
                return
            log.exception(
                "schedule %s: target failed %d times; dropped", schedule["Name"], failures
            )
        self._failures.pop(firing, None)
        self._done.add(firing)
        if schedule.get("ActionAfterCompletion") == "DELETE":
            self._delete_unless_changed(schedule)

    def _delete_unless_changed(self, fired: dict[str, Any]) -> None:
        """Delete the fired schedule, unless it was updated meanwhile (then it must fire again)."""
        current = self._get(fired["Name"])
        if current and current.get("LastModificationDate") == fired.get("LastModificationDate"):
            try:
                self._client.delete_schedule(Name=fired["Name"], GroupName=self._group)
            except ClientError as error:
                if error.response["Error"]["Code"] != "ResourceNotFoundException":
                    raise
