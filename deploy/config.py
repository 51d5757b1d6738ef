""".chalice/config.json: per-function policy files and timeouts, and a stage's variables."""

import json
from pathlib import Path
from typing import Any

from chalice.app import SQSEventConfig

from deploy import iam, infra

CONFIG_PATH = infra.PROJECT_DIR / ".chalice" / "config.json"


def load(path: Path = CONFIG_PATH) -> dict[str, Any]:
    return json.loads(path.read_text())


def save(config: dict[str, Any], path: Path = CONFIG_PATH) -> None:
    path.write_text(json.dumps(config, indent=2) + "\n")


def with_functions(config: dict[str, Any], functions: dict[str, Any]) -> dict[str, Any]:
    """`config` with, in every stage, one policy file per function of the app (and nothing for
    functions that are gone), the consumer timeout the queue's visibility is sized for, and
    X-Ray tracing on (Chalice makes the functions' tracing Active and traces the API stage)."""
    config = json.loads(json.dumps(config))
    config["autogen_policy"] = False
    for stage, settings in config["stages"].items():
        settings.pop("iam_policy_file", None)  # no stage-wide default: each function has its own
        settings["xray"] = True
        entries = settings.setdefault("lambda_functions", {})
        for function in list(entries):
            if function not in functions:
                entries[function].pop("iam_policy_file", None)
                entries[function].pop("lambda_timeout", None)
                if not entries[function]:
                    del entries[function]
        for function, kind in functions.items():
            entry = entries.setdefault(function, {})
            entry["iam_policy_file"] = iam.policy_file_name(stage, function)
            if isinstance(kind, SQSEventConfig):
                entry["lambda_timeout"] = infra.CONSUMER_TIMEOUT_SECONDS
    return config


def with_environment(
    config: dict[str, Any], stage: str, variables: dict[str, str]
) -> dict[str, Any]:
    """`config` with `variables` added to (or replacing those of) the stage's environment."""
    config = json.loads(json.dumps(config))
    settings = config["stages"].setdefault(stage, {})
    settings.setdefault("environment_variables", {}).update(variables)
    return config
