"""Engagements as code: a YAML file of audiences and engagements by name, planned then applied.

`make_plan` reads the file and what Herald holds, and says per item what would be created,
changed (field by field) or left alone, and what is refused: a change Herald forbids on an
engagement that has run (its variant keys and weights, `ab_test`, `control_percent`) is found
here, before any write. `apply_plan` carries a plan out; every update sends `If-Match` with the
version the plan read, so an edit made meanwhile is reported, never overwritten.

The file is checked against the request schemas Herald publishes (`GET /v1/openapi.json`), so
the SDK needs no copy of them: unknown fields and wrong types are named with their line.
Defaults come from the same schemas, which is what makes a second apply change nothing.
"""

import copy
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jsonschema

from herald_sdk.admin import Herald
from herald_sdk.errors import ApiError, StaleVersion
from herald_sdk.models import Audience, Engagement
from herald_sdk.yamlfile import Located, YamlError, load, loads

TOP_LEVEL = ("audiences", "engagements")
AUDIENCE_FIELDS = ("name", "description", "rules")
FROZEN_NAMES = {"variants": "variant keys and weights"}
NEW_AUDIENCE = "new-audience:"

CREATE, UPDATE, UNCHANGED, REFUSED = "create", "update", "no change", "refused"


@dataclass
class FieldChange:
    path: str
    before: Any
    after: Any


@dataclass
class Action:
    kind: str  # "audience" or "engagement"
    name: str
    verb: str
    changes: list[FieldChange] = field(default_factory=list)
    body: dict[str, Any] = field(default_factory=dict)  # the create body or the merge patch
    target_id: str | None = None
    version: int | None = None
    reason: str = ""
    summary: str = ""  # what a create makes, in a line


@dataclass
class Plan:
    actions: list[Action]
    unmanaged: list[str]  # engagements in Herald that the file does not name: left alone

    @property
    def refused(self) -> list[Action]:
        return [a for a in self.actions if a.verb == REFUSED]

    @property
    def writes(self) -> list[Action]:
        return [a for a in self.actions if a.verb in (CREATE, UPDATE)]


@dataclass
class Outcome:
    action: Action
    ok: bool
    message: str


class PlanError(Exception):
    """The file cannot be planned: the message says where and why."""


# --- reading and checking the file ----------------------------------------------------------


class Schemas:
    """Herald's published request schemas, to check bodies against and fill defaults from."""

    def __init__(self, document: dict[str, Any]):
        self._components = document.get("components", {})
        self._schemas = self._components.get("schemas", {})
        for name in ("CreateEngagement", "CreateAudience"):
            if name not in self._schemas:
                raise PlanError(f"the server's OpenAPI document has no {name} schema")

    def resolve(self, schema: dict[str, Any]) -> dict[str, Any]:
        while "$ref" in schema:
            schema = {**self._schemas[schema["$ref"].rsplit("/", 1)[-1]], **_without_ref(schema)}
        return schema

    def validator(self, name: str) -> jsonschema.Draft202012Validator:
        root = {"$ref": f"#/components/schemas/{name}", "components": self._components}
        return jsonschema.Draft202012Validator(root)

    def properties(self, name: str) -> dict[str, Any]:
        return self._schemas[name].get("properties", {})

    def with_defaults(self, schema: dict[str, Any], value: Any) -> Any:
        """`value` as the server stores it: defaults filled in, None values left out."""
        schema = self.resolve(schema)
        if value is None:
            return None
        for branch in schema.get("anyOf", []):
            branch = self.resolve(branch)
            if branch.get("type") == "object" and isinstance(value, dict):
                return self.with_defaults(branch, value)
            if branch.get("type") == "array" and isinstance(value, list):
                return self.with_defaults(branch, value)
        if isinstance(value, dict) and "properties" in schema:
            filled = dict(value)
            for name, sub in schema["properties"].items():
                if name not in filled and sub.get("default") is not None:
                    filled[name] = copy.deepcopy(sub["default"])
            result = {}
            for name, item in filled.items():
                sub = schema["properties"].get(name)
                item = self.with_defaults(sub, item) if sub else item
                if item is not None:
                    result[name] = item
            return result
        if isinstance(value, dict) and isinstance(schema.get("additionalProperties"), dict):
            sub = schema["additionalProperties"]
            return {k: self.with_defaults(sub, v) for k, v in value.items()}
        if isinstance(value, list) and isinstance(schema.get("items"), dict):
            return [self.with_defaults(schema["items"], item) for item in value]
        return value


