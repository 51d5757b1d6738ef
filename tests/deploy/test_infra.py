"""infra/resources.json: generated from the code, complete, and what AWS would accept."""

import json
import os
import subprocess
import sys
from pathlib import Path

import boto3
import pytest
from chalice.app import SQSEventConfig
from moto import mock_aws
from pynamodb.attributes import NumberAttribute, TTLAttribute, UnicodeAttribute
from pynamodb.models import Model

from app import app
from chalicelib.adapters import dynamo
from chalicelib.settings import get_settings
from deploy import config, iam, infra

TEMPLATE = infra.load()


def resources_of(kind: str) -> dict[str, dict]:
    return {k: r for k, r in TEMPLATE["Resources"].items() if r["Type"] == kind}


def test_the_committed_template_is_what_the_code_generates():
    assert infra.TEMPLATE_PATH.read_text() == infra.render(infra.template()), (
        "infra/resources.json is stale: run `make infra` and commit the result"
    )


def test_cfn_lint_finds_nothing_in_the_template():
    linter = Path(sys.executable).parent / "cfn-lint"
    found = subprocess.run(
        [str(linter), "--format", "json", str(infra.TEMPLATE_PATH)], capture_output=True, text=True
    )
    assert json.loads(found.stdout or "[]") == []


def test_it_fits_in_an_inline_template_body():
    assert len(json.dumps(TEMPLATE, separators=(",", ":"))) < infra.TEMPLATE_BODY_LIMIT


def test_every_model_has_an_on_demand_encrypted_recoverable_retained_table():
    tables = resources_of("AWS::DynamoDB::Table")
    assert set(tables) == {infra.table_logical_id(key) for key in dynamo.MODELS}
    for key in dynamo.MODELS:
        table = tables[infra.table_logical_id(key)]
        properties = table["Properties"]
        assert properties["TableName"] == {"Fn::Sub": f"herald-${{Stage}}-{key}"}
        assert properties["BillingMode"] == "PAY_PER_REQUEST"
        assert properties["PointInTimeRecoverySpecification"] == {
            "PointInTimeRecoveryEnabled": True
        }
        assert properties["SSESpecification"] == {"SSEEnabled": True}
        assert table["DeletionPolicy"] == table["UpdateReplacePolicy"] == "Retain"
        assert "ProvisionedThroughput" not in json.dumps(properties)


def test_the_stack_creates_the_tables_the_models_would_create():
    """Same keys, attribute types and indexes as PynamoDB's own create_table for each model."""
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        cloudformation = boto3.client("cloudformation", region_name="us-east-1")
        cloudformation.create_stack(
            StackName="tables",
            TemplateBody=json.dumps(TEMPLATE),
            Parameters=[{"ParameterKey": "Stage", "ParameterValue": "fromcfn"}],
            Capabilities=["CAPABILITY_NAMED_IAM"],
        )
        settings = get_settings()
        dynamo.create_tables(settings)
        for key in dynamo.MODELS:
            made_by_stack = client.describe_table(TableName=infra.table_name(key, "fromcfn"))
            made_by_model = client.describe_table(TableName=settings.tables[key])
            assert shape(made_by_stack["Table"]) == shape(made_by_model["Table"]), key


def shape(table: dict) -> dict:
    def index(found: dict) -> tuple:
        return (
            found["IndexName"],
            json.dumps(found["KeySchema"]),
            found["Projection"]["ProjectionType"],
        )

    return {
        "keys": sorted(json.dumps(part) for part in table["KeySchema"]),
        "attributes": sorted(json.dumps(d, sort_keys=True) for d in table["AttributeDefinitions"]),
        "global": sorted(index(found) for found in table.get("GlobalSecondaryIndexes", [])),
        "local": sorted(index(found) for found in table.get("LocalSecondaryIndexes", [])),
    }


class Expiring(Model):
    class Meta:
        table_name = "expiring"

    key = UnicodeAttribute(hash_key=True)
    expires_at = TTLAttribute()


class MisdeclaredExpiry(Model):
    class Meta:
        table_name = "misdeclared"
        ttl_attribute = "expires_at"

    key = UnicodeAttribute(hash_key=True)
    expires_at = NumberAttribute()


def test_a_ttl_attribute_turns_on_time_to_live_and_only_it_does():
    generated = infra.template({"expiring": Expiring, "apps": dynamo.AppRecord})["Resources"]
    assert generated["ExpiringTable"]["Properties"]["TimeToLiveSpecification"] == {
        "AttributeName": "expires_at",
        "Enabled": True,
    }
    assert "TimeToLiveSpecification" not in generated["AppsTable"]["Properties"]
    for key, model in dynamo.MODELS.items():
        properties = TEMPLATE["Resources"][infra.table_logical_id(key)]["Properties"]
        declared = infra.ttl_attribute(model)
        assert properties.get("TimeToLiveSpecification", {}).get("AttributeName") == declared


