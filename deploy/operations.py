"""What operators need around the functions, generated with the resources (docs/OPERATIONS.md):

- a log group per Lambda function of the app (named as Lambda names it) and one for the API's
  access logs, all with the `LogRetentionDays` retention;
- the API Gateway account's CloudWatch role, which access logging requires;
- alarms, sent to the `AlarmTopicArn` SNS topic: every dead-letter queue (an SQS queue whose
  logical id ends with `DeadLetterQueue`) not empty, the age of
  the oldest queued event, every background function's errors, every function's throttles, the
  API's 5xx rate, DynamoDB throttles;
- a dashboard of Herald's own metrics (chalicelib/observability.py) and of the services';
- the parameters that bound throughput, which `make deploy` applies through the API and
  `make package` writes into the functions, the API stage and the SQS mapping.

Everything derives from the app's functions and the resources already in the template, so a new
function or dead-letter queue gets its log group and alarms from `make infra`.
"""

import json
from typing import Any

from chalice.app import DynamoDBEventConfig, ScheduledEventConfig, SQSEventConfig

from chalicelib import observability
from deploy import infra

API_GATEWAY_STAGE = "api"  # api_gateway_stage of every stage in .chalice/config.json
RETENTION_DAYS = [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827]
OLDEST_EVENT_SECONDS = 900  # events wait this long only when the consumer cannot keep up
API_5XX_RATE = 0.01  # of requests, over five minutes
ALARM_PERIOD_SECONDS = 300
TABLES_PER_THROTTLE_ALARM = 4  # 2 metrics each + their sum: within an alarm's 10 metrics

# Throughput parameters: (name, default, description); the client routes' limits are tighter
# than the stage's, because anyone holding an app's public client key can call them.
PARAMETERS: dict[str, dict[str, Any]] = {
    "LogRetentionDays": {
        "Type": "Number",
        "Default": 30,
        "AllowedValues": RETENTION_DAYS,
        "Description": "Days every log group of the stage keeps its logs",
    },
    "AlarmTopicArn": {
        "Type": "String",
        "Default": "",
        "AllowedPattern": r"^(arn:aws[a-z-]*:sns:[a-z0-9-]+:[0-9]{12}:[A-Za-z0-9_.-]{1,256})?$",
        "Description": "SNS topic the alarms notify (empty: alarms without notifications)",
    },
    "ApiRateLimit": {
        "Type": "Number",
        "Default": 100,
        "MinValue": 1,
        "Description": "Requests per second the API stage serves (steady rate), every route",
    },
    "ApiBurstLimit": {
        "Type": "Number",
        "Default": 200,
        "MinValue": 1,
        "Description": "Requests the API stage serves in a burst, every route",
    },
    "ClientRateLimit": {
        "Type": "Number",
        "Default": 50,
        "MinValue": 1,
        "Description": "Requests per second of each client-key route (devices, fetch, events)",
    },
    "ClientBurstLimit": {
        "Type": "Number",
        "Default": 100,
        "MinValue": 1,
        "Description": "Burst of each client-key route",
    },
    "ConsumerReservedConcurrency": {
        "Type": "Number",
        "Default": 10,
        "MinValue": 0,
        "Description": "Concurrency reserved for the events consumer (0: none reserved)",
    },
    "ScheduleTargetReservedConcurrency": {
        "Type": "Number",
        "Default": 2,
        "MinValue": 0,
        "Description": "Concurrency reserved for the schedules' target (0: none reserved)",
    },
    "StreamReservedConcurrency": {
        "Type": "Number",
        "Default": 2,
        "MinValue": 0,
        "Description": "Concurrency reserved for the engagements stream's function, which keeps "
        "the schedules in step (one invocation per stream shard; 0: none reserved)",
    },
    "SweepReservedConcurrency": {
        "Type": "Number",
        "Default": 1,
        "MinValue": 0,
        "Description": "Concurrency reserved for the schedules' sweep (1: one sweep at a time; "
        "0: none reserved)",
    },
    "EventsMaximumConcurrency": {
        "Type": "Number",
        "Default": 5,
        "MinValue": 2,
        "MaxValue": 1000,
        "Description": "Most consumer invocations the events queue's mapping runs at once "
        "(keep it at most ConsumerReservedConcurrency, or consumers get throttled)",
    },
    "ApiGatewayLogsRoleArn": {
        "Type": "String",
        "Default": "",
        "AllowedPattern": r"^(arn:aws[a-z-]*:iam::[0-9]{12}:role/[A-Za-z0-9+=,.@_/-]+)?$",
        "Description": "An existing role API Gateway writes logs with (empty: the stack makes "
        "one); the region's API Gateway account setting is set to it",
    },
}

