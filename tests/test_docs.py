"""Per-model Swagger docs: sections built from the registry, cached per generation, valid 2.0."""

from __future__ import annotations

import hashlib
import re
from typing import Any

import orjson
import pytest
from jsonschema import Draft4Validator
from openapi_spec_validator import OpenAPIV2SpecValidator, validate
from sqlalchemy import select, update

from registry.app import create_app
from registry.models import ModelVersion, RegisteredModel
from registry.plans import Plan
from registry.services.tokens import create_token
from registry.services.versions import KnownPlan, add_version

SPEC = "/api/v1/swagger.json"

HOUSE = {
    "format": 1,
    "kind": "linear",
    "link": "identity",
    "features": [
        {"name": "area", "type": "number"},
        {"name": "bedrooms", "type": "integer"},
        {"name": "city", "type": "string", "enum": ["north", "south"]},
        {"name": "garage", "type": "number", "nullable": True},
    ],
    "columns": [
        {"feature": "area", "mul": 0.001, "add": -1.5, "missing": None},
        {"feature": "bedrooms", "mul": 1.0, "add": -3.0, "missing": None},
        {"feature": "city", "category": "north", "mul": 1.0, "add": 0.0, "missing": None},
        {"feature": "city", "category": "south", "mul": 1.0, "add": 0.0, "missing": None},
        {"feature": "garage", "mul": 1.0, "add": 0.0, "missing": 0.5},
    ],
    "coef": [[100.0, 5000.0, 2000.0, -1000.0, 300.0]],
    "intercept": [50000.0],
    "classes": None,
}
ROOMS = {
    "format": 1,
    "kind": "linear",
    "link": "identity",
    "features": [{"name": "rooms", "type": "integer"}],
    "columns": [{"feature": "rooms", "mul": 1.0, "add": 0.0, "missing": None}],
    "coef": [[10.0]],
    "intercept": [1.0],
    "classes": None,
}
CHURN = {
    "format": 1,
    "kind": "logistic",
    "link": "logistic",
    "features": [
        {"name": "tenure", "type": "number", "nullable": True},
        {"name": "plan", "type": "string", "enum": ["basic", "pro"]},
        {"name": "seats", "type": "integer", "enum": [1, 2, 5]},
    ],
    "columns": [
        {"feature": "tenure", "mul": 0.1, "add": -1.0, "missing": 0.0},
        {"feature": "plan", "category": "basic", "mul": 1.0, "add": 0.0, "missing": None},
        {"feature": "plan", "category": "pro", "mul": 1.0, "add": 0.0, "missing": None},
        {"feature": "seats", "category": 1, "mul": 1.0, "add": 0.0, "missing": None},
        {"feature": "seats", "category": 2, "mul": 1.0, "add": 0.0, "missing": None},
        {"feature": "seats", "category": 5, "mul": 1.0, "add": 0.0, "missing": None},
    ],
    "coef": [[0.5, 0.2, -0.3, 0.1, 0.0, -0.1]],
    "intercept": [0.1],
    "classes": ["stay", "leave"],
}


def create(client, tokens, name: str) -> None:
    response = client.post("/api/v1/models", json={"name": name}, headers=tokens["publisher"])
    assert response.status_code == 201


def add(app, name: str, raw: dict[str, Any], activate: bool = True) -> int:
    """Store a version from a hand-written plan, as intake would after inspecting an upload."""
    registry = app.extensions["registry"]
    data = orjson.dumps(raw)
    inspected = KnownPlan(raw["kind"], "Pipeline(StandardScaler, LinearModel)", Plan(raw), "1.5.0")
    with registry.db.write() as session:
        info = add_version(
            session,
            registry.store,
            name,
            inspected,
            data,
            hashlib.sha256(data).hexdigest(),
            "test",
            activate=activate,
        )
    return info.version


def spec(client) -> dict[str, Any]:
    response = client.get(SPEC)
    assert response.status_code == 200
    return response.get_json()


def operation(document: dict[str, Any], path: str) -> dict[str, Any]:
    """Return a POST operation with the shared answers and parameters it refers to in place."""
    op = document["paths"][path]["post"]
    return {
        **op,
        **(
            {"parameters": [resolve(document, p) for p in op["parameters"]]}
            if "parameters" in op
            else {}
        ),
        "responses": {status: resolve(document, r) for status, r in op["responses"].items()},
    }