def test_another_ttl_convention_is_refused_loudly():
    with pytest.raises(ValueError, match="TTLAttribute"):
        infra.template({"misdeclared": MisdeclaredExpiry})


def test_the_events_queue_redrives_to_its_dead_letter_queue_after_five_receives():
    queue = TEMPLATE["Resources"]["EventsQueue"]["Properties"]
    assert queue["RedrivePolicy"] == {
        "deadLetterTargetArn": {"Fn::GetAtt": ["EventsDeadLetterQueue", "Arn"]},
        "maxReceiveCount": 5,
    }
    dead_letters = TEMPLATE["Resources"]["EventsDeadLetterQueue"]["Properties"]
    assert dead_letters["MessageRetentionPeriod"] > queue["MessageRetentionPeriod"]


def test_the_visibility_timeout_is_six_times_every_consumers_timeout():
    visibility = TEMPLATE["Resources"]["EventsQueue"]["Properties"]["VisibilityTimeout"]
    assert visibility >= 6 * infra.CONSUMER_TIMEOUT_SECONDS
    current = config.load()
    for function, kind in iam.functions(app).items():
        if not isinstance(kind, SQSEventConfig):
            continue  # only the events queue's consumer is bound by its visibility timeout
        for stage, settings in current["stages"].items():
            timeout = settings["lambda_functions"][function]["lambda_timeout"]
            assert visibility >= 6 * timeout, (stage, function)


def test_the_scheduler_role_is_for_the_scheduler_and_only_invokes_the_transition():
    role = TEMPLATE["Resources"]["SchedulerRole"]["Properties"]
    (trust,) = role["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"Service": "scheduler.amazonaws.com"}
    assert trust["Action"] == "sts:AssumeRole"
    (policy,) = role["Policies"]
    statement, dead_letter = policy["PolicyDocument"]["Statement"]
    assert dead_letter["Action"] == "sqs:SendMessage"  # undeliverable firings (issue 9)
    assert dead_letter["Resource"] == {"Fn::GetAtt": ["SchedulerDeadLetterQueue", "Arn"]}
    assert statement["Action"] == "lambda:InvokeFunction"
    assert statement["Resource"]["Fn::Sub"].endswith(":function:herald-${Stage}-apply_transition")
    assert infra.TRANSITION_FUNCTION in {f.name for f in app.pure_lambda_functions}


def test_the_schedule_group_is_the_stages():
    (group,) = resources_of("AWS::Scheduler::ScheduleGroup").values()
    assert group["Properties"]["Name"] == {"Fn::Sub": "herald-${Stage}"}


def test_every_resource_name_the_app_reads_is_an_output(monkeypatch):
    """Set every output's variable to a sentinel: no setting may still hold a default name."""
    for name in list(os.environ):
        if name.startswith("HERALD_") and name not in ("HERALD_STAGE", "HERALD_ROOT_KEY_HASH"):
            monkeypatch.delenv(name)
    defaults = get_settings()
    variables = infra.environment_variables(TEMPLATE)
    for env_name in variables:
        monkeypatch.setenv(env_name, f"sentinel-{env_name}")
    overridden = get_settings()
    assert set(overridden.tables) == set(dynamo.MODELS)
    for field, default in defaults.__dict__.items():
        if isinstance(default, str) and f"herald-{defaults.stage}" in default:
            value = getattr(overridden, field)
            assert value.startswith("sentinel-"), f"Settings.{field} is not fed by an output"
    for key in dynamo.MODELS:
        assert overridden.tables[key] == f"sentinel-{infra.table_env(key)}"


def test_the_outputs_resolve_to_the_names_the_code_expects():
    resolved = infra.resolve_outputs(TEMPLATE, "prod", "eu-west-3", "111122223333")
    assert resolved["HERALD_ENGAGEMENTS_TABLE"] == "herald-prod-engagements"
    assert resolved["HERALD_EVENTS_QUEUE"] == "herald-prod-events"
    assert resolved["HERALD_SCHEDULE_GROUP"] == "herald-prod"
    assert (
        resolved["HERALD_SCHEDULER_ROLE_ARN"]
        == "arn:aws:iam::111122223333:role/herald-prod-scheduler"
    )
    assert resolved["HERALD_TRANSITION_FUNCTION_ARN"] == (
        "arn:aws:lambda:eu-west-3:111122223333:function:herald-prod-apply_transition"
    )
