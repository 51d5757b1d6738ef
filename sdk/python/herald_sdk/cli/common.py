"""What every command shares: the settings in force, the clients, output, and errors shown as
one clear line (never a traceback) with a non-zero exit status."""

import functools
import json
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import typer
from rich.console import Console
from rich.text import Text

from herald_sdk.admin import Herald, app_id_of
from herald_sdk.config import ConfigError, Settings
from herald_sdk.declarative import PlanError
from herald_sdk.errors import ApiError, ConnectionFailed, HeraldError
from herald_sdk.simulate import SimulationRefused
from herald_sdk.yamlfile import YamlError

FAILED = 1  # Herald refused or failed
BAD_INPUT = 2  # the command's input: flags, configuration, files


@dataclass
class State:
    settings: Settings


def out() -> Console:
    """Standard output; tables as wide as a terminal allows, 120 columns when redirected."""
    width = None if sys.stdout.isatty() or os.environ.get("COLUMNS") else 120
    return Console(highlight=False, soft_wrap=True, width=width)


def err() -> Console:
    return Console(stderr=True, highlight=False, soft_wrap=True)


def settings(ctx: typer.Context) -> Settings:
    return ctx.find_root().obj.settings


def admin(ctx: typer.Context) -> Herald:
    found = settings(ctx)
    if not found.admin_key and not (found.root_key and found.app_id):
        raise ConfigError(
            "no admin key: pass --admin-key, set HERALD_ADMIN_KEY or add admin_key to the "
            f"profile [{found.profile}] in {found.config_path} (or use --root-key with --app)"
        )
    if found.admin_key and not found.app_id and not app_id_of(found.admin_key):
        raise ConfigError(
            "the admin key is not one: admin keys look like herald_admin_<app id>_<64 hex "
            "digits>, as `herald apps create` printed"
        )
    return Herald(found.url, found.admin_key, found.root_key, found.app_id)


def root(ctx: typer.Context) -> Herald:
    found = settings(ctx)
    if not found.root_key:
        raise ConfigError(
            "no root key: pass --root-key, set HERALD_ROOT_KEY or add root_key to the "
            f"profile [{found.profile}] in {found.config_path}"
        )
    return Herald(found.url, root_key=found.root_key)


def print_json(value: Any) -> None:
    sys.stdout.write(json.dumps(value, indent=2, ensure_ascii=False) + "\n")


def complain(message: str) -> None:
    err().print(Text.assemble(("Error: ", "bold red"), message))


def handled(command: Callable) -> Callable:
    """Known failures become a message on stderr and an exit status."""

    @functools.wraps(command)
    def run(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except (ConfigError, YamlError, SimulationRefused) as error:
            complain(str(error))
            raise typer.Exit(BAD_INPUT) from None
        except ApiError as error:
            complain(f"Herald answered {error.status} {error.code}: {error.message}")
            raise typer.Exit(FAILED) from None
        except (PlanError, ConnectionFailed, HeraldError) as error:
            complain(str(error))
            raise typer.Exit(FAILED) from None

    return run
