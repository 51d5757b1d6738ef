"""`make package`: `chalice package --merge-template` gives one template cfn-lint accepts.

The `packaged` fixture (conftest.py) is the real `make package STAGE=prod`. A variant of the app
is packaged from a copy of the project with an empty requirements.txt, so Chalice builds its zip
offline and fast; the dependencies do not change the template.
"""

import importlib.util
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from chalice.app import DynamoDBEventConfig, ScheduledEventConfig, SQSEventConfig

from deploy import config, generate, iam, infra, operations, package, tour

# As the real consumer should: the queue comes from the settings of the stage being packaged.
CONSUMER = """

from chalicelib.settings import get_settings as _settings


@app.on_sqs_message(queue=_settings().events_queue, batch_size=10, name="consume_events")
def consume_events(event):
    return {"batchItemFailures": []}
"""


def project_copy(root: Path, extra_code: str = "") -> Path:
    project = root / "project"
    project.mkdir()
    shutil.copy(infra.PROJECT_DIR / "app.py", project / "app.py")
    with (project / "app.py").open("a") as file:
        file.write(extra_code)
    shutil.copytree(
        infra.PROJECT_DIR / "chalicelib",
        project / "chalicelib",
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    (project / ".chalice").mkdir()
    for policy in iam.POLICY_DIR.glob("policy-*.json"):
        shutil.copy(policy, project / ".chalice" / policy.name)
    shutil.copy(config.CONFIG_PATH, project / ".chalice" / "config.json")
    (project / "requirements.txt").write_text("")
    return project


def load_app(project: Path, name: str):
    spec = importlib.util.spec_from_file_location(name, project / "app.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.app


def lint(template: Path) -> list[dict]:
    found = subprocess.run(
        [str(Path(sys.executable).parent / "cfn-lint"), "--format", "json", str(template)],
        capture_output=True,
        text=True,
    )
    return json.loads(found.stdout or "[]")


def errors(matches: list[dict]) -> list[str]:
    return [f"{m['Rule']['Id']} {m['Message']}" for m in matches if m["Level"] == "Error"]


def with_generated_config(project: Path, app) -> None:
    """The tmp project's config and policy files for `app` (as `make infra` would write them;
    the policies hold only the implicit grants: enough for the template)."""
    config_path = project / ".chalice" / "config.json"
    config.save(config.with_functions(config.load(config_path), iam.functions(app)), config_path)
    for (stage, function), document in generate.policies(
        app, tour.Result(calls={}), ["prod"]
    ).items():
        path = project / ".chalice" / iam.policy_file_name(stage, function)
        if not path.exists():
            path.write_text(iam.render(document))


@pytest.fixture(scope="module")
def with_consumer(tmp_path_factory, packaged) -> dict:
    """The app packaged with an SQS consumer: its own if it has one, else one added here."""
    from app import app

    if any(isinstance(kind, SQSEventConfig) for kind in iam.functions(app).values()):
        return {**packaged, "app": app}
    root = tmp_path_factory.mktemp("consumer")
    project = project_copy(root, CONSUMER)
    consumer_app = load_app(project, "consumer_app")
    with_generated_config(project, consumer_app)
    sam = package.package(consumer_app, "prod", root / "build" / "prod", project)
    return {"path": sam, "template": json.loads(sam.read_text()), "app": consumer_app}


def test_cfn_lint_finds_no_error_in_the_packaged_template(packaged):
    assert errors(lint(packaged["path"])) == []
    assert (packaged["path"].parent / "deployment.zip").exists()


def test_it_holds_the_resources_the_functions_and_the_api(packaged):
    resources = packaged["template"]["Resources"]
    assert set(infra.load()["Resources"]) <= set(resources)
    assert resources["RestAPI"]["Type"] == "AWS::Serverless::Api"
    from app import app

    for function in iam.functions(app):
        assert resources[package.function_logical_id(function)]["Type"] == (
            "AWS::Serverless::Function"
        )


def test_every_function_is_named_and_fed_as_in_the_deploy_path(packaged):
    template = packaged["template"]
    from app import app

    expected = package.environment(infra.load())
    for function in iam.functions(app):
        properties = template["Resources"][package.function_logical_id(function)]["Properties"]
        assert properties["FunctionName"] == {"Fn::Sub": infra.function_name(function)}
        assert properties["Environment"]["Variables"] == expected
        role = template["Resources"][properties["Role"]["Fn::GetAtt"][0]]["Properties"]
        (policy,) = role["Policies"]
        committed = json.loads(iam.policy_path("prod", function).read_text())
        assert policy["PolicyDocument"] == package.substituted(committed)
    assert template["Parameters"]["Stage"]["AllowedValues"] == ["prod"]
    assert template["Parameters"]["RootKeyHash"]["NoEcho"] is True


def test_a_queue_consumer_gets_partial_batch_responses_on_the_stacks_queue(with_consumer):
    resources = with_consumer["template"]["Resources"]
    consumers = [
        source.name
        for source in with_consumer["app"].event_sources
        if isinstance(source, SQSEventConfig)
    ]
    assert consumers
    for name in consumers:
        consumer = resources[package.function_logical_id(name)]["Properties"]
        ((_event_name, event),) = consumer["Events"].items()
        assert event["Type"] == "SQS"
        assert event["Properties"]["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
        assert event["Properties"]["Queue"] == {"Fn::GetAtt": ["EventsQueue", "Arn"]}
        assert consumer["Timeout"] * 6 <= infra.VISIBILITY_TIMEOUT_SECONDS
    assert errors(lint(with_consumer["path"])) == []


def test_a_consumer_of_a_queue_outside_the_stack_is_refused():
    sam = {
        "Resources": {
            "Consumer": {
                "Type": "AWS::Serverless::Function",
                "Properties": {
                    "Events": {
                        "E": {"Type": "SQS", "Properties": {"Queue": "arn:aws:sqs:::elsewhere"}}
                    }
                },
            }
        }
    }
    with pytest.raises(ValueError, match="not the stack's events queue"):
        package.finish(sam, "prod")


# --- the packaged template ---------------------------------------------------------------------


def test_the_package_reserves_concurrency_and_bounds_the_queue_mapping(with_consumer):
    resources = with_consumer["template"]["Resources"]
    reservations = {
        operations.reservation(function, kind)
        for function, kind in iam.functions(with_consumer["app"]).items()
    }
    assert reservations - {None} == set(operations.RESERVATIONS)  # each one used
    for function, kind in iam.functions(with_consumer["app"]).items():
        resource = resources[package.function_logical_id(function)]
        assert resource["DependsOn"] == [operations.log_group_id(function)]
        reserved = resource["Properties"].get("ReservedConcurrentExecutions")
        if isinstance(kind, SQSEventConfig):
            assert reserved["Fn::If"][1] == {"Ref": "ConsumerReservedConcurrency"}
            (event,) = resource["Properties"]["Events"].values()
            assert event["Properties"]["ScalingConfig"] == {
                "MaximumConcurrency": {"Ref": "EventsMaximumConcurrency"}
            }
        elif function == infra.TRANSITION_FUNCTION:
            assert reserved["Fn::If"][1] == {"Ref": "ScheduleTargetReservedConcurrency"}
        elif isinstance(kind, DynamoDBEventConfig):
            assert reserved["Fn::If"][1] == {"Ref": "StreamReservedConcurrency"}
        elif isinstance(kind, ScheduledEventConfig):
            assert reserved["Fn::If"][1] == {"Ref": "SweepReservedConcurrency"}
        else:
            assert reserved is None


def test_the_packaged_api_is_named_throttled_and_logged(packaged):
    api = packaged["template"]["Resources"]["RestAPI"]
    properties = api["Properties"]
    assert properties["DefinitionBody"]["info"]["title"] == "herald-prod"
    assert "ApiGatewayAccount" in api["DependsOn"]
    settings = {(s["ResourcePath"], s["HttpMethod"]): s for s in properties["MethodSettings"]}
    assert settings[("/*", "*")]["ThrottlingRateLimit"] == {"Ref": "ApiRateLimit"}
    fetch = settings[("/~1v1~1apps~1{app_id}~1devices~1{device_id}~1messages", "GET")]
    assert fetch["ThrottlingRateLimit"] == {"Ref": "ClientRateLimit"}
    assert fetch["ThrottlingBurstLimit"] == {"Ref": "ClientBurstLimit"}
    from app import app

    assert len(settings) == 1 + len(operations.client_routes(app))
    access = properties["AccessLogSetting"]
    assert access["DestinationArn"] == {"Fn::GetAtt": ["ApiAccessLogGroup", "Arn"]}
    assert "$context.requestId" in access["Format"]
    assert "key" not in access["Format"].lower()


def test_the_packaged_functions_and_api_are_traced(packaged):
    from app import app

    resources = packaged["template"]["Resources"]
    for function in iam.functions(app):
        properties = resources[package.function_logical_id(function)]["Properties"]
        assert properties["Tracing"] == "Active", function
    assert resources["RestAPI"]["Properties"]["TracingEnabled"] is True


def test_chalice_deploy_traces_every_stage():
    """`make deploy` reads the same config: Chalice turns on the functions' and the stage's
    tracing from its `xray`."""
    from chalice.config import Config

    from app import app

    committed = json.loads((infra.PROJECT_DIR / ".chalice" / "config.json").read_text())
    for stage in committed["stages"]:
        for function in iam.functions(app):
            chalice_config = Config(stage, function, config_from_disk=committed)
            assert chalice_config.xray_enabled is True, (stage, function)


def test_every_policy_arn_of_the_package_is_substituted(packaged):
    for resource in packaged["template"]["Resources"].values():
        if resource["Type"] != "AWS::IAM::Role":
            continue
        for policy in resource["Properties"].get("Policies", []):
            text = json.dumps(policy)
            assert '"arn:' not in text.replace('{"Fn::Sub": "arn:', "")


def test_every_arn_of_the_packaged_template_names_the_stacks_partition(packaged):
    template = packaged["template"]
    text = json.dumps({"Resources": template["Resources"], "Outputs": template["Outputs"]})
    arns = re.findall(r"arn:[^\"]*", text)
    assert arns
    assert [arn for arn in arns if not arn.startswith("arn:${AWS::Partition}:")] == []


def test_the_package_ships_the_joined_web_sdk_and_the_checkout_keeps_no_copy(packaged):
    """Chalice ships chalicelib/ only: the web SDK goes in as chalicelib/websdk/herald.js,
    joined from sdk/web/src at packaging time, and is gone from the project afterwards."""
    import zipfile

    from chalicelib import websdk

    with zipfile.ZipFile(packaged["path"].parent / "deployment.zip") as archive:
        shipped = archive.read("chalicelib/websdk/herald.js").decode()
    assert shipped == websdk.join(websdk.read_source())
    assert "export async function init" in shipped
    assert not (infra.PROJECT_DIR / "chalicelib" / "websdk" / websdk.STAGED).exists()


def test_api_gateway_hands_preflights_to_the_function(packaged):
    """OPTIONS on the browser routes goes to the Lambda (which knows the app's web_origins),
    not to a mock integration with fixed headers."""
    from chalicelib.api import openapi

    (api,) = [
        r for r in packaged["template"]["Resources"].values() if r["Type"] == "AWS::Serverless::Api"
    ]
    paths = api["Properties"]["DefinitionBody"]["paths"]
    for path in openapi.BROWSER_PATHS:
        integration = paths[path]["options"]["x-amazon-apigateway-integration"]
        assert integration["type"] == "aws_proxy", path
