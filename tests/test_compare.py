"""Comparing versions over HTTP: metric and schema differences, and the same rows scored twice."""

from __future__ import annotations

import pytest

from registry.services.compare import prediction_differences
from tests.factories import add_plan_version, churn_plan, house_plan, house_price

HOUSE = {"area": 1500, "bedrooms": 3, "bathrooms": 2, "age": 10}


@pytest.fixture
def houses(app):
    """house-prices v1 (four features) and v2 (plus a nullable 'garage', intercept + 10000)."""
    add_plan_version(app, "house-prices", house_plan(), metrics={"r2": 0.9, "mae": 10.0})
    second = house_plan({"name": "garage", "type": "number", "nullable": True})
    second["intercept"] = [360_000.0]
    add_plan_version(app, "house-prices", second, metrics={"r2": 0.95, "rmse": 3.0})
    return "/api/v1/models/house-prices/compare"


def test_get_compares_metrics_schemas_and_compatibility(client, houses):
    body = client.get(f"{houses}?a=1&b=2").get_json()
    assert body["a"] == 1 and body["b"] == 2
    assert body["metrics"] == {
        "mae": {"a": 10.0, "b": None, "diff": None},
        "r2": {"a": 0.9, "b": 0.95, "diff": pytest.approx(0.05)},
        "rmse": {"a": None, "b": 3.0, "diff": None},
    }
    assert body["schema"] == {"added": ["garage"], "removed": [], "changed": []}
    # An added feature that may be left out keeps every old request valid.
    assert body["compatible"] is True and body["incompatibilities"] == []
    back = client.get(f"{houses}?a=2&b=1").get_json()
    assert back["schema"]["removed"] == ["garage"]
    assert back["compatible"] is False
    assert any("'garage' is no longer accepted" in p for p in back["incompatibilities"])
    for query, status in [
        ("a=1", 400),
        ("a=x&b=1", 400),
        ("a=1.5&b=2", 400),
        ("a=1&b=9", 404),
        ("a=0&b=1", 404),
    ]:
        response = client.get(f"{houses}?{query}")
        assert response.status_code == status, query
        assert response.get_json()["message"].endswith(".")
    assert client.get("/api/v1/models/nope/compare?a=1&b=2").status_code == 404


def test_post_scores_both_versions_and_subtracts(client, houses):
    one = client.post(f"{houses}?a=1&b=2", json=HOUSE)
    assert one.status_code == 200, one.get_json()
    body = one.get_json()
    assert body["a"] == {
        "model": "house-prices",
        "version": 1,
        "prediction": pytest.approx(house_price(1500, 3, 2, 10)),
    }
    assert body["b"]["version"] == 2
    assert body["difference"] == [pytest.approx(10_000.0)]
    rows = {"columns": list(HOUSE), "data": [list(HOUSE.values()), [900, 1, 1, 40]]}
    many = client.post(f"{houses}?a=2&b=1", json=rows).get_json()
    assert many["a"]["predictions"][1] == pytest.approx(house_price(900, 1, 1, 40) + 10_000)
    assert many["difference"] == [pytest.approx(-10_000.0)] * 2


def test_post_rows_must_fit_both_versions(client, houses):
    # garage is a feature of version 2 only: version 1 refuses it.
    response = client.post(f"{houses}?a=1&b=2", json={"instances": [{**HOUSE, "garage": 1.0}]})
    assert response.status_code == 422
    body = response.get_json()
    assert "version 1" in body["message"]
    assert set(body["errors"]) == {"a"} and "garage" in body["errors"]["a"]["0"]
    missing = client.post(f"{houses}?a=1&b=2", json={**HOUSE, "area": "big"}).get_json()
    assert "versions 1 and 2" in missing["message"] and set(missing["errors"]) == {"a", "b"}
    assert client.post(f"{houses}?a=1&b=2", json=[HOUSE]).status_code == 400
    assert client.post(f"{houses}?a=1&b=7", json=HOUSE).status_code == 404
    assert client.post(f"{houses}?b=2", json=HOUSE).status_code == 400
    text = client.post(f"{houses}?a=1&b=2", data="x", content_type="text/plain")
    assert text.status_code == 415


def test_post_compares_logistic_labels_and_probabilities(app, client):
    add_plan_version(app, "churn", churn_plan(), metrics={"accuracy": 0.8})
    shifted = churn_plan()
    shifted["intercept"] = [-1.5]
    add_plan_version(app, "churn", shifted, metrics={"accuracy": 0.7})
    rows = {
        "instances": [
            {"tenure": 3.0, "plan": "basic", "seats": 2},
            {"tenure": 0.0, "plan": "pro", "seats": 8},
        ]
    }
    response = client.post("/api/v1/models/churn/compare?a=1&b=2", json=rows)
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert [row["same_label"] for row in body["difference"]] == [False, True]
    for index, row in enumerate(body["difference"]):
        a, b = body["a"]["probabilities"][index], body["b"]["probabilities"][index]
        assert set(row["probabilities"]) == {"0", "1"}
        for label, diff in row["probabilities"].items():
            assert diff == pytest.approx(b[label] - a[label])
        assert row["probabilities"]["1"] < 0
    metrics = client.get("/api/v1/models/churn/compare?a=1&b=2").get_json()["metrics"]
    assert metrics["accuracy"]["diff"] == pytest.approx(-0.1)


def test_prediction_differences_count_an_unknown_class_as_zero():
    rows = prediction_differences(
        ["x", 1], ["y", True], [{"x": 0.6, "y": 0.4}] * 2, [{"y": 0.7, "z": 0.3}] * 2
    )
    assert rows[0] == {
        "same_label": False,
        "probabilities": {"x": -0.6, "y": pytest.approx(0.3), "z": 0.3},
    }
    # 1 and True are different labels, even though Python finds them equal.
    assert rows[1]["same_label"] is False
    assert prediction_differences([1.0, 2.0], [1.5, 1.0]) == [0.5, -1.0]
