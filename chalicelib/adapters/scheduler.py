"""EventBridge Scheduler: the one-time `at(...)` schedules that move an engagement's status.

Each engagement has at most two schedules, `<engagement_id>-start` and `<engagement_id>-end`, in
the stage's schedule group. Their Input names the engagement and the schedule revision that
created them, so the target can ignore a firing from a schedule that has since been replaced.
"""

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError

from chalicelib.domain.lifecycle import END, START
from chalicelib.settings import Settings

KINDS = (START, END)


def schedule_name(engagement_id: str, kind: str) -> str:
    return f"{engagement_id}-{kind}"


def at_expression(moment: datetime) -> str:
    """`at(...)` in UTC, rounded up to the second so a schedule never fires early."""
    utc = moment.astimezone(UTC)
    if utc.microsecond:
        utc = utc.replace(microsecond=0) + timedelta(seconds=1)
    return f"at({utc.strftime('%Y-%m-%dT%H:%M:%S')})"


def firing_input(app_id: str, engagement_id: str, kind: str, revision: int) -> dict[str, Any]:
    return {"app_id": app_id, "engagement_id": engagement_id, "kind": kind, "revision": revision}


class Schedules:
    def __init__(self, settings: Settings, client: Callable[[], Any]):
        """`client()` gives the Scheduler client (made when the first schedule is written)."""
        self._settings = settings
        self._client = client

    def replace(
        self, app_id: str, engagement_id: str, revision: int, wanted: dict[str, datetime]
    ) -> None:
        """Make the engagement's schedules exactly `wanted` ({kind: when}), tagged `revision`."""
        for kind in KINDS:
            name = schedule_name(engagement_id, kind)
            if kind in wanted:
                payload = firing_input(app_id, engagement_id, kind, revision)
                self._put(name, wanted[kind], payload)
            else:
                self._delete(name)

    def delete_all(self, engagement_id: str) -> None:
        for kind in KINDS:
            self._delete(schedule_name(engagement_id, kind))

    def _put(self, name: str, when: datetime, payload: dict[str, Any]) -> None:
        request = {
            "Name": name,
            "GroupName": self._settings.schedule_group,
            "ScheduleExpression": at_expression(when),
            "ScheduleExpressionTimezone": "UTC",
            "FlexibleTimeWindow": {"Mode": "OFF"},
            "State": "ENABLED",
            "ActionAfterCompletion": "DELETE",
            "Target": {
                "Arn": self._settings.transition_function_arn,
                "RoleArn": self._settings.scheduler_role_arn,
                "Input": json.dumps(payload),
                "RetryPolicy": {"MaximumRetryAttempts": 185, "MaximumEventAgeInSeconds": 86400},
            },
        }
        if self._settings.scheduler_dead_letter_arn:
            # a firing Scheduler could not deliver, kept to look at (the sweep repairs it)
            request["Target"]["DeadLetterConfig"] = {
                "Arn": self._settings.scheduler_dead_letter_arn
            }
        try:
            self._client().update_schedule(**request)
        except ClientError as error:
            if error.response["Error"]["Code"] != "ResourceNotFoundException":
                raise
            self._client().create_schedule(**request)

    def _delete(self, name: str) -> None:
        try:
            self._client().delete_schedule(Name=name, GroupName=self._settings.schedule_group)
        except ClientError as error:
            if error.response["Error"]["Code"] != "ResourceNotFoundException":
                raise