def _without_ref(schema: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in schema.items() if k != "$ref"}


@dataclass
class Desired:
    audiences: list[dict[str, Any]]
    engagements: list[dict[str, Any]]
    located: Located


def read_file(path: Path) -> Located:
    return load(path)


def parse(located: Located, schemas: Schemas) -> Desired:
    """Check the file's shape, names and every body against Herald's schemas."""
    data = located.data
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise YamlError(f"{located.where(())}: the file must be a mapping with {_keys(TOP_LEVEL)}")
    _no_unknown(located, (), data, TOP_LEVEL)
    audiences = _list_of_mappings(located, data, "audiences")
    engagements = _list_of_mappings(located, data, "engagements")
    _unique_names(located, "audiences", audiences)
    _unique_names(located, "engagements", engagements)
    for index, audience in enumerate(audiences):
        path = ("audiences", index)
        _no_unknown(located, path, audience, AUDIENCE_FIELDS)
        _check(located, path, schemas, "CreateAudience", audience)
    allowed = tuple(k for k in schemas.properties("CreateEngagement") if k != "status")
    for index, engagement in enumerate(engagements):
        path = ("engagements", index)
        _no_unknown(located, path, engagement, allowed)
        audience = engagement.get("audience")
        if isinstance(audience, dict):
            if "audience_ids" in audience:
                raise YamlError(
                    f"{located.where((*path, 'audience', 'audience_ids'))}: name audiences "
                    "under audience.audiences (by name), not audience_ids"
                )
            for position, name in enumerate(audience.get("audiences") or []):
                if not isinstance(name, str):
                    where = located.where((*path, "audience", "audiences", position))
                    raise YamlError(f"{where}: an audience is named by a string")
        body = to_api(engagement, {}, placeholder=True)
        _check_times(located, path, engagement)  # first: the schema says it with a regex
        _check(located, path, schemas, "CreateEngagement", body, rename=_api_to_file_path)
    return Desired(audiences, engagements, located)


def _keys(names) -> str:
    return ", ".join(repr(n) for n in names)


def _no_unknown(located: Located, path, mapping: dict, allowed) -> None:
    for key in mapping:
        if key not in allowed:
            raise YamlError(
                f"{located.where((*path, key))}: unknown field {key!r} "
                f"(known: {', '.join(sorted(allowed))})"
            )


def _list_of_mappings(located: Located, data: dict, key: str) -> list[dict]:
    items = data.get(key)
    if items is None:
        return []
    if not isinstance(items, list):
        raise YamlError(f"{located.where((key,))}: {key} must be a list")
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            raise YamlError(f"{located.where((key, index))}: each of {key} must be a mapping")
        if not isinstance(item.get("name"), str) or not item["name"].strip():
            raise YamlError(f"{located.where((key, index))}: each of {key} needs a name")
    return items


def _unique_names(located: Located, key: str, items: list[dict]) -> None:
    seen: dict[str, int] = {}
    for index, item in enumerate(items):
        folded = item["name"].strip().casefold()
        if folded in seen:
            raise YamlError(
                f"{located.where((key, index, 'name'))}: {item['name']!r} is declared twice "
                f"(names are unique ignoring case; first at "
                f"line {located.line((key, seen[folded], 'name'))})"
            )
        seen[folded] = index


def _api_to_file_path(path: tuple) -> tuple:
    if path[:2] == ("audience", "audience_ids"):
        return ("audience", "audiences", *path[2:])
    return path