# Which reserved-concurrency parameter a function gets, by what it is.
CONSUMER_RESERVATION = "ConsumerReservedConcurrency"
TARGET_RESERVATION = "ScheduleTargetReservedConcurrency"
STREAM_RESERVATION = "StreamReservedConcurrency"
SWEEP_RESERVATION = "SweepReservedConcurrency"
RESERVATIONS = {
    CONSUMER_RESERVATION: "ReserveConsumer",
    TARGET_RESERVATION: "ReserveTarget",
    STREAM_RESERVATION: "ReserveStream",
    SWEEP_RESERVATION: "ReserveSweep",
}

CONDITIONS = {
    "HasAlarmTopic": {"Fn::Not": [{"Fn::Equals": [{"Ref": "AlarmTopicArn"}, ""]}]},
    "MakeApiGatewayLogsRole": {"Fn::Equals": [{"Ref": "ApiGatewayLogsRoleArn"}, ""]},
}
# Used by the functions, so only in the packaged template (package.py).
RESERVATION_CONDITIONS = {
    condition: {"Fn::Not": [{"Fn::Equals": [{"Ref": parameter}, 0]}]}
    for parameter, condition in RESERVATIONS.items()
}

ACCESS_LOG_FORMAT = json.dumps(
    {
        "requestId": "$context.requestId",
        "requestTime": "$context.requestTimeEpoch",
        "ip": "$context.identity.sourceIp",
        "method": "$context.httpMethod",
        "route": "$context.resourcePath",
        "status": "$context.status",
        "latencyMs": "$context.responseLatency",
        "integrationLatencyMs": "$context.integrationLatency",
        "responseLength": "$context.responseLength",
        "error": "$context.error.message",
    },
    separators=(",", ":"),
)


def logical_id(function: str) -> str:
    return "".join(part.capitalize() for part in function.split("_"))


def log_group_id(function: str) -> str:
    return f"{logical_id(function)}LogGroup"


def log_group_name(function: str, stage: str = "${Stage}") -> str:
    return f"/aws/lambda/{infra.function_name(function, stage)}"


def api_name(stage: str = "${Stage}") -> str:
    """The REST API's name (`make deploy` renames Chalice's API to it; `make package` titles
    it so), which its CloudWatch metrics carry as ApiName."""
    return infra.stage_prefix(stage)


def access_log_group_name(stage: str = "${Stage}") -> str:
    return f"/aws/apigateway/{infra.stage_prefix(stage)}-access"


def client_routes(app: Any) -> list[tuple[str, str]]:
    """(method, path) of every route of the app that takes the public client key."""
    from chalicelib.api import openapi

    found = []
    for path, methods in sorted(app.routes.items()):
        for method in sorted(methods):
            described = openapi.OPERATIONS.get((method, path))
            if described is not None and described.auth == openapi.CLIENT:
                found.append((method, path))
    return found


def method_setting_path(path: str) -> str:
    """A route's path as API Gateway's method settings spell it: /v1/apps -> /~1v1~1apps."""
    return "/" + path.replace("/", "~1")


