"""`make infra`: regenerate everything derived from the code, in one go.

- infra/resources.json from dynamo.MODELS (deploy/infra.py);
- one IAM policy per function and stage, .chalice/policy-<stage>-<function>.json, from the AWS
  calls the tour records (deploy/iam.py, deploy/tour.py);
- the `lambda_functions` entries of .chalice/config.json that point at those files.
Run it after adding a table, a route, a function or a consumer, and review the diff.
"""

from dataclasses import dataclass
from typing import Any

from chalice import Chalice

from chalicelib.adapters import dynamo
from deploy import config, iam, infra, tour


@dataclass(frozen=True)
class Generated:
    template: dict[str, Any]
    policies: dict[tuple[str, str], dict[str, Any]]  # (stage, function) -> policy document
    config: dict[str, Any]


def policies(
    app: Chalice, recorded: tour.Result, stages: list[str], toured_stage: str = "dev"
) -> dict[tuple[str, str], dict[str, Any]]:
    """Every function's policy in every stage, from a tour of `toured_stage`."""
    functions = iam.functions(app)
    resources = iam.StageResources.of(toured_stage, dynamo.MODELS, functions)
    grants = iam.grants_by_function(app, recorded.calls, resources)
    return {
        (stage, function): iam.policy(grants[function], stage)
        for stage in stages
        for function in functions
    }


def generate(app: Chalice | None = None, recorded: tour.Result | None = None) -> Generated:
    if app is None:
        from app import app
    current = config.load()
    recorded = recorded or tour.run(app)
    stages = sorted(current["stages"])
    return Generated(
        template=infra.template(functions=iam.functions(app)),
        policies=policies(app, recorded, stages),
        config=config.with_functions(current, iam.functions(app)),
    )


def write(generated: Generated) -> list[str]:
    """Write the generated files; remove policy files of functions that are gone."""
    written = [str(infra.TEMPLATE_PATH.relative_to(infra.PROJECT_DIR))]
    infra.TEMPLATE_PATH.parent.mkdir(parents=True, exist_ok=True)
    infra.TEMPLATE_PATH.write_text(infra.render(generated.template))
    wanted = set()
    for (stage, function), document in sorted(generated.policies.items()):
        path = iam.policy_path(stage, function)
        path.write_text(iam.render(document))
        wanted.add(path)
        written.append(str(path.relative_to(infra.PROJECT_DIR)))
    for stage in generated.config["stages"]:
        for stale in iam.POLICY_DIR.glob(f"policy-{stage}-*.json"):
            if stale not in wanted:
                stale.unlink()
                written.append(f"removed {stale.relative_to(infra.PROJECT_DIR)}")
    config.save(generated.config)
    written.append(str(config.CONFIG_PATH.relative_to(infra.PROJECT_DIR)))
    return written
