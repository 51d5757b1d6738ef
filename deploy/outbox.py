"""The deployed side of "the schedules follow the stored engagement" (issue 9), and the API's
own error answers.

- The engagements table's stream feeds `sync_schedules` with retries, bisection of a failing
  batch, partial batch responses, a maximum record age and an on-failure destination (an SQS
  queue: what the sweep then repairs is also there to look at).
- Every schedule's target has a dead-letter queue (Scheduler sends a firing it could not
  deliver there), and the schedule target function (`apply_transition`, invoked
  asynchronously by Scheduler) an on-failure destination.
- API Gateway answers what it refuses itself (no such route or method, throttling, its own
  errors) as Herald's `{"Code", "Message"}` through gateway responses.

`resources` adds the queues and outputs to infra/resources.json; `finish_package` sets the
mapping, the invoke config and the gateway responses in the packaged SAM template; `Configure`
does the same on the deploy path, after `chalice deploy`.
"""

from typing import Any

from deploy import infra

STREAM_FUNCTION = "sync_schedules"
SWEEP_FUNCTION = "sweep_schedules"
STREAM_MAX_RETRIES = 10  # chalicelib/local/stream.py MAX_RETRIES: the local run does the same
STREAM_MAX_RECORD_AGE_SECONDS = 24 * 3600
TRANSITION_ASYNC_RETRIES = 2
FAILURE_RETENTION_SECONDS = 14 * 24 * 3600
STREAM_ARN_ENV = "HERALD_ENGAGEMENTS_STREAM_ARN"
SCHEDULER_DLQ_ENV = "HERALD_SCHEDULER_DLQ_ARN"

# role -> (logical id, name suffix)
QUEUES = {
    "stream-failures": ("SchedulesStreamFailures", "schedules-stream-failures"),
    "scheduler-dead-letter": ("SchedulerDeadLetterQueue", "scheduler-dlq"),
    "transition-failures": ("TransitionFailures", "transition-failures"),
}


def queue_name(role: str, stage: str = "${Stage}") -> str:
    return f"{infra.stage_prefix(stage)}-{QUEUES[role][1]}"


def queue_arn(role: str) -> dict[str, Any]:
    return {"Fn::GetAtt": [QUEUES[role][0], "Arn"]}


def resources(add: dict[str, Any], output) -> None:
    """The failure queues, and the outputs the functions read (the stream, the Scheduler DLQ)."""
    for role, (logical_id, _suffix) in QUEUES.items():
        add[logical_id] = {
            "Type": "AWS::SQS::Queue",
            "Properties": {
                "QueueName": {"Fn::Sub": queue_name(role)},
                "MessageRetentionPeriod": FAILURE_RETENTION_SECONDS,
                "SqsManagedSseEnabled": True,
                "Tags": [
                    {"Key": "app", "Value": infra.APP_NAME},
                    {"Key": "stage", "Value": {"Ref": "Stage"}},
                ],
            },
        }
    output(
        STREAM_ARN_ENV,
        {"Fn::GetAtt": [infra.table_logical_id("engagements"), "StreamArn"]},
        "the engagements table's stream, which the schedules follow",
    )
    output(
        SCHEDULER_DLQ_ENV,
        queue_arn("scheduler-dead-letter"),
        "where Scheduler puts a firing it could not deliver",
    )


def scheduler_dead_letter_statement() -> dict[str, Any]:
    """What the scheduler role needs to send an undeliverable firing to the DLQ."""
    return {
        "Effect": "Allow",
        "Action": "sqs:SendMessage",
        "Resource": queue_arn("scheduler-dead-letter"),
    }


def stream_mapping() -> dict[str, Any]:
    """The stream event source mapping's failure handling (SAM names; the deploy path too)."""
    return {
        "MaximumRetryAttempts": STREAM_MAX_RETRIES,
        "MaximumRecordAgeInSeconds": STREAM_MAX_RECORD_AGE_SECONDS,
        "BisectBatchOnFunctionError": True,
        "FunctionResponseTypes": ["ReportBatchItemFailures"],
    }


GATEWAY_RESPONSES = {
    # API Gateway's answer to a route or method it does not have: a 404 as the local run gives
    "MISSING_AUTHENTICATION_TOKEN": (
        "404",
        '{"Code": "NotFoundError", "Message": "no route $context.httpMethod $context.path"}',
    ),
    "DEFAULT_4XX": (
        None,
        '{"Code": "$context.error.responseType", "Message": $context.error.messageString}',
    ),
    "DEFAULT_5XX": (
        None,
        '{"Code": "$context.error.responseType", "Message": $context.error.messageString}',
    ),
}


