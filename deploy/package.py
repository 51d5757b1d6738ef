"""`make package STAGE=prod`: one deployable SAM template with the resources, the functions and
the API, in build/<stage>/sam.json (with deployment.zip next to it).

`chalice package --merge-template` deep-merges a template into the one Chalice generates (the
merge template wins on every non-object value). The merge template is built here from
infra/resources.json: its Parameters, Resources and Outputs, plus, for every function, its
name (as `chalice deploy` names it, so the policy files match both paths) and its environment
variables, set to the very expressions of the resources template's Outputs, so the functions
read the names of the resources created in the same stack. The root key hash is a NoEcho
parameter.

The operations side (deploy/operations.py): every function depends on its log group (so
Lambda never creates one without a retention); the consumer and the schedules' target reserve
their concurrency; the API is titled `herald-<stage>` (its metrics' ApiName), throttled (tighter
on the client-key routes), writes access logs and is traced by X-Ray, like the functions.

Chalice cannot set FunctionResponseTypes on an SQS event, and names its queue by a literal ARN;
`finish` turns on ReportBatchItemFailures on every SQS event, bounds its concurrency and points it
at the stack's queue, and makes the policies' `${AWS::...}` placeholders `Fn::Sub`s.
"""

import copy
import json
import os
from pathlib import Path
from typing import Any

from chalice import Chalice
from chalice.utils import to_cfn_resource_name

from chalicelib import websdk
from deploy import iam, infra, operations, outbox, vendor
from deploy.stack import Runner, chalice_command, run_command

ROOT_KEY_HASH_PARAMETER = "RootKeyHash"


def function_logical_id(function: str) -> str:
    """The resource `chalice package` gives a function (the API handler is special-cased)."""
    return "APIHandler" if function == infra.API_HANDLER else to_cfn_resource_name(function)


def environment(template: dict[str, Any]) -> dict[str, Any]:
    """Every variable the functions get in a packaged stack, as CloudFormation expressions."""
    variables = {
        env_name: template["Outputs"][key]["Value"]
        for env_name, key in infra.environment_variables(template).items()
    }
    variables["HERALD_STAGE"] = {"Ref": "Stage"}
    variables["HERALD_ROOT_KEY_HASH"] = {"Ref": ROOT_KEY_HASH_PARAMETER}
    return variables


def merge_template(app: Chalice, stage: str, template: dict[str, Any]) -> dict[str, Any]:
    merged = copy.deepcopy(template)
    merged.pop("AWSTemplateFormatVersion", None)
    merged["Description"] = f"Herald, stage {stage}: resources, functions and API."
    merged["Parameters"]["Stage"].update(Default=stage, AllowedValues=[stage])
    merged["Parameters"][ROOT_KEY_HASH_PARAMETER] = {
        "Type": "String",
        "NoEcho": True,
        "AllowedPattern": "^[0-9a-f]{64}$",
        "Description": "SHA-256 (hex) of the root key: python -m deploy root-key",
    }
    merged["Conditions"].update(operations.RESERVATION_CONDITIONS)
    variables = environment(template)
    for function, kind in iam.functions(app).items():
        properties: dict[str, Any] = {
            "FunctionName": {"Fn::Sub": infra.function_name(function)},
            "Environment": {"Variables": variables},
        }
        reservation = operations.reservation(function, kind)
        if reservation:
            properties["ReservedConcurrentExecutions"] = {
                "Fn::If": [
                    operations.RESERVATIONS[reservation],
                    {"Ref": reservation},
                    {"Ref": "AWS::NoValue"},
                ]
            }
        merged["Resources"][function_logical_id(function)] = {
            "DependsOn": [operations.log_group_id(function)],
            "Properties": properties,
        }
    if app.routes:
        merged["Resources"]["RestAPI"] = rest_api(app, stage)
    return merged


