"""Least-privilege IAM for every Lambda function, derived from the AWS calls each one really makes.

How the policies are made (`make infra`) and checked (tests/deploy/test_iam.py):
1. `deploy.tour` drives every route, every pure Lambda function and every queue consumer of the
   app under moto, while `Recorder` notes each AWS API call and which function made it. The hook
   is `botocore.client.BaseClient._make_api_call`, which boto3 clients and PynamoDB's own
   botocore client both go through, so no call escapes it; a call is recorded when it is made,
   whatever its outcome (an `UpdateSchedule` answered "not found" still needs the permission).
2. `permissions` maps each call to the IAM actions AWS authorizes it with, on concrete ARNs:
   - DynamoDB: the operation itself on the table ARN, or on `table/<t>/index/<i>` for a Query or
     Scan with IndexName. `TransactWriteItems` is authorized item by item: Put -> PutItem,
     Update -> UpdateItem, Delete -> DeleteItem, ConditionCheck -> ConditionCheckItem, each on
     its own table; `TransactGetItems` -> GetItem per item; `BatchGetItem`/`BatchWriteItem` ->
     themselves on every table of RequestItems.
   - Scheduler: `scheduler:<Operation>` on `schedule/<group>/<name>`; Create/UpdateSchedule also
     need `iam:PassRole` on the target's RoleArn (passed to scheduler.amazonaws.com).
   - SQS: SendMessage[Batch] -> sqs:SendMessage, DeleteMessage[Batch] -> sqs:DeleteMessage,
     ChangeMessageVisibility[Batch] -> sqs:ChangeMessageVisibility, others -> themselves, on the
     queue's ARN (from QueueUrl or QueueName). Lambda: Invoke -> lambda:InvokeFunction.
   Any other call raises `Unmapped`: extend the mapping rather than guess.
3. `generalize` turns each concrete ARN into the stage's resource it names (a table of
   `dynamo.MODELS`, the events queues, the schedule group, the scheduler role, a function of the
   app); a call on anything else raises `UnknownResource`. Schedules are granted as
   `schedule/<group>/*` (their names are engagement ids); everything else by exact name.
4. Some permissions are used by the Lambda service on the function's behalf, never by its code:
   writing its logs (every function, into the log group the stack creates), sending its X-Ray
   segments (`xray:PutTraceSegments`, `xray:PutTelemetryRecords`: on `*`, the only resource
   those actions take) and polling its queue (ReceiveMessage, DeleteMessage,
   GetQueueAttributes for an `@app.on_sqs_message` consumer). `implicit` adds those.
Resources are written `arn:${AWS::Partition}:<service>:${AWS::Region}:${AWS::AccountId}:...`:
`make package` turns each into an `Fn::Sub`, and `make deploy` writes the stack's own partition,
region and account into the files while `chalice deploy` reads them (`resolve`). Names carry the
stage, so a stage's functions reach only that stage's resources. Log groups are the stack's (with
their retention), so no function may create one.
"""

import json
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from unittest import mock
from urllib.parse import urlsplit

from botocore.client import BaseClient
from chalice import Chalice
from chalice.app import DynamoDBEventConfig, ScheduledEventConfig, SQSEventConfig

from deploy import infra, outbox

POLICY_DIR = infra.PROJECT_DIR / ".chalice"
PASSED_TO_SERVICE = "scheduler.amazonaws.com"


class Unmapped(Exception):
    """An AWS call whose IAM action this module does not know."""


class UnknownResource(Exception):
    """A call on a resource the stage's stack does not create."""


# --- recording ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Call:
    service: str
    operation: str
    params: dict[str, Any]
    region: str
    account: str