def resolve(document: dict[str, Any], part: dict[str, Any]) -> dict[str, Any]:
    """Return a top-level response or parameter a $ref names, or ``part`` itself."""
    if "$ref" not in part:
        return part
    _, where, name = part["$ref"].split("/")
    return document[where][name]


def body_schema(document: dict[str, Any], op: dict[str, Any]) -> dict[str, Any]:
    (body,) = [p for p in op["parameters"] if p["in"] == "body"]
    name = body["schema"]["$ref"].removeprefix("#/definitions/")
    return document["definitions"][name]


@pytest.fixture(autouse=True)
def release_generation_watch(app):
    """Close the connection the generation check holds, before the app's engine goes."""
    yield
    app.extensions["registry"].serving.close()


@pytest.fixture
def registered(app, client, tokens) -> None:
    """house-prices (linear, active v1, alias prod), churn_v2 (logistic), empty (no versions)."""
    for name in ("house-prices", "churn_v2", "empty"):
        create(client, tokens, name)
    add(app, "house-prices", HOUSE)
    add(app, "churn_v2", CHURN)
    response = client.put(
        "/api/v1/models/house-prices/aliases/prod", json={"version": 1}, headers=tokens["publisher"]
    )
    assert response.status_code == 200


def test_spec_validates_without_models(client):
    document = spec(client)
    validate(document, cls=OpenAPIV2SpecValidator)
    assert {"models", "versions"} <= {t["name"] for t in document["tags"]}
    assert not [p for p in document["paths"] if p.endswith("/predict")]
    assert document["securityDefinitions"]["bearer"]["name"] == "Authorization"


def test_spec_validates_with_models(app, client, registered):
    document = spec(client)
    validate(document, cls=OpenAPIV2SpecValidator)
    with app.test_request_context():
        assert app.extensions["registry_api"].__schema__ == document
    names = [t["name"] for t in document["tags"]]
    assert names[:2] == ["models", "versions"]
    assert names[-3:] == ["churn_v2", "empty", "house-prices"]
    ids = [
        op["operationId"]
        for item in document["paths"].values()
        for method, op in item.items()
        if method != "parameters"
    ]
    assert len(ids) == len(set(ids))
    assert {"predict_house-prices", "predictVersion_churn_v2", "predictAlias_churn_v2"} <= set(ids)


def test_section_shows_fields_types_enums_and_required(client, registered):
    document = spec(client)
    row = document["definitions"]["house-prices.Row"]
    assert row["required"] == ["area", "bedrooms", "city"]
    assert {name: p["type"] for name, p in row["properties"].items()} == {
        "area": "number",
        "bedrooms": "integer",
        "city": "string",
        "garage": "number",
    }
    assert row["properties"]["city"]["enum"] == ["north", "south"]
    assert row["properties"]["garage"]["x-nullable"] is True
    assert row["additionalProperties"] is False
    churn = document["definitions"]["churn_v2.Row"]["properties"]
    assert churn["seats"] == {"type": "integer", "enum": [1, 2, 5], "example": 1}
    answer = document["definitions"]["churn_v2.Prediction"]["properties"]
    assert answer["prediction"]["enum"] == ["stay", "leave"]
    assert answer["probabilities"] == {"$ref": "#/definitions/churn_v2.Probabilities"}
    assert "probabilities" not in document["definitions"]["house-prices.Prediction"]["properties"]
    assert {"house-prices.Instances", "house-prices.Columns", "house-prices.Predictions"} <= set(
        document["definitions"]
    )


