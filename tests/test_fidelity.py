"""Fidelity: a served answer is the answer of the scikit-learn release that saved the model."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import make_column_transformer
from sklearn.datasets import load_breast_cancer, load_iris
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from sklearn.utils.extmath import softmax

from registry.intake import inspect_artifact
from registry.intake.extract import extract
from registry.plans import Plan
from tests.factories import dump

BASE = "/api/v1/models/fidelity"


def _city_frame() -> tuple[pd.DataFrame, np.ndarray]:
    """A string column whose missing values are None, as pandas builds it from records."""
    cities = (["north"] * 6 + ["south"] * 5 + [None] * 3 + [np.nan] * 2) * 4
    frame = pd.DataFrame({"city": pd.Series(cities, dtype=object), "rooms": np.arange(64) % 5})
    target = np.array([{"north": 10.0, "south": 20.0}.get(c, 0.0) for c in cities])
    target[[c is None for c in cities]] = 100.0
    return frame, target + 0.1 * frame["rooms"].to_numpy()


def _city_pipeline(head):
    categorical = make_pipeline(
        SimpleImputer(missing_values=np.nan, strategy="most_frequent"),
        OneHotEncoder(handle_unknown="ignore"),
    )
    return make_pipeline(
        make_column_transformer((categorical, ["city"]), remainder="passthrough"), head
    )


def _sklearn_answer(estimator, row: dict) -> np.ndarray:
    frame = pd.DataFrame([row]).astype({"city": object})
    if hasattr(estimator, "predict_proba"):
        return estimator.predict_proba(frame)[0]
    return estimator.predict(frame)


@pytest.mark.parametrize("head", ["ridge", "logistic"])
def test_null_means_the_none_category_the_encoder_learned(head):
    frame, target = _city_frame()
    if head == "ridge":
        estimator = _city_pipeline(Ridge(alpha=1e-6)).fit(frame, target)
    else:
        estimator = _city_pipeline(LogisticRegression(C=100.0)).fit(frame, target >= 50)
    plan = Plan(inspect_artifact(dump(estimator)).plan.to_json())
    city = next(f for f in plan.features if f.name == "city")
    assert city.nullable
    row = {"city": None, "rooms": 2}
    got = plan.predict({"city": [None], "rooms": [2]})
    expected = _sklearn_answer(estimator, row)
    if head == "ridge":
        assert expected[0] > 90  # scikit-learn does not impute None: it is a category
        assert got.predictions[0] == pytest.approx(expected[0], rel=1e-9)
    else:
        assert got.predictions[0] == estimator.predict(pd.DataFrame([row]))[0]
        assert got.probabilities[0] == pytest.approx(expected, rel=1e-9)


def _legacy_logistic(estimator: LogisticRegression, multi_class: str, release: str):
    """The estimator as a release that still had multi_class would have saved it."""
    estimator.__dict__["multi_class"] = multi_class
    estimator._sklearn_version = release
    return estimator


def _legacy_probabilities(estimator: LogisticRegression, X) -> np.ndarray:
    """scikit-learn 1.7's LogisticRegression.predict_proba, restated."""
    multi_class, n_classes = estimator.multi_class, len(estimator.classes_)
    ovr = multi_class in ("ovr", "warn") or (
        multi_class in ("auto", "deprecated")
        and (n_classes <= 2 or estimator.solver == "liblinear")
    )
    if ovr:
        return estimator._predict_proba_lr(X)
    decision = estimator.decision_function(X)
    if decision.ndim == 1:
        decision = np.c_[-decision, decision]
    return softmax(decision, copy=False)


# (data set, solver as saved, multi_class as saved). The installed release cannot fit liblinear
# on three classes, so that model is fitted with lbfgs and saved as liblinear: only the saved
# settings decide how the release scored it.
LEGACY_LOGISTIC = [
    ("iris", "lbfgs", "ovr"),
    ("iris", "liblinear", "auto"),
    ("iris", "liblinear", "deprecated"),
    ("cancer", "lbfgs", "multinomial"),
    ("iris", "lbfgs", "multinomial"),
    ("cancer", "lbfgs", "auto"),
    ("cancer", "liblinear", "deprecated"),
]


@pytest.mark.parametrize(("data", "solver", "multi_class"), LEGACY_LOGISTIC)
def test_logistic_link_follows_the_saved_multi_class(data, solver, multi_class):
    loader = load_iris if data == "iris" else load_breast_cancer
    X, y = loader(return_X_y=True, as_frame=True)
    X = X.iloc[:, :6]
    head = LogisticRegression(max_iter=5000)
    estimator = make_pipeline(StandardScaler(), head).fit(X, y)
    _legacy_logistic(head, multi_class, "1.7.2")
    head.__dict__["solver"] = solver
    extraction = extract(estimator)
    plan = Plan(extraction.plan)
    rows = {name: X[name].tolist() for name in X.columns}
    got = plan.predict(rows, explain=True)
    expected = _legacy_probabilities(estimator[-1], estimator[:-1].transform(X))
    assert np.max(np.abs(got.probabilities - expected)) <= 1e-9
    if len(plan.classes) == 2:
        # Contributions sum to the log-odds of the second class, as the saving release gave it.
        logit = np.log(expected[:, 1] / expected[:, 0])
        sums = [sum(c.values()) for c in got.contributions]
        assert np.allclose(sums, logit, rtol=1e-7, atol=1e-7)


def test_version_records_the_release_that_saved_the_file(client, tokens):
    X, y = load_iris(return_X_y=True, as_frame=True)
    estimator = _legacy_logistic(LogisticRegression(max_iter=1000).fit(X, y), "ovr", "1.7.2")
    data = _pickle_keeping_release(estimator)
    client.post("/api/v1/models", json={"name": "fidelity"}, headers=tokens["publisher"])
    response = client.post(
        f"{BASE}/versions",
        data={"artifact": (io.BytesIO(data), "model.joblib")},
        headers=tokens["publisher"],
        content_type="multipart/form-data",
    )
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["sklearn_version"] == "1.7.2"
    answer = client.post(f"{BASE}/versions/1/predict", json=X.iloc[0].to_dict()).get_json()
    expected = _legacy_probabilities(estimator, X.iloc[:1])[0]
    got = [answer["probabilities"][str(c)] for c in estimator.classes_]
    assert got == pytest.approx(expected.tolist(), rel=1e-9)


def _pickle_keeping_release(estimator) -> bytes:
    """Pickle an estimator with the release it claims, not the installed one."""
    release = estimator._sklearn_version
    state = estimator.__getstate__()
    state["_sklearn_version"] = release
    original = type(estimator).__getstate__
    try:
        type(estimator).__getstate__ = lambda self: dict(state)
        return dump(estimator)
    finally:
        type(estimator).__getstate__ = original
