"""Message templates: a small, safe language for putting what the app told into a message.

A template is text in which `{{ VARIABLE }}` or `{{ VARIABLE | default: "text" }}` is replaced:
  user_id            the device's user id
  attributes.NAME    a custom attribute of the device (PUT …/devices/{id})
  event.NAME         an attribute of the triggering event (POST …/messages {"attributes"})
A missing value gives the default, or nothing. There is nothing else: no loops, no conditions,
no other filters, no expressions. `{{` always opens a tag and `}}` closes one; a lone `}}` or an
unclosed `{{` is an error. Values are inserted as text: a value holding `{{ … }}` or markup stays
as it is (nothing is evaluated twice; clients set text, never HTML), control characters are
dropped, and a value is cut at MAX_VALUE_CHARS; the rendered text is cut at the field's limit.
"""

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

MAX_VALUE_CHARS = 256
MAX_TAGS = 20
ELLIPSIS = "…"

_NAME = r"[A-Za-z0-9_.:-]{1,64}"
_TAG = re.compile(
    r"""^\s*(?P<variable>[^\s|]+)\s*
        (?:\|\s*(?P<filter>[A-Za-z_]+)\s*(?::\s*(?P<argument>"(?:[^"\\]|\\.)*")?)?\s*)?
        $""",
    re.VERBOSE | re.DOTALL,
)
_VARIABLE = re.compile(rf"^(?:user_id|(?P<root>attributes|event)\.(?P<name>{_NAME}))$")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


class TemplateError(ValueError):
    """What is wrong with a template, with the character position (1-based) of the problem."""


@dataclass(frozen=True)
class Tag:
    root: str  # "user_id", "attributes" or "event"
    name: str | None  # the attribute's name (None for user_id)
    default: str


Part = str | Tag


@lru_cache(maxsize=4096)
def parse(text: str) -> tuple[Part, ...]:
    """The template's literal texts and tags, or TemplateError."""
    parts: list[Part] = []
    position = 0
    tags = 0
    while True:
        opening = text.find("{{", position)
        closing = text.find("}}", position)
        if opening < 0:
            if closing >= 0:
                raise TemplateError(f"'}}}}' at character {closing + 1} closes no '{{{{'")
            parts.append(text[position:])
            break
        if 0 <= closing < opening:
            raise TemplateError(f"'}}}}' at character {closing + 1} closes no '{{{{'")
        end = text.find("}}", opening + 2)
        if end < 0:
            raise TemplateError(f"'{{{{' at character {opening + 1} is never closed by '}}}}'")
        inner = text[opening + 2 : end]
        if "{{" in inner:
            raise TemplateError(f"'{{{{' at character {opening + 1} is never closed by '}}}}'")
        tags += 1
        if tags > MAX_TAGS:
            raise TemplateError(f"at most {MAX_TAGS} {{{{ … }}}} tags in one text")
        parts.append(text[position:opening])
        parts.append(_tag(inner, opening + 1))
        position = end + 2
    return tuple(part for part in parts if part != "")


def _tag(inner: str, at: int) -> Tag:
    match = _TAG.match(inner)
    if not match:
        raise TemplateError(
            f"the tag at character {at} must be {{{{ variable }}}} or "
            f'{{{{ variable | default: "text" }}}}'
        )
    variable = match.group("variable")
    found = _VARIABLE.match(variable)
    if not found:
        raise TemplateError(
            f"unknown variable {variable!r} at character {at}: use user_id, attributes.NAME "
            "or event.NAME"
        )
    default = ""
    if match.group("filter") is not None:
        if match.group("filter") != "default":
            raise TemplateError(
                f"unknown filter {match.group('filter')!r} at character {at}: the only filter "
                'is default: "text"'
            )
        argument = match.group("argument")
        if argument is None:
            raise TemplateError(f'default at character {at} needs a quoted text: default: "…"')
        default = re.sub(r"\\(.)", r"\1", argument[1:-1])
    root = "user_id" if variable == "user_id" else found.group("root")
    return Tag(root=root, name=found.group("name"), default=default)


SOURCE_FACTOR = 4  # a template may be longer than what it renders: its tags take room


def checker(limit: int) -> Callable[[str], str]:
    """A validator for a field of `limit` characters: plain text of at most `limit`, or a valid
    template of at most SOURCE_FACTOR times that (its rendering is cut at `limit`)."""

    def check(text: str) -> str:
        if not has_tags(text) and "}}" not in text:
            if len(text) > limit:
                raise TemplateError(f"at most {limit} characters, got {len(text)}")
            return text
        if len(text) > SOURCE_FACTOR * limit:
            raise TemplateError(
                f"a template is at most {SOURCE_FACTOR * limit} characters, got {len(text)}"
            )
        parse(text)
        return text

    return check


def has_tags(text: str | None) -> bool:
    return bool(text) and "{{" in text


@dataclass(frozen=True)
class Values:
    """What a rendering may insert."""

    user_id: str | None
    attributes: Mapping[str, Any]
    event: Mapping[str, Any]

    def of(self, tag: Tag) -> str | None:
        if tag.root == "user_id":
            value: Any = self.user_id
        else:
            source = self.attributes if tag.root == "attributes" else self.event
            value = source.get(tag.name)
        return None if value is None else _text(value)


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + ELLIPSIS


def render(text: str, values: Values, limit: int) -> str:
    """The template with its tags replaced, at most `limit` characters."""
    if not has_tags(text):
        return text
    out = []
    for part in parse(text):
        if isinstance(part, str):
            out.append(part)
            continue
        value = values.of(part)
        if value is None or value == "":
            out.append(part.default)
        else:
            out.append(_cut(_CONTROL.sub("", value), MAX_VALUE_CHARS))
    return _cut("".join(out), limit)


# the limits of the message fields a template may be in (chalicelib/api/models.py)
TITLE_CHARS = 120
BODY_CHARS = 1000
LABEL_CHARS = 40
PROMPT_CHARS = 300


def render_message(message: dict[str, Any], values: Values) -> dict[str, Any]:
    """A localized message (see localization.localize) with every template rendered."""
    shown = dict(message)
    for field, limit in (("title", TITLE_CHARS), ("body", BODY_CHARS)):
        if isinstance(shown.get(field), str):
            shown[field] = render(shown[field], values, limit)
    shown["buttons"] = [
        {**button, "label": render(button["label"], values, LABEL_CHARS)}
        for button in shown.get("buttons", [])
    ]
    question = shown.get("question")
    if question:
        shown["question"] = {
            **question,
            "prompt": render(question["prompt"], values, PROMPT_CHARS),
        }
    return shown
