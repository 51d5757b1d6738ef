"""The stateful resources of a stage, as one CloudFormation template generated from the code.

`make infra` writes infra/resources.json from:
- every PynamoDB model in `dynamo.MODELS`: its key schema, global and local secondary indexes,
  and its time-to-live attribute when it declares one (the convention is PynamoDB's own:
  an attribute of type `pynamodb.attributes.TTLAttribute`, which `create_table` also honours
  locally). Tables are on-demand, with point-in-time recovery and server-side encryption;
- the events queue, its dead-letter queue and the redrive policy between them;
- the EventBridge Scheduler schedule group and the execution role its schedules run with.

Every name derives from the `Stage` parameter. The template's Outputs are keyed by the
environment variable the app reads the value from (see `output_key`), so `make deploy` and
`make package` hand them to the functions and no name or ARN is ever typed twice.
"""

import json
import re
from pathlib import Path
from typing import Any

from pynamodb.attributes import TTLAttribute
from pynamodb.models import Model

from chalicelib.adapters import dynamo

APP_NAME = "herald"
PROJECT_DIR = Path(__file__).resolve().parents[1]
TEMPLATE_PATH = PROJECT_DIR / "infra" / "resources.json"

API_HANDLER = "api_handler"  # Chalice's name for the function behind API Gateway
TRANSITION_FUNCTION = "apply_transition"  # the target of the engagements' schedules

# The SQS consumer's Lambda timeout; AWS advises a queue visibility timeout of at least six times
# the consumer's timeout, so a batch still being retried is not handed to a second consumer.
CONSUMER_TIMEOUT_SECONDS = 30
VISIBILITY_TIMEOUT_SECONDS = 6 * CONSUMER_TIMEOUT_SECONDS
MAX_RECEIVE_COUNT = 5
EVENTS_RETENTION_SECONDS = 4 * 24 * 3600
DEAD_LETTER_RETENTION_SECONDS = 14 * 24 * 3600  # the maximum: time to look at poison messages

STAGE_PATTERN = r"^[a-z][a-z0-9-]{0,23}$"
TEMPLATE_BODY_LIMIT = 51_200  # CloudFormation's limit for an inline TemplateBody

# Environment variables that name resources outside the tables (tables: `table_env`).
EVENTS_QUEUE_ENV = "HERALD_EVENTS_QUEUE"
EVENTS_DLQ_ENV = "HERALD_EVENTS_DLQ"
SCHEDULE_GROUP_ENV = "HERALD_SCHEDULE_GROUP"
SCHEDULER_ROLE_ENV = "HERALD_SCHEDULER_ROLE_ARN"
TRANSITION_FUNCTION_ENV = "HERALD_TRANSITION_FUNCTION_ARN"


def stage_prefix(stage: str = "${Stage}") -> str:
    return f"{APP_NAME}-{stage}"


def table_name(key: str, stage: str = "${Stage}") -> str:
    return f"{stage_prefix(stage)}-{key}"


def table_env(key: str) -> str:
    """The variable a table's name is read from: `HERALD_<KEY>_TABLE` (see chalicelib/settings)."""
    return f"HERALD_{key.upper()}_TABLE"


def function_name(function: str, stage: str = "${Stage}") -> str:
    """The Lambda function's name, as `chalice deploy` gives it (and `make package` keeps it)."""
    if function == API_HANDLER:
        return stage_prefix(stage)
    return f"{stage_prefix(stage)}-{function}"


def queue_name(stage: str = "${Stage}") -> str:
    return f"{stage_prefix(stage)}-events"


def dead_letter_queue_name(stage: str = "${Stage}") -> str:
    return f"{stage_prefix(stage)}-events-dlq"


def schedule_group_name(stage: str = "${Stage}") -> str:
    return stage_prefix(stage)


def scheduler_role_name(stage: str = "${Stage}") -> str:
    return f"{stage_prefix(stage)}-scheduler"


def output_key(env_name: str) -> str:
    """CloudFormation output keys are alphanumeric: HERALD_APPS_TABLE -> HeraldAppsTable."""
    return "".join(part.capitalize() for part in env_name.split("_"))


def table_logical_id(key: str) -> str:
    return "".join(part.capitalize() for part in re.split(r"[_-]", key)) + "Table"


# --- tables ------------------------------------------------------------------------------------


def ttl_attribute(model: type[Model]) -> str | None:
    """The model's time-to-live attribute: the one declared as a PynamoDB TTLAttribute."""
    if hasattr(model.Meta, "ttl_attribute"):
        raise ValueError(
            f"{model.__name__}: declare the time-to-live attribute as a "
            "pynamodb.attributes.TTLAttribute, not Meta.ttl_attribute"
        )
    names = [
        attribute.attr_name
        for attribute in model.get_attributes().values()
        if isinstance(attribute, TTLAttribute)
    ]
    return names[0] if names else None


def _index(index: dict[str, Any]) -> dict[str, Any]:
    return {
        "IndexName": index["index_name"],
        "KeySchema": sorted(index["key_schema"], key=lambda part: part["KeyType"]),
        "Projection": index["projection"],
    }


