"""The local scheduler, one tick at a time, on a throwaway app with one schedule target."""

import json
import threading
from datetime import UTC, datetime, timedelta

import boto3
import pytest
from chalice import Chalice

from chalicelib.local.scheduler import LocalScheduler, due, function_name
from chalicelib.settings import get_settings

NOW = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)


def test_due_reads_the_at_expression_in_its_timezone():
    at = {"ScheduleExpression": "at(2030-01-01T13:00:00)", "ScheduleExpressionTimezone": "UTC"}
    assert not due(at, NOW)
    assert due(at, NOW + timedelta(hours=1))
    assert due({**at, "ScheduleExpressionTimezone": "Europe/Paris"}, NOW)  # 13:00 there is 12:00
    assert not due({"ScheduleExpression": "rate(1 minute)"}, NOW + timedelta(days=1))


def test_function_name_of_a_lambda_arn():
    arn = "arn:aws:lambda:us-east-1:123456789012:function:herald-dev-apply_transition"
    assert function_name(arn) == "herald-dev-apply_transition"
    assert function_name("arn:aws:sqs:us-east-1:123456789012:queue") == ""


class Target:
    def __init__(self, failures: int = 0):
        self.events = []
        self.failures = failures

    def __call__(self, event, context):
        self.events.append(event)
        if len(self.events) <= self.failures:
            raise RuntimeError("not yet")
        return {"outcome": "applied"}


@pytest.fixture
def scheduler_client(aws):
    return boto3.client("scheduler", region_name=get_settings().region)


def local_scheduler(target: Target, name: str = "apply_transition") -> LocalScheduler:
    """The schedules' ARN names `herald-dev-apply_transition`: `name` is what the app has."""
    test_app = Chalice(app_name="herald")

    @test_app.lambda_function(name=name)
    def transition(event, context):
        return target(event, context)

    return LocalScheduler(test_app, get_settings(), threading.Event())


def put_schedule(client, name: str, when: datetime, retries: int = 185, after: str = "DELETE"):
    settings = get_settings()
    client.create_schedule(
        Name=name,
        GroupName=settings.schedule_group,
        ScheduleExpression=f"at({when.strftime('%Y-%m-%dT%H:%M:%S')})",
        FlexibleTimeWindow={"Mode": "OFF"},
        ActionAfterCompletion=after,
        Target={
            "Arn": settings.transition_function_arn,
            "RoleArn": settings.scheduler_role_arn,
            "Input": json.dumps({"engagement_id": name}),
            "RetryPolicy": {"MaximumRetryAttempts": retries},
        },
    )


def names(client) -> set[str]:
    group = get_settings().schedule_group
    return {s["Name"] for s in client.list_schedules(GroupName=group)["Schedules"]}


def test_fires_only_due_schedules_with_their_input_then_deletes_them(scheduler_client):
    target = Target()
    put_schedule(scheduler_client, "now", NOW)
    put_schedule(scheduler_client, "later", NOW + timedelta(minutes=1))

    local_scheduler(target).tick(NOW)

    assert target.events == [{"engagement_id": "now"}]
    assert names(scheduler_client) == {"later"}


def test_a_failing_target_is_retried_on_later_ticks_up_to_its_retry_policy(scheduler_client):
    target = Target(failures=5)
    put_schedule(scheduler_client, "flaky", NOW, retries=2)
    scheduler = local_scheduler(target)

    for _ in range(5):
        scheduler.tick(NOW)

    assert len(target.events) == 3  # the first attempt and two retries, then it is dropped
    assert names(scheduler_client) == set()


def test_a_kept_schedule_fires_once(scheduler_client):
    target = Target()
    put_schedule(scheduler_client, "kept", NOW, after="NONE")
    scheduler = local_scheduler(target)

    scheduler.tick(NOW)
    scheduler.tick(NOW)

    assert len(target.events) == 1
    assert names(scheduler_client) == {"kept"}


def test_an_unknown_target_is_skipped(scheduler_client):
    target = Target()
    put_schedule(scheduler_client, "now", NOW)
    scheduler = local_scheduler(target, name="something_else")

    scheduler.tick(NOW)
    scheduler.tick(NOW)

    assert target.events == []
    assert names(scheduler_client) == {"now"}
