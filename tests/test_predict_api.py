"""The prediction routes: body forms, answers naming the version, strict validation."""

from __future__ import annotations

import math

import pytest

from tests.factories import add_plan_version, house_plan, house_price, iris_plan

SEED_ROW = {"area": 1500, "bedrooms": 3, "bathrooms": 2, "age": 10}


def test_one_row_answers_prediction_and_version(client, house):
    body = client.post(f"{house}/predict", json=SEED_ROW).get_json()
    assert body["model"] == "house-prices" and body["version"] == 1
    assert body["prediction"] == pytest.approx(house_price(1500, 3, 2, 10), rel=1e-12)
    assert "probabilities" not in body and "predictions" not in body


def test_instances_and_columns_answer_lists_even_for_one_row(client, house):
    one = client.post(f"{house}/predict", json={"instances": [SEED_ROW]}).get_json()
    assert one["predictions"] == [pytest.approx(house_price(1500, 3, 2, 10))]
    table = client.post(
        f"{house}/predict",
        json={
            "columns": ["age", "area", "bedrooms", "bathrooms"],
            "data": [[10, 1500, 3, 2], [0, 2000.5, 4, 3]],
        },
    ).get_json()
    assert table["predictions"] == [
        pytest.approx(house_price(1500, 3, 2, 10)),
        pytest.approx(house_price(2000.5, 4, 3, 0)),
    ]


def test_explain_parts_sum_to_the_prediction(client, house):
    body = client.post(f"{house}/predict?explain=true", json=SEED_ROW).get_json()
    parts = body["contributions"]
    assert set(parts) == {"area", "bedrooms", "bathrooms", "age", "_intercept"}
    assert math.fsum(parts.values()) == pytest.approx(body["prediction"], rel=1e-12)


def test_logistic_answers_probabilities_and_keeps_label_types(client, churn):
    row = {"tenure": 3.0, "seats": 2, "plan": "basic"}
    body = client.post(f"{churn}/predict", json=row).get_json()
    assert body["prediction"] in (0, 1) and isinstance(body["prediction"], int)
    assert set(body["probabilities"]) == {"0", "1"}
    assert sum(body["probabilities"].values()) == pytest.approx(1.0)
    # tenure is nullable: null or left out both work, and give the same answer.
    left_out = client.post(f"{churn}/predict", json={"seats": 2, "plan": "pro"}).get_json()
    null = client.post(f"{churn}/predict", json={"tenure": None, "seats": 2, "plan": "pro"})
    assert null.get_json()["probabilities"] == left_out["probabilities"]


def test_multinomial_explain_is_per_class(client, app):
    add_plan_version(app, "iris", iris_plan(), activate=True)
    body = client.post(
        "/api/v1/models/iris/predict?explain=true",
        json={"instances": [{"petal_length": 5.0, "petal_width": 2.0}]},
    ).get_json()
    assert body["predictions"] == ["virginica"]
    assert set(body["contributions"][0]) == {"setosa", "versicolor", "virginica"}
    assert set(body["probabilities"][0]) == {"setosa", "versicolor", "virginica"}


@pytest.mark.parametrize(
    ("row", "field", "message"),
    [
        ({"area": 1500, "bedrooms": 3, "bathrooms": 2}, "age", "Missing"),
        ({**SEED_ROW, "garage": 1}, "garage", "Unknown"),
        ({**SEED_ROW, "area": "1500"}, "area", "number"),
        ({**SEED_ROW, "area": True}, "area", "number"),
        ({**SEED_ROW, "area": None}, "area", "null"),
    ],
)
def test_bad_row_is_422_by_field(client, house, row, field, message):
    response = client.post(f"{house}/predict", json=row)
    assert response.status_code == 422
    body = response.get_json()
    assert body["code"] == "validation_failed"
    assert message.lower() in " ".join(body["errors"][field]).lower()


def test_empty_object_is_422_naming_every_feature(client, house):
    response = client.post(f"{house}/predict", json={})
    assert response.status_code == 422
    assert set(response.get_json()["errors"]) == {"area", "bedrooms", "bathrooms", "age"}


def test_batch_errors_are_by_row_then_field(client, churn):
    rows = [
        {"tenure": 1.0, "seats": 1, "plan": "basic"},
        {"tenure": 1.0, "seats": 1.5, "plan": "gold"},
    ]
    response = client.post(f"{churn}/predict", json={"instances": rows})
    assert response.status_code == 422
    errors = response.get_json()["errors"]
    assert set(errors) == {"1"} and set(errors["1"]) == {"seats", "plan"}


def test_integer_feature_accepts_whole_floats(client, churn):
    response = client.post(f"{churn}/predict", json={"tenure": 1.0, "seats": 2.0, "plan": "pro"})
    assert response.status_code == 200


