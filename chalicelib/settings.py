"""Every environment variable Herald reads, in one place, read when asked (never at import).

Chalice's test client sets a stage's variables only while a request runs, and Lambda sets them
before the handler runs, so nothing here may be cached at import time. The one exception is
`events_queue_name()`, which app.py calls at import because Chalice reads the SQS consumer's queue
name from its decorator: the deploy/package step must therefore set HERALD_STAGE (or
HERALD_EVENTS_QUEUE) in the environment of `chalice deploy` / `chalice package` itself.
"""

import os
from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class Settings:
    stage: str
    region: str
    apps_table: str
    audiences_table: str
    engagements_table: str
    names_table: str
    devices_table: str
    delivery_table: str
    counters_table: str
    markers_table: str
    events_queue: str
    events_dead_letter_queue: str
    schedule_group: str
    transition_function_arn: str
    scheduler_role_arn: str
    scheduler_dead_letter_arn: str  # "" when none (the local run)
    root_key_hash: str
    max_messages_per_fetch: int
    fetch_interval_seconds: int

    @property
    def tables(self) -> dict[str, str]:
        return {
            "apps": self.apps_table,
            "audiences": self.audiences_table,
            "engagements": self.engagements_table,
            "names": self.names_table,
            "devices": self.devices_table,
            "delivery": self.delivery_table,
            "counters": self.counters_table,
            "markers": self.markers_table,
        }


def get_settings() -> Settings:
    env = os.environ
    stage = env.get("HERALD_STAGE", "dev")
    region = env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or "us-east-1"
    prefix = f"herald-{stage}"
    account = env.get("HERALD_ACCOUNT_ID", "123456789012")
    return Settings(
        stage=stage,
        region=region,
        apps_table=env.get("HERALD_APPS_TABLE", f"{prefix}-apps"),
        audiences_table=env.get("HERALD_AUDIENCES_TABLE", f"{prefix}-audiences"),
        engagements_table=env.get("HERALD_ENGAGEMENTS_TABLE", f"{prefix}-engagements"),
        names_table=env.get("HERALD_NAMES_TABLE", f"{prefix}-names"),
        devices_table=env.get("HERALD_DEVICES_TABLE", f"{prefix}-devices"),
        delivery_table=env.get("HERALD_DELIVERY_TABLE", f"{prefix}-delivery"),
        counters_table=env.get("HERALD_COUNTERS_TABLE", f"{prefix}-counters"),
        markers_table=env.get("HERALD_MARKERS_TABLE", f"{prefix}-markers"),
        events_queue=events_queue_name(env),
        events_dead_letter_queue=env.get("HERALD_EVENTS_DLQ", f"{prefix}-events-dlq"),
        schedule_group=env.get("HERALD_SCHEDULE_GROUP", prefix),
        transition_function_arn=env.get(
            "HERALD_TRANSITION_FUNCTION_ARN",
            f"arn:aws:lambda:{region}:{account}:function:{prefix}-apply_transition",
        ),
        scheduler_role_arn=env.get(
            "HERALD_SCHEDULER_ROLE_ARN", f"arn:aws:iam::{account}:role/{prefix}-scheduler"
        ),
        scheduler_dead_letter_arn=env.get("HERALD_SCHEDULER_DLQ_ARN", ""),
        root_key_hash=env.get("HERALD_ROOT_KEY_HASH", ""),
        max_messages_per_fetch=_positive_int(env, "HERALD_MAX_MESSAGES_PER_FETCH", 5),
        fetch_interval_seconds=_positive_int(env, "HERALD_FETCH_INTERVAL_SECONDS", 300),
    )


def events_queue_name(env: Mapping[str, str] | None = None) -> str:
    """The events queue: HERALD_EVENTS_QUEUE, else `herald-<HERALD_STAGE>-events`."""
    env = os.environ if env is None else env
    return env.get("HERALD_EVENTS_QUEUE") or f"herald-{env.get('HERALD_STAGE', 'dev')}-events"


def _positive_int(env, name: str, default: int) -> int:
    value = env.get(name)
    if value is None:
        return default
    if not value.isdigit() or int(value) < 1:
        raise ValueError(f"{name} must be a positive whole number, not {value!r}")
    return int(value)


def engagements_stream_arn(env: Mapping[str, str] | None = None) -> str:
    """The engagements table's stream, read at import by app.py's stream function decorator:
    HERALD_ENGAGEMENTS_STREAM_ARN (the deploy step sets it from the resources stack; the
    packaged template points the mapping at the table's StreamArn itself), else a placeholder
    naming the stage's table, which the local run and the tests resolve to moto's stream."""
    env = os.environ if env is None else env
    found = env.get("HERALD_ENGAGEMENTS_STREAM_ARN")
    if found:
        return found
    region = env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or "us-east-1"
    account = env.get("HERALD_ACCOUNT_ID", "123456789012")
    table = (
        env.get("HERALD_ENGAGEMENTS_TABLE")
        or f"herald-{env.get('HERALD_STAGE', 'dev')}-engagements"
    )
    return f"arn:aws:dynamodb:{region}:{account}:table/{table}/stream/latest"