def reservation(function: str, kind: Any) -> str | None:
    """The parameter reserving the function's concurrency, if it gets one."""
    if isinstance(kind, SQSEventConfig):
        return CONSUMER_RESERVATION
    if function == infra.TRANSITION_FUNCTION:
        return TARGET_RESERVATION
    if isinstance(kind, DynamoDBEventConfig):
        return STREAM_RESERVATION
    if isinstance(kind, ScheduledEventConfig):
        return SWEEP_RESERVATION
    return None


def _sub(text: str) -> dict[str, str]:
    return {"Fn::Sub": text}


def _alarm(description: str, metric: dict[str, Any], threshold: float) -> dict[str, Any]:
    actions = {"Fn::If": ["HasAlarmTopic", [{"Ref": "AlarmTopicArn"}], {"Ref": "AWS::NoValue"}]}
    return {
        "Type": "AWS::CloudWatch::Alarm",
        "Properties": {
            "AlarmDescription": description,
            "ComparisonOperator": "GreaterThanThreshold",
            "Threshold": threshold,
            "EvaluationPeriods": 1,
            "TreatMissingData": "notBreaching",
            "AlarmActions": actions,
            "OKActions": actions,
            **metric,
        },
    }


def _metric(namespace: str, name: str, statistic: str, **dimensions: Any) -> dict[str, Any]:
    return {
        "Namespace": namespace,
        "MetricName": name,
        "Statistic": statistic,
        "Period": ALARM_PERIOD_SECONDS,
        "Dimensions": [{"Name": key, "Value": value} for key, value in dimensions.items()],
    }


def alarm_name(resource_id: str) -> dict[str, str]:
    return _sub(f"{infra.stage_prefix()}-{resource_id.removesuffix('Alarm')}")


