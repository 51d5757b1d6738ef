"""`python -m deploy <command>`: what the Makefile's infra, openapi, deploy, package and destroy
targets run. See docs/DEPLOY.md."""

import argparse
import json
import subprocess
import sys
from pathlib import Path

from deploy import infra


def _app():
    from app import app

    return app


def cmd_infra(_args: argparse.Namespace) -> int:
    from deploy import generate

    for line in generate.write(generate.generate(_app())):
        print(line)
    return 0


def cmd_openapi(args: argparse.Namespace) -> int:
    from chalicelib.api import openapi

    Path(args.output).write_text(json.dumps(openapi.document(_app()), indent=2) + "\n")
    print(args.output)
    return 0


def _session(args: argparse.Namespace):
    import boto3

    session = boto3.Session(region_name=args.region) if args.region else boto3.Session()
    if not session.region_name:
        sys.exit("set AWS_REGION (or AWS_DEFAULT_REGION, or REGION=... for make) first")
    return session


def cmd_deploy(args: argparse.Namespace) -> int:
    from deploy.stack import Deployer, DeployError

    parameters = {}
    for given in args.parameter:
        key, sep, value = given.partition("=")
        if not sep:
            raise DeployError(f"--parameter {given!r}: write Key=Value")
        parameters[key] = value
    Deployer(args.stage, _session(args), _app(), parameters=parameters).deploy()
    return 0


def cmd_destroy(args: argparse.Namespace) -> int:
    from deploy.stack import Deployer

    Deployer(args.stage, _session(args), _app()).destroy()
    return 0


def cmd_package(args: argparse.Namespace) -> int:
    from deploy.package import package

    output = infra.PROJECT_DIR / "build" / args.stage
    sam = package(_app(), args.stage, output)
    print(sam)
    if args.lint:
        return subprocess.run([str(Path(sys.executable).parent / "cfn-lint"), str(sam)]).returncode
    return 0


def cmd_redrive(args: argparse.Namespace) -> int:
    from deploy.redrive import redrive
    from deploy.stack import DeployError

    sqs = _session(args).client("sqs")
    try:
        redrive(sqs, args.stage)
    except sqs.exceptions.QueueDoesNotExist:
        queues = f"{infra.queue_name(args.stage)} and {infra.dead_letter_queue_name(args.stage)}"
        raise DeployError(
            f"no queues {queues} in this region: is the stage deployed here?"
        ) from None
    return 0


def cmd_root_key(args: argparse.Namespace) -> int:
    from chalicelib.domain import keys
    from deploy.stack import write_secret

    root_key = keys.new_root_key()
    path = Path(args.output)
    write_secret(path, root_key + "\n")
    print(f"root key written to {path} (mode 0600, keep it secret)")
    print(f"HERALD_ROOT_KEY_HASH={keys.hash_key(root_key)}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m deploy")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("infra", help="regenerate infra/resources.json and the IAM policies")
    openapi = commands.add_parser("openapi", help="write the OpenAPI document")
    openapi.add_argument("--output", default="openapi.json")
    for name in ("deploy", "destroy", "package", "redrive"):
        command = commands.add_parser(name)
        command.add_argument("--stage", required=True)
        command.add_argument("--region", default=None)
    commands.choices["package"].add_argument("--no-lint", dest="lint", action="store_false")
    commands.choices["deploy"].add_argument(
        "--parameter", action="append", default=[], help="a stack parameter, Key=Value"
    )
    root_key = commands.add_parser("root-key", help="a new root key (to a 0600 file) and its hash")
    root_key.add_argument("--output", default=".chalice/root-keys/manual")
    args = parser.parse_args(argv)
    handler = {
        "infra": cmd_infra,
        "openapi": cmd_openapi,
        "deploy": cmd_deploy,
        "destroy": cmd_destroy,
        "package": cmd_package,
        "redrive": cmd_redrive,
        "root-key": cmd_root_key,
    }[args.command]
    from deploy.stack import DeployError

    try:
        return handler(args)
    except DeployError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