def table_resource(key: str, model: type[Model]) -> dict[str, Any]:
    schema = model._get_schema()
    definitions = {d["AttributeName"]: d["AttributeType"] for d in schema["attribute_definitions"]}
    properties: dict[str, Any] = {
        "TableName": {"Fn::Sub": table_name(key)},
        "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": [
            {"AttributeName": name, "AttributeType": kind}
            for name, kind in sorted(definitions.items())
        ],
        "KeySchema": sorted(schema["key_schema"], key=lambda part: part["KeyType"]),
        "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True},
        "DeletionProtectionEnabled": True,
        "SSESpecification": {"SSEEnabled": True},
        "Tags": _tags(),
    }
    if schema["global_secondary_indexes"]:
        properties["GlobalSecondaryIndexes"] = [
            _index(index) for index in schema["global_secondary_indexes"]
        ]
    if schema["local_secondary_indexes"]:
        properties["LocalSecondaryIndexes"] = [
            _index(index) for index in schema["local_secondary_indexes"]
        ]
    if getattr(model.Meta, "stream_view_type", None):
        properties["StreamSpecification"] = {"StreamViewType": model.Meta.stream_view_type}
    ttl = ttl_attribute(model)
    if ttl:
        properties["TimeToLiveSpecification"] = {"AttributeName": ttl, "Enabled": True}
    return {
        "Type": "AWS::DynamoDB::Table",
        # The data outlives the stack: deleting or replacing the stack never drops a table.
        "DeletionPolicy": "Retain",
        "UpdateReplacePolicy": "Retain",
        "Properties": properties,
    }


def _tags() -> list[dict[str, Any]]:
    return [{"Key": "app", "Value": APP_NAME}, {"Key": "stage", "Value": {"Ref": "Stage"}}]


# --- the template ------------------------------------------------------------------------------


def template(
    models: dict[str, type[Model]] | None = None, functions: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The resources template for `models` (default: every model the app stores) and the
    operations around `functions` (default: the app's; deploy/operations.py)."""
    from deploy import operations, outbox  # they build on this module's names

    models = dynamo.MODELS if models is None else models
    functions = app_functions() if functions is None else functions
    resources: dict[str, Any] = {}
    outputs: dict[str, Any] = {}

    def output(env_name: str, value: Any, description: str) -> None:
        outputs[output_key(env_name)] = {
            "Description": f"{env_name}: {description}",
            "Value": value,
        }

    for key, model in models.items():
        logical_id = table_logical_id(key)
        resources[logical_id] = table_resource(key, model)
        output(table_env(key), {"Ref": logical_id}, f"the {key} table")

    resources["EventsDeadLetterQueue"] = {
        "Type": "AWS::SQS::Queue",
        "Properties": {
            "QueueName": {"Fn::Sub": dead_letter_queue_name()},
            "MessageRetentionPeriod": DEAD_LETTER_RETENTION_SECONDS,
            "SqsManagedSseEnabled": True,
            "Tags": _tags(),
        },
    }
    resources["EventsQueue"] = {
        "Type": "AWS::SQS::Queue",
        "Properties": {
            "QueueName": {"Fn::Sub": queue_name()},
            "VisibilityTimeout": VISIBILITY_TIMEOUT_SECONDS,
            "MessageRetentionPeriod": EVENTS_RETENTION_SECONDS,
            "SqsManagedSseEnabled": True,
            "RedrivePolicy": {
                "deadLetterTargetArn": {"Fn::GetAtt": ["EventsDeadLetterQueue", "Arn"]},
                "maxReceiveCount": MAX_RECEIVE_COUNT,
            },
            "Tags": _tags(),
        },
    }
    output(EVENTS_QUEUE_ENV, {"Fn::GetAtt": ["EventsQueue", "QueueName"]}, "the events queue")
    output(
        EVENTS_DLQ_ENV,
        {"Fn::GetAtt": ["EventsDeadLetterQueue", "QueueName"]},
        "the events dead-letter queue",
    )

    resources["ScheduleGroup"] = {
        "Type": "AWS::Scheduler::ScheduleGroup",
        "Properties": {"Name": {"Fn::Sub": schedule_group_name()}, "Tags": _tags()},
    }
    output(SCHEDULE_GROUP_ENV, {"Ref": "ScheduleGroup"}, "the engagements' schedule group")

    transition_arn = {
        "Fn::Sub": "arn:${AWS::Partition}:lambda:${AWS::Region}:${AWS::AccountId}:function:"
        + function_name(TRANSITION_FUNCTION)
    }
    resources["SchedulerRole"] = {
        "Type": "AWS::IAM::Role",
        "Properties": {
            "RoleName": {"Fn::Sub": scheduler_role_name()},
            "Description": "Runs the engagements' schedules: may only invoke the transition",
            "AssumeRolePolicyDocument": {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"Service": "scheduler.amazonaws.com"},
                        "Action": "sts:AssumeRole",
                        "Condition": {
                            "StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}
                        },
                    }
                ],
            },
            "Policies": [
                {
                    "PolicyName": "invoke-transition",
                    "PolicyDocument": {
                        "Version": "2012-10-17",
                        "Statement": [
                            {
                                "Effect": "Allow",
                                "Action": "lambda:InvokeFunction",
                                "Resource": transition_arn,
                            },
                            outbox.scheduler_dead_letter_statement(),
                        ],
                    },
                }
            ],
            "Tags": _tags(),
        },
    }
    output(SCHEDULER_ROLE_ENV, {"Fn::GetAtt": ["SchedulerRole", "Arn"]}, "the schedules' role")
    output(TRANSITION_FUNCTION_ENV, transition_arn, "the schedules' target function")
    outbox.resources(resources, output)

    document = {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": (
            "Herald's resources for one stage: tables, events queue and dead-letter queue, "
            "schedule group and scheduler role, log groups, alarms and dashboard. Generated by "
            "`make infra`; do not edit."
        ),
        "Parameters": {
            "Stage": {
                "Type": "String",
                "Description": "The Chalice stage; every resource name starts with herald-<stage>",
                "AllowedPattern": STAGE_PATTERN,
            }
        },
        "Resources": resources,
        "Outputs": outputs,
    }
    return operations.add_to(document, functions)