def _named(alarms: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    for resource_id, alarm in alarms.items():
        alarm["Properties"]["AlarmName"] = alarm_name(resource_id)
    return alarms


def alarms(resources: dict[str, Any], functions: dict[str, Any]) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for resource_id, resource in resources.items():
        if resource["Type"] == "AWS::SQS::Queue" and resource_id.endswith("DeadLetterQueue"):
            queue = {"Fn::GetAtt": [resource_id, "QueueName"]}
            found[f"{resource_id}NotEmptyAlarm"] = _alarm(
                f"{resource_id} holds messages that failed every retry: see docs/OPERATIONS.md",
                _metric(
                    "AWS/SQS", "ApproximateNumberOfMessagesVisible", "Maximum", QueueName=queue
                ),
                0,
            )
    found["OldestEventAlarm"] = _alarm(
        f"An event has waited over {OLDEST_EVENT_SECONDS} s in the events queue: the consumer "
        "is failing, throttled or too slow",
        _metric(
            "AWS/SQS",
            "ApproximateAgeOfOldestMessage",
            "Maximum",
            QueueName={"Fn::GetAtt": ["EventsQueue", "QueueName"]},
        ),
        OLDEST_EVENT_SECONDS,
    )
    for function in sorted(functions):
        name = _sub(infra.function_name(function))
        if function != infra.API_HANDLER:  # the API answers errors itself: see Api5xxAlarm
            found[f"{logical_id(function)}ErrorsAlarm"] = _alarm(
                f"{function} failed an invocation",
                _metric("AWS/Lambda", "Errors", "Sum", FunctionName=name),
                0,
            )
        found[f"{logical_id(function)}ThrottlesAlarm"] = _alarm(
            f"{function} was throttled: its concurrency (reserved or the account's) ran out",
            _metric("AWS/Lambda", "Throttles", "Sum", FunctionName=name),
            0,
        )
    found["Api5xxAlarm"] = _alarm(
        f"Over {API_5XX_RATE:.0%} of API requests failed with a 5xx",
        _metric(
            "AWS/ApiGateway",
            "5XXError",
            "Average",
            ApiName=_sub(api_name()),
            Stage=API_GATEWAY_STAGE,
        ),
        API_5XX_RATE,
    )
    tables = sorted(k for k, r in resources.items() if r["Type"] == "AWS::DynamoDB::Table")
    for number, start in enumerate(range(0, len(tables), TABLES_PER_THROTTLE_ALARM), 1):
        group = tables[start : start + TABLES_PER_THROTTLE_ALARM]
        found[f"DynamoDbThrottles{number}Alarm"] = _alarm(
            f"DynamoDB throttled requests to {', '.join(group)}",
            {"Metrics": _throttle_queries(group)},
            0,
        )
    return _named(found)


def _throttle_queries(tables: list[str]) -> list[dict[str, Any]]:
    queries = []
    for index, table in enumerate(tables):
        for kind in ("Read", "Write"):
            queries.append(
                {
                    "Id": f"{kind.lower()}{index}",
                    "ReturnData": False,
                    "MetricStat": {
                        "Metric": {
                            "Namespace": "AWS/DynamoDB",
                            "MetricName": f"{kind}ThrottleEvents",
                            "Dimensions": [{"Name": "TableName", "Value": {"Ref": table}}],
                        },
                        "Period": ALARM_PERIOD_SECONDS,
                        "Stat": "Sum",
                    },
                }
            )
    queries.append(
        {"Id": "throttled", "Expression": "SUM(METRICS())", "Label": "throttled requests"}
    )
    return queries


def log_groups(functions: dict[str, Any]) -> dict[str, dict[str, Any]]:
    groups = {
        log_group_id(function): _log_group(_sub(log_group_name(function)))
        for function in sorted(functions)
    }
    groups["ApiAccessLogGroup"] = _log_group(_sub(access_log_group_name()))
    return groups


def _log_group(name: dict[str, str]) -> dict[str, Any]:
    return {
        "Type": "AWS::Logs::LogGroup",
        "Properties": {"LogGroupName": name, "RetentionInDays": {"Ref": "LogRetentionDays"}},
    }


def api_gateway_account() -> dict[str, dict[str, Any]]:
    return {
        "ApiGatewayLogsRole": {
            "Type": "AWS::IAM::Role",
            "Condition": "MakeApiGatewayLogsRole",
            "Properties": {
                "Description": "Lets API Gateway write the access logs to CloudWatch Logs",
                "AssumeRolePolicyDocument": {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Principal": {"Service": "apigateway.amazonaws.com"},
                            "Action": "sts:AssumeRole",
                        }
                    ],
                },
                "ManagedPolicyArns": [
                    _sub(
                        "arn:${AWS::Partition}:iam::aws:policy/service-role/"
                        "AmazonAPIGatewayPushToCloudWatchLogs"
                    )
                ],
            },
        },
        "ApiGatewayAccount": {
            "Type": "AWS::ApiGateway::Account",
            "Properties": {
                "CloudWatchRoleArn": {
                    "Fn::If": [
                        "MakeApiGatewayLogsRole",
                        {"Fn::GetAtt": ["ApiGatewayLogsRole", "Arn"]},
                        {"Ref": "ApiGatewayLogsRoleArn"},
                    ]
                }
            },
        },
    }


# --- the dashboard -----------------------------------------------------------------------------


def _widget(title: str, metrics: list[list[Any]], x: int, y: int) -> dict[str, Any]:
    return {
        "type": "metric",
        "x": x,
        "y": y,
        "width": 12,
        "height": 6,
        "properties": {
            "title": title,
            "region": "${AWS::Region}",
            "stat": "Sum",
            "period": ALARM_PERIOD_SECONDS,
            "view": "timeSeries",
            "metrics": metrics,
        },
    }


def _search(metric: observability.MetricSpec, index: int) -> list[Any]:
    """Every series of one of Herald's metrics in the stage (summed per dimension set)."""
    dimensions = ",".join(sorted(("stage", *metric.dimensions)))
    query = (
        f'SEARCH(\'{{{observability.NAMESPACE},{dimensions}}} MetricName="{metric.name}" '
        f"stage=\"${{Stage}}\"', 'Sum', {ALARM_PERIOD_SECONDS})"
    )
    return [{"expression": query, "id": f"h{index}", "label": metric.name}]