def rest_api(app: Chalice, stage: str) -> dict[str, Any]:
    """The API's name, stage throttling and access logs (merged into Chalice's RestAPI)."""
    settings = [
        _throttle("/*", "*", "ApiRateLimit", "ApiBurstLimit"),
        *(
            _throttle(
                operations.method_setting_path(path), method, "ClientRateLimit", "ClientBurstLimit"
            )
            for method, path in operations.client_routes(app)
        ),
    ]
    return {
        "DependsOn": ["ApiGatewayAccount"],
        "Properties": {
            "DefinitionBody": {"info": {"title": operations.api_name(stage)}},
            "MethodSettings": settings,
            "TracingEnabled": True,  # X-Ray (Chalice traces the functions, not the SAM API)
            "AccessLogSetting": {
                "DestinationArn": {"Fn::GetAtt": ["ApiAccessLogGroup", "Arn"]},
                "Format": operations.ACCESS_LOG_FORMAT,
            },
        },
    }


def _throttle(path: str, method: str, rate: str, burst: str) -> dict[str, Any]:
    return {
        "ResourcePath": path,
        "HttpMethod": method,
        "ThrottlingRateLimit": {"Ref": rate},
        "ThrottlingBurstLimit": {"Ref": burst},
    }


def finish(sam: dict[str, Any], stage: str) -> dict[str, Any]:
    """Partial batch responses on every SQS event, reading the stack's own events queue."""
    sam = copy.deepcopy(sam)
    ours = "arn:${AWS::Partition}:sqs:${AWS::Region}:${AWS::AccountId}:" + infra.queue_name(stage)
    for name, resource in sam["Resources"].items():
        if resource.get("Type") != "AWS::Serverless::Function":
            continue
        for event_name, event in resource["Properties"].get("Events", {}).items():
            if event.get("Type") != "SQS":
                continue
            queue = event["Properties"]["Queue"]
            if queue != {"Fn::Sub": ours}:
                raise ValueError(f"{name}.{event_name} reads {queue}, not the stack's events queue")
            event["Properties"]["Queue"] = {"Fn::GetAtt": ["EventsQueue", "Arn"]}
            event["Properties"]["FunctionResponseTypes"] = ["ReportBatchItemFailures"]
            event["Properties"]["ScalingConfig"] = {
                "MaximumConcurrency": {"Ref": "EventsMaximumConcurrency"}
            }
    for resource in sam["Resources"].values():
        if resource.get("Type") == "AWS::IAM::Role" and "Policies" in resource["Properties"]:
            resource["Properties"]["Policies"] = substituted(resource["Properties"]["Policies"])
    return outbox.finish_package(sam, function_logical_id)


def substituted(document: Any) -> Any:
    """`document` with every plain string holding a `${AWS::...}` placeholder made an Fn::Sub
    (the policy files' ARNs, deploy/iam.py `stage_arn`); intrinsic functions are left as they
    are."""
    if isinstance(document, dict):
        if len(document) == 1 and next(iter(document)).startswith(("Fn::", "Ref")):
            return document
        return {key: substituted(value) for key, value in document.items()}
    if isinstance(document, list):
        return [substituted(value) for value in document]
    if isinstance(document, str) and "${AWS::" in document:
        return {"Fn::Sub": document}
    return document


def package(
    app: Chalice,
    stage: str,
    output_dir: Path,
    project_dir: Path = infra.PROJECT_DIR,
    template: dict[str, Any] | None = None,
    runner: Runner = run_command,
) -> Path:
    """Write output_dir/sam.json (and deployment.zip); returns the template's path."""
    template = template or infra.load()
    output_dir = output_dir.resolve()
    output_dir.mkdir(parents=True, exist_ok=True)
    merge_path = output_dir.parent / f"{stage}-merge.json"
    merge_path.write_text(json.dumps(merge_template(app, stage, template), indent=2))
    env = {
        # what app.py reads at import time (e.g. a consumer's queue name) must be this stage's
        **infra.resolve_outputs(template, stage, "us-east-1", "123456789012"),
        "HERALD_STAGE": stage,
        "AWS_DEFAULT_REGION": os.environ.get("AWS_DEFAULT_REGION", "us-east-1"),
    }
    vendor.vendor(project_dir)
    with websdk.staged(project_dir):  # Chalice ships chalicelib/, not sdk/web
        runner(
            [
                chalice_command(),
                "--project-dir",
                str(project_dir),
                "package",
                "--stage",
                stage,
                "--merge-template",
                str(merge_path),
                str(output_dir),
            ],
            env,
        )
    sam_path = output_dir / "sam.json"
    sam_path.write_text(json.dumps(finish(json.loads(sam_path.read_text()), stage), indent=2))
    return sam_path