@dataclass
class Recorder:
    """Records the AWS calls made while `function(name)` is active, per function name."""

    account: str = "123456789012"
    calls: dict[str, list[Call]] = field(default_factory=lambda: defaultdict(list))
    _current: str | None = None

    @contextmanager
    def function(self, name: str) -> Iterator[None]:
        previous, self._current = self._current, name
        try:
            yield
        finally:
            self._current = previous

    @contextmanager
    def installed(self) -> Iterator["Recorder"]:
        original = BaseClient._make_api_call
        recorder = self

        def make_api_call(client: BaseClient, operation_name: str, api_params: dict[str, Any]):
            if recorder._current is not None:
                recorder.calls[recorder._current].append(
                    Call(
                        service=client.meta.service_model.endpoint_prefix,
                        operation=operation_name,
                        params=api_params,
                        region=client.meta.region_name,
                        account=recorder.account,
                    )
                )
            return original(client, operation_name, api_params)

        with mock.patch.object(BaseClient, "_make_api_call", make_api_call):
            yield self


# --- calls -> IAM actions on concrete ARNs -----------------------------------------------------


@dataclass(frozen=True, order=True)
class Permission:
    action: str
    resource: str
    passed_to: str | None = None  # for iam:PassRole: the service the role is passed to


def _arn(call: Call, service: str, resource: str, region: bool = True) -> str:
    return f"arn:aws:{service}:{call.region if region else ''}:{call.account}:{resource}"


_TRANSACT_WRITE = {
    "Put": "PutItem",
    "Update": "UpdateItem",
    "Delete": "DeleteItem",
    "ConditionCheck": "ConditionCheckItem",
}
_DYNAMODB_SINGLE = {
    "GetItem",
    "PutItem",
    "UpdateItem",
    "DeleteItem",
    "Query",
    "Scan",
    "DescribeTable",
    "DescribeTimeToLive",
}
_SQS = {
    "SendMessage": "SendMessage",
    "SendMessageBatch": "SendMessage",
    "ReceiveMessage": "ReceiveMessage",
    "DeleteMessage": "DeleteMessage",
    "DeleteMessageBatch": "DeleteMessage",
    "ChangeMessageVisibility": "ChangeMessageVisibility",
    "ChangeMessageVisibilityBatch": "ChangeMessageVisibility",
    "GetQueueAttributes": "GetQueueAttributes",
    "GetQueueUrl": "GetQueueUrl",
}
_SCHEDULER = {"CreateSchedule", "UpdateSchedule", "DeleteSchedule", "GetSchedule"}


def permissions(call: Call) -> list[Permission]:
    """The IAM actions, on concrete ARNs, that AWS checks before serving `call`."""
    operation, params = call.operation, call.params
    if call.service == "dynamodb":
        table = lambda name: _arn(call, "dynamodb", f"table/{name}")  # noqa: E731
        if operation in _DYNAMODB_SINGLE:
            resource = table(params["TableName"])
            if params.get("IndexName"):
                resource += f"/index/{params['IndexName']}"
            return [Permission(f"dynamodb:{operation}", resource)]
        if operation == "TransactWriteItems":
            found = []
            for item in params["TransactItems"]:
                ((kind, request),) = item.items()
                found.append(
                    Permission(f"dynamodb:{_TRANSACT_WRITE[kind]}", table(request["TableName"]))
                )
            return found
        if operation == "TransactGetItems":
            return [
                Permission("dynamodb:GetItem", table(item["Get"]["TableName"]))
                for item in params["TransactItems"]
            ]
        if operation in ("BatchGetItem", "BatchWriteItem"):
            return [
                Permission(f"dynamodb:{operation}", table(name)) for name in params["RequestItems"]
            ]
    if call.service == "scheduler" and operation in _SCHEDULER:
        group = params.get("GroupName") or "default"
        found = [
            Permission(
                f"scheduler:{operation}",
                _arn(call, "scheduler", f"schedule/{group}/{params['Name']}"),
            )
        ]
        role = (params.get("Target") or {}).get("RoleArn")
        if role and operation in ("CreateSchedule", "UpdateSchedule"):
            found.append(Permission("iam:PassRole", role, passed_to=PASSED_TO_SERVICE))
        return found
    if call.service == "sqs" and operation in _SQS:
        name = (
            params.get("QueueName")
            or urlsplit(params["QueueUrl"]).path.rstrip("/").rsplit("/", 1)[-1]
        )
        return [Permission(f"sqs:{_SQS[operation]}", _arn(call, "sqs", name))]
    if call.service == "lambda" and operation == "Invoke":
        function = params["FunctionName"]
        if not function.startswith("arn:"):
            function = _arn(call, "lambda", f"function:{function}")
        return [Permission("lambda:InvokeFunction", function)]
    raise Unmapped(
        f"no IAM mapping for {call.service}:{operation}; add it to deploy/iam.py `permissions`"
    )