LIMITS_TEXT = "\n".join(
    [
        "## Limits of this stage (stack parameters; docs/OPERATIONS.md)",
        "- API stage: ${ApiRateLimit} requests/s, bursts of ${ApiBurstLimit}",
        "- each client-key route: ${ClientRateLimit} requests/s, bursts of ${ClientBurstLimit}",
        "- reserved concurrency: consumer ${ConsumerReservedConcurrency}, "
        "schedules' target ${ScheduleTargetReservedConcurrency}, "
        "stream ${StreamReservedConcurrency}, sweep ${SweepReservedConcurrency} (0: none)",
        "- events queue mapping: at most ${EventsMaximumConcurrency} consumers at once",
        "- logs kept ${LogRetentionDays} days",
    ]
)


def dashboard(functions: dict[str, Any]) -> dict[str, Any]:
    herald = list(observability.METRICS.values())
    widgets = []
    per_row = 3
    for start in range(0, len(herald), per_row):
        group = herald[start : start + per_row]
        title = ", ".join(metric.name for metric in group)
        metrics = [_search(metric, start + offset) for offset, metric in enumerate(group)]
        widgets.append(_widget(title, metrics, 12 * (len(widgets) % 2), 6 * (len(widgets) // 2)))
    names = [infra.function_name(function) for function in sorted(functions)]
    for title, metric in (
        ("Lambda errors", "Errors"),
        ("Lambda throttles", "Throttles"),
        ("Lambda duration (p99)", "Duration"),
    ):
        series = [["AWS/Lambda", metric, "FunctionName", name] for name in names]
        if metric == "Duration":
            series = [[*line, {"stat": "p99"}] for line in series]
        widgets.append(_widget(title, series, 12 * (len(widgets) % 2), 6 * (len(widgets) // 2)))
    api = ["AWS/ApiGateway", None, "ApiName", api_name(), "Stage", API_GATEWAY_STAGE]
    widgets.append(
        _widget(
            "API requests and errors",
            [[api[0], metric, *api[2:]] for metric in ("Count", "4XXError", "5XXError")],
            12 * (len(widgets) % 2),
            6 * (len(widgets) // 2),
        )
    )
    queue = infra.queue_name()
    widgets.append(
        _widget(
            "Events queue",
            [
                ["AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", queue],
                [
                    "AWS/SQS",
                    "ApproximateAgeOfOldestMessage",
                    "QueueName",
                    queue,
                    {"stat": "Maximum"},
                ],
                [
                    "AWS/SQS",
                    "ApproximateNumberOfMessagesVisible",
                    "QueueName",
                    infra.dead_letter_queue_name(),
                ],
            ],
            12 * (len(widgets) % 2),
            6 * (len(widgets) // 2),
        )
    )
    widgets.append(
        {
            "type": "text",
            "x": 12 * (len(widgets) % 2),
            "y": 6 * (len(widgets) // 2),
            "width": 12,
            "height": 6,
            "properties": {"markdown": LIMITS_TEXT},
        }
    )
    body = json.dumps({"widgets": widgets}, separators=(",", ":"))
    return {
        "Type": "AWS::CloudWatch::Dashboard",
        "Properties": {"DashboardName": _sub(infra.stage_prefix()), "DashboardBody": _sub(body)},
    }


def add_to(template: dict[str, Any], functions: dict[str, Any]) -> dict[str, Any]:
    """`template` with the parameters, conditions, log groups, alarms and dashboard."""
    resources = template["Resources"]
    template["Parameters"].update(PARAMETERS)
    template.setdefault("Conditions", {}).update(CONDITIONS)
    operations = {
        **log_groups(functions),
        **api_gateway_account(),
        **alarms(resources, functions),
        "Dashboard": dashboard(functions),
    }
    clash = set(operations) & set(resources)
    if clash:
        raise ValueError(f"resources {sorted(clash)} are already in the template")
    resources.update(operations)
    return template
