"""OpenAPI 3.1 at /api/v1/openapi.json: made from swagger.json's source, valid, and exact."""

from __future__ import annotations

from typing import Any

import pytest
from jsonschema import Draft202012Validator
from openapi_spec_validator import OpenAPIV31SpecValidator, validate

from registry.app import create_app
from tests.test_docs import HOUSE, ROOMS, add, create, registered, release_generation_watch  # noqa: F401

OPENAPI = "/api/v1/openapi.json"
FORMS = ("Row", "Instances", "Columns")


def openapi(client, headers: dict[str, str] | None = None) -> dict[str, Any]:
    response = client.get(OPENAPI, headers=headers or {})
    assert response.status_code == 200, response.get_json()
    assert response.mimetype == "application/json"
    return response.get_json()


def validator(document: dict[str, Any], schema: dict[str, Any]) -> Draft202012Validator:
    """A JSON Schema 2020-12 validator whose $refs resolve in the document's components."""
    return Draft202012Validator({**schema, "components": document["components"]})


def component(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def test_valid_without_models(client):
    document = openapi(client)
    validate(document, cls=OpenAPIV31SpecValidator)
    assert document["openapi"] == "3.1.0"
    assert document["servers"] == [{"url": "/api/v1"}]
    assert document["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"


@pytest.mark.usefixtures("registered")
def test_valid_with_models_and_says_one_of(client):
    document = openapi(client)
    validate(document, cls=OpenAPIV31SpecValidator)
    op = document["paths"]["/models/churn_v2/predict"]["post"]
    schemas = document["components"]["schemas"]
    body = op["requestBody"]["content"]["application/json"]["schema"]
    assert body == component("churn_v2.Body")
    assert schemas["churn_v2.Body"]["oneOf"] == [component(f"churn_v2.{form}") for form in FORMS]
    answer = op["responses"]["200"]["content"]["application/json"]["schema"]
    assert answer == component("churn_v2.Answer")
    assert schemas["churn_v2.Answer"]["oneOf"] == [
        component("churn_v2.Prediction"),
        component("churn_v2.Predictions"),
    ]
    assert op["security"] == []
    assert document["paths"]["/models"]["post"]["security"] == [{"bearer": []}]


@pytest.mark.parametrize("name", ["house-prices", "churn_v2"])
@pytest.mark.usefixtures("registered")
def test_every_form_and_answer_validates_against_exactly_one_schema(client, name):
    document = openapi(client)
    op = document["paths"][f"/models/{name}/versions/{{version}}/predict"]["post"]
    body = validator(document, op["requestBody"]["content"]["application/json"]["schema"])
    answers = validator(document, op["responses"]["200"]["content"]["application/json"]["schema"])
    schemas = document["components"]["schemas"]
    for form in FORMS:
        example = schemas[f"{name}.{form}"]["example"]
        body.validate(example)  # oneOf: exactly one form matches
        for explain in ("false", "true"):
            response = client.post(
                f"/api/v1/models/{name}/versions/1/predict?explain={explain}", json=example
            )
            assert response.status_code == 200, response.get_json()
            answers.validate(response.get_json())
    # A batch key beside row fields, or an empty body, is no form at all.
    refused = {**schemas[f"{name}.Row"]["example"], "instances": []}
    assert not body.is_valid(refused)


@pytest.mark.usefixtures("registered")
def test_rows_are_the_json_schema_of_the_schema_endpoint(client):
    rows = openapi(client)["components"]["schemas"]["house-prices.Row"]
    served = client.get("/api/v1/models/house-prices/versions/1/schema").get_json()
    assert rows["required"] == served["required"]
    assert rows["additionalProperties"] is False
    for name, prop in served["properties"].items():
        assert rows["properties"][name]["type"] == prop["type"], name
        assert rows["properties"][name].get("enum") == prop.get("enum"), name


@pytest.mark.usefixtures("registered")
def test_each_status_has_its_own_content_type(client):
    paths = openapi(client)["paths"]
    artifact = paths["/models/{name}/versions/{version}/artifact"]["get"]["responses"]
    assert list(artifact["200"]["content"]) == ["application/octet-stream"]
    for status in ("404", "500", "503"):
        assert list(artifact[status]["content"]) == ["application/json"], status
    assert "content" not in artifact["304"]
    upload = paths["/models/{name}/versions"]["post"]["requestBody"]["content"]
    form = upload["multipart/form-data"]["schema"]
    assert form["required"] == ["artifact"]
    assert form["properties"]["artifact"]["contentMediaType"] == "application/octet-stream"
    assert "nullable" in form["properties"]["features"]["description"]
    versions = paths["/models/{name}/versions"]
    (name,) = [p for p in versions["parameters"] if p["name"] == "name"]
    assert name["schema"]["pattern"] == "^[a-z0-9][a-z0-9_-]{0,63}$"
    pages = {p["name"]: p for p in versions["get"]["parameters"]}
    assert pages["per_page"]["schema"] == {"type": "integer", "minimum": 1, "default": 50}


def test_etag_and_304(client, tokens):
    first = client.get(OPENAPI)
    again = client.get(OPENAPI, headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304
    create(client, tokens, "house-prices")
    changed = client.get(OPENAPI, headers={"If-None-Match": first.headers["ETag"]})
    assert changed.status_code == 200
    assert "house-prices" in {t["name"] for t in changed.get_json()["tags"]}


def test_closed_reads_close_it_and_declare_every_operation_closed(database_url, tmp_path):
    closed = create_app(
        {
            "database_url": database_url,
            "artifact_root": tmp_path / "closed",
            "testing": True,
            "auth_reads": True,
        }
    )
    try:
        from registry.services.tokens import create_token

        with closed.extensions["registry"].db.write() as session:
            token = create_token(session, "reader", "openapi-reader")
        client = closed.test_client()
        refused = client.get(OPENAPI)
        assert refused.status_code == 401 and refused.get_json()["code"] == "unauthorized"
        document = openapi(client, {"Authorization": f"Bearer {token}"})
    finally:
        closed.extensions["registry"].serving.close()
        closed.extensions["registry"].db.dispose()
    # Only the probes stay open: they read no token (tests/test_protocol_spec.py).
    probes = {"oip_server_live", "oip_server_ready", "mlflow_server_ping"}
    for item in document["paths"].values():
        for method, op in item.items():
            if method != "parameters":
                closed = op["operationId"] not in probes
                assert op["security"] == ([{"bearer": []}] if closed else []), op["operationId"]


def test_follows_every_change_section_by_section(app, client, tokens):
    create(client, tokens, "house-prices")
    add(app, "house-prices", HOUSE)
    add(app, "house-prices", ROOMS, activate=False)
    create(client, tokens, "other")
    add(app, "other", HOUSE)
    schemas = openapi(client)["components"]["schemas"]
    assert set(schemas["house-prices.Row"]["properties"]) == {"area", "bedrooms", "city", "garage"}
    example = schemas["ModelCreate"]["example"]
    assert (
        client.post("/api/v1/models", json=example, headers=tokens["publisher"]).status_code == 201
    )
    response = client.post(
        "/api/v1/models/house-prices/versions/2/activate?force=true", headers=tokens["publisher"]
    )
    assert response.status_code == 200
    document = openapi(client)
    validate(document, cls=OpenAPIV31SpecValidator)
    schemas = document["components"]["schemas"]
    assert set(schemas["house-prices.Row"]["properties"]) == {"rooms"}
    assert set(schemas["other.Row"]["properties"]) == {"area", "bedrooms", "city", "garage"}
    assert schemas["ModelCreate"]["example"]["name"] != example["name"]
    assert example["name"] in {t["name"] for t in document["tags"]}


def test_the_bodies_say_the_bounds_their_validators_enforce(client):
    # Validators combined with validate.And (a length and the NUL refusal) must still reach the
    # documents: a generator that reads no bounds sends an empty tag key and calls it valid.
    document = openapi(client)
    create = document["paths"]["/models"]["post"]["requestBody"]["content"]["application/json"]
    schema = validator(document, create["schema"])
    body = {"name": "bounds", "tags": {"team": "pricing"}, "description": "fine"}
    assert schema.is_valid(body)
    assert not schema.is_valid({**body, "tags": {"": "empty key"}})
    assert not schema.is_valid({**body, "tags": {"k" * 129: "long key"}})
    assert not schema.is_valid({**body, "tags": {"team": "v" * 1_001}})
    assert not schema.is_valid({**body, "description": "d" * 10_001})
    assert not schema.is_valid({**body, "description": "has \x00 NUL"})
    assert not schema.is_valid({**body, "tags": {"team": "\x00"}})