def _check(located, path, schemas: Schemas, name: str, body: dict, rename=lambda p: p) -> None:
    errors = sorted(schemas.validator(name).iter_errors(body), key=lambda e: list(e.path))
    if errors:
        error = min(errors, key=lambda e: len(e.path))
        inner = rename(tuple(error.path))
        shown = _dotted(inner) or "(this item)"
        raise YamlError(f"{located.where((*path, *inner))}: {shown}: {error.message}")


def _check_times(located: Located, path, engagement: dict) -> None:
    schedule = engagement.get("schedule")
    if not isinstance(schedule, dict):
        return  # the schema's check names what is missing or wrong
    for key in ("start_at", "end_at"):
        value = schedule.get(key)
        if key in schedule and (not isinstance(value, str) or _instant(value) is None):
            raise YamlError(
                f"{located.where((*path, 'schedule', key))}: schedule.{key}: must be a date and "
                "time with its offset, e.g. 2026-12-01T09:00:00Z"
            )


def _instant(text: str) -> datetime | None:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment.astimezone(UTC) if moment.tzinfo else None


def _dotted(path) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


# --- the file's form and the API's ----------------------------------------------------------


def to_api(engagement: dict, audience_ids: dict[str, str], placeholder: bool = False) -> dict:
    """The create body: audiences named in the file become their ids (or placeholders)."""
    body = copy.deepcopy(engagement)
    audience = body.get("audience")
    if isinstance(audience, dict) and "audiences" in audience:
        names = audience.pop("audiences") or []
        ids = []
        for name in names:
            found = audience_ids.get(str(name).casefold())
            ids.append(found or (_placeholder(str(name)) if placeholder else None))
        audience["audience_ids"] = ids
    return body


def _placeholder(name: str) -> str:
    """A stand-in id for an audience the apply will create; valid as an id token."""
    return "new" + "".join(ch for ch in name.casefold() if ch.isalnum())[:40] or "new"


def normalized(schemas: Schemas, body: dict) -> dict:
    """An engagement body as Herald stores it, so that equal means unchanged."""
    spec = schemas.with_defaults(schemas._schemas["CreateEngagement"], body)
    spec.pop("status", None)
    variants = spec.get("variants") or []
    if len(variants) == 1 and isinstance(variants[0], dict) and "weight" not in variants[0]:
        variants[0]["weight"] = 100  # as the server fills in for a single variant
    schedule = spec.get("schedule") or {}
    for key in ("start_at", "end_at"):
        moment = _instant(schedule.get(key, "")) if isinstance(schedule.get(key), str) else None
        if moment:
            schedule[key] = moment.isoformat()
    return spec


def assignment(spec: dict) -> dict:
    """What decides who sees which variant: frozen once the engagement has been active."""
    return {
        "ab_test": spec.get("ab_test", False),
        "control_percent": spec.get("control_percent", 0),
        "variants": [(v.get("key"), v.get("weight")) for v in spec.get("variants", [])],
    }


def has_run(engagement: Engagement) -> bool:
    """Whether Herald freezes its assignment fields. Servers that do not say `ever_active`:
    an active, paused or ended engagement is taken to have run."""
    if engagement.ever_active is not None:
        return engagement.ever_active
    return engagement.status in ("active", "paused", "ended")


def diff(before: Any, after: Any, path: str = "") -> list[FieldChange]:
    if isinstance(before, dict) and isinstance(after, dict):
        changes = []
        for key in list(before) + [k for k in after if k not in before]:
            sub = f"{path}.{key}" if path else key
            if key not in after:
                changes.append(FieldChange(sub, before[key], None))
            elif key not in before:
                changes.append(FieldChange(sub, None, after[key]))
            else:
                changes += diff(before[key], after[key], sub)
        return changes
    if isinstance(before, list) and isinstance(after, list) and _same_kind_items(before, after):
        changes = []
        for index in range(max(len(before), len(after))):
            old = before[index] if index < len(before) else None
            new = after[index] if index < len(after) else None
            if index >= len(before) or index >= len(after):
                changes.append(FieldChange(f"{path}[{index}]", old, new))
            else:
                changes += diff(old, new, f"{path}[{index}]")
        return changes
    if (before == after and type(before) is type(after)) or _same_number(before, after):
        return []
    return [FieldChange(path, before, after)]