def test_operations_document_params_and_errors(client, registered):
    document = spec(client)
    # The errors every model's routes answer alike are said once and referred to.
    raw = document["paths"]["/models/house-prices/predict"]["post"]
    assert raw["responses"]["422"] == {"$ref": "#/responses/PredictInvalid"}
    assert {"$ref": "#/parameters/explain"} in raw["parameters"]
    active = operation(document, "/models/house-prices/predict")
    assert active["tags"] == ["house-prices"]
    assert active["summary"] == "Predict with the active version"
    for code in ("400", "401", "404", "413", "414", "415", "422", "503"):
        assert active["responses"][code]["schema"] == {"$ref": "#/definitions/Error"}
    assert active["responses"]["200"]["schema"] == {"$ref": "#/definitions/house-prices.Answer"}
    # Versions and aliases are checked by type and pattern, never by today's values: a client
    # generated now still calls the versions and aliases of tomorrow.
    alias = operation(document, "/models/house-prices/aliases/{alias}/predict")
    (param,) = [p for p in alias["parameters"] if p["name"] == "alias"]
    assert param["in"] == "path" and "enum" not in param
    assert param["pattern"] == "^(?:[a-z]|[0-9]+[a-z_-])[a-z0-9_-]*$" and param["default"] == "prod"
    assert param["maxLength"] == 64
    assert "prod" in param["description"]
    by_version = operation(document, "/models/house-prices/versions/{version}/predict")
    (param,) = [p for p in by_version["parameters"] if p["name"] == "version"]
    assert param["type"] == "integer" and "enum" not in param
    assert param["minimum"] == 1 and param["default"] == 1


def test_model_without_versions_says_so(client, registered):
    document = spec(client)
    (tag,) = [t for t in document["tags"] if t["name"] == "empty"]
    assert "no versions" in tag["description"]
    assert [p for p in document["paths"] if p.startswith("/models/empty/")] == [
        "/models/empty/predict"
    ]
    op = operation(document, "/models/empty/predict")
    assert "parameters" not in op
    assert set(op["responses"]) == {"401", "404", "412", "414", "503"}


@pytest.mark.parametrize("name", ["house-prices", "churn_v2"])
@pytest.mark.parametrize(
    "route", ["/predict", "/versions/{version}/predict", "/aliases/{alias}/predict"]
)
def test_documented_example_answers_200(client, tokens, registered, name, route):
    if route.startswith("/aliases") and name == "churn_v2":
        client.put(
            f"/api/v1/models/{name}/aliases/live", json={"version": 1}, headers=tokens["publisher"]
        )
    document = spec(client)
    op = operation(document, f"/models/{name}{route}")
    path = f"/models/{name}{route}"
    for param in op["parameters"]:
        if param["in"] == "path":
            path = path.replace(f"{{{param['name']}}}", str(param["default"]))
    example = body_schema(document, op)["example"]
    response = client.post(document["basePath"] + path, json=example)
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["version"] == 1 and "prediction" in response.get_json()


@pytest.mark.parametrize("name", ["house-prices", "churn_v2"])
def test_documented_answer_is_the_real_prediction(client, registered, name):
    document = spec(client)
    example = document["definitions"][f"{name}.Row"]["example"]
    documented = document["definitions"][f"{name}.Prediction"]["properties"]
    answer = client.post(f"/api/v1/models/{name}/predict", json=example).get_json()
    assert answer["prediction"] == documented["prediction"]["example"]
    if "probabilities" in answer:
        chances = document["definitions"][f"{name}.Probabilities"]["properties"]
        assert answer["probabilities"] == {k: p["example"] for k, p in chances.items()}


@pytest.mark.parametrize("form", ["Instances", "Columns"])
def test_batch_form_examples_answer_200(client, registered, form):
    document = spec(client)
    example = document["definitions"][f"churn_v2.{form}"]["example"]
    response = client.post("/api/v1/models/churn_v2/predict", json=example)
    assert response.status_code == 200, response.get_json()
    assert set(response.get_json()["predictions"]) <= {"stay", "leave"}


def test_new_model_appears_on_next_request(app, client, tokens):
    assert "a-b_c" not in {t["name"] for t in spec(client)["tags"]}
    create(client, tokens, "a-b_c")
    assert "a-b_c" in {t["name"] for t in spec(client)["tags"]}
    add(app, "a-b_c", ROOMS)
    document = spec(client)
    assert document["definitions"]["a-b_c.Row"]["required"] == ["rooms"]
    validate(document, cls=OpenAPIV2SpecValidator)


def test_another_worker_sees_the_change(app, client, tokens, database_url, tmp_path):
    other = create_app(
        {"database_url": database_url, "artifact_root": tmp_path / "artifacts", "testing": True}
    )
    try:
        before = spec(other.test_client())
        create(client, tokens, "elsewhere")
        add(app, "elsewhere", ROOMS)
        after = spec(other.test_client())
        # Same generation, same bytes: a 304 holds whichever worker answers.
        assert other.test_client().get(SPEC).headers["ETag"] == client.get(SPEC).headers["ETag"]
    finally:
        other.extensions["registry"].serving.close()
        other.extensions["registry"].db.dispose()
    assert "/models/elsewhere/predict" not in before["paths"]
    assert "elsewhere.Row" in after["definitions"]


