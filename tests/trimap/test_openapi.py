"""The OpenAPI document: valid OpenAPI 3.1, served at /openapi.json, and never drifting from
the app's routes (every route registered is documented, nothing else is)."""

from __future__ import annotations

import re
from typing import Any

from openapi_spec_validator import validate

from tests.fixtures.api_service import ApiHarness
from trimap import __version__
from trimap.api import build_app
from trimap.api.openapi import document
from trimap.config import load_config

#: Quart's automatic route for the app's ``static`` folder (trimap's package has none): not a
#: route of the API, so not documented.
UNDOCUMENTED_ENDPOINTS = {"static"}
IMPLIED_METHODS = {"HEAD", "OPTIONS"}  # answered by the framework for every GET / every route
_VARIABLE = re.compile(r"<(?:[^:<>]+:)?([^<>]+)>")


def _routes() -> set[tuple[str, str]]:
    """(OpenAPI path, method) of every route the app registers."""
    app = build_app(load_config({}, environ={}))
    return {
        (_VARIABLE.sub(r"{\1}", rule.rule), method.lower())
        for rule in app.url_map.iter_rules()
        if rule.endpoint not in UNDOCUMENTED_ENDPOINTS
        for method in rule.methods or ()
        if method not in IMPLIED_METHODS
    }


def _documented(spec: dict[str, Any]) -> set[tuple[str, str]]:
    return {(path, method) for path, item in spec["paths"].items() for method in item}


def test_every_registered_route_is_documented_and_nothing_else() -> None:
    routes, documented = _routes(), _documented(document())
    assert routes - documented == set(), "routes missing from the OpenAPI document"
    assert documented - routes == set(), "documented operations that no route serves"


def test_path_parameters_are_those_of_the_route() -> None:
    for path, item in document()["paths"].items():
        named = set(re.findall(r"{([^}]+)}", path))
        for method, operation in item.items():
            declared = {p["name"] for p in operation.get("parameters", ()) if p["in"] == "path"}
            assert declared == named, (method, path)


def test_the_document_is_valid_openapi_3_1() -> None:
    spec = document()
    validate(spec)  # raises on any violation of the OpenAPI 3.1 schema
    assert spec["openapi"].startswith("3.1")
    assert spec["info"]["title"] == "trimap" and spec["info"]["version"] == __version__


def test_every_operation_lists_the_error_shape_for_its_errors() -> None:
    for path, item in document()["paths"].items():
        for operation in item.values():
            name = operation["operationId"]
            assert "500" in operation["responses"], name
            for status, answer in operation["responses"].items():
                if int(status) >= 400 and not (path == "/health" and status == "503"):
                    schema = answer["content"]["application/json"]["schema"]
                    assert schema == {"$ref": "#/components/schemas/Error"}, (name, status)


async def test_the_document_is_served_at_openapi_json(api: ApiHarness) -> None:
    answer = await api.call("GET", "/openapi.json")
    assert answer.status == 200
    assert answer.headers["content-type"].startswith("application/json")
    assert answer.json() == document()
