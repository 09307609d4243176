"""Hostile and odd requests: each gets a JSON 4xx in the API's error shape, never a 5xx."""

from __future__ import annotations

import pytest
import requests

from tests.factories import add_plan_version
from tests.raw_http import exchange

ROW = {"area": 1500, "bedrooms": 3, "bathrooms": 2, "age": 10}


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("POST", "/api/v1/models//house-prices", 404),
        ("PUT", "/api/v1//models", 404),
        ("GET", "/api/v1/models//house-prices/predict", 404),
        ("POST", "/health//live", 404),
        ("POST", "/api/v1/models/%2F/predict", 404),
        ("GET", "/api/v1/models/house-prices/versions/9223372036854775808", 404),
        ("GET", "/api/v1/models/house-prices/versions/01", 404),
        ("GET", "/api/v1/models/house-prices/versions/%D9%A1", 404),
        ("POST", "/api/v1/models/house-prices/versions/99999999999/activate", 404),
    ],
)
def test_odd_paths_are_json_4xx(client, house, tokens, method, path, status):
    response = client.open(path, method=method, headers=tokens["admin"])
    assert response.status_code == status
    assert response.is_json and response.get_json()["code"]


@pytest.mark.parametrize(
    ("query", "status"),
    [
        ("page=9223372036854775807", 200),
        ("page=%2B1", 400),
        ("page=%D9%A1", 400),
        ("tag=%00:x", 400),
        ("per_page=1_0", 400),
    ],
)
def test_odd_queries(client, house, query, status):
    response = client.get(f"/api/v1/models?{query}")
    assert response.status_code == status
    if status == 200:
        assert response.get_json()["items"] == []


def test_alias_target_beyond_any_version_is_422(client, house, tokens):
    response = client.put(
        f"{house}/aliases/prod", json={"version": 2**63}, headers=tokens["publisher"]
    )
    assert response.status_code == 422


def test_overflowing_prediction_is_422_not_null(client, house):
    response = client.post(f"{house}/predict", json={**ROW, "area": 1e308})
    assert response.status_code == 422
    batch = client.post(f"{house}/predict", json={"instances": [ROW, {**ROW, "area": -1e308}]})
    assert batch.status_code == 422 and set(batch.get_json()["errors"]) == {"1"}


def test_other_charsets_are_415(client, house):
    response = client.post(
        f"{house}/predict", data=b'{"area": 1}', content_type="application/json; charset=latin-1"
    )
    assert response.status_code == 415
    ok = client.post(
        f"{house}/predict",
        data=b'{"area": 1, "bedrooms": 3, "bathrooms": 2, "age": 1}',
        content_type="application/json; charset=UTF-8",
    )
    assert ok.status_code == 200


def test_options_answers_json(client, house):
    response = client.options(f"{house}/predict")
    assert response.status_code == 200 and "POST" in response.get_json()["allow"]


def test_nested_field_errors_are_flat_lists(client, tokens):
    response = client.post(
        "/api/v1/models", json={"name": "x", "tags": {"": "v"}}, headers=tokens["publisher"]
    )
    assert response.status_code == 422
    errors = response.get_json()["errors"]
    assert all(isinstance(v, list) for v in errors.values()) and "tags." in errors


def test_bad_alias_name_is_reported_under_alias(client, house, tokens):
    response = client.put(f"{house}/aliases/Bad", json={"version": 1}, headers=tokens["publisher"])
    assert response.status_code == 422 and "alias" in response.get_json()["errors"]


def test_boolean_classes_keep_json_labels(client, app):
    plan = {
        "format": 1,
        "kind": "logistic",
        "link": "logistic",
        "features": [{"name": "x", "type": "number", "nullable": False}],
        "columns": [{"feature": "x", "mul": 1.0, "add": 0.0, "missing": None}],
        "coef": [[1.0]],
        "intercept": [0.0],
        "classes": [False, True],
    }
    add_plan_version(app, "flag", plan, activate=True)
    body = client.post("/api/v1/models/flag/predict", json={"x": 2.0}).get_json()
    assert body["prediction"] is True and set(body["probabilities"]) == {"false", "true"}


def test_gunicorn_refusals_are_json(live_server):
    long_path = "/api/v1/models/" + "a" * 10_000
    answer = requests.get(live_server.url + long_path, timeout=10)
    assert answer.status_code == 414 and answer.json()["code"] == "uri_too_long"
    # Refused before the app saw it, but with a request ID like every other answer.
    assert len(answer.headers["X-Request-ID"]) == 32
    request = (
        b"POST /api/v1/models/x/predict HTTP/1.1\r\nHost: x\r\n"
        b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n"
        b"0\r\n\r\n"
    )
    head, _, body = exchange(live_server.url, request, timeout=10).partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 4")
    assert b'"code"' in body
