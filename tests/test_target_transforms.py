"""TransformedTargetRegressor: a supported regressor with an inverse target transform."""

from __future__ import annotations

import io

import numpy as np
import pytest
import skops.io
from sklearn.compose import TransformedTargetRegressor, make_column_transformer
from sklearn.datasets import load_diabetes
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LinearRegression, PoissonRegressor, Ridge, RidgeCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import (
    FunctionTransformer,
    MaxAbsScaler,
    MinMaxScaler,
    OneHotEncoder,
    QuantileTransformer,
    RobustScaler,
    StandardScaler,
)

from registry.errors import UnsupportedEstimator
from registry.intake.extract import extract
from registry.intake.skops_loader import load_skops
from registry.intake.unpickler import load_pickle
from tests.exactness import assert_exact, fit
from tests.factories import dump
from tests.test_heads import _mixed


def _scaled_ridge():
    return make_pipeline(StandardScaler(), Ridge())


TARGETS = {
    "log1p": dict(func=np.log1p, inverse_func=np.expm1),
    "log": dict(func=np.log, inverse_func=np.exp),
    "sqrt": dict(func=np.sqrt, inverse_func=np.square),
    "function_transformer": dict(transformer=FunctionTransformer(np.log1p, np.expm1)),
    "standard": dict(transformer=StandardScaler()),
    "standard_no_mean": dict(transformer=StandardScaler(with_mean=False)),
    "minmax": dict(transformer=MinMaxScaler(feature_range=(-1, 2))),
    "maxabs": dict(transformer=MaxAbsScaler()),
    "robust": dict(transformer=RobustScaler()),
    "identity": dict(),
}


@pytest.mark.parametrize("how", TARGETS, ids=str)
def test_transformed_targets_answer_as_scikit_learn(how):
    X, y = load_diabetes(return_X_y=True, as_frame=True)
    estimator = fit(TransformedTargetRegressor(_scaled_ridge(), **TARGETS[how]), X, y)
    plan = assert_exact(estimator, X)
    space = None if how == "identity" else "transformed_target"
    assert plan.contributions_space == space
    assert extract(estimator).estimator == (
        "TransformedTargetRegressor(Pipeline(StandardScaler, Ridge))"
    )


def test_a_transformed_target_around_a_glm_and_inside_a_pipeline():
    X, y = load_diabetes(return_X_y=True, as_frame=True)
    inner = TransformedTargetRegressor(PoissonRegressor(), func=np.sqrt, inverse_func=np.square)
    estimator = fit(make_pipeline(StandardScaler(), inner), X, y)
    plan = assert_exact(estimator, X)
    assert plan.link == "log" and plan.contributions_space == "linear_predictor"
    nested = TransformedTargetRegressor(
        TransformedTargetRegressor(LinearRegression(), transformer=StandardScaler()),
        func=np.log,
        inverse_func=np.exp,
    )
    assert_exact(fit(nested, X, y), X)


def test_a_transformed_target_in_a_column_transformer_with_missing_values():
    frame, y = _mixed()
    columns = make_column_transformer(
        (make_pipeline(SimpleImputer(), StandardScaler()), ["size"]),
        (OneHotEncoder(handle_unknown="ignore"), ["city"]),
    )
    head = TransformedTargetRegressor(RidgeCV(), func=np.log1p, inverse_func=np.expm1)
    assert_exact(fit(make_pipeline(columns, head), frame, y), frame)


def test_files_keep_their_functions_through_both_readers():
    X, y = load_diabetes(return_X_y=True, as_frame=True)
    estimator = fit(TransformedTargetRegressor(Ridge(), func=np.log, inverse_func=np.exp), X, y)
    for loaded in (
        load_pickle(dump(estimator), max_bytes=1 << 26),
        load_skops(skops.io.dumps(estimator), max_bytes=1 << 26),
    ):
        assert extract(loaded).plan["target"] == [{"function": "exp"}]


