"""Least privilege: each function's policy holds exactly what its recorded AWS calls need."""

import json

import boto3
import pytest
from chalice import Chalice
from moto import mock_aws

from app import app
from chalicelib.adapters import dynamo
from chalicelib.settings import get_settings
from deploy import config, generate, iam, infra

STAGES = sorted(config.load()["stages"])
FUNCTIONS = sorted(iam.functions(app))
DEV = iam.StageResources.of("dev", dynamo.MODELS, FUNCTIONS)


def committed(stage: str, function: str) -> dict:
    return json.loads(iam.policy_path(stage, function).read_text())


def describe(permissions: set) -> str:
    return "\n  ".join(
        f"{action} on {resource} {condition}" for action, resource, condition in sorted(permissions)
    )


@pytest.fixture(scope="module")
def expected(toured):
    return generate.policies(app, toured, STAGES)


def test_every_function_has_its_own_policy_file_in_every_stage():
    current = config.load()
    assert current["autogen_policy"] is False
    for stage in STAGES:
        settings = current["stages"][stage]
        assert "iam_policy_file" not in settings, "no stage-wide policy: one per function"
        assert set(settings["lambda_functions"]) == set(FUNCTIONS), (
            f"stage {stage}: run `make infra` to give every function its policy file"
        )
        for function in FUNCTIONS:
            name = settings["lambda_functions"][function]["iam_policy_file"]
            assert name == iam.policy_file_name(stage, function)
            assert iam.policy_path(stage, function).exists()


@pytest.mark.parametrize("stage", STAGES)
@pytest.mark.parametrize("function", FUNCTIONS)
def test_the_policy_holds_exactly_what_the_function_calls(expected, stage, function):
    lacking, unused = iam.diff(expected[(stage, function)], committed(stage, function))
    assert not lacking, (
        f"{iam.policy_file_name(stage, function)} lacks permissions {function} uses "
        f"(run `make infra`, review the diff):\n  {describe(lacking)}"
    )
    assert not unused, (
        f"{iam.policy_file_name(stage, function)} grants permissions {function} never uses "
        f"(run `make infra`, review the diff):\n  {describe(unused)}"
    )


@pytest.mark.parametrize("stage", STAGES)
@pytest.mark.parametrize("function", FUNCTIONS)
def test_every_statement_is_explicit_and_scoped_to_the_stage(stage, function):
    for statement in committed(stage, function)["Statement"]:
        assert statement["Effect"] == "Allow"
        actions = statement["Action"]
        for action in [actions] if isinstance(actions, str) else actions:
            assert "*" not in action, f"wildcard action {action}"
        resources = statement["Resource"]
        if actions == XRAY_ACTIONS:  # the one exception: X-Ray takes no resource but `*`
            assert resources == "*"
            continue
        for resource in [resources] if isinstance(resources, str) else resources:
            assert resource != "*"
            assert f"herald-{stage}" in resource, f"{resource} is not a {stage} resource"


XRAY_ACTIONS = ["xray:PutTelemetryRecords", "xray:PutTraceSegments"]


@pytest.mark.parametrize("stage", STAGES)
@pytest.mark.parametrize("function", FUNCTIONS)
def test_every_function_may_send_its_traces(stage, function):
    """Active tracing (the config's `xray`): Lambda sends the segments with the function's role."""
    statements = committed(stage, function)["Statement"]
    assert [s["Resource"] for s in statements if s["Action"] == XRAY_ACTIONS] == ["*"]


# The schedules follow the store (issue 9): the stream function and the sweep write them, the API
# never does.
SCHEDULE_WRITERS = ("sync_schedules", "sweep_schedules")


def test_only_the_schedule_writers_pass_the_scheduler_role_and_only_to_the_scheduler():
    for stage in STAGES:
        for function in FUNCTIONS:
            passing = [
                s for s in committed(stage, function)["Statement"] if "iam:PassRole" in s["Action"]
            ]
            if function not in SCHEDULE_WRITERS:
                assert passing == [], function
                continue
            (statement,) = passing
            assert statement["Action"] == ["iam:PassRole"]
            assert statement["Resource"] == iam.stage_arn(
                "iam", f"role/herald-{stage}-scheduler", regional=False
            )
            assert statement["Condition"] == {
                "StringEquals": {"iam:PassedToService": "scheduler.amazonaws.com"}
            }


def test_the_check_notices_a_missing_and_an_extra_permission(expected):
    policy = json.loads(json.dumps(expected[("dev", infra.API_HANDLER)]))
    removed = policy["Statement"][0]["Action"].pop()
    policy["Statement"].append(
        {"Effect": "Allow", "Action": ["dynamodb:Scan"], "Resource": "arn:aws:dynamodb:*:*:table/x"}
    )
    lacking, unused = iam.diff(expected[("dev", infra.API_HANDLER)], policy)
    assert {action for action, _r, _c in lacking} == {removed}
    assert unused == {("dynamodb:Scan", "arn:aws:dynamodb:*:*:table/x", "{}")}


# --- the mapping from calls to IAM actions -----------------------------------------------------