def gateway_response_resources(rest_api: Any) -> dict[str, Any]:
    found = {}
    for kind, (status, template) in GATEWAY_RESPONSES.items():
        properties: dict[str, Any] = {
            "RestApiId": rest_api,
            "ResponseType": kind,
            "ResponseTemplates": {"application/json": template},
            "ResponseParameters": {
                "gatewayresponse.header.Content-Type": "'application/json'",
            },
        }
        if status:
            properties["StatusCode"] = status
        logical = "GatewayResponse" + "".join(p.title() for p in kind.split("_"))
        found[logical] = {"Type": "AWS::ApiGateway::GatewayResponse", "Properties": properties}
    return found


def finish_package(sam: dict[str, Any], function_logical_id) -> dict[str, Any]:
    """The stream events of the packaged template read the stack's table stream with the
    mapping above; the transition gets its on-failure destination; the API its gateway
    responses."""
    stream_arn = {"Fn::GetAtt": [infra.table_logical_id("engagements"), "StreamArn"]}
    for resource in sam["Resources"].values():
        if resource.get("Type") != "AWS::Serverless::Function":
            continue
        for event in resource["Properties"].get("Events", {}).values():
            if event.get("Type") != "DynamoDB":
                continue
            event["Properties"]["Stream"] = stream_arn
            event["Properties"].update(stream_mapping())
            event["Properties"]["DestinationConfig"] = {
                "OnFailure": {"Type": "SQS", "Destination": queue_arn("stream-failures")}
            }
    transition = function_logical_id(infra.TRANSITION_FUNCTION)
    if transition in sam["Resources"]:
        sam["Resources"]["TransitionInvokeConfig"] = {
            "Type": "AWS::Lambda::EventInvokeConfig",
            "Properties": {
                "FunctionName": {"Ref": transition},
                "Qualifier": "$LATEST",
                "MaximumRetryAttempts": TRANSITION_ASYNC_RETRIES,
                "DestinationConfig": {
                    "OnFailure": {"Destination": queue_arn("transition-failures")}
                },
            },
        }
    if "RestAPI" in sam["Resources"]:
        sam["Resources"].update(gateway_response_resources({"Ref": "RestAPI"}))
    return sam


class Configure:
    """The deploy path's equivalent of finish_package, after `chalice deploy`."""

    def __init__(self, session, stage: str, variables: dict[str, str], log=print):
        self._lambda = session.client("lambda")
        self._apigateway = session.client("apigateway")
        self._sqs = session.client("sqs")
        self._stage = stage
        self._variables = variables
        self._log = log

    def _queue_arn(self, role: str) -> str:
        url = self._sqs.get_queue_url(QueueName=queue_name(role, self._stage))["QueueUrl"]
        attributes = self._sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
        return attributes["Attributes"]["QueueArn"]

    def stream_mappings(self, mappings: list[dict[str, Any]]) -> list[str]:
        changed = []
        for mapping in mappings:
            self._lambda.update_event_source_mapping(
                UUID=mapping["UUID"],
                DestinationConfig={
                    "OnFailure": {"Destination": self._queue_arn("stream-failures")}
                },
                **stream_mapping(),
            )
            changed.append(mapping["UUID"])
            self._log(f"stream mapping {mapping['UUID']}: retries, bisection, on-failure queue")
        return changed

    def transition_invoke_config(self) -> None:
        self._lambda.put_function_event_invoke_config(
            FunctionName=infra.function_name(infra.TRANSITION_FUNCTION, self._stage),
            MaximumRetryAttempts=TRANSITION_ASYNC_RETRIES,
            DestinationConfig={
                "OnFailure": {"Destination": self._queue_arn("transition-failures")}
            },
        )
        self._log("schedule target: on-failure destination set")

    def gateway_responses(self, rest_api_id: str | None) -> None:
        if not rest_api_id:
            self._log("no REST API deployed: no gateway responses to set")
            return
        for kind, (status, template) in GATEWAY_RESPONSES.items():
            request: dict[str, Any] = {
                "restApiId": rest_api_id,
                "responseType": kind,
                "responseTemplates": {"application/json": template},
                "responseParameters": {"gatewayresponse.header.Content-Type": "'application/json'"},
            }
            if status:
                request["statusCode"] = status
            self._apigateway.put_gateway_response(**request)
        self._log(f"API {rest_api_id}: gateway responses answer {{Code, Message}}")
