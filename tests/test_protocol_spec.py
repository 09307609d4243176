"""The protocol routes in swagger.json and openapi.json: every route, and what the server does.

Each served protocol route is documented in both documents, both validate, each declared
security is what a tokenless call meets, and every answer (success, refusal, binary tensors,
CSV bodies) comes with a documented status and content type and validates against its schema.
"""

from __future__ import annotations

import json
import posixpath
import re
import struct
from typing import Any

import pytest
from jsonschema import Draft4Validator, Draft202012Validator
from openapi_spec_validator import OpenAPIV2SpecValidator, OpenAPIV31SpecValidator, validate

from registry.services.tokens import create_token
from tests.factories import add_plan_version, churn_plan, house_plan

BLUEPRINTS = ("kserve_v1.", "mlflow.", "open_inference.")
PROBES = {"oip_server_live", "oip_server_ready", "mlflow_server_ping"}
ROW = [1500, 3, 2, 10]
FEATURES = ["area", "bedrooms", "bathrooms", "age"]
VALUES = {"name": "house-prices", "version": "1", "alias": "prod"}


def served_routes(app) -> set[tuple[str, str]]:
    """(path template, method) of every route the protocols' blueprints serve."""
    routes = set()
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith(BLUEPRINTS):
            path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule)
            routes |= {(path, m.lower()) for m in rule.methods - {"HEAD", "OPTIONS"}}
    return routes


