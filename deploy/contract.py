"""Checks an HTTP answer against the OpenAPI document: its status is documented for the route,
and its body validates against the schema documented for that status."""

import json
from fnmatch import fnmatch
from typing import Any

from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

DOCUMENT_URI = "urn:herald:openapi"
JSON = "application/json"


def read_body(headers: dict[str, str], raw: bytes | None) -> tuple[str, Any]:
    """(content type, body): the parsed JSON of a JSON answer, the text of any other."""
    found = {name.lower(): value for name, value in headers.items()}.get("content-type", JSON)
    text = raw.decode("utf-8", errors="replace") if raw else ""
    if found.split(";")[0].strip().lower() == JSON:
        return found, json.loads(text) if text else None
    return found, text


class Contract:
    def __init__(self, document: dict[str, Any]):
        self.document = document
        resource = Resource(contents=document, specification=DRAFT202012)
        self._registry = Registry().with_resource(DOCUMENT_URI, resource)

    def validator(self, pointer: str) -> Draft202012Validator:
        return Draft202012Validator({"$ref": f"{DOCUMENT_URI}#{pointer}"}, registry=self._registry)

    def _response(self, method: str, template: str, status: int) -> dict[str, Any] | None:
        operation = self.document["paths"].get(template, {}).get(method.lower())
        if operation is None:
            return None
        response = operation["responses"].get(str(status))
        if response and "$ref" in response:
            name = response["$ref"].rsplit("/", 1)[-1]
            response = self.document["components"]["responses"][name]
        return response

    def problems(
        self,
        method: str,
        template: str,
        status: int,
        body: Any,
        content_type: str = JSON,
    ) -> list[str]:
        """What is wrong with this answer, per the document (nothing: an empty list). `body` is
        the parsed JSON for a JSON answer, else the text."""
        where = f"{method} {template} -> {status}"
        response = self._response(method, template, status)
        if response is None:
            return [f"{where}: status not documented"]
        documented = response.get("content", {})
        if not documented:
            return [] if body in (None, "") else [f"{where}: a body where none is documented"]
        media = content_type.split(";")[0].strip().lower()
        if JSON not in documented:
            if any(fnmatch(media, pattern) for pattern in documented):
                return []
            return [f"{where}: {media} is not one of {sorted(documented)}"]
        if media != JSON:
            return [f"{where}: {media} where JSON is documented"]
        schema = documented[JSON]["schema"]
        pointer = schema["$ref"].removeprefix("#") if "$ref" in schema else None
        if pointer is None:
            return [f"{where}: response schemas are expected to be references"]
        return [
            f"{where}: {'/'.join(map(str, error.absolute_path)) or 'body'}: {error.message}"
            for error in self.validator(pointer).iter_errors(body)
        ]

    def request_validator(self, method: str, template: str) -> Draft202012Validator | None:
        operation = self.document["paths"][template][method.lower()]
        body = operation.get("requestBody")
        if body is None:
            return None
        schema = body["content"]["application/json"]["schema"]
        if "$ref" in schema:
            return self.validator(schema["$ref"].removeprefix("#"))
        return Draft202012Validator(_absolute(schema), registry=self._registry)


def _absolute(schema: Any) -> Any:
    """`#/components/...` references made absolute, so they resolve from an inline schema."""
    if isinstance(schema, dict):
        return {
            key: (
                f"{DOCUMENT_URI}{value}"
                if key == "$ref" and value.startswith("#")
                else _absolute(value)
            )
            for key, value in schema.items()
        }
    if isinstance(schema, list):
        return [_absolute(item) for item in schema]
    return schema
