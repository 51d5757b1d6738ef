"""`make deploy STAGE=dev` and `make destroy STAGE=dev`: the `chalice deploy` path.

1. Create or update the stage's resources stack (infra/resources.json) with boto3 and wait.
2. Write the stack's outputs into the stage's `environment_variables` in .chalice/config.json.
3. Run `chalice deploy --stage <stage>` (the runner is injectable: the tests record the call).
   The root key hash goes to the functions too, but is never left in config.json: it is written
   for the duration of `chalice deploy` only, then taken out again.
   The policy files hold `${AWS::Partition}`, `${AWS::Region}` and `${AWS::AccountId}`
   (deploy/iam.py): for the duration of `chalice deploy` they hold the stack's own values.
4. Turn on ReportBatchItemFailures on every SQS event source mapping of the stage's functions
   (`chalice deploy` cannot), so one bad message does not make Lambda retry a whole batch, and
   bound the mapping's concurrency (EventsMaximumConcurrency).
5. Apply the stack's operations parameters that `chalice deploy` cannot (deploy/operations.py):
   reserved concurrency of the consumer, the schedules' target, the stream function and the
   sweep; the REST API's name (`herald-<stage>`, its metrics' ApiName), stage throttling
   (tighter on the client-key routes) and access logs.
Stack parameters are given with `--parameter Key=Value` (`make deploy PARAMETERS="..."`); an
update keeps the values of the parameters not given.
"""

import json
import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
from botocore.exceptions import ClientError
from chalice import Chalice
from chalice.app import DynamoDBEventConfig, SQSEventConfig

from chalicelib import websdk
from chalicelib.domain import keys
from deploy import config, iam, infra, operations, outbox, vendor

ROOT_KEY_HASH_ENV = "HERALD_ROOT_KEY_HASH"
STACK_CAPABILITIES = ["CAPABILITY_NAMED_IAM"]  # the scheduler role has a fixed name
BATCH_ITEM_FAILURES = "ReportBatchItemFailures"

Runner = Callable[[list[str], dict[str, str]], None]


class DeployError(Exception):
    pass


def stack_place(stack: dict[str, Any]) -> tuple[str, str, str]:
    """(partition, region, account) of a stack, from its id (an ARN)."""
    _arn, partition, _service, region, account, _rest = stack["StackId"].split(":", 5)
    return partition, region, account


def stack_parameters(stack: dict[str, Any]) -> dict[str, str]:
    return {p["ParameterKey"]: p["ParameterValue"] for p in stack.get("Parameters", [])}


def run_command(argv: list[str], env: dict[str, str]) -> None:
    subprocess.run(argv, check=True, cwd=infra.PROJECT_DIR, env={**os.environ, **env})


def chalice_command() -> str:
    """The `chalice` script of the running Python's environment."""
    return str(Path(sys.executable).parent / "chalice")


def stack_name(stage: str) -> str:
    return f"{infra.stage_prefix(stage)}-resources"