# --- concrete ARNs -> the stage's resources ----------------------------------------------------


@dataclass(frozen=True)
class StageResources:
    """Every name the stack and Chalice give a stage's resources, to recognise and re-render."""

    stage: str
    tables: dict[str, str]  # name -> key of dynamo.MODELS
    queues: dict[str, str]  # name -> role ("events", "dead-letter")
    schedule_group: str
    scheduler_role: str
    functions: dict[str, str]  # Lambda function name -> Chalice function name

    @classmethod
    def of(cls, stage: str, table_keys, function_names) -> "StageResources":
        return cls(
            stage=stage,
            tables={infra.table_name(key, stage): key for key in table_keys},
            queues={
                infra.queue_name(stage): "events",
                infra.dead_letter_queue_name(stage): "dead-letter",
                **{outbox.queue_name(role, stage): role for role in outbox.QUEUES},
            },
            schedule_group=infra.schedule_group_name(stage),
            scheduler_role=infra.scheduler_role_name(stage),
            functions={infra.function_name(f, stage): f for f in function_names},
        )


@dataclass(frozen=True, order=True)
class Grant:
    """A permission on a stage-independent resource: re-rendered for any stage."""

    action: str
    kind: str  # table, index, schedules, queue, role, function, logs, xray
    name: str  # the key of the table, queue role, function...
    detail: str = ""  # the index name
    passed_to: str | None = None

    def resource(self, stage: str) -> str:
        if self.kind == "table":
            return stage_arn("dynamodb", f"table/{infra.table_name(self.name, stage)}")
        if self.kind == "index":
            table = infra.table_name(self.name, stage)
            return stage_arn("dynamodb", f"table/{table}/index/{self.detail}")
        if self.kind == "schedules":
            return stage_arn("scheduler", f"schedule/{infra.schedule_group_name(stage)}/*")
        if self.kind == "queue":
            if self.name == "events":
                return stage_arn("sqs", infra.queue_name(stage))
            if self.name in outbox.QUEUES:
                return stage_arn("sqs", outbox.queue_name(self.name, stage))
            return stage_arn("sqs", infra.dead_letter_queue_name(stage))
        if self.kind == "stream":
            return stage_arn("dynamodb", f"table/{infra.table_name(self.name, stage)}/stream/*")
        if self.kind == "role":
            return stage_arn("iam", f"role/{infra.scheduler_role_name(stage)}", regional=False)
        if self.kind == "function":
            return stage_arn("lambda", f"function:{infra.function_name(self.name, stage)}")
        if self.kind == "logs":
            group = f"/aws/lambda/{infra.function_name(self.name, stage)}"
            return stage_arn("logs", f"log-group:{group}:*")
        if self.kind == "xray":
            return (
                "*"  # X-Ray's write actions take no resource (the Service Authorization Reference)
            )
        raise ValueError(self.kind)


PLACEHOLDERS = ("${AWS::Partition}", "${AWS::Region}", "${AWS::AccountId}")


