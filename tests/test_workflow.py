"""The data scientist's loop against a real server: train from a CSV with the CLI, push from
Python, activate, predict, compare, roll back; every answer names the version that gave it."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LinearRegression
from sklearn.metrics import mean_absolute_error, mean_squared_error, r2_score
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler

from registry.client import MissingFeatures, Registry
from tests import factories

SEED_HOUSE = {"area": 1500, "bedrooms": 3, "bathrooms": 2, "age": 10}
# The price rule in factories.house_frame, without its noise.
SEED_PRICE = 150 * 1500 + 10_000 * 3 + 15_000 * 2 - 800 * 10 + 50_000


@pytest.fixture
def registry(live_server, live_token) -> Registry:
    token = live_token["Authorization"].removeprefix("Bearer ")
    with Registry(live_server.url, token=token) as connection:
        yield connection


def held_out_metrics(model, frame: pd.DataFrame, truth: np.ndarray) -> dict[str, float]:
    predicted = model.predict(frame)
    return {
        "r2": r2_score(truth, predicted),
        "mae": mean_absolute_error(truth, predicted),
        "rmse": float(np.sqrt(mean_squared_error(truth, predicted))),
    }


def garage_model() -> Pipeline:
    """A second version: it imputes every input, as trained ones do, and adds an optional garage.

    So it accepts every request the trained version accepts, and activates without force.
    """
    frame, price = factories.house_frame(rows=300, seed=21)
    index = np.arange(len(frame))
    garage = np.where(index % 3 == 0, np.nan, (index % 2).astype(float))
    model = make_pipeline(SimpleImputer(), StandardScaler(), LinearRegression())
    return model.fit(frame.assign(garage=garage), price)


def names(features: list) -> list[str]:
    return [f if isinstance(f, str) else f["name"] for f in features]


def test_train_push_activate_predict_compare_roll_back(live_server, registry, tmp_path):
    frame, price = factories.house_frame(rows=300, seed=11)
    csv = tmp_path / "houses.csv"
    frame.assign(price=price).to_csv(csv, index=False)

    # 1. Train from the CSV with the CLI; the model is created and version 1 activated.
    trained = live_server.manage(
        "train", str(csv), "--target", "price", "--model", "houses", "--activate"
    )
    assert trained.returncode == 0, trained.stderr
    model = registry.get_model("houses")
    assert (model.kind, model.active_version, model.latest_version) == ("linear", 1, 1)
    first = registry.version("houses", 1)
    assert first.feature_names == factories.HOUSE_FEATURES
    assert {"r2", "mae", "rmse"} <= set(first.metrics) and first.metrics["r2"] > 0.95

    # 2. Predict the seed's house from Python: the active version answers.
    seed = pd.DataFrame([SEED_HOUSE])
    answer = registry.predict("houses", seed)
    assert answer.attrs["version"] == 1
    assert answer.iloc[0] == pytest.approx(SEED_PRICE, rel=0.03)
    assert registry.predict("houses", SEED_HOUSE) == pytest.approx(answer.iloc[0], rel=1e-12)

    # 3. Push a version fitted in Python, with its held-out metrics; it waits inactive.
    wider = garage_model()
    test_frame, test_price = factories.house_frame(rows=100, seed=12)
    metrics = held_out_metrics(wider, test_frame.assign(garage=np.nan), test_price)
    pushed = registry.push("houses", wider, description="Adds a garage", metrics=metrics)
    assert (pushed.version, pushed.active) == (2, False)
    assert registry.predict("houses", seed).attrs["version"] == 1

    # 4. Activate it: the very next prediction comes from version 2.
    assert registry.activate("houses", 2).active_version == 2
    # The seed has no garage column: the client asks before letting the server fill it in.
    with pytest.raises(MissingFeatures, match="'garage'"):
        registry.predict("houses", seed)
    assert registry.predict("houses", seed, allow_missing=True).attrs["version"] == 2

    # 5. Compare: metrics and schema (GET), then the same rows scored on both (POST).
    comparison = registry.compare("houses", 1, 2)
    assert (comparison["a"], comparison["b"]) == (1, 2)
    assert names(comparison["schema"]["added"]) == ["garage"]
    assert comparison["schema"]["removed"] == [] and comparison["compatible"] is True
    r2 = comparison["metrics"]["r2"]
    assert r2["a"] == first.metrics["r2"] and r2["b"] == pytest.approx(metrics["r2"])
    assert r2["diff"] == pytest.approx(r2["b"] - r2["a"])

    rows = test_frame.head(5)
    scored = registry.compare_predictions("houses", 1, 2, rows)
    assert scored["a"]["version"] == 1 and scored["b"]["version"] == 2
    expected = np.subtract(scored["b"]["predictions"], scored["a"]["predictions"])
    np.testing.assert_allclose(scored["difference"], expected, rtol=1e-9, atol=1e-6)
    # Left out, the nullable garage takes the imputer's value, as in scikit-learn.
    locally = wider.predict(rows.assign(garage=np.nan))
    np.testing.assert_allclose(scored["b"]["predictions"], locally, rtol=1e-9)

    # 6. Roll back: version 1 answers again, and the history tells the story.
    assert registry.rollback("houses").active_version == 1
    assert registry.predict("houses", seed).attrs["version"] == 1
    actions = [event.action for event in registry.events("houses")]
    assert actions[0] == "rolled_back"
    assert {"model_created", "version_uploaded", "activated"} <= set(actions)
    assert [v.version for v in registry.versions("houses")] == [2, 1]

    # 7. The CLI scores a CSV with the active version, as the server does.
    rows_csv = tmp_path / "rows.csv"
    rows.to_csv(rows_csv, index=False)
    cli = live_server.manage("predict", "houses", "--csv", str(rows_csv))
    assert cli.returncode == 0, cli.stderr
    from_cli = pd.read_csv(io.StringIO(cli.stdout))["prediction"]
    from_server = registry.predict("houses", rows)
    assert from_server.attrs["version"] == 1
    np.testing.assert_allclose(from_cli.to_numpy(), from_server.to_numpy(), rtol=1e-9)


def test_train_over_http_gives_a_classifier_with_probabilities(registry):
    frame, churned = factories.churn_frame(rows=200, seed=13)
    version = registry.train(
        "churn", frame.assign(churned=churned), target="churned", test_size=0.25, activate=True
    )
    assert (version.model, version.version, version.kind) == ("churn", 1, "logistic")
    assert version.classes == [0, 1] and version.active
    assert {"accuracy", "precision", "recall", "f1", "roc_auc"} <= set(version.metrics)

    rows = frame.head(8)
    proba = registry.predict("churn", rows, proba=True)
    assert list(proba.columns) == [0, 1] and proba.attrs["version"] == 1
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    labels = registry.predict("churn", rows)
    np.testing.assert_array_equal(labels, proba.idxmax(axis=1))

    fitted = registry.download("churn", 1)
    np.testing.assert_allclose(fitted.predict_proba(rows), proba.to_numpy(), rtol=1e-9)
