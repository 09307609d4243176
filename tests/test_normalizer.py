"""Normalizer: each row of a group of columns divided by its l1, l2 or max norm."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import make_column_transformer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LinearRegression, LogisticRegression, Ridge
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import (
    Normalizer,
    OneHotEncoder,
    PolynomialFeatures,
    SplineTransformer,
    StandardScaler,
)

from registry.errors import NotExportable, UnsupportedEstimator
from registry.export import export_plan
from registry.intake.extract import extract
from registry.plans import Plan, PlanError
from tests.factories import add_plan_version
from tests.test_steps import _diabetes, _fit, _rows, _shops, assert_exact, upload_and_predict

NORMS = ["l1", "l2", "max"]


def _with_zero_rows(X: pd.DataFrame) -> pd.DataFrame:
    """The data and two all-zero rows, which scikit-learn leaves as zeros."""
    zeros = pd.DataFrame(np.zeros((2, X.shape[1])), columns=X.columns)
    return pd.concat([X, zeros], ignore_index=True)


@pytest.mark.parametrize("norm", NORMS)
def test_normalizer_alone_as_scikit_learn(norm):
    X, y = _diabetes()
    X = X[["age", "bmi", "bp", "s5"]]
    estimator = _fit(make_pipeline(Normalizer(norm=norm), LinearRegression()), X, y)
    plan = assert_exact(estimator, _with_zero_rows(X))
    output = plan.predict(_rows(_with_zero_rows(X).iloc[-2:], X.columns), explain=True)
    # An all-zero row stays zeros: only the intercept is left.
    assert output.predictions == pytest.approx([estimator[-1].intercept_] * 2, rel=1e-12)


@pytest.mark.parametrize("norm", NORMS)
def test_normalizer_after_a_scaler_explains_in_the_normalized_space(norm):
    X, y = _diabetes()
    estimator = _fit(make_pipeline(StandardScaler(), Normalizer(norm=norm), Ridge()), X, y)
    plan = assert_exact(estimator, X)
    parts = plan.predict(_rows(X.iloc[:3], X.columns), explain=True).contributions
    normalized = estimator[:2].transform(X.iloc[:3])
    coef = estimator[-1].coef_
    for row, values in zip(parts, normalized, strict=True):
        # Each feature's part is its coefficient times its normalized value.
        assert set(row) == {*X.columns, "_intercept"}
        expected = dict(zip(X.columns, coef * values, strict=True))
        assert {k: row[k] for k in X.columns} == pytest.approx(expected, rel=1e-9, abs=1e-12)


def test_normalizer_in_a_column_transformer_of_a_classifier_over_http(client, tokens):
    frame, y = _shops()
    target = np.where(y > np.median(y), "dear", "cheap")
    columns = make_column_transformer(
        (
            make_pipeline(SimpleImputer(), StandardScaler(), Normalizer(norm="l1")),
            ["area", "rooms"],
        ),
        (OneHotEncoder(handle_unknown="ignore"), ["city"]),
    )
    estimator = _fit(make_pipeline(columns, LogisticRegression()), frame, target)
    assert_exact(estimator, frame)
    body = upload_and_predict(client, tokens, estimator, frame, "normalized")
    assert {f["name"]: f["nullable"] for f in body["features"]} == {
        "area": True,
        "rooms": True,
        "city": True,
    }
    row = {"area": None, "rooms": 3.0, "city": "lyon"}
    answer = client.post("/api/v1/models/normalized/predict?explain=true", json=row).get_json()
    probability = estimator.predict_proba(pd.DataFrame([row]).astype({"area": float}))[0, 1]
    assert answer["probabilities"]["dear"] == pytest.approx(probability, rel=1e-9)
    parts = answer["contributions"]
    assert set(parts) == {"area", "rooms", "city", "_intercept"}
    log_odds = np.log(probability / (1 - probability))
    assert sum(parts.values()) == pytest.approx(log_odds, rel=1e-9)
    assert client.get("/api/v1/swagger.json").status_code == 200
    page = client.get("/ui/models/normalized/versions/1", headers=tokens["reader"])
    assert page.status_code == 200 and "normalized" in page.get_data(as_text=True)


def test_normalizer_of_a_gap_nothing_fills_is_not_nullable():
    frame, y = _shops()
    numbers = frame[["area", "rooms"]]
    estimator = _fit(make_pipeline(SimpleImputer(), Normalizer(), Ridge()), numbers, y)
    assert all(f.nullable for f in assert_exact(estimator, numbers).features)
    columns = make_column_transformer(
        (SimpleImputer(), ["area"]), (Normalizer(), ["rooms"]), remainder="drop"
    )
    estimator = _fit(make_pipeline(columns, Ridge()), frame.fillna({"rooms": 1.0}), y)
    features = {f.name: f.nullable for f in Plan(extract(estimator).plan).features}
    assert features == {"area": True, "rooms": False}


@pytest.mark.parametrize(
    ("steps", "named"),
    [
        ((OneHotEncoder(), Normalizer()), "^Normalizer after an encoder"),
        ((Normalizer(), PolynomialFeatures()), "^PolynomialFeatures of .*normalized"),
        ((Normalizer(), SplineTransformer()), "^SplineTransformer after .*Normalizer"),
        ((PolynomialFeatures(), Normalizer()), "^Normalizer after .*PolynomialFeatures"),
    ],
    ids=lambda v: "-".join(type(s).__name__ for s in v) if isinstance(v, tuple) else v,
)
def test_normalizer_next_to_a_step_it_cannot_follow_is_refused_by_name(steps, named):
    X, y = _diabetes()
    X = X[["age", "sex", "bmi"]]
    estimator = _fit(make_pipeline(*steps, Ridge()), X, y)
    with pytest.raises(UnsupportedEstimator, match=named):
        extract(estimator)


def _normalized_plan(column: dict) -> dict:
    x = {"feature": "x", "mul": 1.0, "add": 0.0, "missing": None}
    w = {"feature": "w", "mul": 1.0, "add": 0.0, "missing": 0.0}
    return {
        "format": 1,
        "kind": "linear",
        "link": "identity",
        "features": [
            {"name": "x", "type": "number", "nullable": False},
            {"name": "w", "type": "number", "nullable": True},
        ],
        "columns": [
            {"normalize": [x, w], "norm": "l2", "index": 0, "mul": 1.0, "add": 0.0, **column},
            {"normalize": [x, w], "norm": "l2", "index": 1, "mul": 2.0, "add": 1.0},
        ],
        "coef": [[10.0, 100.0]],
        "intercept": [0.5],
        "classes": None,
    }


@pytest.mark.parametrize(
    ("column", "message"),
    [
        ({"norm": "l3"}, "norm must be one of"),
        ({"index": 2}, "index must name one of its columns"),
        ({"index": True}, "index must name one of its columns"),
        ({"normalize": []}, "must list one or more value columns"),
        ({"normalize": [{"feature": "x", "category": 1.0}]}, "must list value columns"),
        ({"normalize": [{"feature": "y", "mul": 1, "add": 0, "missing": None}]}, "name a feature"),
        ({"center": 1.0}, "needs only normalize, norm, index, mul, add"),
        ({"mul": float("nan")}, "mul must be finite"),
    ],
)
def test_normalized_columns_are_checked_on_load(column, message):
    with pytest.raises(PlanError, match=message):
        Plan(_normalized_plan(column))


def test_a_normalized_column_divides_by_its_group_norm_and_keeps_a_zero_row():
    plan = Plan(_normalized_plan({}))
    rows = {"x": [3.0, 0.0, 0.0, 1e-300], "w": [4.0, 0.0, None, 0.0]}
    output = plan.predict(rows, explain=True)
    # 0.5 + 10 * 3/5 + 100 * (2 * 4/5 + 1); the zero rows (w missing fills 0) keep zeros;
    # 1e-300 is below scikit-learn's 10 * eps threshold: the row is left as it is.
    assert output.predictions == pytest.approx([266.5, 100.5, 100.5, 100.5], rel=1e-12)
    assert output.contributions[0] == pytest.approx(
        {"x": 6.0, "w": 260.0, "_intercept": 0.5}, rel=1e-12
    )
    pairs = zip(rows["x"], rows["w"], strict=True)
    one = [plan.predict({"x": [x], "w": [w]}).predictions[0] for x, w in pairs]
    assert one == output.predictions


def test_a_normalized_plan_is_not_exportable_and_says_normalizer(app, client):
    plan = _normalized_plan({})
    for format in ("sql", "onnx"):
        with pytest.raises(NotExportable, match="Normalizer"):
            export_plan(plan, format, "sqlite")
    add_plan_version(app, "normalized", plan)
    answer = client.get("/api/v1/models/normalized/versions/1/export?format=sql")
    assert answer.status_code == 422
    assert answer.json["code"] == "not_exportable"
    assert "Normalizer" in answer.json["message"]
    assert client.get("/api/v1/models/normalized/versions/1/export?format=json").json == plan