def stage_arn(service: str, resource: str, regional: bool = True) -> str:
    """An ARN in the stack's own partition, region and account, as CloudFormation writes them."""
    partition, region, account = PLACEHOLDERS
    return f"arn:{partition}:{service}:{region if regional else ''}:{account}:{resource}"


def resolve(document: Any, partition: str, region: str, account: str) -> Any:
    """`document` with the placeholders of `stage_arn` replaced by the real values."""
    if isinstance(document, dict):
        return {key: resolve(value, partition, region, account) for key, value in document.items()}
    if isinstance(document, list):
        return [resolve(value, partition, region, account) for value in document]
    if isinstance(document, str):
        for placeholder, value in zip(PLACEHOLDERS, (partition, region, account), strict=True):
            document = document.replace(placeholder, value)
    return document


def generalize(permission: Permission, resources: StageResources) -> Grant:
    """The stage-independent grant behind a permission on a concrete ARN."""
    arn = permission.resource
    service, resource = arn.split(":")[2], arn.split(":", 5)[5]
    action, passed_to = permission.action, permission.passed_to
    if service == "dynamodb":
        parts = resource.split("/")
        key = resources.tables.get(parts[1])
        if key is not None and len(parts) == 2:
            return Grant(action, "table", key)
        if key is not None and len(parts) == 4 and parts[2] == "index":
            return Grant(action, "index", key, parts[3])
    elif service == "scheduler":
        parts = resource.split("/")
        if parts[0] == "schedule" and parts[1] == resources.schedule_group:
            return Grant(action, "schedules", "")
    elif service == "sqs" and resource in resources.queues:
        return Grant(action, "queue", resources.queues[resource])
    elif service == "iam" and resource == f"role/{resources.scheduler_role}":
        return Grant(action, "role", "scheduler", passed_to=passed_to)
    elif service == "lambda" and resource.startswith("function:"):
        name = resource.split(":")[1]
        if name in resources.functions:
            return Grant(action, "function", resources.functions[name])
    raise UnknownResource(
        f"{action} on {arn}: not a resource of stage {resources.stage!r} "
        "(infra/resources.json creates the tables of dynamo.MODELS, the events queues, the "
        "schedule group and the scheduler role)"
    )


# --- the functions of the app and what the Lambda service does for them -------------------------


def functions(app: Chalice) -> dict[str, Any]:
    """{Chalice function name: what it is} for every Lambda function the app deploys."""
    if app.websocket_handlers or app.builtin_auth_handlers:
        raise NotImplementedError("websocket handlers and authorizers need IAM support here")
    found: dict[str, Any] = {}
    if app.routes:
        found[infra.API_HANDLER] = "api"
    for function in app.pure_lambda_functions:
        found[function.name] = "lambda"
    for source in app.event_sources:
        found[source.name] = source
    return found


def sqs_queue_name(source: SQSEventConfig) -> str:
    return source.queue or (source.queue_arn or "").rsplit(":", 1)[-1]


def implicit(function: str, kind: Any, resources: StageResources) -> set[Grant]:
    """Grants the Lambda service uses on the function's behalf: its logs (in the log group the
    stack creates), its queue polling."""
    grants = {
        Grant("logs:CreateLogStream", "logs", function),
        Grant("logs:PutLogEvents", "logs", function),
        # Active tracing (deploy/config.py): Lambda sends the function's segments with its role
        Grant("xray:PutTraceSegments", "xray", "traces"),
        Grant("xray:PutTelemetryRecords", "xray", "traces"),
    }
    if isinstance(kind, SQSEventConfig):
        queue = sqs_queue_name(kind)
        if queue not in resources.queues:
            raise UnknownResource(f"{function} consumes {queue}, not a queue of the stack")
        for action in ("sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"):
            grants.add(Grant(action, "queue", resources.queues[queue]))
    elif isinstance(kind, DynamoDBEventConfig):
        # Lambda reads the stream with the function's role, and sends what failed for good to
        # the mapping's on-failure queue with it too
        table = kind.stream_arn.split(":table/", 1)[-1].split("/", 1)[0]
        key = resources.tables.get(table)
        if key is None:
            raise UnknownResource(f"{function} reads the stream of {table}, not a stack table")
        for action in (
            "dynamodb:DescribeStream",
            "dynamodb:GetRecords",
            "dynamodb:GetShardIterator",
            "dynamodb:ListStreams",
        ):
            grants.add(Grant(action, "stream", key))
        grants.add(Grant("sqs:SendMessage", "queue", "stream-failures"))
    elif function == infra.TRANSITION_FUNCTION:
        # Lambda's on-failure destination of the asynchronous invocations Scheduler makes
        grants.add(Grant("sqs:SendMessage", "queue", "transition-failures"))
    elif kind not in ("api", "lambda") and not isinstance(kind, ScheduledEventConfig):
        raise NotImplementedError(f"{function}: no IAM support for a {type(kind).__name__}")
    return grants


