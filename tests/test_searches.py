"""Fitted GridSearchCV and RandomizedSearchCV: served through best_estimator_, recorded."""

from __future__ import annotations

import io
import json
import pickle

import numpy as np
import pytest
import skops.io
from scipy.stats import loguniform, randint
from sklearn.compose import TransformedTargetRegressor, make_column_transformer
from sklearn.datasets import load_diabetes, load_iris
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression, PoissonRegressor, Ridge
from sklearn.metrics import make_scorer
from sklearn.model_selection import GridSearchCV, RandomizedSearchCV, StratifiedKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from registry.errors import UnsupportedEstimator, UntrustedArtifact
from registry.intake.extract import extract
from registry.intake.inert import Inert
from registry.intake.skops_loader import load_skops
from registry.intake.unpickler import load_pickle
from tests.exactness import assert_exact, fit
from tests.factories import dump
from tests.test_heads import _mixed


def _grid(**options):
    model = make_pipeline(StandardScaler(), Ridge())
    return GridSearchCV(model, {"ridge__alpha": [0.1, 1.0, 10.0]}, cv=3, **options)


def _diabetes():
    return load_diabetes(return_X_y=True, as_frame=True)


def _read_back(estimator):
    return load_pickle(dump(estimator), max_bytes=1 << 26)


def test_a_grid_search_serves_its_best_estimator():
    X, y = _diabetes()
    search = fit(_grid(), X, y)
    assert_exact(search, X)
    extraction = extract(_read_back(search))
    assert extraction.estimator == "GridSearchCV(Pipeline(StandardScaler, Ridge))"
    assert extraction.search == {
        "search": "GridSearchCV",
        "best_score": pytest.approx(search.best_score_, rel=1e-15),
        "scoring": "score",
        "best_params": {"ridge__alpha": json.dumps(search.best_params_["ridge__alpha"])},
    }


def test_a_randomized_search_with_distributions_and_a_random_state():
    X, y = _diabetes()
    search = RandomizedSearchCV(
        make_pipeline(StandardScaler(), PoissonRegressor()),
        {
            "poissonregressor__alpha": loguniform(1e-4, 1.0),
            "poissonregressor__max_iter": randint(100, 300),
        },
        n_iter=4,
        cv=3,
        random_state=np.random.RandomState(0),
        scoring="neg_mean_poisson_deviance",
    )
    fit(search, X, y)
    assert_exact(search, X)
    loaded = _read_back(search)
    # What the search keeps besides its model is read as placeholders, never built.
    assert type(loaded.random_state) is Inert
    assert type(loaded.cv_results_["param_poissonregressor__alpha"]) is Inert
    summary = extract(loaded).search
    assert summary["scoring"] == "neg_mean_poisson_deviance"
    assert set(summary["best_params"]) == {"poissonregressor__alpha", "poissonregressor__max_iter"}


def test_a_classifier_search_with_several_metrics_records_the_refit_one():
    X, y = load_iris(return_X_y=True, as_frame=True)
    search = GridSearchCV(
        LogisticRegression(max_iter=1000),
        {"C": [0.1, 1.0]},
        scoring=["accuracy", "f1_macro"],
        refit="f1_macro",
        cv=StratifiedKFold(3),
    )
    fit(search, X, y)
    assert_exact(search, X)
    summary = extract(_read_back(search)).search
    assert summary["scoring"] == "f1_macro"
    assert summary["best_score"] == pytest.approx(search.best_score_)


def test_searches_around_and_inside_other_wrappers_and_column_transformers():
    frame, y = _mixed()
    columns = make_column_transformer(
        (make_pipeline(SimpleImputer(), StandardScaler()), ["size"]),
        (OneHotEncoder(handle_unknown="ignore"), ["city"]),
    )
    search = GridSearchCV(
        make_pipeline(columns, Ridge()),
        {
            "ridge__alpha": [0.1, 1.0],
            "columntransformer__pipeline__simpleimputer__strategy": ["mean", "median"],
        },
        cv=3,
    )
    assert_exact(fit(search, frame, y), frame)
    around = TransformedTargetRegressor(_grid(), func=np.log1p, inverse_func=np.expm1)
    X, target = _diabetes()
    assert_exact(fit(around, X, target), X)