def app_functions() -> dict[str, Any]:
    """{Chalice function name: what it is} for the app's functions (deploy/iam.py)."""
    from app import app
    from deploy import iam

    return iam.functions(app)


def render(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2) + "\n"


def write(path: Path = TEMPLATE_PATH) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render(template()))
    return path


def load(path: Path = TEMPLATE_PATH) -> dict[str, Any]:
    return json.loads(path.read_text())


def environment_variables(document: dict[str, Any]) -> dict[str, str]:
    """{environment variable: output key} for every output of the template."""
    mapping = {}
    for key, output in document["Outputs"].items():
        env_name = output["Description"].split(":", 1)[0]
        if output_key(env_name) != key:
            raise ValueError(f"output {key} does not name its variable ({env_name})")
        mapping[env_name] = key
    return mapping


# --- resolving the outputs without AWS (the IAM tour, the tests) -------------------------------


def resolve_outputs(
    document: dict[str, Any], stage: str, region: str, account: str
) -> dict[str, str]:
    """{environment variable: value} as CloudFormation would resolve the outputs for `stage`.

    Handles what this template uses: Ref, Fn::GetAtt (Arn, QueueName) and Fn::Sub.
    """
    resolver = _Resolver(document, stage, region, account)
    return {
        env_name: resolver.value(document["Outputs"][key]["Value"])
        for env_name, key in environment_variables(document).items()
    }


class _Resolver:
    def __init__(self, document: dict[str, Any], stage: str, region: str, account: str):
        self._resources = document["Resources"]
        self._names = {
            "Stage": stage,
            "AWS::Region": region,
            "AWS::AccountId": account,
            "AWS::Partition": "aws",
        }

    def value(self, expression: Any) -> str:
        if isinstance(expression, str):
            return expression
        ((function, argument),) = expression.items()
        if function == "Ref":
            return self._ref(argument)
        if function == "Fn::Sub":
            return re.sub(r"\$\{([^}]+)\}", lambda found: self._sub(found.group(1)), argument)
        if function == "Fn::GetAtt":
            return self._get_att(*argument)
        raise ValueError(f"cannot resolve {function}")

    def _sub(self, name: str) -> str:
        if "." in name:
            return self._get_att(*name.split(".", 1))
        return self._ref(name)

    def _ref(self, name: str) -> str:
        if name in self._names:
            return self._names[name]
        resource = self._resources[name]
        kind, properties = resource["Type"], resource["Properties"]
        field = {"AWS::DynamoDB::Table": "TableName", "AWS::Scheduler::ScheduleGroup": "Name"}
        if kind not in field:
            raise ValueError(f"cannot resolve Ref of a {kind}")
        return self.value(properties[field[kind]])

    def _get_att(self, name: str, attribute: str) -> str:
        resource = self._resources[name]
        kind, properties = resource["Type"], resource["Properties"]
        region, account = self._names["AWS::Region"], self._names["AWS::AccountId"]
        partition = self._names["AWS::Partition"]
        if kind == "AWS::SQS::Queue":
            queue = self.value(properties["QueueName"])
            if attribute == "QueueName":
                return queue
            if attribute == "Arn":
                return f"arn:{partition}:sqs:{region}:{account}:{queue}"
        if kind == "AWS::IAM::Role" and attribute == "Arn":
            return f"arn:{partition}:iam::{account}:role/{self.value(properties['RoleName'])}"
        if kind == "AWS::DynamoDB::Table" and attribute == "Arn":
            table = self.value(properties["TableName"])
            return f"arn:{partition}:dynamodb:{region}:{account}:table/{table}"
        if kind == "AWS::DynamoDB::Table" and attribute == "StreamArn":
            # its label is the stream's creation time, known once it exists: a placeholder
            table = self.value(properties["TableName"])
            return f"arn:{partition}:dynamodb:{region}:{account}:table/{table}/stream/latest"
        raise ValueError(f"cannot resolve {name}.{attribute} of a {kind}")