def grants_by_function(
    app: Chalice, calls: dict[str, list[Call]], resources: StageResources
) -> dict[str, set[Grant]]:
    """What every function of the app needs, from its recorded calls and its implicit needs."""
    needed: dict[str, set[Grant]] = {}
    for function, kind in functions(app).items():
        grants = implicit(function, kind, resources)
        for call in calls.get(function, []):
            grants.update(generalize(p, resources) for p in permissions(call))
        needed[function] = grants
    return needed


# --- policy documents --------------------------------------------------------------------------


def policy(grants: set[Grant], stage: str) -> dict[str, Any]:
    """One statement per resource, actions sorted: a stable, reviewable document."""
    by_resource: dict[tuple, set[str]] = defaultdict(set)
    for grant in grants:
        by_resource[(grant.kind, grant.name, grant.detail, grant.passed_to)].add(grant.action)
    statements = []
    for (kind, name, detail, passed_to), actions in sorted(
        by_resource.items(), key=lambda item: tuple(str(part) for part in item[0])
    ):
        grant = Grant("", kind, name, detail, passed_to)
        statement: dict[str, Any] = {
            "Sid": _sid(kind, name, detail),
            "Effect": "Allow",
            "Action": sorted(actions),
            "Resource": grant.resource(stage),
        }
        if passed_to:
            statement["Condition"] = {"StringEquals": {"iam:PassedToService": passed_to}}
        statements.append(statement)
    return {"Version": "2012-10-17", "Statement": statements}


def _sid(kind: str, name: str, detail: str) -> str:
    words = [kind, *name.replace("-", "_").split("_"), *detail.replace("-", "_").split("_")]
    return "".join(word.capitalize() for word in words if word)


def policy_file_name(stage: str, function: str) -> str:
    return f"policy-{stage}-{function}.json"


def policy_path(stage: str, function: str) -> Path:
    return POLICY_DIR / policy_file_name(stage, function)


def statements_triples(document: dict[str, Any]) -> set[tuple[str, str, str]]:
    """(action, resource, condition) for every action on every resource of an Allow policy."""
    triples = set()
    for statement in document["Statement"]:
        if statement.get("Effect") != "Allow" or "NotAction" in statement:
            raise ValueError(f"only plain Allow statements are expected: {statement}")
        actions = statement["Action"]
        resources = statement["Resource"]
        condition = json.dumps(statement.get("Condition", {}), sort_keys=True)
        for action in [actions] if isinstance(actions, str) else actions:
            for resource in [resources] if isinstance(resources, str) else resources:
                triples.add((action, resource, condition))
    return triples


def render(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2) + "\n"


def diff(expected: dict[str, Any], actual: dict[str, Any]) -> tuple[set, set]:
    """(permissions `actual` lacks, permissions `actual` holds beyond `expected`)."""
    wanted, held = statements_triples(expected), statements_triples(actual)
    return wanted - held, held - wanted