@dataclass
class Deployer:
    stage: str
    session: boto3.Session
    app: Chalice
    runner: Runner = run_command
    config_path: Path = config.CONFIG_PATH
    template: dict[str, Any] = field(default_factory=lambda: infra.load())
    log: Callable[[str], None] = print
    parameters: dict[str, str] = field(default_factory=dict)  # stack parameters to set

    def __post_init__(self) -> None:
        if self.stage not in config.load(self.config_path)["stages"]:
            raise DeployError(
                f"no stage {self.stage!r} in .chalice/config.json: add it under `stages`, then "
                "run `make infra` to write its policy files"
            )
        settable = set(self.template["Parameters"]) - {"Stage"}
        unknown = set(self.parameters) - settable
        if unknown:
            raise DeployError(
                f"unknown stack parameters {sorted(unknown)}: the template's are {sorted(settable)}"
            )

    # --- the whole path ------------------------------------------------------------------------

    def deploy(self, root_key_hash: str | None = None) -> dict[str, str]:
        """Deploy the stage; returns the environment the functions were given (no secrets)."""
        stack = self.create_or_update_stack()
        variables = self.stack_outputs(stack)
        self.record(variables)
        root_key_hash = root_key_hash or self.current_root_key_hash() or self.new_root_key_hash()
        self.chalice_deploy(variables, root_key_hash, stack_place(stack))
        values = stack_parameters(stack)
        self.report_batch_item_failures(int(values["EventsMaximumConcurrency"]))
        self.reserve_concurrency(values)
        self.configure_api(values, stack_place(stack))
        self.follow_the_store(variables)
        return variables

    # --- 1. the resources stack ---------------------------------------------------------------

    def create_or_update_stack(self) -> dict[str, Any]:
        cloudformation = self.session.client("cloudformation")
        name = stack_name(self.stage)
        body = json.dumps(self.template, separators=(",", ":"))
        if len(body) > infra.TEMPLATE_BODY_LIMIT:
            raise DeployError(f"the template is {len(body)} bytes; upload it to S3 instead")
        existing = self._stack(cloudformation, name)
        given = {"Stage": self.stage, **self.parameters}
        previous = {p["ParameterKey"] for p in (existing or {}).get("Parameters", [])}
        parameters = [
            {"ParameterKey": key, "ParameterValue": str(value)} for key, value in given.items()
        ] + [
            {"ParameterKey": key, "UsePreviousValue": True}
            for key in self.template["Parameters"]
            if key not in given and key in previous
        ]
        request = {
            "StackName": name,
            "TemplateBody": body,
            "Parameters": parameters,
            "Capabilities": STACK_CAPABILITIES,
            "Tags": [
                {"Key": "app", "Value": infra.APP_NAME},
                {"Key": "stage", "Value": self.stage},
            ],
        }
        if existing is None:
            self.log(f"creating stack {name}...")
            cloudformation.create_stack(**request)
            cloudformation.get_waiter("stack_create_complete").wait(StackName=name)
        else:
            self.log(f"updating stack {name}...")
            try:
                cloudformation.update_stack(**request)
            except ClientError as error:
                if "No updates are to be performed" not in str(error):
                    raise
                self.log(f"stack {name} is up to date")
            else:
                cloudformation.get_waiter("stack_update_complete").wait(StackName=name)
        return self._stack(cloudformation, name)

    @staticmethod
    def _stack(cloudformation: Any, name: str) -> dict[str, Any] | None:
        try:
            return cloudformation.describe_stacks(StackName=name)["Stacks"][0]
        except ClientError as error:
            if "does not exist" in str(error):
                return None
            raise

    def stack_outputs(self, stack: dict[str, Any]) -> dict[str, str]:
        """{environment variable: value}: every output the template declares, or an error."""
        found = {output["OutputKey"]: output["OutputValue"] for output in stack.get("Outputs", [])}
        wanted = infra.environment_variables(self.template)
        missing = sorted(key for key in wanted.values() if key not in found)
        if missing:
            raise DeployError(f"stack {stack['StackName']} lacks outputs {missing}")
        return {env_name: found[key] for env_name, key in sorted(wanted.items())}

    # --- 2. the stage's configuration ---------------------------------------------------------

    def record(self, variables: dict[str, str]) -> None:
        current = config.load(self.config_path)
        config.save(config.with_environment(current, self.stage, variables), self.config_path)
        self.log(f"wrote {len(variables)} variables of stage {self.stage} to {self.config_path}")

    # --- 3. chalice deploy --------------------------------------------------------------------

    def current_root_key_hash(self) -> str | None:
        """The root key hash the deployed API function has, so a redeploy keeps the root key."""
        lambda_client = self.session.client("lambda")
        try:
            found = lambda_client.get_function_configuration(
                FunctionName=infra.function_name(infra.API_HANDLER, self.stage)
            )
        except ClientError as error:
            if error.response["Error"]["Code"] == "ResourceNotFoundException":
                return None
            raise
        return found.get("Environment", {}).get("Variables", {}).get(ROOT_KEY_HASH_ENV) or None

    def new_root_key_hash(self) -> str:
        """A new root key, written to a file only its owner can read (never printed: a deploy's
        output ends up in CI logs); the functions get its hash."""
        root_key = keys.new_root_key()
        path = root_key_path(self.config_path, self.stage)
        write_secret(path, root_key + "\n")
        self.log(f"New root key for stage {self.stage} written to {path} (mode 0600): keep it")
        return keys.hash_key(root_key)

    def chalice_deploy(
        self, variables: dict[str, str], root_key_hash: str, place: tuple[str, str, str]
    ) -> None:
        """`chalice deploy`, with the root key hash in config.json and the stack's partition,
        region and account in the policy files while it runs; both put back afterwards."""
        clean = config.load(self.config_path)
        with_secret = config.with_environment(clean, self.stage, {ROOT_KEY_HASH_ENV: root_key_hash})
        policies = {
            path: path.read_text()
            for path in self.config_path.parent.glob(f"policy-{self.stage}-*.json")
        }
        config.save(with_secret, self.config_path)
        for path, text in policies.items():
            path.write_text(iam.render(iam.resolve(json.loads(text), *place)))
        env = {
            **variables,
            "HERALD_STAGE": self.stage,
            "AWS_DEFAULT_REGION": self.session.region_name,
        }
        vendor.vendor(self.config_path.parent.parent)
        try:
            # Chalice ships chalicelib/, not sdk/web: the joined web SDK goes in for the deploy.
            with websdk.staged(infra.PROJECT_DIR):
                self.runner([chalice_command(), "deploy", "--stage", self.stage], env)
        finally:
            config.save(clean, self.config_path)
            for path, text in policies.items():
                path.write_text(text)

    # --- 4. partial batch responses -----------------------------------------------------------

    def report_batch_item_failures(self, maximum_concurrency: int | None = None) -> list[str]:
        """Turn ReportBatchItemFailures on for the SQS mappings of the stage's functions (and
        set their maximum concurrency, when given); returns the UUIDs of the mappings changed."""
        lambda_client = self.session.client("lambda")
        functions = iam.functions(self.app)
        consumers = {name for name, kind in functions.items() if isinstance(kind, SQSEventConfig)}
        changed, found = [], set()
        for function in sorted(functions):
            name = infra.function_name(function, self.stage)
            for mapping in self._sqs_mappings(lambda_client, name):
                found.add(function)
                wanted = {"FunctionResponseTypes": [BATCH_ITEM_FAILURES]}
                if maximum_concurrency is not None:
                    wanted["ScalingConfig"] = {"MaximumConcurrency": maximum_concurrency}
                if all(mapping.get(key) == value for key, value in wanted.items()):
                    self.log(f"{name}: partial batch responses already on ({mapping['UUID']})")
                    continue
                lambda_client.update_event_source_mapping(UUID=mapping["UUID"], **wanted)
                changed.append(mapping["UUID"])
                self.log(
                    f"{name}: partial batch responses on, at most {maximum_concurrency} "
                    f"at once ({mapping['UUID']})"
                )
        if consumers - found:
            raise DeployError(f"no SQS event source mapping for {sorted(consumers - found)}")
        if not found:
            self.log("no SQS event source mapping found: no partial batch responses to turn on")
        return changed

    # --- 5. the schedules follow the store; the API's own errors (deploy/outbox.py) ---------

    def follow_the_store(self, variables: dict[str, str]) -> None:
        configure = outbox.Configure(self.session, self.stage, variables, self.log)
        lambda_client = self.session.client("lambda")
        functions = iam.functions(self.app)
        for function, kind in sorted(functions.items()):
            if isinstance(kind, DynamoDBEventConfig):
                name = infra.function_name(function, self.stage)
                mappings = [
                    m
                    for m in self._mappings(lambda_client, name)
                    if m.get("EventSourceArn", "").split(":")[2:3] == ["dynamodb"]
                ]
                if not mappings:
                    raise DeployError(f"no stream event source mapping for {function}")
                configure.stream_mappings(mappings)
        if infra.TRANSITION_FUNCTION in functions:
            configure.transition_invoke_config()
        configure.gateway_responses(self.rest_api_id())

    @staticmethod
    def _sqs_mappings(lambda_client: Any, function_name: str) -> list[dict[str, Any]]:
        """The function's SQS mappings; none when the function does not exist. Listed by the
        function's ARN, which matches however the mapping was created."""
        try:
            arn = lambda_client.get_function_configuration(FunctionName=function_name)
        except ClientError as error:
            if error.response["Error"]["Code"] == "ResourceNotFoundException":
                return []
            raise
        mappings = []
        for page in lambda_client.get_paginator("list_event_source_mappings").paginate(
            FunctionName=arn["FunctionArn"]
        ):
            mappings.extend(page["EventSourceMappings"])
        return [m for m in mappings if m.get("EventSourceArn", "").split(":")[2:3] == ["sqs"]]

    # --- 5. what bounds the stage ----------------------------------------------------------------

    def reserve_concurrency(self, values: dict[str, str]) -> dict[str, int]:
        """Reserved concurrency of the functions that get some ({function: reserved}; 0 takes
        the reservation away)."""
        lambda_client = self.session.client("lambda")
        applied = {}
        for function, kind in sorted(iam.functions(self.app).items()):
            parameter = operations.reservation(function, kind)
            if parameter is None:
                continue
            name, reserved = infra.function_name(function, self.stage), int(values[parameter])
            try:
                if reserved:
                    lambda_client.put_function_concurrency(
                        FunctionName=name, ReservedConcurrentExecutions=reserved
                    )
                else:
                    lambda_client.delete_function_concurrency(FunctionName=name)
            except ClientError as error:
                if error.response["Error"]["Code"] != "ResourceNotFoundException":
                    raise
                self.log(f"{name}: not deployed, no concurrency to reserve")
                continue
            applied[function] = reserved
            self.log(f"{name}: {reserved or 'no'} reserved concurrency")
        return applied

    def rest_api_id(self) -> str | None:
        """The id of the REST API `chalice deploy` made for the stage (its deployed record)."""
        path = self.config_path.parent / "deployed" / f"{self.stage}.json"
        if not path.exists():
            return None
        for resource in json.loads(path.read_text()).get("resources", []):
            if resource.get("resource_type") == "rest_api":
                return resource["rest_api_id"]
        return None

    def configure_api(self, values: dict[str, str], place: tuple[str, str, str]) -> bool:
        """Name, throttling and access logs of the stage's REST API; False if it has none."""
        api_id = self.rest_api_id()
        if api_id is None:
            self.log("no REST API deployed: no throttling or access logs to set")
            return False
        apigateway = self.session.client("apigateway")
        apigateway.update_rest_api(
            restApiId=api_id,
            patchOperations=[
                {"op": "replace", "path": "/name", "value": operations.api_name(self.stage)}
            ],
        )
        partition, region, account = place
        group = operations.access_log_group_name(self.stage)
        patches = {
            "/accessLogSettings/destinationArn": (
                f"arn:{partition}:logs:{region}:{account}:log-group:{group}"
            ),
            "/accessLogSettings/format": operations.ACCESS_LOG_FORMAT,
            "/*/*/throttling/rateLimit": values["ApiRateLimit"],
            "/*/*/throttling/burstLimit": values["ApiBurstLimit"],
        }
        for method, path in operations.client_routes(self.app):
            route = f"{operations.method_setting_path(path)}/{method}"
            patches[f"{route}/throttling/rateLimit"] = values["ClientRateLimit"]
            patches[f"{route}/throttling/burstLimit"] = values["ClientBurstLimit"]
        apigateway.update_stage(
            restApiId=api_id,
            stageName=operations.API_GATEWAY_STAGE,
            patchOperations=[
                {"op": "replace", "path": path, "value": str(value)}
                for path, value in patches.items()
            ],
        )
        self.log(
            f"API {api_id}: named {operations.api_name(self.stage)}, "
            f"{values['ApiRateLimit']} requests/s ({values['ClientRateLimit']} per client "
            f"route), access logs to {group}"
        )
        return True

    @staticmethod
    def _mappings(lambda_client: Any, function_name: str) -> list[dict[str, Any]]:
        arn = lambda_client.get_function_configuration(FunctionName=function_name)["FunctionArn"]
        found = []
        for page in lambda_client.get_paginator("list_event_source_mappings").paginate(
            FunctionName=arn
        ):
            found.extend(page["EventSourceMappings"])
        return found

    # --- tear-down ----------------------------------------------------------------------------

    def destroy(self) -> None:
        """`chalice delete`, then the resources stack. Tables are retained (DeletionPolicy)."""
        self.runner(
            [chalice_command(), "delete", "--stage", self.stage], {"HERALD_STAGE": self.stage}
        )
        cloudformation = self.session.client("cloudformation")
        name = stack_name(self.stage)
        if self._stack(cloudformation, name) is None:
            self.log(f"no stack {name}")
            return
        self.log(f"deleting stack {name} (its tables are retained)...")
        cloudformation.delete_stack(StackName=name)
        cloudformation.get_waiter("stack_delete_complete").wait(StackName=name)


def root_key_path(config_path: Path, stage: str) -> Path:
    """Where `make deploy` leaves a new root key: beside config.json, ignored by git."""
    return config_path.parent / "root-keys" / stage


def write_secret(path: Path, text: str) -> None:
    """Write `text` to `path` readable by its owner only (0600) from the first byte on."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    partial.unlink(missing_ok=True)
    descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as file:
        file.write(text)
    os.replace(partial, path)
