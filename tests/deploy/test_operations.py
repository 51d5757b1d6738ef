"""The operations side of both templates: log groups and retention, alarms to the topic, the
dashboard, throttling, reserved and maximum concurrency, deletion protection, partition-safe ARNs;
and `make deploy` applying what `chalice deploy` cannot."""

import json
import re
import shutil

import boto3
import pytest
from chalice.app import DynamoDBEventConfig, ScheduledEventConfig, SQSEventConfig
from moto import mock_aws

from app import app
from chalicelib import observability
from deploy import iam, infra, operations
from deploy.stack import Deployer
from tests.deploy.test_deploy import REGION, RecordedRunner, create_function

TEMPLATE = infra.load()
FUNCTIONS = iam.functions(app)


def of_type(template: dict, kind: str) -> dict[str, dict]:
    return {k: r for k, r in template["Resources"].items() if r["Type"] == kind}


def alarm_metrics(alarm: dict) -> list[tuple[str, str, dict]]:
    """(namespace, metric, dimensions) of every metric an alarm watches."""
    properties = alarm["Properties"]
    if "MetricName" in properties:
        stats = [
            {
                "Namespace": properties["Namespace"],
                "MetricName": properties["MetricName"],
                "Dimensions": properties["Dimensions"],
            }
        ]
    else:
        stats = [q["MetricStat"]["Metric"] for q in properties["Metrics"] if "MetricStat" in q]
    return [
        (
            stat["Namespace"],
            stat["MetricName"],
            {d["Name"]: json.dumps(d["Value"], sort_keys=True) for d in stat["Dimensions"]},
        )
        for stat in stats
    ]


def watched(template: dict) -> set[tuple[str, str, str]]:
    return {
        (namespace, metric, json.dumps(dimensions, sort_keys=True))
        for alarm in of_type(template, "AWS::CloudWatch::Alarm").values()
        for namespace, metric, dimensions in alarm_metrics(alarm)
    }


def dimension(value) -> str:
    return json.dumps(value, sort_keys=True)


def test_every_function_and_the_api_log_to_a_group_with_the_retention_parameter():
    groups = of_type(TEMPLATE, "AWS::Logs::LogGroup")
    names = {json.dumps(g["Properties"]["LogGroupName"]) for g in groups.values()}
    for function in FUNCTIONS:
        assert json.dumps({"Fn::Sub": f"/aws/lambda/{infra.function_name(function)}"}) in names
    assert json.dumps({"Fn::Sub": "/aws/apigateway/herald-${Stage}-access"}) in names
    for group in groups.values():
        assert group["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionDays"}
    assert TEMPLATE["Parameters"]["LogRetentionDays"]["Default"] == 30


def test_a_new_function_gets_its_log_group_and_alarms_from_make_infra():
    functions = {**FUNCTIONS, "sweep": "lambda"}
    template = infra.template(functions=functions)
    assert "SweepLogGroup" in template["Resources"]
    name = dimension({"Fn::Sub": "herald-${Stage}-sweep"})
    assert ("AWS/Lambda", "Errors", json.dumps({"FunctionName": name})) in watched(template)
    assert ("AWS/Lambda", "Throttles", json.dumps({"FunctionName": name})) in watched(template)


def test_the_alarms_cover_queues_functions_api_and_tables():
    alarms = watched(TEMPLATE)
    dlq = dimension({"Fn::GetAtt": ["EventsDeadLetterQueue", "QueueName"]})
    queue = dimension({"Fn::GetAtt": ["EventsQueue", "QueueName"]})
    assert ("AWS/SQS", "ApproximateNumberOfMessagesVisible", json.dumps({"QueueName": dlq})) in (
        alarms
    )
    assert ("AWS/SQS", "ApproximateAgeOfOldestMessage", json.dumps({"QueueName": queue})) in alarms
    for function in FUNCTIONS:
        name = json.dumps({"FunctionName": dimension({"Fn::Sub": infra.function_name(function)})})
        assert ("AWS/Lambda", "Throttles", name) in alarms
        if function != infra.API_HANDLER:  # consumer errors, schedule-target failures
            assert ("AWS/Lambda", "Errors", name) in alarms
    api = json.dumps(
        {"ApiName": dimension({"Fn::Sub": "herald-${Stage}"}), "Stage": dimension("api")},
        sort_keys=True,
    )
    assert ("AWS/ApiGateway", "5XXError", api) in alarms
    for table in of_type(TEMPLATE, "AWS::DynamoDB::Table"):
        for kind in ("Read", "Write"):
            dims = json.dumps({"TableName": dimension({"Ref": table})})
            assert ("AWS/DynamoDB", f"{kind}ThrottleEvents", dims) in alarms