@pytest.mark.parametrize(
    "raw",
    [
        b"[1, 2]",
        b'"row"',
        b'{"instances": []}',
        b'{"instances": {}}',
        b'{"instances": [1]}',
        b'{"columns": ["area"], "data": [[1, 2]]}',
        b'{"columns": ["area"]}',
        b'{"columns": "area", "data": [[1]]}',
    ],
)
def test_wrong_body_form_is_400(client, house, raw):
    response = client.post(f"{house}/predict", data=raw, content_type="application/json")
    assert response.status_code == 400
    assert response.get_json()["code"] == "bad_request"


@pytest.mark.parametrize(
    "raw",
    [
        b'{"area": NaN}',
        b'{"area": Infinity}',
        b'{"area": -Infinity}',
        b'{"area": 1e400}',
        b"{" + b'"a":{' * 40 + b"}" * 41,
        b"{bad",
    ],
)
def test_non_strict_json_is_400_invalid_json(client, house, raw):
    response = client.post(f"{house}/predict", data=raw, content_type="application/json")
    assert response.status_code == 400
    assert response.get_json()["code"] == "invalid_json"


def test_wrong_content_type_is_415(client, house):
    response = client.post(f"{house}/predict", data="area=1", content_type="text/plain")
    assert response.status_code == 415


def test_limits_are_413(database_url, tmp_path):
    from registry.app import create_app

    app = create_app(
        {
            "database_url": database_url,
            "artifact_root": tmp_path / "a",
            "max_batch_rows": 2,
            "max_body_bytes": 2000,
        }
    )
    add_plan_version(app, "house-prices", house_plan(), activate=True)
    client = app.test_client()
    rows = client.post("/api/v1/models/house-prices/predict", json={"instances": [SEED_ROW] * 3})
    assert rows.status_code == 413
    big = client.post(
        "/api/v1/models/house-prices/predict", json={"instances": [SEED_ROW], "pad": "x" * 3000}
    )
    assert big.status_code == 413
    app.extensions["registry"].db.dispose()


def test_routes_resolve_active_pinned_and_alias(client, app, tokens):
    add_plan_version(app, "house-prices", house_plan(), activate=True)
    add_plan_version(app, "house-prices", house_plan())
    base = "/api/v1/models/house-prices"
    assert (
        client.put(
            f"{base}/aliases/candidate", json={"version": 2}, headers=tokens["publisher"]
        ).status_code
        == 200
    )
    assert client.post(f"{base}/predict", json=SEED_ROW).get_json()["version"] == 1
    assert client.post(f"{base}/versions/2/predict", json=SEED_ROW).get_json()["version"] == 2
    assert (
        client.post(f"{base}/aliases/candidate/predict", json=SEED_ROW).get_json()["version"] == 2
    )


@pytest.mark.parametrize(
    ("path", "code"),
    [
        ("/api/v1/models/nope/predict", "model_not_found"),
        ("/api/v1/models/house-prices/versions/9/predict", "version_not_found"),
        ("/api/v1/models/house-prices/versions/0/predict", "not_found"),
        ("/api/v1/models/house-prices/versions/01/predict", "not_found"),
        ("/api/v1/models/house-prices/versions/9223372036854775808/predict", "not_found"),
        ("/api/v1/models/house-prices/versions/abc/predict", "not_found"),
        ("/api/v1/models/house-prices/versions/-1/predict", "not_found"),
        ("/api/v1/models/house-prices/aliases/none/predict", "alias_not_found"),
    ],
)
def test_unknown_targets_are_404(client, house, path, code):
    response = client.post(path, json=SEED_ROW)
    assert response.status_code == 404
    assert response.get_json()["code"] == code


def test_no_active_version_is_404(client, app):
    add_plan_version(app, "idle", house_plan())
    response = client.post("/api/v1/models/idle/predict", json=SEED_ROW)
    assert response.status_code == 404
    assert response.get_json()["code"] == "no_active_version"


def test_metrics_count_predictions_by_model_and_version(client, house):
    client.post(f"{house}/predict", json=SEED_ROW)
    client.post(f"{house}/predict", json={})
    text = client.get("/metrics").get_data(as_text=True)
    assert (
        'registry_prediction_requests_total{model="house-prices",status="200",version="1"} 1.0'
        in text
    )
    errors = 'registry_prediction_errors_total{code="validation_failed",model="house-prices",'
    assert errors + 'version="1"} 1.0' in text


@pytest.mark.parametrize(
    "body",
    [
        SEED_ROW,
        {"instances": [SEED_ROW, SEED_ROW]},
        {"columns": ["area", "bedrooms", "bathrooms", "age"], "data": [[1500, 3, 2, 10]]},
    ],
)
def test_fast_lane_and_flask_view_answer_alike(client, house, body):
    # A query string sends the request through Flask's view instead of the fast lane.
    fast = client.post(f"{house}/predict", json=body)
    full = client.post(f"{house}/predict?explain=false", json=body)
    assert fast.status_code == full.status_code == 200
    assert fast.get_json() == full.get_json()
    assert fast.headers["Content-Type"] == full.headers["Content-Type"] == "application/json"
    assert set(fast.headers.keys()) == set(full.headers.keys())
