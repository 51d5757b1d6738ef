"""What the OpenAPI document says in words because JSON Schema cannot, applied to the requests
schemathesis generated as schema-valid before they are sent: rules across fields (weights that
sum to 100, buttons a metric names), ids that must exist (audiences, enrolled test devices),
instants relative to now (an event's timestamp, a schedule that has not ended), the version to
send in If-Match, and a merge patch's result being a valid engagement.

Only a component generated as valid is touched: a deliberately invalid one must reach the
server as it is, to be refused. schemathesis validates the case again after these changes, so
what is sent is still judged by the document.
"""

import copy
import json
import re
import urllib.request
from datetime import UTC, date, datetime, timedelta
from typing import Any

from schemathesis.core.parameters import ParameterLocation

from chalicelib.domain import templates
from chalicelib.domain.rules import MAX_CONDITIONS

TAGS = re.compile(r"\{\{|\}\}")
TEXT_LIMITS = {
    "title": templates.TITLE_CHARS,
    "body": templates.BODY_CHARS,
    "label": templates.LABEL_CHARS,
    "prompt": templates.PROMPT_CHARS,
}


def _valid(case, location: ParameterLocation) -> bool:
    meta = case.meta
    if meta is None:
        return True
    component = meta.components.get(location)
    return component is None or not component.mode.is_negative


def _now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def _read(world: dict, path: str) -> dict | None:
    request = urllib.request.Request(
        world["url"] + path, headers={"Authorization": f"Bearer {world['admin_key']}"}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read())
    except urllib.error.HTTPError:
        return None


def prepare(case, world: dict) -> None:
    """Make a schema-valid case valid by the document's words too."""
    label = f"{case.method.upper()} {case.path}"
    body_valid = _valid(case, ParameterLocation.BODY) and isinstance(case.body, dict)
    headers = case.headers or {}
    versioned = bool(headers.get("If-Match")) and _valid(case, ParameterLocation.HEADER)
    current = None
    if (versioned or body_valid) and (
        ("{engagement_id}" in case.path and case.method.upper() in ("PATCH", "DELETE"))
        or (label.startswith("PUT ") and "{audience_id}" in case.path)
    ):
        current = _read(world, case.formatted_path)  # its version, and what a patch merges into
    if current and versioned:
        headers["If-Match"] = str(current["version"])
    if case.path.endswith("/metrics") and case.query and _valid(case, ParameterLocation.QUERY):
        fit_days(case.query)
    if not body_valid:
        return
    if case.path.endswith("/engagements") and case.method.upper() == "POST":
        fit_engagement(case.body, world)
    elif case.path.endswith("/engagements/{engagement_id}") and case.method.upper() == "PATCH":
        if current is not None:
            case.body = rebased_patch(case.body, current, world)
    elif "rules" in case.body and _conditions(case.body["rules"]) > MAX_CONDITIONS:
        case.body["rules"] = {"all": [{"attribute": "platform", "op": "eq", "value": "ios"}]}
    elif label == "PATCH /v1/apps/{app_id}" and isinstance(case.body.get("web_origins"), list):
        case.body["web_origins"] = fit_origins(case.body["web_origins"])
    elif case.path.endswith("/events") and "events" in case.body:
        for event in case.body["events"]:
            fit_event(event)


def fit_days(query: dict) -> None:
    """`from` not after `to`, dates that exist, a daily series of at most 366 days."""
    days = {}
    for name in ("from", "to"):
        try:
            days[name] = date.fromisoformat(query[name]) if query.get(name) else None
        except ValueError:
            query[name] = "2026-02-28"
            days[name] = date(2026, 2, 28)
    first, last = days["from"], days["to"]
    if first and last and first > last:
        query["from"], query["to"] = query["to"], query["from"]
        first, last = last, first
    if query.get("granularity") == "day":  # the series runs from..to, today when left out
        last = last or datetime.now(UTC).date()
        if first is None or (last - first).days >= 366 or first > last:
            first = last - timedelta(days=30)
        query["from"], query["to"] = first.isoformat(), last.isoformat()


