"""Bounded cost per request: small error bodies, bounded answers, bounded metric series."""

from __future__ import annotations

import random
import string

import pytest

from tests.factories import add_plan_version, churn_plan

CATEGORIES = tuple(f"category-number-{i:04d}" for i in range(1000))


@pytest.fixture
def wide(app):
    """A logistic model with a 1,000-category feature."""
    add_plan_version(app, "wide", churn_plan(CATEGORIES), activate=True)
    return "/api/v1/models/wide"


def many_classes_plan(classes: int) -> dict:
    """A multinomial plan over one number with ``classes`` string classes."""
    return {
        "format": 1,
        "kind": "logistic",
        "link": "softmax",
        "features": [{"name": "x", "type": "number", "nullable": False}],
        "columns": [{"feature": "x", "mul": 1.0, "add": 0.0, "missing": None}],
        "coef": [[0.001 * i] for i in range(classes)],
        "intercept": [0.0] * classes,
        "classes": [f"class-{i:04d}" for i in range(classes)],
    }


# --- error amplification -------------------------------------------------------------------


def test_a_batch_of_bad_rows_answers_a_small_error_body(client, wide):
    rows = [{"tenure": 1.0, "seats": 1, "plan": "nope"}] * 2000
    response = client.post(f"{wide}/predict", json={"instances": rows})
    assert response.status_code == 422
    assert len(response.data) < 8_000
    body = response.get_json()
    assert body["message"] == "2000 rows have invalid values."
    listed = [key for key in body["errors"] if key != "_more"]
    assert listed == [str(i) for i in range(10)]
    assert body["errors"]["_more"] == ["And 1990 more rows with invalid values."]


def test_long_enums_are_shortened_with_their_count(client, wide):
    response = client.post(f"{wide}/predict", json={"tenure": 1.0, "seats": 1, "plan": "nope"})
    assert response.status_code == 422
    (message,) = response.get_json()["errors"]["plan"]
    assert message == (
        "Must be one of: category-number-0000, category-number-0001, category-number-0002, "
        "category-number-0003, category-number-0004, ... (1,000 values)."
    )


def test_short_enums_are_listed_whole(client, app):
    add_plan_version(app, "churn", churn_plan(), activate=True)
    response = client.post(
        "/api/v1/models/churn/predict", json={"tenure": 1.0, "seats": 1, "plan": "nope"}
    )
    assert response.get_json()["errors"] == {"plan": ["Must be one of: basic, plus, pro."]}


def test_a_row_of_many_unknown_fields_lists_a_few(client, wide):
    row = {"tenure": 1.0, "seats": 1, "plan": CATEGORIES[0]}
    row.update({f"extra-{i}-{'x' * 200}": i for i in range(500)})
    response = client.post(f"{wide}/predict", json={"instances": [row, row]})
    assert response.status_code == 422 and len(response.data) < 8_000
    first = response.get_json()["errors"]["0"]
    assert len(first) == 11 and first["_more"] == ["And 490 more fields with problems."]
    assert all(len(key) <= 64 for key in first)


def test_the_count_of_unlisted_rows_is_exact(client, wide):
    good = {"tenure": None, "seats": 2.0, "plan": CATEGORIES[7]}
    bad = [
        {"tenure": 1.0, "seats": 1},
        {"tenure": "1", "seats": 1, "plan": CATEGORIES[0]},
        {"tenure": 1.0, "seats": 1.5, "plan": CATEGORIES[0]},
        {"tenure": 1.0, "seats": True, "plan": CATEGORIES[0]},
        {"tenure": 1.0, "seats": 1, "plan": CATEGORIES[0], "other": 1},
        {"seats": 1, "plan": 3},
    ]
    rows = [good] * 20 + bad * 3 + [good] * 5
    response = client.post(f"{wide}/predict", json={"instances": rows})
    body = response.get_json()
    assert body["message"] == "18 rows have invalid values."
    assert body["errors"]["_more"] == ["And 8 more rows with invalid values."]
    table = client.post(
        f"{wide}/predict",
        json={
            "columns": ["tenure", "seats", "plan"],
            "data": [list(r.values()) for r in rows[:20]],
        },
    )
    assert table.status_code == 200


# --- answer amplification ------------------------------------------------------------------


@pytest.mark.parametrize("query", ["", "?explain=false"])
def test_an_answer_over_the_cell_limit_is_refused_before_it_is_built(client, app, query):
    add_plan_version(app, "many", many_classes_plan(1000), activate=True)
    body = {"columns": ["x"], "data": [[1.5]] * 600}
    response = client.post(f"/api/v1/models/many/predict{query}", json=body)
    assert response.status_code == 413
    answer = response.get_json()
    assert answer["code"] == "payload_too_large"
    assert "500000" in answer["message"] and "REGISTRY_MAX_ANSWER_CELLS" in answer["message"]
    assert "600600" in answer["message"]
    small = client.post(
        f"/api/v1/models/many/predict{query}", json={"columns": ["x"], "data": [[1.5]] * 400}
    )
    assert small.status_code == 200 and len(small.get_json()["probabilities"]) == 400


def test_explanations_count_towards_the_cell_limit(make_app):
    app = make_app(max_answer_cells=1000)
    add_plan_version(app, "many", many_classes_plan(10), activate=True)
    client = app.test_client()
    rows = {"columns": ["x"], "data": [[1.5]] * 50}
    assert client.post("/api/v1/models/many/predict", json=rows).status_code == 200
    explained = client.post("/api/v1/models/many/predict?explain=true", json=rows)
    assert explained.status_code == 413 and "1000" in explained.get_json()["message"]


def test_compare_answers_count_towards_the_cell_limit(make_app):
    app = make_app(max_answer_cells=1000)
    add_plan_version(app, "many", many_classes_plan(10))
    add_plan_version(app, "many", many_classes_plan(10))
    client = app.test_client()
    rows = {"columns": ["x"], "data": [[1.5]] * 200}
    answer = client.post("/api/v1/models/many/compare?a=1&b=2", json=rows)
    assert answer.status_code == 413


# --- metrics cardinality -------------------------------------------------------------------


def _series(client, headers=None) -> list[str]:
    text = client.get("/metrics", headers=headers).get_data(as_text=True)
    return [line for line in text.splitlines() if line and not line.startswith("#")]


def test_unknown_model_names_share_one_metrics_label(make_app, tokens):
    app = make_app(auth_reads=True)
    add_plan_version(app, "known", many_classes_plan(2), activate=True)
    client = app.test_client()
    before = len(_series(client, tokens["reader"]))
    rng = random.Random(10)
    for _ in range(300):
        name = "".join(rng.choices(string.ascii_lowercase, k=12))
        assert client.post(f"/api/v1/models/{name}/predict", json={"x": 1}).status_code == 401
        answered = client.post(
            f"/api/v1/models/{name}/predict", json={"x": 1}, headers=tokens["reader"]
        )
        assert answered.status_code == 404
    assert client.post("/api/v1/models/known/predict", json={"x": 1}).status_code == 401
    series = _series(client, tokens["reader"])
    assert len(series) - before < 20
    joined = "\n".join(series)
    assert 'model="_unknown",status="401",version="-"} 300.0' in joined
    assert 'model="known",status="401",version="-"} 1.0' in joined


def test_unusual_methods_share_one_metrics_label(client):
    before = len(_series(client))
    for index in range(50):
        answer = client.open("/api/v1/models", method=f"BREW{index}")
        assert answer.status_code == 405
    series = _series(client)
    assert len(series) - before < 5
    assert 'registry_http_requests_total{method="OTHER",status="405"} 50.0' in series