def operations(document: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    """Every operation by the absolute path it reaches (basePath or server, then the path)."""
    base = document.get("basePath") or document["servers"][0]["url"]
    return {
        (posixpath.normpath(base + path), method): op
        for path, item in document["paths"].items()
        for method, op in item.items()
        if method != "parameters"
    }


def protocol_operations(document: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    tags = {"Open Inference Protocol (KServe v2, Triton)", "KServe v1 and TF-Serving"}
    tags.add("MLflow scoring")
    return {key: op for key, op in operations(document).items() if tags & set(op["tags"])}


def url(path: str) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: VALUES[m.group(1)], path)


def request_for(path: str, method: str) -> dict[str, Any]:
    """Request keywords of a well-formed call on the house-prices model."""
    if method == "get":
        return {}
    if path.endswith("/infer"):
        inputs = [{"name": "houses", "datatype": "FP64", "shape": [1, 4], "data": ROW}]
        return {"json": {"inputs": inputs}}
    if path.endswith(":predict"):
        return {"json": {"instances": [ROW]}}
    return {"json": {"dataframe_split": {"columns": FEATURES, "data": [ROW]}}}


def make_registry(make_app, auth_reads: bool):
    app = make_app(testing=True, auth_reads=auth_reads)
    add_plan_version(app, "house-prices", house_plan(), activate=True)
    add_plan_version(app, "churn", churn_plan(), activate=True)
    with app.extensions["registry"].db.write() as session:
        admin = {"Authorization": f"Bearer {create_token(session, 'admin', 'spec-admin')}"}
    client = app.test_client()
    alias = client.put(
        "/api/v1/models/house-prices/aliases/prod", json={"version": 1}, headers=admin
    )
    assert alias.status_code == 200, alias.get_json()
    return app, client, admin


def check_answer(document: dict[str, Any], op: dict[str, Any], response) -> None:
    """The answer's status and content type are documented, and its JSON body fits."""
    status = str(response.status_code)
    assert status in op["responses"], (op["operationId"], status, response.get_data()[:300])
    content = op["responses"][status]["content"]
    assert response.mimetype in content, (op["operationId"], response.mimetype)
    if response.mimetype == "application/json":
        schema = content["application/json"]["schema"]
        checker = Draft202012Validator({**schema, "components": document["components"]})
        checker.validate(response.get_json())


def test_every_protocol_route_is_in_both_documents_and_both_validate(app, client):
    swagger = client.get("/api/v1/swagger.json").get_json()
    openapi = client.get("/api/v1/openapi.json").get_json()
    validate(swagger, cls=OpenAPIV2SpecValidator)
    validate(openapi, cls=OpenAPIV31SpecValidator)
    served = served_routes(app)
    assert ("/v1/models/{name}:predict", "post") in served
    assert set(protocol_operations(swagger)) == served
    assert set(protocol_operations(openapi)) == served
    # Outside the basePath, a route is written relative to it.
    assert "/../../v2/models/{name}/infer" in swagger["paths"]
    assert "/models/{name}/invocations" in openapi["paths"]


def test_content_types_say_csv_and_binary_tensors(client):
    swagger = protocol_operations(client.get("/api/v1/swagger.json").get_json())
    openapi = protocol_operations(client.get("/api/v1/openapi.json").get_json())
    invocations = ("/api/v1/models/{name}/invocations", "post")
    assert swagger[invocations]["consumes"] == ["application/json", "text/csv"]
    assert set(openapi[invocations]["requestBody"]["content"]) == {"application/json", "text/csv"}
    infer = ("/v2/models/{name}/infer", "post")
    header = "Inference-Header-Content-Length"
    assert header in {p["name"] for p in swagger[infer]["parameters"]}
    body = openapi[infer]["requestBody"]["content"]
    assert set(body) == {"application/json", "application/octet-stream"}
    success = openapi[infer]["responses"]["200"]
    assert set(success["content"]) == {"application/json", "application/octet-stream"}
    assert header in success["headers"]
    assert list(openapi[infer]["responses"]["422"]["content"]) == ["application/json"]


@pytest.mark.parametrize("auth_reads", [False, True])
def test_declared_security_is_what_a_tokenless_call_meets(make_app, auth_reads):
    app, client, admin = make_registry(make_app, auth_reads)
    for spec in ("/api/v1/swagger.json", "/api/v1/openapi.json"):
        document = client.get(spec, headers=admin).get_json()
        for (path, method), op in protocol_operations(document).items():
            response = client.open(url(path), method=method.upper(), **request_for(path, method))
            closed = op["security"] == [{"bearer": []}]
            assert closed == (response.status_code == 401), (spec, path, response.status_code)
            if closed:
                assert op["operationId"] not in PROBES
                assert auth_reads
            else:
                assert op["security"] == [] and response.status_code == 200, (path, response)
            allowed = client.open(
                url(path), method=method.upper(), headers=admin, **request_for(path, method)
            )
            assert allowed.status_code == 200, (path, allowed.get_data()[:300])


def test_every_answer_is_documented_and_validates(make_app):
    app, client, _ = make_registry(make_app, False)
    document = client.get("/api/v1/openapi.json").get_json()
    ops = protocol_operations(document)
    for (path, method), op in ops.items():
        keywords = request_for(path, method)
        check_answer(document, op, client.open(url(path), method=method.upper(), **keywords))
        # An unknown model is a documented 404 in the protocol's error shape.
        missing = url(path).replace("house-prices", "no-such-model")
        if missing != url(path):
            answer = client.open(missing, method=method.upper(), **keywords)
            assert answer.status_code == 404
            check_answer(document, op, answer)
        # A generation the registry has not reached is a documented 412 on every route.
        ahead = {"X-Registry-Generation": "999999"}
        check_answer(document, op, client.open(url(path), method=method.upper(), headers=ahead))
    refusals = [
        ("/v2/models/{name}/infer", {"json": {"inputs": []}}),
        ("/v2/models/{name}/infer", {"json": {"inputs": [{"name": "area"}]}}),
        ("/v1/models/{name}:predict", {"json": {"instances": [{"area": "big"}]}}),
        ("/v1/models/{name}:predict", {"json": {"rows": [ROW]}}),
        ("/api/v1/models/{name}/invocations", {"json": {"instances": [["big", 3, 2, 10]]}}),
        ("/api/v1/models/{name}/invocations", {"data": "x", "content_type": "text/plain"}),
    ]
    for path, keywords in refusals:
        answer = client.post(url(path), **keywords)
        assert 400 <= answer.status_code < 500, (path, answer.status_code)
        check_answer(document, ops[path, "post"], answer)
    csv = ",".join(FEATURES) + "\n" + ",".join(map(str, ROW)) + "\n"
    invocations = ops["/api/v1/models/{name}/invocations", "post"]
    answer = client.post(
        url("/api/v1/models/{name}/invocations"), data=csv, content_type="text/csv"
    )
    assert answer.status_code == 200
    check_answer(document, invocations, answer)


def test_binary_tensor_answers_are_documented(make_app):
    app, client, _ = make_registry(make_app, False)
    document = client.get("/api/v1/openapi.json").get_json()
    infer = protocol_operations(document)["/v2/models/{name}/infer", "post"]
    header = json.dumps(
        {
            "inputs": [
                {
                    "name": "houses",
                    "datatype": "FP64",
                    "shape": [1, 4],
                    "parameters": {"binary_data_size": 32},
                }
            ],
            "parameters": {"binary_data_output": True},
        }
    ).encode()
    answer = client.post(
        url("/v2/models/{name}/infer"),
        data=header + struct.pack("<4d", *ROW),
        headers={"Inference-Header-Content-Length": str(len(header))},
        content_type="application/octet-stream",
    )
    assert answer.status_code == 200, answer.get_data()[:300]
    check_answer(document, infer, answer)
    assert "Inference-Header-Content-Length" in answer.headers
    assert "Inference-Header-Content-Length" in infer["responses"]["200"]["headers"]


def test_swagger_20_schemas_fit_the_json_answers(make_app):
    # Swagger 2.0 tools (bravado) read the same answers with the 2.0 schemas.
    app, client, _ = make_registry(make_app, False)
    swagger = client.get("/api/v1/swagger.json").get_json()
    for (path, method), op in protocol_operations(swagger).items():
        response = client.open(url(path), method=method.upper(), **request_for(path, method))
        schema = op["responses"][str(response.status_code)]["schema"]
        Draft4Validator({**schema, "definitions": swagger["definitions"]}).validate(
            response.get_json()
        )