def _conditions(rule: Any) -> int:
    """The conditions in a rule, across its groups (at most MAX_CONDITIONS in all)."""
    if isinstance(rule, dict) and set(rule) in ({"all"}, {"any"}):
        members = next(iter(rule.values()))
        return sum(_conditions(member) for member in members) if isinstance(members, list) else 0
    return 1


# --- engagements -------------------------------------------------------------------------------


def merge(target: Any, patch: Any) -> Any:
    """RFC 7386."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    merged = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = merge(merged.get(key), value)
    return merged


SPEC_FIELDS = (
    "name",
    "description",
    "type",
    "ab_test",
    "control_percent",
    "variants",
    "audience",
    "schedule",
    "trigger",
    "frequency",
    "priority",
    "metrics",
    "conversion",
    "test_device_ids",
)


def rebased_patch(patch: dict, current: dict, world: dict) -> dict:
    """The patch, with every top-level field it touches (or the rules make it touch) sent
    whole, so the merged engagement is a valid one."""
    stored = {key: current[key] for key in SPEC_FIELDS if key in current}
    merged = merge(stored, patch)
    fit_engagement(merged, world, stored.get("schedule"))
    touched = set(patch) | {
        key for key in set(merged) | set(stored) if merged.get(key) != stored.get(key)
    }
    return {key: merged.get(key) for key in touched}


def fit_engagement(spec: dict, world: dict, stored_schedule: dict | None = None) -> None:
    variants = spec.get("variants")
    if isinstance(variants, list) and variants:
        keys = set()
        for index, variant in enumerate(variants):
            if variant.get("key") in keys:
                variant["key"] = f"v{index}"
            keys.add(variant["key"])
            if isinstance(variant.get("message"), dict):
                fit_message(variant["message"])
        if len(variants) > 1:
            spec["ab_test"] = True
        if sum(v.get("weight") or 0 for v in variants) != 100 or any(
            v.get("weight") is None for v in variants
        ):
            share = 100 // len(variants)
            for variant in variants:
                variant["weight"] = share
            variants[0]["weight"] += 100 - share * len(variants)
        buttons = {
            button.get("id")
            for variant in variants
            for button in (variant.get("message") or {}).get("buttons") or []
        }
        metrics, seen = [], set()
        for mapping in spec.get("metrics") or []:
            if mapping.get("element") in buttons and mapping["element"] not in seen:
                seen.add(mapping["element"])
                metrics.append(mapping)
        if spec.get("metrics") is not None or metrics:
            spec["metrics"] = metrics
    if spec.get("schedule") is not None:
        spec["schedule"] = fit_schedule(spec["schedule"], stored_schedule)
    if isinstance(spec.get("conversion"), dict) and "event" not in spec["conversion"]:
        spec["conversion"]["event"] = "purchase"  # a patch merged into no conversion names it
    if isinstance(spec.get("test_device_ids"), list):
        spec["test_device_ids"] = [
            d for d in spec["test_device_ids"] if d in world["test_device_ids"]
        ]
    audience = spec.get("audience")
    if isinstance(audience, dict) and isinstance(audience.get("audience_ids"), list):
        audience["audience_ids"] = [world["audience_id"]][: len(audience["audience_ids"])]


def fit_schedule(schedule: dict, stored: dict | None) -> dict:
    """Starts before it ends, and ends in the future (a past end is refused)."""
    whole = {**(stored or {}), **schedule}
    try:
        start = datetime.fromisoformat(whole["start_at"].replace("Z", "+00:00"))
        end = datetime.fromisoformat(whole["end_at"].replace("Z", "+00:00"))
    except (KeyError, AttributeError, ValueError):
        start = end = None
    now = _now()
    if start is None or end is None or end <= now + timedelta(hours=1) or start >= end:
        return {
            "start_at": (now - timedelta(hours=1)).isoformat(),
            "end_at": (now + timedelta(days=7)).isoformat(),
        }
    return whole


def _plain(text: Any, limit: int) -> Any:
    """A text without template tags ({{ … }} must parse), within its rendered length."""
    if not isinstance(text, str):
        return text
    if TAGS.search(text):
        text = text.replace("{", "").replace("}", "")
    return text[:limit]


def fit_message(message: dict) -> None:
    for field in ("title", "body"):
        if field in message:
            message[field] = _plain(message[field], TEXT_LIMITS[field])
    if message.get("layout") == "image_only" and not message.get("image_url"):
        message["image_url"] = "https://cdn.example.com/image.png"
    if message.get("layout") != "image_only" and not (message.get("title") or message.get("body")):
        message["title"] = "Hello"
    ids = []
    for index, button in enumerate(message.get("buttons") or []):
        if button.get("id") in ids:
            button["id"] = f"b{index}"
        ids.append(button["id"])
        button["label"] = _plain(button.get("label"), TEXT_LIMITS["label"]) or "OK"
        action = button.get("action") or {}
        if action.get("type") == "dismiss":
            action.pop("target", None)
        elif action.get("type") == "url":
            action["target"] = "https://shop.example.com/sale"
        elif action.get("type") == "deep_link":
            action["target"] = "shop://sale"
    question = message.get("question")
    if isinstance(question, dict):
        question["prompt"] = _plain(question.get("prompt"), TEXT_LIMITS["prompt"]) or "Why?"
        options = question.get("options")
        if isinstance(options, list):
            for index, option in enumerate(options):
                option["id"] = f"o{index}"
    for localization in (message.get("localizations") or {}).values():
        if not isinstance(localization, dict):
            continue
        for field in ("title", "body"):
            if field in localization:
                localization[field] = _plain(localization[field], TEXT_LIMITS[field])
        if isinstance(localization.get("buttons"), dict):
            localization["buttons"] = {
                key: _plain(value, TEXT_LIMITS["label"]) or "OK"
                for key, value in localization["buttons"].items()
                if key in ids
            }
        asked = localization.get("question")
        if isinstance(asked, dict) and not isinstance(question, dict):
            localization.pop("question")
        elif isinstance(asked, dict):
            if "prompt" in asked:
                asked["prompt"] = _plain(asked["prompt"], TEXT_LIMITS["prompt"]) or "Why?"
            known = {option["id"] for option in (question.get("options") or [])}
            if isinstance(asked.get("options"), dict):
                asked["options"] = {k: v for k, v in asked["options"].items() if k in known}


def fit_origins(origins: list) -> list:
    """An IPv6 host is an address; a port is 1-65535 and not the scheme's default."""
    fitted = []
    for origin in origins:
        if not isinstance(origin, str):
            fitted.append(origin)
            continue
        scheme, _, rest = origin.partition("://")
        host, colon, port = (
            rest.rpartition(":") if rest.rpartition(":")[2].isdigit() else (rest, "", "")
        )
        if host.startswith("["):
            host = "[::1]"
        default = {"http": "80", "https": "443"}.get(scheme)
        if colon and (
            not 0 < int(port) < 65536
            or port.lstrip("0") == default
            or port != port.lstrip("0")
            or port == ""
        ):
            colon, port = "", ""
        candidate = f"{scheme}://{host}{colon}{port}"
        if candidate not in fitted:
            fitted.append(candidate)
    return fitted


# --- events ------------------------------------------------------------------------------------


def fit_event(event: dict) -> None:
    """Within the last 30 days (and at most 24 hours ahead); an answer must answer a question
    the engagement asks, which generated ids do not name: sent as the impression it follows."""
    if not isinstance(event, dict):
        return
    event["timestamp"] = _now().isoformat()
    if event.get("type") == "response":
        event["type"] = "impression"
        event.pop("value", None)
