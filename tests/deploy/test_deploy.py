"""`make deploy` end to end against moto, with `chalice deploy` replaced by a recorded call."""

import io
import json
import shutil
import stat
import zipfile

import boto3
import pytest
from chalice import Chalice
from chalice.app import DynamoDBEventConfig, ScheduledEventConfig
from moto import mock_aws

from app import app
from chalicelib.domain import keys
from deploy import config, infra, outbox
from deploy.stack import Deployer, DeployError, stack_name

REGION = "us-east-1"


class RecordedRunner:
    """Stands in for `chalice deploy`: records each command, the env it got and the stage's
    config at that moment, then does what `also` says (e.g. what chalice would create)."""

    def __init__(self, config_path, also=None):
        self.config_path = config_path
        self.also = also
        self.runs = []

    def __call__(self, argv, env):
        self.runs.append({"argv": argv, "env": env, "config": config.load(self.config_path)})
        if self.also:
            self.also()


@pytest.fixture
def config_copy(tmp_path):
    path = tmp_path / "config.json"
    shutil.copy(config.CONFIG_PATH, path)
    return path


@pytest.fixture
def session():
    with mock_aws():
        yield boto3.Session(region_name=REGION)


def chalice_would_deploy(session, app_):
    """What `chalice deploy` creates that the deployer relies on: every SQS consumer's function
    and its event source mapping (created with the function's ARN, as Chalice does)."""

    def deploy():
        sqs = session.client("sqs")
        functions = {
            f["FunctionName"] for f in session.client("lambda").list_functions()["Functions"]
        }
        for source in app_.event_sources:
            if infra.function_name(source.name, "dev") in functions:
                continue  # a redeploy: Chalice updates what exists
            arn = create_function(session, infra.function_name(source.name, "dev"))
            if isinstance(source, ScheduledEventConfig):
                continue  # a rule, not a mapping
            if isinstance(source, DynamoDBEventConfig):
                table = session.client("dynamodb").describe_table(
                    TableName=infra.table_name("engagements", "dev")
                )
                source_arn = table["Table"]["LatestStreamArn"]
            else:
                url = sqs.get_queue_url(QueueName=source.queue)["QueueUrl"]
                queue = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
                source_arn = queue["Attributes"]["QueueArn"]
            session.client("lambda").create_event_source_mapping(
                EventSourceArn=source_arn, FunctionName=arn, BatchSize=10
            )
        if infra.function_name(infra.TRANSITION_FUNCTION, "dev") not in functions:
            create_function(session, infra.function_name(infra.TRANSITION_FUNCTION, "dev"))

    return deploy


def deployer(session, config_path, app_=app, also=None, logs=None):
    runner = RecordedRunner(config_path, also or chalice_would_deploy(session, app_))
    log = logs.append if logs is not None else (lambda _line: None)
    return Deployer("dev", session, app_, runner=runner, config_path=config_path, log=log), runner


def test_the_stack_is_created_and_its_outputs_become_the_stage_variables(session, config_copy):
    logs = []
    deploy, runner = deployer(session, config_copy, logs=logs)
    variables = deploy.deploy()

    expected = infra.resolve_outputs(infra.load(), "dev", REGION, "123456789012")
    # the stream's label is its creation time: only the stack knows it
    stream = session.client("dynamodb").describe_table(TableName="herald-dev-engagements")
    expected["HERALD_ENGAGEMENTS_STREAM_ARN"] = stream["Table"]["LatestStreamArn"]
    assert variables == expected
    stage_env = config.load(config_copy)["stages"]["dev"]["environment_variables"]
    assert stage_env == {"HERALD_STAGE": "dev", **expected}
    assert "HERALD_ROOT_KEY_HASH" not in stage_env  # the secret never stays in config.json

    (run,) = runner.runs
    assert run["argv"][1:] == ["deploy", "--stage", "dev"]
    assert run["argv"][0].endswith("chalice")
    assert run["env"]["HERALD_STAGE"] == "dev"
    assert run["env"]["HERALD_EVENTS_QUEUE"] == "herald-dev-events"
    during = run["config"]["stages"]["dev"]["environment_variables"]
    assert len(during["HERALD_ROOT_KEY_HASH"]) == 64
    assert any("New root key" in line for line in logs)
    # the new root key is in a file only its owner reads, never in the output (SPEC §7.4)
    key_file = config_copy.parent / "root-keys" / "dev"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    root_key = key_file.read_text().strip()
    assert keys.root_key_problem(root_key) is None
    assert keys.hash_key(root_key) == during["HERALD_ROOT_KEY_HASH"]
    assert not any(root_key in line for line in logs)
    mappings = session.client("lambda").list_event_source_mappings()["EventSourceMappings"]
    polled = [s for s in app.event_sources if not isinstance(s, ScheduledEventConfig)]
    assert len(mappings) == len(polled)
    for mapping in mappings:
        assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    (stream_mapping,) = [m for m in mappings if ":dynamodb:" in m["EventSourceArn"]]
    assert stream_mapping["MaximumRetryAttempts"] == outbox.STREAM_MAX_RETRIES
    assert stream_mapping["BisectBatchOnFunctionError"] is True
    failures = stream_mapping["DestinationConfig"]["OnFailure"]["Destination"]
    assert failures.endswith(":herald-dev-schedules-stream-failures")
    invoke_config = session.client("lambda").get_function_event_invoke_config(
        FunctionName="herald-dev-apply_transition"
    )
    destination = invoke_config["DestinationConfig"]["OnFailure"]["Destination"]
    assert destination.endswith(":herald-dev-transition-failures")

    cloudformation = session.client("cloudformation")
    (created,) = cloudformation.describe_stacks(StackName=stack_name("dev"))["Stacks"]
    assert created["StackStatus"] == "CREATE_COMPLETE"
    assert set(session.client("dynamodb").list_tables()["TableNames"]) == {
        value for name, value in expected.items() if name.endswith("_TABLE")
    }
    sqs = session.client("sqs")
    url = sqs.get_queue_url(QueueName="herald-dev-events")["QueueUrl"]
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert json.loads(attributes["RedrivePolicy"])["maxReceiveCount"] == 5
    assert int(attributes["VisibilityTimeout"]) == infra.VISIBILITY_TIMEOUT_SECONDS
    assert session.client("scheduler").get_schedule_group(Name="herald-dev")["State"] == "ACTIVE"
    role = session.client("iam").get_role(RoleName="herald-dev-scheduler")["Role"]
    assert role["Arn"] == expected["HERALD_SCHEDULER_ROLE_ARN"]