def _same_kind_items(before: list, after: list) -> bool:
    """Lists of objects compare item by item; lists of plain values (ids, names) as a whole
    when their lengths differ, which reads better."""
    return len(before) == len(after) or all(isinstance(i, dict) for i in before + after)


def _same_number(a: Any, b: Any) -> bool:
    numbers = (int, float)
    return (
        isinstance(a, numbers)
        and isinstance(b, numbers)
        and not isinstance(a, bool)
        and not isinstance(b, bool)
        and a == b
    )


# --- planning and applying ------------------------------------------------------------------


def make_plan(client: Herald, source: Path | str, text: str | None = None) -> Plan:
    """Read the file (or `text`) and Herald's state; decide everything, write nothing."""
    located = loads(text, str(source)) if text is not None else read_file(Path(source))
    schemas = Schemas(client.openapi())
    desired = parse(located, schemas)
    audiences = {a.name.casefold(): a for a in client.iter_audiences()}
    engagements = {e.name.casefold(): e for e in client.iter_engagements()}
    declared = {a["name"].strip().casefold() for a in desired.audiences}
    actions = [_plan_audience(a, audiences) for a in desired.audiences]
    ids = {name: audience.audience_id for name, audience in audiences.items()}
    names_by_id = {audience.audience_id: audience.name for audience in audiences.values()}
    for index, engagement in enumerate(desired.engagements):
        for position, name in enumerate((engagement.get("audience") or {}).get("audiences", [])):
            if name.casefold() not in ids and name.casefold() not in declared:
                where = located.where(("engagements", index, "audience", "audiences", position))
                raise PlanError(f"{where}: no audience named {name!r} in Herald or in the file")
        actions.append(_plan_engagement(engagement, engagements, ids, names_by_id, schemas))
    named = {e["name"].strip().casefold() for e in desired.engagements}
    unmanaged = sorted(e.name for key, e in engagements.items() if key not in named)
    return Plan(actions, unmanaged)


def _plan_audience(wanted: dict, current: dict[str, Audience]) -> Action:
    body = {
        "name": wanted["name"].strip(),
        "description": wanted.get("description", ""),
        "rules": wanted["rules"],
    }
    found = current.get(body["name"].casefold())
    if found is None:
        summary = f"{_conditions(body['rules'])} condition(s)"
        return Action("audience", body["name"], CREATE, body=body, summary=summary)
    before = {"name": found.name, "description": found.description, "rules": found.rules}
    changes = diff(before, body)
    verb = UPDATE if changes else UNCHANGED
    return Action("audience", body["name"], verb, changes, body, found.audience_id, found.version)


def _plan_engagement(
    wanted: dict,
    current: dict[str, Engagement],
    audience_ids: dict[str, str],
    names_by_id: dict[str, str],
    schemas: Schemas,
) -> Action:
    name = wanted["name"].strip()
    spec = normalized(schemas, to_api(wanted, audience_ids, placeholder=True))
    found = current.get(name.casefold())
    if found is None:
        body = to_api(wanted, audience_ids, True)
        return Action("engagement", name, CREATE, body=body, summary=_summary(spec))
    known = set(schemas.properties("CreateEngagement")) - {"status"}
    stored = normalized(schemas, {k: v for k, v in found.spec().items() if k in known})
    changes = _readable(diff(stored, spec), names_by_id)
    if not changes:
        return Action("engagement", name, UNCHANGED, target_id=found.engagement_id)
    patch = {k: spec[k] for k in spec if stored.get(k) != spec[k]}
    patch.update({k: None for k in stored if k not in spec})
    action = Action("engagement", name, UPDATE, changes, patch, found.engagement_id, found.version)
    if has_run(found):
        frozen = [
            FROZEN_NAMES.get(k, k)
            for k, v in assignment(spec).items()
            if assignment(stored)[k] != v
        ]
        if frozen:
            action.verb = REFUSED
            action.reason = (
                f"{', '.join(frozen)} cannot change: the engagement has run (it is "
                f"{found.status}), and changing who sees which variant would spoil the test. "
                "Content, schedule, audience and caps may change; for a new split, create a "
                "new engagement."
            )
    return action


