"""OrdinalEncoder(unknown_value=np.nan): an unseen category is NaN, which a later step imputes."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.compose import make_column_transformer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LinearRegression, LogisticRegression, Ridge
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OrdinalEncoder, StandardScaler

from registry.errors import UnsupportedEstimator
from registry.intake.extract import extract
from tests.factories import dump
from tests.test_steps import _fit, _shops, assert_exact, upload_and_predict
from tests.uploading import post_artifact

NAN_SETTINGS = [
    {"handle_unknown": "use_encoded_value", "unknown_value": np.nan},
    {"handle_unknown": "use_encoded_value", "unknown_value": np.nan, "encoded_missing_value": -1},
    {"handle_unknown": "use_encoded_value", "unknown_value": np.nan, "min_frequency": 20},
]


def _encoded(settings: dict, between=(), imputer=None):
    return make_column_transformer(
        (
            make_pipeline(OrdinalEncoder(**settings), *between, imputer or SimpleImputer()),
            ["city"],
        ),
        (make_pipeline(SimpleImputer(), StandardScaler()), ["area", "rooms"]),
    )


def _with_unknown_cities(frame):
    unseen = frame.copy()
    unseen.loc[::3, "city"] = "toulouse"
    unseen.loc[1::3, "city"] = "lille"
    return unseen


@pytest.mark.parametrize("settings", NAN_SETTINGS, ids=["nan", "nan-missing-1", "nan-rare"])
def test_a_nan_unknown_value_imputed_after_the_encoder_scores_as_scikit_learn(settings):
    frame, y = _shops()
    estimator = _fit(make_pipeline(_encoded(settings), Ridge()), frame, y)
    plan = assert_exact(estimator, _with_unknown_cities(frame))
    city = next(f for f in plan.features if f.name == "city")
    assert city.accepts_unknown and city.nullable


def test_a_nan_unknown_value_scaled_then_imputed_by_the_median():
    frame, y = _shops()
    columns = _encoded(
        NAN_SETTINGS[0], between=(StandardScaler(),), imputer=SimpleImputer(strategy="median")
    )
    estimator = _fit(make_pipeline(columns, LinearRegression()), frame, y)
    assert_exact(estimator, _with_unknown_cities(frame))


def test_a_nan_unknown_value_over_http_in_a_classifier(client, tokens):
    frame, y = _shops()
    target = np.where(y > np.median(y), "dear", "cheap")
    columns = _encoded(NAN_SETTINGS[0], imputer=SimpleImputer(strategy="most_frequent"))
    estimator = _fit(make_pipeline(columns, LogisticRegression()), frame, target)
    upload_and_predict(client, tokens, estimator, _with_unknown_cities(frame), "unseen")
    answer = client.post(
        "/api/v1/models/unseen/predict",
        json={"city": "marseille", "area": 70.0, "rooms": 3.0},
    )
    assert answer.status_code == 200, answer.get_json()


def test_a_nan_unknown_value_that_reaches_the_model_is_refused_naming_it(client, tokens):
    frame, y = _shops()
    columns = make_column_transformer(
        (OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=np.nan), ["city"]),
        (make_pipeline(SimpleImputer(), StandardScaler()), ["area", "rooms"]),
    )
    estimator = _fit(make_pipeline(columns, Ridge()), frame.fillna({"city": "paris"}), y)
    with pytest.raises(UnsupportedEstimator, match="unknown_value=nan"):
        extract(estimator)
    client.post("/api/v1/models", json={"name": "nan"}, headers=tokens["publisher"])
    response = post_artifact(client, "nan", dump(estimator), tokens["publisher"])
    assert response.status_code == 422
    body = response.get_json()
    assert body["code"] == "unsupported_estimator"
    assert "unknown_value=nan" in body["message"] and "SimpleImputer" in body["message"]