def create_function(session, name, variables=None):
    role = session.client("iam").get_role(RoleName="herald-dev-scheduler")["Role"]["Arn"]
    code = io.BytesIO()
    with zipfile.ZipFile(code, "w") as archive:
        archive.writestr("app.py", "def handler(event, context):\n    return None\n")
    return session.client("lambda").create_function(
        FunctionName=name,
        Runtime="python3.11",
        Role=role,
        Handler="app.handler",
        Code={"ZipFile": code.getvalue()},
        Environment={"Variables": variables or {}},
    )["FunctionArn"]


def test_a_redeploy_updates_the_stack_and_keeps_the_deployed_root_key(session, config_copy):
    first, _ = deployer(session, config_copy)
    first.deploy(root_key_hash="a" * 64)
    create_function(session, "herald-dev", {"HERALD_ROOT_KEY_HASH": "b" * 64})

    logs = []
    second, runner = deployer(session, config_copy, logs=logs)
    second.deploy()
    (run,) = runner.runs
    assert (
        run["config"]["stages"]["dev"]["environment_variables"]["HERALD_ROOT_KEY_HASH"] == "b" * 64
    )
    assert not any("New root key" in line for line in logs)
    assert any("up to date" in line for line in logs)


def consumer_app() -> Chalice:
    herald = Chalice("herald")

    @herald.on_sqs_message(queue="herald-dev-events", name="consume_events")
    def consume_events(event):  # pragma: no cover - never invoked here
        return {"batchItemFailures": []}

    return herald


def api_only_app() -> Chalice:
    herald = Chalice("herald")

    @herald.route("/")
    def index():  # pragma: no cover - never invoked here
        return {}

    return herald


def test_without_a_consumer_the_mapping_step_says_so_and_succeeds(session, config_copy):
    logs = []
    deploy, _ = deployer(session, config_copy, api_only_app(), logs=logs)
    deploy.deploy(root_key_hash="f" * 64)
    assert any("no SQS event source mapping found" in line for line in logs)


def test_partial_batch_responses_are_turned_on_for_the_consumer(session, config_copy):
    deploy, _ = deployer(session, config_copy, consumer_app())
    deploy.deploy(root_key_hash="c" * 64)
    (mapping,) = session.client("lambda").list_event_source_mappings()["EventSourceMappings"]
    assert mapping["FunctionArn"].endswith(":function:herald-dev-consume_events")
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert deploy.report_batch_item_failures() == []  # already on: nothing changes


def test_a_consumer_without_a_mapping_after_chalice_deploy_is_an_error(session, config_copy):
    deploy, _ = deployer(session, config_copy, consumer_app(), also=lambda: None)
    with pytest.raises(DeployError, match="consume_events"):
        deploy.deploy(root_key_hash="d" * 64)


def test_an_unknown_stage_is_refused_before_anything_happens(session, config_copy):
    with pytest.raises(DeployError, match="no stage 'qa'"):
        Deployer("qa", session, app, runner=RecordedRunner(config_copy), config_path=config_copy)
    assert session.client("cloudformation").describe_stacks()["Stacks"] == []


def test_destroy_deletes_the_functions_and_the_stack_but_keeps_the_tables(session, config_copy):
    deploy, runner = deployer(session, config_copy)
    deploy.deploy(root_key_hash="e" * 64)
    deploy.destroy()
    assert runner.runs[-1]["argv"][1:] == ["delete", "--stage", "dev"]
    stacks = session.client("cloudformation").list_stacks()["StackSummaries"]
    assert {s["StackStatus"] for s in stacks if s["StackName"] == stack_name("dev")} == {
        "DELETE_COMPLETE"
    }
    assert "herald-dev-apps" in session.client("dynamodb").list_tables()["TableNames"]
    assert session.client("sqs").list_queues().get("QueueUrls", []) == []


def test_the_command_line_reports_a_deploy_error_without_a_traceback(session, capsys):
    from deploy.__main__ import main

    assert main(["deploy", "--stage", "qa", "--region", REGION]) == 1
    assert "no stage 'qa'" in capsys.readouterr().err
