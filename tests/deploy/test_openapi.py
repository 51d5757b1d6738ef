"""The OpenAPI document: valid 3.1, covers every route, built from the validating models, and
true to what the API really answers."""

import json

import pytest
from chalice import Chalice
from chalice.test import Client
from openapi_spec_validator import validate
from pydantic.json_schema import models_json_schema

from app import app
from chalicelib.api import models, openapi
from chalicelib.dialects.pinpoint import models as pinpoint_models
from deploy import contract, infra
from deploy.__main__ import main

DOCUMENT = openapi.document(app)
CONTRACT = contract.Contract(DOCUMENT)


def test_it_is_a_valid_openapi_3_1_document():
    assert DOCUMENT["openapi"].startswith("3.1")
    validate(DOCUMENT)


def test_it_describes_every_route_and_nothing_else():
    documented = {
        (method.upper(), path) for path, item in DOCUMENT["paths"].items() for method in item
    }
    served = {(method, path) for path, methods in app.routes.items() for method in methods}
    assert documented == served


def test_a_new_route_without_a_description_is_refused():
    grown = Chalice("grown")

    @grown.route("/v1/something-new", methods=["GET"])
    def something_new():  # pragma: no cover - never served
        return {}

    with pytest.raises(openapi.Undocumented, match="GET /v1/something-new"):
        openapi.document(grown)


def test_request_bodies_are_the_schemas_of_the_validating_models():
    requests = {op.request for op in openapi.OPERATIONS.values() if op.request is not None}
    _keys, expected = models_json_schema(
        [(model, "validation") for model in sorted(requests, key=lambda m: m.__name__)],
        ref_template="#/components/schemas/{model}",
    )
    for name, schema in expected["$defs"].items():
        assert DOCUMENT["components"]["schemas"][name] == schema, name
    for path, item in DOCUMENT["paths"].items():
        for method, operation in item.items():
            described = openapi.OPERATIONS[(method.upper(), path)]
            if described.request is None:
                assert "requestBody" not in operation
            elif not described.merge_patch:
                schema = operation["requestBody"]["content"]["application/json"]["schema"]
                assert schema == {"$ref": f"#/components/schemas/{described.request.__name__}"}


def test_examples_are_valid_by_the_document_and_by_the_models():
    for (method, path), operation in openapi.OPERATIONS.items():
        if operation.request_example is None or path not in DOCUMENT["paths"]:
            continue
        validator = CONTRACT.request_validator(method, path)
        assert list(validator.iter_errors(operation.request_example)) == [], (method, path)
        if not operation.merge_patch:
            operation.request.model_validate_json(json.dumps(operation.request_example))


def test_security_schemes_and_the_error_body():
    schemes = DOCUMENT["components"]["securitySchemes"]
    assert schemes["clientKey"] == {
        "type": "apiKey",
        "in": "header",
        "name": "X-Client-Key",
        "description": schemes["clientKey"]["description"],
    }
    assert schemes["adminKey"]["scheme"] == schemes["rootKey"]["scheme"] == "bearer"
    error = DOCUMENT["components"]["schemas"]["Error"]
    assert set(error["required"]) == {"Code", "Message"}
    for path, item in DOCUMENT["paths"].items():
        for method, operation in item.items():
            auth = openapi.OPERATIONS[(method.upper(), path)].auth
            assert operation["security"] == openapi.SECURITY[auth]
            # A CORS preflight never carries a key (browsers send none): it is public.
            if "/devices/" in path and not path.endswith("/explain") and method != "options":
                assert operation["security"] == [{"clientKey": []}], (method, path)
            for status, response in operation["responses"].items():
                if status.startswith("4"):
                    assert response["$ref"].startswith("#/components/responses/")


def test_every_answer_of_the_tour_is_documented_and_matches_its_schema(toured):
    problems = [
        problem
        for answer in toured.answers
        for problem in CONTRACT.problems(
            answer.method, answer.template, answer.status, answer.body, answer.content_type
        )
    ]
    assert problems == []
    assert {(a.method, a.template) for a in toured.answers} == {
        (method, path) for path, methods in app.routes.items() for method in methods
    }


def test_the_contract_check_catches_a_wrong_answer():
    assert CONTRACT.problems("GET", openapi.APP, 200, "<html>", "text/html") == [
        f"GET {openapi.APP} -> 200: text/html where JSON is documented"
    ]
    assert CONTRACT.problems("POST", "/v1/apps", 201, {"app_id": "a", "name": "n"}) != []
    assert CONTRACT.problems("POST", "/v1/apps", 299, None) == [
        "POST /v1/apps -> 299: status not documented"
    ]
    assert (
        CONTRACT.problems("GET", openapi.APP, 404, {"Code": "NotFoundError", "Message": "x"}) == []
    )


def test_make_openapi_writes_the_document(tmp_path):
    target = tmp_path / "openapi.json"
    assert main(["openapi", "--output", str(target)]) == 0
    assert json.loads(target.read_text()) == json.loads(json.dumps(DOCUMENT))


def test_the_served_document_is_the_generated_one(aws):
    if ("GET", "/v1/openapi.json") not in {
        (method, path) for path, methods in app.routes.items() for method in methods
    }:
        pytest.skip("GET /v1/openapi.json is not a route of app.py yet")
    with Client(app, project_dir=str(infra.PROJECT_DIR)) as client:
        response = client.http.get("/v1/openapi.json")
    assert response.status_code == 200
    assert json.loads(response.body) == json.loads(json.dumps(DOCUMENT))


def test_the_documented_models_exist_in_the_models_module():
    dialect = (pinpoint_models,)  # Pinpoint's bodies are the dialect's own models
    for operation in openapi.OPERATIONS.values():
        if operation.request is not None:
            found = [m for m in (models, *dialect) if hasattr(m, operation.request.__name__)]
            assert [getattr(m, operation.request.__name__) for m in found] == [operation.request]