def test_other_numpy_functions_are_unsupported_by_name_not_untrusted():
    X, y = load_diabetes(return_X_y=True, as_frame=True)
    estimator = fit(TransformedTargetRegressor(Ridge(), func=np.log2, inverse_func=np.exp2), X, y)
    with pytest.raises(UnsupportedEstimator, match=r"numpy\.exp2"):
        extract(estimator)
    with pytest.raises(UnsupportedEstimator, match=r"numpy\.(log2|exp2) is not supported"):
        load_pickle(dump(estimator), max_bytes=1 << 26)
    with pytest.raises(UnsupportedEstimator, match=r"numpy\.(log2|exp2) is not supported"):
        load_skops(skops.io.dumps(estimator), max_bytes=1 << 26)


def test_other_target_transformers_are_refused_by_name():
    X, y = load_diabetes(return_X_y=True, as_frame=True)
    transformer = QuantileTransformer(n_quantiles=50)
    estimator = fit(TransformedTargetRegressor(Ridge(), transformer=transformer), X, y)
    with pytest.raises(UnsupportedEstimator, match="QuantileTransformer"):
        extract(estimator)
    with pytest.raises(UnsupportedEstimator, match="QuantileTransformer on the target"):
        extract(load_pickle(dump(estimator), max_bytes=1 << 26))


def _upload(client, tokens, name, estimator):
    client.post("/api/v1/models", json={"name": name}, headers=tokens["publisher"])
    return client.post(
        f"/api/v1/models/{name}/versions",
        data={"artifact": (io.BytesIO(dump(estimator)), "m.joblib"), "activate": "true"},
        headers=tokens["publisher"],
        content_type="multipart/form-data",
    )


def test_a_log_target_uploads_and_explains_in_the_transformed_space(client, tokens):
    X, y = load_diabetes(return_X_y=True, as_frame=True)
    estimator = fit(
        TransformedTargetRegressor(_scaled_ridge(), func=np.log1p, inverse_func=np.expm1), X, y
    )
    response = _upload(client, tokens, "log-target", estimator)
    assert response.status_code == 201, response.get_json()
    rows = [X.iloc[i].to_dict() for i in range(4)]
    answer = client.post("/api/v1/models/log-target/predict?explain=true", json={"instances": rows})
    body = answer.get_json()
    assert answer.status_code == 200, body
    expected = estimator.predict(X.iloc[:4]).tolist()
    assert body["predictions"] == pytest.approx(expected, rel=1e-9)
    assert body["contributions_space"] == "transformed_target"
    sums = [sum(parts.values()) for parts in body["contributions"]]
    assert np.expm1(sums).tolist() == pytest.approx(body["predictions"], rel=1e-9)


def test_an_unsupported_function_is_a_422_naming_it(client, tokens):
    X, y = load_diabetes(return_X_y=True, as_frame=True)
    estimator = fit(TransformedTargetRegressor(Ridge(), func=np.log2, inverse_func=np.exp2), X, y)
    response = _upload(client, tokens, "base-two", estimator)
    body = response.get_json()
    assert response.status_code == 422, body
    assert body["code"] == "unsupported_estimator"
    assert "numpy.log2" in body["message"] or "numpy.exp2" in body["message"]


def test_a_model_that_answers_nan_for_some_inputs_is_checked_on_the_others(client, tokens):
    # The inverse numpy.sqrt of a negative score is NaN in scikit-learn: a probe row there
    # checks nothing, and a request there is refused rather than answered NaN.
    X, y = load_diabetes(return_X_y=True, as_frame=True)
    estimator = fit(
        TransformedTargetRegressor(_scaled_ridge(), func=np.square, inverse_func=np.sqrt), X, y
    )
    negative = estimator.regressor_.predict(X) < 0
    assert negative.any() and not negative.all()
    response = _upload(client, tokens, "square-root", estimator)
    assert response.status_code == 201, response.get_json()
    fine, bad = X[~negative].iloc[0].to_dict(), X[negative].iloc[0].to_dict()
    answer = client.post("/api/v1/models/square-root/predict", json=fine)
    expected = estimator.predict(X[~negative].iloc[:1])[0]
    assert answer.get_json()["prediction"] == pytest.approx(expected, rel=1e-9)
    assert client.post("/api/v1/models/square-root/predict", json=bad).status_code == 422