def call(service: str, operation: str, **params) -> iam.Call:
    return iam.Call(service, operation, params, "us-east-1", "123456789012")


TABLE = "arn:aws:dynamodb:us-east-1:123456789012:table/"


def test_a_transaction_is_authorized_item_by_item():
    found = iam.permissions(
        call(
            "dynamodb",
            "TransactWriteItems",
            TransactItems=[
                {"Put": {"TableName": "herald-dev-names"}},
                {"Update": {"TableName": "herald-dev-apps"}},
                {"Delete": {"TableName": "herald-dev-names"}},
                {"ConditionCheck": {"TableName": "herald-dev-audiences"}},
            ],
        )
    )
    assert found == [
        iam.Permission("dynamodb:PutItem", TABLE + "herald-dev-names"),
        iam.Permission("dynamodb:UpdateItem", TABLE + "herald-dev-apps"),
        iam.Permission("dynamodb:DeleteItem", TABLE + "herald-dev-names"),
        iam.Permission("dynamodb:ConditionCheckItem", TABLE + "herald-dev-audiences"),
    ]


def test_a_query_on_an_index_needs_the_index():
    (found,) = iam.permissions(
        call("dynamodb", "Query", TableName="herald-dev-engagements", IndexName="by-status")
    )
    assert found.resource == TABLE + "herald-dev-engagements/index/by-status"
    grant = iam.generalize(found, DEV)
    assert (
        grant.resource("prod") == "arn:${AWS::Partition}:dynamodb:${AWS::Region}:${AWS::AccountId}:"
        "table/herald-prod-engagements/index/by-status"
    )


def test_creating_a_schedule_passes_its_role():
    found = iam.permissions(
        call(
            "scheduler",
            "CreateSchedule",
            Name="eng1-start",
            GroupName="herald-dev",
            Target={"RoleArn": "arn:aws:iam::123456789012:role/herald-dev-scheduler"},
        )
    )
    assert [p.action for p in found] == ["scheduler:CreateSchedule", "iam:PassRole"]
    grants = {iam.generalize(p, DEV) for p in found}
    assert {g.resource("dev") for g in grants} == {
        iam.stage_arn("scheduler", "schedule/herald-dev/*"),
        iam.stage_arn("iam", "role/herald-dev-scheduler", regional=False),
    }


def test_sending_a_batch_is_sqs_send_message_on_the_queue():
    (found,) = iam.permissions(
        call(
            "sqs",
            "SendMessageBatch",
            QueueUrl="https://sqs.us-east-1.amazonaws.com/123456789012/herald-dev-events",
        )
    )
    assert found == iam.Permission(
        "sqs:SendMessage", "arn:aws:sqs:us-east-1:123456789012:herald-dev-events"
    )
    assert iam.generalize(found, DEV).resource("prod") == iam.stage_arn("sqs", "herald-prod-events")


def test_an_unknown_call_or_resource_fails_loudly():
    with pytest.raises(iam.Unmapped, match="dynamodb:ExecuteStatement"):
        iam.permissions(call("dynamodb", "ExecuteStatement", Statement="SELECT 1"))
    (foreign,) = iam.permissions(call("dynamodb", "GetItem", TableName="someone-elses"))
    with pytest.raises(iam.UnknownResource, match="someone-elses"):
        iam.generalize(foreign, DEV)


def test_a_queue_consumer_gets_its_polling_permissions():
    consumer_app = Chalice("herald")

    @consumer_app.on_sqs_message(queue="herald-dev-events", name="consume")
    def consume(event):  # pragma: no cover - never invoked
        return None

    functions = iam.functions(consumer_app)
    grants = iam.grants_by_function(consumer_app, {}, DEV)["consume"]
    sqs = {g.action for g in grants if g.kind == "queue"}
    assert sqs == {"sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"}
    assert set(functions) == {"consume"}


def test_the_recorder_sees_pynamodb_and_boto3_calls_per_function():
    recorder = iam.Recorder()
    with mock_aws(), recorder.installed():
        settings = get_settings()
        dynamo.create_tables(settings)
        with recorder.function("one"):
            dynamo.Apps(settings).get("nope")
        with recorder.function("two"):
            boto3.client("sqs", region_name="us-east-1").list_queues()
        boto3.client("sqs", region_name="us-east-1").list_queues()  # outside: not recorded
    assert [(c.service, c.operation) for c in recorder.calls["one"]] == [("dynamodb", "GetItem")]
    assert [(c.service, c.operation) for c in recorder.calls["two"]] == [("sqs", "ListQueues")]
    assert set(recorder.calls) == {"one", "two"}


def test_the_placeholders_resolve_to_the_stacks_partition_region_and_account():
    document = {"Statement": [{"Resource": [iam.stage_arn("sqs", "q"), "*"]}]}
    resolved = iam.resolve(document, "aws-cn", "cn-north-1", "111122223333")
    assert resolved == {
        "Statement": [{"Resource": ["arn:aws-cn:sqs:cn-north-1:111122223333:q", "*"]}]
    }