def test_skops_files_of_a_search_are_read_too():
    X, y = _diabetes()
    search = fit(_grid(), X, y)
    loaded = load_skops(skops.io.dumps(search), max_bytes=1 << 26)
    assert extract(loaded).search["best_params"] == {
        "ridge__alpha": json.dumps(search.best_params_["ridge__alpha"])
    }


def test_a_search_without_refit_holds_no_model():
    X, y = _diabetes()
    search = fit(_grid(refit=False), X, y)
    with pytest.raises(UnsupportedEstimator, match="refit=False"):
        extract(_read_back(search))


def _custom_metric(y_true, y_pred):
    return -float(np.mean(np.abs(y_true - y_pred)))


def test_a_scorer_outside_the_allow_list_is_never_unpickled():
    X, y = _diabetes()
    search = fit(_grid(scoring=make_scorer(_custom_metric)), X, y)
    data = pickle.dumps(search)
    assert b"_custom_metric" in data
    with pytest.raises(UntrustedArtifact, match="_custom_metric"):
        load_pickle(data, max_bytes=1 << 26)


def test_a_search_uploads_with_its_best_score_and_params_recorded(client, tokens):
    X, y = _diabetes()
    search = fit(_grid(scoring="neg_mean_absolute_error"), X, y)
    client.post("/api/v1/models", json={"name": "searched"}, headers=tokens["publisher"])
    response = client.post(
        "/api/v1/models/searched/versions",
        data={
            "artifact": (io.BytesIO(dump(search)), "m.joblib"),
            "activate": "true",
            "metrics": json.dumps({"holdout_mae": 41.5}),
            "tags": json.dumps({"cv_scoring": "mae, as told by the uploader"}),
        },
        headers=tokens["publisher"],
        content_type="multipart/form-data",
    )
    body = response.get_json()
    assert response.status_code == 201, body
    assert body["estimator"] == "GridSearchCV(Pipeline(StandardScaler, Ridge))"
    assert body["metrics"] == {
        "cv_best_score": pytest.approx(search.best_score_, rel=1e-12),
        "holdout_mae": 41.5,
    }
    alpha = json.dumps(search.best_params_["ridge__alpha"])
    assert body["tags"] == {
        "cv_search": "GridSearchCV",
        "cv_scoring": "mae, as told by the uploader",
        "cv_best_params.ridge__alpha": alpha,
    }
    answer = client.post("/api/v1/models/searched/predict", json=X.iloc[0].to_dict())
    assert answer.status_code == 200, answer.get_json()
    expected = search.predict(X.iloc[:1])[0]
    assert answer.get_json()["prediction"] == pytest.approx(expected, rel=1e-9)


def test_getattr_is_read_only_on_a_placeholder():
    # getattr(numpy.float64, 'fromhex')('1.0'): a receiver that is not inert is refused.
    data = (
        pickle.PROTO
        + b"\x04"
        + b"\x8c\x08builtins\x8c\x07getattr\x93"
        + b"\x8c\x05numpy\x8c\x07float64\x93"
        + b"\x8c\x07fromhex\x86R"
        + b"\x8c\x031.0\x85R."
    )
    with pytest.raises(UntrustedArtifact, match="not inert"):
        load_pickle(data, max_bytes=1 << 20)


def test_a_placeholder_in_a_model_position_is_refused_by_its_name():
    from sklearn.model_selection import KFold

    X, y = _diabetes()
    estimator = fit(make_pipeline(StandardScaler(), Ridge()), X, y)
    estimator.steps.insert(1, ("folds", KFold(3)))
    with pytest.raises(UnsupportedEstimator, match="KFold is not supported"):
        extract(_read_back(estimator))
