"""/openapi.json is generated from the declared endpoints and is valid OpenAPI 3.1."""

from __future__ import annotations

from openapi_spec_validator import validate
from openapi_spec_validator.validation import OpenAPIV31SpecValidator

from tests.integration.chassis.example_app import build_app


def test_generated_document_validates_as_openapi_3_1() -> None:
    document = build_app().openapi()
    assert document["openapi"] == "3.1.0"
    validate(document, cls=OpenAPIV31SpecValidator)


def test_declared_schemas_become_components_and_operations() -> None:
    document = build_app().openapi()
    post = document["paths"]["/orders"]["post"]
    assert post["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/NewOrder"
    }
    assert set(post["responses"]) >= {"201", "400", "401", "403", "422", "default"}
    price = document["components"]["schemas"]["NewOrder"]["properties"]["price"]
    assert price["type"] == "string"
    names = [p["name"] for p in document["paths"]["/orders"]["get"]["parameters"]]
    assert names == ["user_id", "symbol", "limit", "cursor"]


def test_path_converters_become_typed_path_parameters() -> None:
    document = build_app().openapi()
    params = document["paths"]["/orders/{order_id}"]["get"]["parameters"]
    assert params == [
        {"name": "order_id", "in": "path", "required": True, "schema": {"type": "integer"}}
    ]


def test_ops_endpoints_are_public_and_hidden_routes_are_not_documented() -> None:
    document = build_app().openapi()
    assert document["paths"]["/healthz"]["get"]["security"] == []
    assert "/openapi.json" not in document["paths"]
    assert "/boom" not in document["paths"]
    assert document["paths"]["/orders"]["get"]["security"] == [{"bearerAuth": []}]
