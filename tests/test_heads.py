"""More linear heads: cross-validated, robust, Bayesian, least-angle and SGD models."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import make_column_transformer
from sklearn.datasets import load_breast_cancer, load_diabetes, load_iris
from sklearn.feature_selection import (
    SelectFromModel,
    SelectKBest,
    SelectPercentile,
    VarianceThreshold,
    f_regression,
    mutual_info_regression,
)
from sklearn.impute import SimpleImputer
from sklearn.linear_model import (
    ARDRegression,
    BayesianRidge,
    ElasticNetCV,
    HuberRegressor,
    Lars,
    LarsCV,
    Lasso,
    LassoCV,
    LassoLars,
    LassoLarsCV,
    LogisticRegressionCV,
    OrthogonalMatchingPursuit,
    QuantileRegressor,
    Ridge,
    RidgeCV,
    SGDClassifier,
    SGDRegressor,
)
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from registry.errors import UnsupportedEstimator
from registry.intake.extract import extract
from tests.exactness import assert_exact, fit
from tests.factories import dump

REGRESSORS = [
    RidgeCV(alphas=(0.1, 1.0, 10.0)),
    LassoCV(cv=3),
    ElasticNetCV(cv=3, l1_ratio=(0.2, 0.8)),
    Lars(n_nonzero_coefs=5),
    LarsCV(cv=3),
    LassoLars(alpha=0.01),
    LassoLarsCV(cv=3),
    OrthogonalMatchingPursuit(n_nonzero_coefs=4),
    HuberRegressor(max_iter=500),
    QuantileRegressor(quantile=0.7, alpha=0.01),
    BayesianRidge(),
    ARDRegression(),
    SGDRegressor(random_state=0),
]
CLASSIFIERS = [
    ("cancer", LogisticRegressionCV(cv=3, max_iter=2000)),
    ("iris", LogisticRegressionCV(cv=3, max_iter=2000)),
    ("cancer", SGDClassifier(loss="log_loss", random_state=0)),
    ("iris", SGDClassifier(loss="log_loss", random_state=0)),
]


@pytest.mark.parametrize("head", REGRESSORS, ids=lambda h: type(h).__name__)
def test_regression_heads_answer_as_scikit_learn(head):
    X, y = load_diabetes(return_X_y=True, as_frame=True)
    estimator = fit(make_pipeline(StandardScaler(), head), X, y)
    plan = assert_exact(estimator, X)
    assert plan.kind == "linear"


@pytest.mark.parametrize(("data", "head"), CLASSIFIERS, ids=lambda c: str(c)[:30])
def test_classifier_heads_answer_as_scikit_learn(data, head):
    X, y = (load_iris if data == "iris" else load_breast_cancer)(return_X_y=True, as_frame=True)
    X = X.iloc[:, :8]
    estimator = fit(make_pipeline(StandardScaler(), head), X, y)
    plan = assert_exact(estimator, X)
    assert plan.kind == "logistic"


def _mixed() -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(2)
    frame = pd.DataFrame(
        {
            "size": rng.normal(80, 15, 150),
            "city": pd.Series(rng.choice(["lyon", "nice", "paris"], 150), dtype=object),
        }
    )
    frame.loc[::9, "size"] = np.nan
    y = frame["size"].fillna(80) * 2 + frame["city"].map({"lyon": 3, "nice": -2, "paris": 9})
    return frame, y.to_numpy()


@pytest.mark.parametrize(
    "head", [RidgeCV(), HuberRegressor(max_iter=500), BayesianRidge(), SGDRegressor()]
)
def test_heads_inside_a_column_transformer_with_missing_values(head):
    frame, y = _mixed()
    columns = make_column_transformer(
        (make_pipeline(SimpleImputer(), StandardScaler()), ["size"]),
        (OneHotEncoder(handle_unknown="ignore"), ["city"]),
    )
    estimator = fit(make_pipeline(columns, head), frame, y)
    assert_exact(estimator, frame)


def test_sgd_classifier_without_probabilities_is_refused_by_name():
    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    estimator = fit(SGDClassifier(loss="hinge"), X, y)
    with pytest.raises(UnsupportedEstimator, match="loss='hinge'"):
        extract(estimator)


def test_a_cross_validated_model_uploads_and_predicts(client, tokens):
    X, y = load_diabetes(return_X_y=True, as_frame=True)
    estimator = fit(make_pipeline(StandardScaler(), LassoCV(cv=3)), X, y)
    client.post("/api/v1/models", json={"name": "diabetes"}, headers=tokens["publisher"])
    response = client.post(
        "/api/v1/models/diabetes/versions",
        data={"artifact": (io.BytesIO(dump(estimator)), "m.joblib"), "activate": "true"},
        headers=tokens["publisher"],
        content_type="multipart/form-data",
    )
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["estimator"] == "Pipeline(StandardScaler, LassoCV)"
    row = X.iloc[0].to_dict()
    answer = client.post("/api/v1/models/diabetes/predict", json=row).get_json()
    assert answer["prediction"] == pytest.approx(estimator.predict(X.iloc[:1])[0], rel=1e-9)


def _with_gaps() -> tuple[pd.DataFrame, np.ndarray]:
    X, y = load_diabetes(return_X_y=True, as_frame=True)
    X = X.copy()
    X.iloc[::7, 2] = np.nan
    X.iloc[::11, 5] = np.nan
    X["s4"] = 0.05  # a constant column, for VarianceThreshold to drop
    return X, y


def test_simple_imputer_with_missing_indicators_answers_as_scikit_learn():
    X, y = _with_gaps()
    estimator = fit(
        make_pipeline(SimpleImputer(add_indicator=True), StandardScaler(), RidgeCV()), X, y
    )
    plan = assert_exact(estimator, X)
    # Two indicator columns (bmi and s3 had gaps) besides the ten imputed ones.
    assert len(plan.to_json()["columns"]) == 12


@pytest.mark.parametrize(
    "selector",
    [
        VarianceThreshold(),
        SelectKBest(f_regression, k=4),
        SelectPercentile(mutual_info_regression, percentile=50),
        SelectFromModel(Lasso(alpha=0.5)),
    ],
    ids=lambda s: type(s).__name__,
)
def test_feature_selection_keeps_what_the_selector_kept(selector, client, tokens):
    X, y = _with_gaps()
    estimator = fit(make_pipeline(SimpleImputer(), selector, Ridge()), X, y)
    kept = set(X.columns[estimator[1].get_support()])
    assert 0 < len(kept) < X.shape[1]
    plan = assert_exact(estimator, X)
    assert {f.name for f in plan.features} == kept
    assert set(plan.ignored) == set(X.columns) - kept
    # Through the sandbox and the API: the record scikit-learn takes is accepted whole.
    client.post("/api/v1/models", json={"name": "selected"}, headers=tokens["publisher"])
    response = client.post(
        "/api/v1/models/selected/versions",
        data={"artifact": (io.BytesIO(dump(estimator)), "m.joblib"), "activate": "true"},
        headers=tokens["publisher"],
        content_type="multipart/form-data",
    )
    assert response.status_code == 201, response.get_json()
    row = {k: (None if pd.isna(v) else v) for k, v in X.iloc[0].to_dict().items()}
    answer = client.post("/api/v1/models/selected/predict", json=row)
    assert answer.status_code == 200, answer.get_json()
    expected = estimator.predict(X.iloc[:1])[0]
    assert answer.get_json()["prediction"] == pytest.approx(expected, rel=1e-9)