def test_every_alarm_notifies_the_topic_parameter_when_given():
    for alarm in of_type(TEMPLATE, "AWS::CloudWatch::Alarm").values():
        properties = alarm["Properties"]
        expected = {
            "Fn::If": ["HasAlarmTopic", [{"Ref": "AlarmTopicArn"}], {"Ref": "AWS::NoValue"}]
        }
        assert properties["AlarmActions"] == properties["OKActions"] == expected
        assert properties["AlarmName"]["Fn::Sub"].startswith("herald-${Stage}-")
        assert len(properties.get("Metrics", [])) <= 10  # CloudWatch's limit per alarm


def test_the_dashboard_shows_every_herald_metric_and_the_limits():
    (dashboard,) = of_type(TEMPLATE, "AWS::CloudWatch::Dashboard").values()
    body = dashboard["Properties"]["DashboardBody"]["Fn::Sub"]
    widgets = json.loads(body)["widgets"]
    for metric in observability.METRICS:
        assert f'MetricName=\\"{metric}\\"' in body or f'MetricName="{metric}"' in body
    assert any(
        w["type"] == "text" and "${ApiRateLimit}" in w["properties"]["markdown"] for w in widgets
    )


def test_tables_are_deletion_protected():
    for table in of_type(TEMPLATE, "AWS::DynamoDB::Table").values():
        assert table["Properties"]["DeletionProtectionEnabled"] is True


def test_client_routes_default_to_tighter_limits_than_the_stage():
    parameters = TEMPLATE["Parameters"]
    assert parameters["ClientRateLimit"]["Default"] < parameters["ApiRateLimit"]["Default"]
    assert parameters["ClientBurstLimit"]["Default"] < parameters["ApiBurstLimit"]["Default"]
    consumer = parameters["EventsMaximumConcurrency"]["Default"]
    assert 2 <= consumer <= parameters["ConsumerReservedConcurrency"]["Default"]
    routes = operations.client_routes(app)
    assert ("GET", "/v1/apps/{app_id}/devices/{device_id}/messages") in routes
    assert ("POST", "/v1/apps/{app_id}/events") in routes
    assert all(path.startswith("/v1/apps/{app_id}/") for _method, path in routes)


ARN = re.compile(r"arn:[^\"]*")


def arns(document) -> list[str]:
    return ARN.findall(json.dumps(document))


def test_every_arn_is_built_from_the_partition_region_and_account():
    resources = {"Resources": TEMPLATE["Resources"], "Outputs": TEMPLATE["Outputs"]}
    documents = [resources] + [
        json.loads(path.read_text()) for path in iam.POLICY_DIR.glob("policy-*.json")
    ]
    for document in documents:
        for arn in arns(document):
            short = arn.replace("${AWS::Partition}", "P").replace("${AWS::Region}", "R")
            short = short.replace("${AWS::AccountId}", "A")
            _arn, partition, service, region, account = short.split(":")[:5]
            assert partition == "P", arn
            if service != "iam":
                assert region == "R", arn
            if not short.startswith("arn:P:iam::aws:policy/"):  # AWS's own managed policies
                assert account == "A", arn


# --- make deploy -------------------------------------------------------------------------------


@pytest.fixture
def project(tmp_path):
    """config.json and the policy files in a tmp .chalice directory."""
    shutil.copy(infra.PROJECT_DIR / ".chalice" / "config.json", tmp_path / "config.json")
    for policy in iam.POLICY_DIR.glob("policy-dev-*.json"):
        shutil.copy(policy, tmp_path / policy.name)
    return tmp_path


def chalice_deploys_the_api_and_functions(session, project):
    """What `chalice deploy` leaves: the functions, the consumer's mapping, the REST API with
    its `api` stage, and the deployed record naming the API."""

    def deploy():
        lambda_client = session.client("lambda")
        existing = {f["FunctionName"] for f in lambda_client.list_functions()["Functions"]}
        for function in FUNCTIONS:
            name = infra.function_name(function, "dev")
            if name in existing:
                continue
            arn = create_function(session, name)
            kind = FUNCTIONS[function]
            if isinstance(kind, SQSEventConfig):
                queue = session.client("sqs").get_queue_url(QueueName=kind.queue)["QueueUrl"]
                queue_arn = session.client("sqs").get_queue_attributes(
                    QueueUrl=queue, AttributeNames=["QueueArn"]
                )["Attributes"]["QueueArn"]
                lambda_client.create_event_source_mapping(
                    EventSourceArn=queue_arn, FunctionName=arn, BatchSize=10
                )
            if isinstance(kind, DynamoDBEventConfig):
                table = session.client("dynamodb").describe_table(
                    TableName=infra.table_name("engagements", "dev")
                )
                lambda_client.create_event_source_mapping(
                    EventSourceArn=table["Table"]["LatestStreamArn"], FunctionName=arn
                )
        deployed = project / "deployed" / "dev.json"
        if deployed.exists():
            return
        apigateway = session.client("apigateway")
        api = apigateway.create_rest_api(name="herald")
        root = apigateway.get_resources(restApiId=api["id"])["items"][0]["id"]
        apigateway.put_method(
            restApiId=api["id"], resourceId=root, httpMethod="GET", authorizationType="NONE"
        )
        apigateway.put_integration(
            restApiId=api["id"], resourceId=root, httpMethod="GET", type="MOCK"
        )
        deployment = apigateway.create_deployment(restApiId=api["id"], stageName="api")
        assert deployment["id"]
        deployed.parent.mkdir()
        deployed.write_text(
            json.dumps(
                {
                    "resources": [
                        {"name": "rest_api", "resource_type": "rest_api", "rest_api_id": api["id"]}
                    ]
                }
            )
        )

    return deploy