def test_etag_and_304(client, tokens):
    first = client.get(SPEC)
    etag = first.headers["ETag"]
    # A digest of the document's parts, not of the whole body (95 MB with 10,000 models);
    # every worker with the same registry sends the same one (see the test above).
    assert re.fullmatch(r'"[0-9a-f]{64}"', etag)
    assert client.get(SPEC).headers["ETag"] == etag
    assert first.headers["Content-Type"] == "application/json"
    again = client.get(SPEC, headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.data == b""
    assert again.headers["ETag"] == etag
    create(client, tokens, "house-prices")
    changed = client.get(SPEC, headers={"If-None-Match": etag})
    assert changed.status_code == 200
    assert changed.headers["ETag"] != etag


def test_spec_follows_activation(app, client, tokens):
    create(client, tokens, "house-prices")
    add(app, "house-prices", HOUSE)
    add(app, "house-prices", ROOMS, activate=False)
    row = spec(client)["definitions"]["house-prices.Row"]
    assert set(row["properties"]) == {"area", "bedrooms", "city", "garage"}
    response = client.post(
        "/api/v1/models/house-prices/versions/2/activate?force=true", headers=tokens["publisher"]
    )
    assert response.status_code == 200
    document = spec(client)
    assert set(document["definitions"]["house-prices.Row"]["properties"]) == {"rooms"}
    op = operation(document, "/models/house-prices/predict")
    assert "version 2" in op["description"]


def test_latest_version_shown_when_none_is_active(app, client, tokens):
    create(client, tokens, "house-prices")
    add(app, "house-prices", HOUSE, activate=False)
    document = spec(client)
    assert "area" in document["definitions"]["house-prices.Row"]["properties"]
    assert "404" in operation(document, "/models/house-prices/predict")["description"]


def test_deleted_model_leaves_the_spec(client, tokens, registered):
    response = client.delete("/api/v1/models/empty", headers=tokens["admin"])
    assert response.status_code == 204
    document = spec(client)
    assert "/models/empty/predict" not in document["paths"]
    assert "empty" not in {t["name"] for t in document["tags"]}


def test_unreadable_plan_spoils_only_its_own_section(app, client, tokens, registered):
    registry = app.extensions["registry"]
    with registry.db.write() as session:
        model_id = session.scalar(
            select(RegisteredModel.id).where(RegisteredModel.name == "churn_v2")
        )
        session.execute(
            update(ModelVersion).where(ModelVersion.model_id == model_id).values(plan={"format": 9})
        )
    document = spec(client)
    (tag,) = [t for t in document["tags"] if t["name"] == "churn_v2"]
    assert "cannot be read" in tag["description"]
    assert "/models/churn_v2/predict" not in document["paths"]
    assert "house-prices.Row" in document["definitions"]


def test_model_named_like_a_registry_section_gets_its_own(client, tokens):
    create(client, tokens, "models")
    document = spec(client)
    validate(document, cls=OpenAPIV2SpecValidator)
    assert "models (model)" in {t["name"] for t in document["tags"]}
    assert operation(document, "/models/models/predict")["tags"] == ["models (model)"]


def test_swagger_ui_answers_html(client):
    response = client.get("/docs")
    assert response.status_code == 200
    assert response.mimetype == "text/html"
    assert b"swagger.json" in response.data


def test_answers_document_imputed_and_fields_say_how_gaps_are_filled(client, registered):
    document = spec(client)
    one = document["definitions"]["house-prices.Prediction"]["properties"]["imputed"]
    many = document["definitions"]["house-prices.Predictions"]["properties"]["imputed"]
    assert one["type"] == "array" and one["items"]["type"] == "string"
    assert many["items"]["type"] == "array"
    assert "absent when" in one["description"] and "absent when" in many["description"]
    garage = document["definitions"]["house-prices.Row"]["properties"]["garage"]
    assert "fills it in as it was trained" in garage["description"]


def definition(document: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    return document["definitions"][schema["$ref"].removeprefix("#/definitions/")]


def swagger_validator(document: dict[str, Any], name: str) -> Draft4Validator:
    """A JSON Schema validator of one definition, as a Swagger 2.0 client reads it."""
    return Draft4Validator(
        {**document["definitions"][name], "definitions": document["definitions"]}
    )


@pytest.mark.parametrize("name", ["house-prices", "churn_v2"])
def test_one_body_schema_takes_every_form_and_one_answer_schema_reads_both(
    client, registered, name
):
    document = spec(client)
    op = operation(document, f"/models/{name}/predict")
    body = body_schema(document, op)
    assert body is document["definitions"][f"{name}.Body"]
    assert "required" not in body and body["additionalProperties"] is False
    assert [r["$ref"].rsplit(".", 1)[1] for r in body["x-oneOf"]] == ["Row", "Instances", "Columns"]
    validator = swagger_validator(document, f"{name}.Body")
    answers = swagger_validator(document, f"{name}.Answer")
    for form in ("Row", "Instances", "Columns"):
        example = document["definitions"][f"{name}.{form}"]["example"]
        validator.validate(example)
        answer = client.post(f"/api/v1/models/{name}/predict", json=example).get_json()
        answers.validate(answer)
        assert ("prediction" in answer) == (form == "Row")
        # Each exact shape it names holds as well.
        Draft4Validator(
            {
                **definition(
                    document, body["x-oneOf"][["Row", "Instances", "Columns"].index(form)]
                ),
                "definitions": document["definitions"],
            }
        ).validate(example)
    explained = client.post(
        f"/api/v1/models/{name}/predict?explain=true",
        json=document["definitions"][f"{name}.Instances"]["example"],
    ).get_json()
    answers.validate(explained)
    assert "contributions" in explained


def test_security_is_declared_per_operation(client, registered):
    document = spec(client)
    assert document["security"] == [{"bearer": []}]
    paths = document["paths"]
    for path, method in [
        ("/models", "get"),
        ("/models/{name}/versions/{version}/schema", "get"),
        ("/models/{name}/compare", "post"),
        ("/models/house-prices/predict", "post"),
        ("/models/empty/predict", "post"),
    ]:
        assert paths[path][method]["security"] == [], (path, method)
    for path, method in [
        ("/models", "post"),
        ("/models/{name}", "delete"),
        ("/models/{name}/versions", "post"),
        ("/tokens", "get"),
    ]:
        assert paths[path][method]["security"] == [{"bearer": []}], (path, method)


def test_security_is_declared_closed_when_reads_need_a_token(database_url, tmp_path):
    closed = create_app(
        {
            "database_url": database_url,
            "artifact_root": tmp_path / "closed",
            "testing": True,
            "auth_reads": True,
        }
    )
    try:
        registry = closed.extensions["registry"]
        with registry.db.write() as session:
            token = create_token(session, "reader", "docs-reader")
        client = closed.test_client()
        headers = {"Authorization": f"Bearer {token}"}
        client.post("/api/v1/models", json={"name": "house-prices"}, headers=_admin(closed))
        add(closed, "house-prices", HOUSE)
        document = client.get(SPEC, headers=headers).get_json()
    finally:
        closed.extensions["registry"].serving.close()
        closed.extensions["registry"].db.dispose()
    validate(document, cls=OpenAPIV2SpecValidator)
    # Only the probes stay open: they read no token (tests/test_protocol_spec.py).
    probes = {"oip_server_live", "oip_server_ready", "mlflow_server_ping"}
    for item in document["paths"].values():
        for method, op in item.items():
            if method != "parameters":
                closed = op["operationId"] not in probes
                expected = [{"bearer": []}] if closed else []
                assert op["security"] == expected, (method, op["operationId"])


def _admin(app) -> dict[str, str]:
    with app.extensions["registry"].db.write() as session:
        return {"Authorization": f"Bearer {create_token(session, 'admin', 'docs-admin')}"}


def test_parameters_have_their_real_types_and_bounds(client, registered):
    paths = spec(client)["paths"]
    listing = {p["name"]: p for p in paths["/models"]["get"]["parameters"]}
    for key in ("page", "per_page"):
        assert listing[key]["type"] == "integer" and listing[key]["minimum"] == 1
    assert listing["kind"]["enum"] == ["linear", "logistic"]
    for path in ("/models/{name}/versions", "/models/{name}/events", "/tokens"):
        params = {p["name"]: p for p in paths[path]["get"]["parameters"]}
        assert params["page"]["type"] == "integer", path
        assert "400" in paths[path]["get"]["responses"], path
    item = paths["/models/{name}/versions/{version}"]
    params = {p["name"]: p for p in item.get("parameters", []) + item["get"].get("parameters", [])}
    assert params["name"]["pattern"] == "^[a-z0-9][a-z0-9_-]{0,63}$"
    assert params["version"]["type"] == "integer" and params["version"]["minimum"] == 1
    activate = paths["/models/{name}/versions/{version}/activate"]["post"]
    (force,) = [p for p in activate["parameters"] if p["name"] == "force"]
    assert force["type"] == "boolean" and "400" in activate["responses"]


def test_bodies_say_what_the_server_refuses(client, registered):
    definitions = spec(client)["definitions"]
    for name in ("ModelCreate", "ModelPatch", "VersionPatch", "AliasTarget"):
        assert definitions[name]["additionalProperties"] is False, name
    for name in ("ModelCreate", "ModelPatch", "VersionPatch"):
        tags = definitions[name]["properties"]["tags"]
        assert tags["additionalProperties"]["type"] == "string", name
    create_body = definitions["ModelCreate"]["properties"]
    assert create_body["kind"]["enum"] == ["linear", "logistic", None]
    assert create_body["name"]["pattern"] == "^[a-z0-9][a-z0-9_-]{0,63}$"
    assert definitions["AliasTarget"]["properties"]["version"]["minimum"] == 1


def test_answers_schemas_match_what_the_server_sends(app, client, tokens, registered):
    document = spec(client)
    paths = document["paths"]
    artifact = paths["/models/{name}/versions/{version}/artifact"]["get"]
    assert artifact["produces"] == ["application/octet-stream", "application/json"]
    assert artifact["responses"]["200"]["schema"] == {"type": "string", "format": "binary"}
    assert {"304", "404", "500", "503"} <= set(artifact["responses"])
    schema_op = paths["/models/{name}/versions/{version}/schema"]["get"]
    row_schema = swagger_validator(document, "RowSchema")
    answer = client.get("/api/v1/models/house-prices/versions/1/schema").get_json()
    row_schema.validate(answer)
    assert schema_op["responses"]["200"]["schema"] == {"$ref": "#/definitions/RowSchema"}
    # compare's difference items: numbers for a linear model, objects for a logistic one.
    add(app, "house-prices", HOUSE, activate=False)
    add(app, "churn_v2", CHURN, activate=False)
    scored = swagger_validator(document, "PredictionComparison")
    for name in ("house-prices", "churn_v2"):
        example = document["definitions"][f"{name}.Instances"]["example"]
        answer = client.post(f"/api/v1/models/{name}/compare?a=1&b=2", json=example)
        assert answer.status_code == 200, answer.get_json()
        scored.validate(answer.get_json())
        compared = client.get(f"/api/v1/models/{name}/compare?a=1&b=2").get_json()
        swagger_validator(document, "Comparison").validate(compared)
    items = document["definitions"]["PredictionComparison"]["properties"]["difference"]["items"]
    assert {"type": "number"} in items["x-oneOf"]


def test_model_creation_example_succeeds_when_tried(client, tokens, registered):
    for _ in range(2):
        example = spec(client)["definitions"]["ModelCreate"]["example"]
        assert example["kind"] in ("linear", "logistic")
        response = client.post("/api/v1/models", json=example, headers=tokens["publisher"])
        assert response.status_code == 201, response.get_json()


def test_errors_are_documented_as_the_server_sends_them(client, tokens):
    document = spec(client)
    error = document["definitions"]["Error"]
    refused = client.post(
        "/api/v1/models", json={"name": "x", "kind": "tree"}, headers=tokens["publisher"]
    )
    assert refused.status_code == 422
    body = refused.get_json()
    assert set(body) == set(error["example"]) and body["errors"] == error["example"]["errors"]
    swagger_validator(document, "Error").validate(body)


def test_upload_documents_feature_objects(client):
    op = spec(client)["paths"]["/models/{name}/versions"]["post"]
    (features,) = [p for p in op["parameters"] if p["name"] == "features"]
    assert '"type"' in features["description"] and "nullable" in features["description"]
    assert "507" in op["responses"]


def test_authorize_dialog_says_paste_the_token_alone(client):
    scheme = spec(client)["securityDefinitions"]["bearer"]
    assert "paste the token alone" in scheme["description"]
