"""The Python client with wrapped heads: a search around a transformed target, explained."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.compose import TransformedTargetRegressor
from sklearn.datasets import load_diabetes
from sklearn.linear_model import Ridge
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from registry.client import Registry
from tests.exactness import fit


@pytest.fixture
def registry(live_server, live_token) -> Registry:
    token = live_token["Authorization"].removeprefix("Bearer ")
    with Registry(live_server.url, token=token) as connection:
        yield connection


def test_a_pushed_search_predicts_and_explains_in_the_transformed_space(registry):
    X, y = load_diabetes(return_X_y=True, as_frame=True)
    head = TransformedTargetRegressor(Ridge(), func=np.log1p, inverse_func=np.expm1)
    search = fit(
        GridSearchCV(
            make_pipeline(StandardScaler(), head),
            {"transformedtargetregressor__regressor__alpha": [0.1, 1.0, 10.0]},
            cv=3,
        ),
        X,
        y,
    )
    registry.create_model("log-search")
    pushed = registry.push("log-search", search, activate=True)
    assert pushed.raw["verification"]["against"] == "uploader"
    assert pushed.metrics["cv_best_score"] == pytest.approx(search.best_score_, rel=1e-12)
    assert pushed.tags["cv_search"] == "GridSearchCV"
    predictions, parts = registry.predict("log-search", X.head(5), explain=True)
    np.testing.assert_allclose(predictions, search.predict(X.head(5)), rtol=1e-9)
    assert parts.attrs["space"] == "transformed_target"
    np.testing.assert_allclose(np.expm1(parts.sum(axis=1)), predictions, rtol=1e-9)