def test_make_deploy_applies_the_limits_chalice_cannot(project):
    with mock_aws():
        session = boto3.Session(region_name=REGION)
        runner = RecordedRunner(project / "config.json")
        policies = {path: path.read_text() for path in project.glob("policy-dev-*.json")}
        seen = {}

        def deploy():
            seen.update({path: path.read_text() for path in policies})
            chalice_deploys_the_api_and_functions(session, project)()

        runner.also = deploy
        deployer = Deployer(
            "dev",
            session,
            app,
            runner=runner,
            config_path=project / "config.json",
            log=lambda _line: None,
            parameters={
                "ConsumerReservedConcurrency": "7",
                "StreamReservedConcurrency": "3",
                "ClientRateLimit": "20",
            },
        )
        deployer.deploy(root_key_hash="a" * 64)

        # while chalice deploy ran, the policies named this partition, region and account
        for path, text in seen.items():
            assert "${AWS::" not in text
            assert f"arn:aws:dynamodb:{REGION}:123456789012:table/herald-dev-" in text or (
                "dynamodb" not in text
            )
            assert path.read_text() == policies[path]  # and they were put back

        lambda_client = session.client("lambda")
        for function, kind in FUNCTIONS.items():
            name = infra.function_name(function, "dev")
            reserved = lambda_client.get_function_concurrency(FunctionName=name).get(
                "ReservedConcurrentExecutions"
            )
            if isinstance(kind, SQSEventConfig):
                assert reserved == 7, function
            elif function == infra.TRANSITION_FUNCTION:
                assert reserved == 2, function
            elif isinstance(kind, DynamoDBEventConfig):
                assert reserved == 3, function
            elif isinstance(kind, ScheduledEventConfig):
                assert reserved == 1, function
            else:
                assert reserved is None, function
        (mapping,) = [
            m
            for m in lambda_client.list_event_source_mappings()["EventSourceMappings"]
            if ":sqs:" in m["EventSourceArn"]
        ]
        assert mapping["ScalingConfig"] == {"MaximumConcurrency": 5}
        assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]

        apigateway = session.client("apigateway")
        api_id = deployer.rest_api_id()
        assert apigateway.get_rest_api(restApiId=api_id)["name"] == "herald-dev"
        stage = apigateway.get_stage(restApiId=api_id, stageName="api")
        settings = stage["methodSettings"]
        assert settings["*/*"]["throttlingRateLimit"] == 100
        assert settings["*/*"]["throttlingBurstLimit"] == 200
        fetch = settings["~1v1~1apps~1{app_id}~1devices~1{device_id}~1messages/GET"]
        assert fetch["throttlingRateLimit"] == 20
        assert stage["accessLogSettings"]["destinationArn"] == (
            f"arn:aws:logs:{REGION}:123456789012:log-group:/aws/apigateway/herald-dev-access"
        )

        # a redeploy without parameters keeps the ones set before
        again = Deployer(
            "dev",
            session,
            app,
            runner=runner,
            config_path=project / "config.json",
            log=lambda _line: None,
        )
        again.deploy(root_key_hash="a" * 64)
        consumer = next(f for f, k in FUNCTIONS.items() if isinstance(k, SQSEventConfig))
        assert (
            lambda_client.get_function_concurrency(
                FunctionName=infra.function_name(consumer, "dev")
            )["ReservedConcurrentExecutions"]
            == 7
        )


def test_an_unknown_stack_parameter_is_refused(project):
    from deploy.stack import DeployError

    with mock_aws(), pytest.raises(DeployError, match="NoSuchThing"):
        Deployer(
            "dev",
            boto3.Session(region_name=REGION),
            app,
            config_path=project / "config.json",
            parameters={"NoSuchThing": "1"},
        )
