"""Generalized linear models: Poisson, Gamma and Tweedie regressors with their links."""

from __future__ import annotations

import io
import math

import numpy as np
import pytest
import skops.io
from sklearn.compose import make_column_transformer
from sklearn.datasets import load_diabetes
from sklearn.impute import SimpleImputer
from sklearn.linear_model import GammaRegressor, PoissonRegressor, TweedieRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from registry.intake.extract import extract
from registry.intake.probes import probe_rows, sklearn_outputs
from registry.intake.skops_loader import load_skops
from registry.intake.unpickler import load_pickle
from tests.exactness import assert_exact, fit
from tests.factories import dump
from tests.test_heads import _mixed

GLMS = [
    (PoissonRegressor(alpha=0.01), "log"),
    (GammaRegressor(alpha=0.01), "log"),
    (TweedieRegressor(power=1.5, alpha=0.01), "log"),
    (TweedieRegressor(power=0.0, alpha=0.01), "identity"),
    (TweedieRegressor(power=-1.0, alpha=0.01), "identity"),
    (TweedieRegressor(power=3.0, alpha=0.01, max_iter=1000), "log"),
    (TweedieRegressor(power=1.5, link="identity", alpha=0.01, max_iter=1000), "identity"),
    (TweedieRegressor(power=0.0, link="log", alpha=0.01), "log"),
    (TweedieRegressor(power=2.0, link="log", alpha=0.01), "log"),
]


@pytest.mark.parametrize(("head", "link"), GLMS, ids=lambda h: repr(h).replace(" ", ""))
def test_glm_heads_answer_as_scikit_learn(head, link):
    X, y = load_diabetes(return_X_y=True, as_frame=True)
    estimator = fit(make_pipeline(StandardScaler(), head), X, y)
    plan = assert_exact(estimator, X)
    assert (plan.kind, plan.link) == ("linear", link)
    expected = "linear_predictor" if link == "log" else None
    assert plan.contributions_space == expected


@pytest.mark.parametrize(("head", "link"), GLMS[:4], ids=lambda h: repr(h).replace(" ", ""))
def test_glm_files_are_read_with_their_loss_as_a_placeholder(head, link):
    X, y = load_diabetes(return_X_y=True, as_frame=True)
    estimator = fit(make_pipeline(StandardScaler(), head), X, y)
    for loaded in (
        load_pickle(dump(estimator), max_bytes=1 << 26),
        load_skops(skops.io.dumps(estimator), max_bytes=1 << 26),
    ):
        extraction = extract(loaded)
        assert extraction.plan["link"] == link
        rows = probe_rows(extraction)
        expected = sklearn_outputs(estimator, extraction, rows, as_saved=False)
        np.testing.assert_allclose(sklearn_outputs(loaded, extraction, rows), expected, rtol=1e-12)


def test_glm_inside_a_column_transformer_with_missing_values():
    frame, y = _mixed()
    columns = make_column_transformer(
        (make_pipeline(SimpleImputer(), StandardScaler()), ["size"]),
        (OneHotEncoder(handle_unknown="ignore"), ["city"]),
    )
    estimator = fit(make_pipeline(columns, PoissonRegressor(alpha=0.001)), frame, y)
    assert_exact(estimator, frame)


def test_a_poisson_model_uploads_and_explains_its_linear_predictor(client, tokens):
    X, y = load_diabetes(return_X_y=True, as_frame=True)
    estimator = fit(make_pipeline(StandardScaler(), PoissonRegressor()), X, y)
    client.post("/api/v1/models", json={"name": "claims"}, headers=tokens["publisher"])
    response = client.post(
        "/api/v1/models/claims/versions",
        data={"artifact": (io.BytesIO(dump(estimator)), "m.joblib"), "activate": "true"},
        headers=tokens["publisher"],
        content_type="multipart/form-data",
    )
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["estimator"] == "Pipeline(StandardScaler, PoissonRegressor)"
    rows = [X.iloc[i].to_dict() for i in range(5)]
    answer = client.post("/api/v1/models/claims/predict?explain=true", json={"instances": rows})
    body = answer.get_json()
    assert answer.status_code == 200, body
    expected = estimator.predict(X.iloc[:5])
    assert body["predictions"] == pytest.approx(expected.tolist(), rel=1e-9)
    assert body["contributions_space"] == "linear_predictor"
    for parts, prediction in zip(body["contributions"], body["predictions"], strict=True):
        assert math.exp(sum(parts.values())) == pytest.approx(prediction, rel=1e-9)
    plain = client.post("/api/v1/models/claims/predict", json=rows[0]).get_json()
    assert "contributions_space" not in plain
    assert plain["prediction"] == pytest.approx(expected[0], rel=1e-9)


def test_an_overflowing_row_is_refused_not_answered_infinite(client, tokens):
    X, y = load_diabetes(return_X_y=True, as_frame=True)
    estimator = fit(PoissonRegressor(), X, y)
    client.post("/api/v1/models", json={"name": "counts"}, headers=tokens["publisher"])
    client.post(
        "/api/v1/models/counts/versions",
        data={"artifact": (io.BytesIO(dump(estimator)), "m.joblib"), "activate": "true"},
        headers=tokens["publisher"],
        content_type="multipart/form-data",
    )
    row = {name: 1e6 for name in X.columns}
    answer = client.post("/api/v1/models/counts/predict", json=row)
    assert answer.status_code == 422, answer.get_json()
    assert np.isfinite(estimator.predict(X.iloc[:1])[0])


def test_the_spec_documents_and_validates_explained_glm_answers(client, tokens):
    from openapi_spec_validator import OpenAPIV31SpecValidator, validate

    from tests.test_openapi import openapi, validator

    X, y = load_diabetes(return_X_y=True, as_frame=True)
    estimator = fit(make_pipeline(StandardScaler(), PoissonRegressor()), X, y)
    client.post("/api/v1/models", json={"name": "documented"}, headers=tokens["publisher"])
    client.post(
        "/api/v1/models/documented/versions",
        data={"artifact": (io.BytesIO(dump(estimator)), "m.joblib"), "activate": "true"},
        headers=tokens["publisher"],
        content_type="multipart/form-data",
    )
    document = openapi(client)
    validate(document, cls=OpenAPIV31SpecValidator)
    op = document["paths"]["/models/documented/predict"]["post"]
    answers = validator(document, op["responses"]["200"]["content"]["application/json"]["schema"])
    schemas = document["components"]["schemas"]
    assert schemas["documented.Prediction"]["properties"]["contributions_space"]["enum"] == [
        "linear_predictor"
    ]
    for body in ({"instances": [X.iloc[0].to_dict()]}, X.iloc[0].to_dict()):
        response = client.post("/api/v1/models/documented/predict?explain=true", json=body)
        assert response.status_code == 200, response.get_json()
        answers.validate(response.get_json())