def _conditions(rule: Any) -> int:
    """How many conditions a rule holds, in all its groups."""
    if isinstance(rule, list):
        return sum(_conditions(member) for member in rule)
    if isinstance(rule, dict):
        return 1 if "op" in rule else sum(_conditions(v) for v in rule.values())
    return 0


def _summary(spec: dict) -> str:
    variants = ", ".join(f"{v.get('key')} {v.get('weight')}%" for v in spec.get("variants", []))
    control = f", control {spec['control_percent']}%" if spec.get("control_percent") else ""
    event = (spec.get("trigger") or {}).get("event", "app_launch")
    schedule = spec.get("schedule", {})
    window = " to ".join(_instant(schedule[k]).date().isoformat() for k in ("start_at", "end_at"))
    return f"{variants}{control}; on {event}; {window} (UTC)"


def _readable(changes: list[FieldChange], names_by_id: dict[str, str]) -> list[FieldChange]:
    """Audience ids shown as the names the file uses."""
    for change in changes:
        if change.path.startswith("audience.audience_ids"):
            change.path = change.path.replace("audience.audience_ids", "audience.audiences")
            change.before = _names(change.before, names_by_id)
            change.after = _names(change.after, names_by_id)
    return changes


def _names(value: Any, names_by_id: dict[str, str]) -> Any:
    if isinstance(value, list):
        return [_names(v, names_by_id) for v in value]
    if isinstance(value, str):
        if value in names_by_id:
            return names_by_id[value]
        return f"{value} (new)" if value.startswith("new") else value
    return value


def apply_plan(client: Herald, plan: Plan) -> list[Outcome]:
    """Carry out the plan's writes, audiences first. Refuses the whole plan if any item is
    refused. An item that fails is reported and the others still go ahead."""
    if plan.refused:
        raise PlanError("the plan has refused changes; nothing was applied")
    created_ids: dict[str, str] = {}
    outcomes = []
    for action in plan.writes:
        try:
            outcomes.append(_apply(client, action, created_ids))
        except StaleVersion as error:
            outcomes.append(
                Outcome(
                    action,
                    False,
                    f"changed in Herald since the plan read version {action.version} "
                    f"({error.message}); not overwritten: plan again",
                )
            )
        except ApiError as error:
            outcomes.append(Outcome(action, False, f"{error.status} {error.code}: {error.message}"))
    return outcomes


def _apply(client: Herald, action: Action, created_ids: dict[str, str]) -> Outcome:
    if action.kind == "audience":
        body = action.body
        if action.verb == CREATE:
            made = client.create_audience(body["name"], body["rules"], body["description"])
            created_ids[_placeholder(made.name)] = made.audience_id
            return Outcome(action, True, f"created {made.audience_id}")
        made = client.replace_audience(
            action.target_id, body["name"], body["rules"], body["description"], action.version
        )
        return Outcome(action, True, f"updated to version {made.version}")
    body = _with_created_ids(action.body, created_ids)
    if action.verb == CREATE:
        made = client.create_engagement(body)
        return Outcome(action, True, f"created {made.engagement_id} ({made.status})")
    made = client.update_engagement(action.target_id, body, action.version)
    return Outcome(action, True, f"updated to version {made.version} ({made.status})")


def _with_created_ids(body: dict, created_ids: dict[str, str]) -> dict:
    audience = body.get("audience")
    if not isinstance(audience, dict) or "audience_ids" not in audience:
        return body
    ids = [created_ids.get(i, i) for i in audience["audience_ids"]]
    return {**body, "audience": {**audience, "audience_ids": ids}}
