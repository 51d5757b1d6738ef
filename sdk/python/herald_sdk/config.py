"""Where the `herald` command finds its server and keys: flags, then environment, then profile.

The profile file is TOML (`$HERALD_CONFIG`, else `~/.config/herald/config.toml`), one table per
profile; `--profile` / `$HERALD_PROFILE` picks one, `default` otherwise:

    [default]
    url = "http://127.0.0.1:8000"
    admin_key = "herald_admin_..."
"""

import json
import os
import tomllib
from dataclasses import dataclass, fields
from pathlib import Path

DEFAULT_URL = "http://127.0.0.1:8000"
ENVIRONMENT = {
    "url": "HERALD_URL",
    "admin_key": "HERALD_ADMIN_KEY",
    "root_key": "HERALD_ROOT_KEY",
    "client_key": "HERALD_CLIENT_KEY",
    "app_id": "HERALD_APP_ID",
}


class ConfigError(Exception):
    """The configuration is missing something or cannot be read."""


@dataclass
class Settings:
    url: str = DEFAULT_URL
    admin_key: str | None = None
    root_key: str | None = None
    client_key: str | None = None
    app_id: str | None = None
    profile: str = "default"
    config_path: Path | None = None


def config_path() -> Path:
    given = os.environ.get("HERALD_CONFIG")
    if given:
        return Path(given).expanduser()
    base = os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config"
    return Path(base) / "herald" / "config.toml"


def read_profiles(path: Path) -> dict[str, dict]:
    if not path.exists():
        return {}
    try:
        return tomllib.loads(path.read_text())
    except (tomllib.TOMLDecodeError, UnicodeDecodeError, OSError) as error:
        raise ConfigError(f"{path}: cannot read the profile file: {error}") from None


def resolve(flags: dict[str, str | None], profile: str | None = None) -> Settings:
    """Each setting from its flag, else its environment variable, else the profile."""
    path = config_path()
    chosen = profile or os.environ.get("HERALD_PROFILE") or "default"
    profiles = read_profiles(path)
    if profile and chosen not in profiles:
        raise ConfigError(f"no profile {chosen!r} in {path}")
    stored = profiles.get(chosen, {})
    if not isinstance(stored, dict):
        raise ConfigError(f"{path}: [{chosen}] must be a table")
    known = {f.name for f in fields(Settings)} - {"profile", "config_path"}
    unknown = sorted(set(stored) - known)
    if unknown:
        raise ConfigError(f"{path}: [{chosen}]: unknown setting(s) {', '.join(unknown)}")
    values = {}
    for name in known:
        value = flags.get(name) or os.environ.get(ENVIRONMENT[name]) or stored.get(name)
        if value is not None and not isinstance(value, str):
            raise ConfigError(f"{path}: [{chosen}] {name} must be a string")
        if value:
            values[name] = value
    return Settings(**values, profile=chosen, config_path=path)


def save_profile(name: str, values: dict[str, str], path: Path | None = None) -> Path:
    """Write (or replace) one profile, keeping the others; the file is readable by you only."""
    path = path or config_path()
    profiles = read_profiles(path)
    profiles[name] = {**profiles.get(name, {}), **values}
    lines = []
    for profile, settings in profiles.items():
        lines.append(f"[{json.dumps(profile)}]")
        lines += [f"{key} = {json.dumps(str(value))}" for key, value in settings.items()]
        lines.append("")
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as file:
        file.write("\n".join(lines))
    return path
