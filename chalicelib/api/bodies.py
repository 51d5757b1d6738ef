"""Turning raw request bodies into validated models, with messages that name the field."""

import json
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from chalicelib.api import inputs
from chalicelib.domain.rules import RuleError
from chalicelib.errors import InvalidInput, PayloadTooLarge

MAX_BODY_BYTES = 64 * 1024
MAX_ERRORS_SHOWN = 10

Model = TypeVar("Model", bound=BaseModel)


def check_size(raw: bytes | None, limit: int = MAX_BODY_BYTES) -> bytes:
    raw = raw or b""
    if len(raw) > limit:
        raise PayloadTooLarge(f"request body is {len(raw)} bytes; the limit is {limit}")
    return raw


def parse_json_object(raw: bytes | None, limit: int = MAX_BODY_BYTES) -> dict[str, Any]:
    raw = check_size(raw, limit)
    if not raw.strip():
        raise InvalidInput("a JSON object body is required")
    try:
        data = inputs.loads(raw)
    except RecursionError:
        raise InvalidInput("body is not valid JSON: nested too deeply") from None
    except (ValueError, UnicodeDecodeError) as err:
        raise InvalidInput(f"body is not valid JSON: {err}") from None
    if not isinstance(data, dict):
        raise InvalidInput("body must be a JSON object")
    return data


def validate(model: type[Model], data: dict[str, Any]) -> Model:
    """Validate already-parsed JSON data. Strict models still accept ISO date-time strings here
    because the data is re-read as JSON, exactly as a request body would be."""
    try:
        return model.model_validate_json(json.dumps(data))
    except ValidationError as err:
        raise InvalidInput(describe(err)) from None


def parse(model: type[Model], raw: bytes | None, limit: int = MAX_BODY_BYTES) -> Model:
    return validate(model, parse_json_object(raw, limit))


def describe(error: ValidationError) -> str:
    problems = [_describe_one(item) for item in error.errors()[:MAX_ERRORS_SHOWN]]
    extra = error.error_count() - len(problems)
    if extra > 0:
        problems.append(f"and {extra} more")
    return "; ".join(problems)


def _describe_one(item: dict[str, Any]) -> str:
    cause = (item.get("ctx") or {}).get("error")
    if isinstance(cause, RuleError):
        return str(cause)
    path = _path(item["loc"])
    if item["type"] == "extra_forbidden":
        return f"{path}: unknown field"
    if item["type"] in ("union_tag_invalid", "union_tag_not_found"):
        expected = (item.get("ctx") or {}).get("expected_tags", "")
        return f"{path}.{(item.get('ctx') or {}).get('discriminator', 'type').strip(chr(39))}: " + (
            f"must be one of {expected}"
        )
    message = item["msg"].removeprefix("Value error, ")
    return f"{path}: {message}" if path else message


# the tags of discriminated unions, which pydantic puts in the path after the field
_UNION_TAGS = {"question": frozenset({"rating", "nps", "choice", "text"})}


def _path(loc: tuple) -> str:
    path = ""
    previous = None
    for part in loc:
        tagged, previous = previous, part
        if isinstance(part, int):
            path += f"[{part}]"
        elif (
            part in ("function-after", "tagged-union")
            or "[" in str(part)
            or part in _UNION_TAGS.get(tagged, ())
        ):
            continue
        else:
            path += f".{part}" if path else str(part)
    return path
