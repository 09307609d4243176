"""One-hot features with tens of thousands of categories: served like small ones, or refused."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import requests
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LinearRegression
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from registry.app import create_app
from registry.intake import inspect_artifact
from tests.factories import dump
from tests.uploading import post_artifact


def zip_codes(count: int) -> list[str]:
    return [f"z{i:06d}" for i in range(count)]


def zip_model(categories: int, seed: int = 0) -> Pipeline:
    """A price per zip code (one-hot, unknown codes ignored) plus a scaled number."""
    rng = np.random.default_rng(seed)
    codes = np.array(zip_codes(categories))
    extra = 200
    frame = pd.DataFrame(
        {
            "zip": np.concatenate([codes, rng.choice(codes, extra)]),
            "size": rng.uniform(20, 200, categories + extra),
        }
    )
    price = 3.0 * frame["size"] + rng.normal(0, 50, len(frame))
    prep = ColumnTransformer(
        [
            ("zip", OneHotEncoder(handle_unknown="ignore"), ["zip"]),
            ("size", StandardScaler(), ["size"]),
        ]
    )
    return make_pipeline(prep, LinearRegression()).fit(frame, price)


def sample_rows(categories: int, count: int = 300, unseen: bool = False) -> list[dict]:
    """Rows from both ends of the categories and the middle; with ``unseen``, unknown codes."""
    rng = np.random.default_rng(7)
    codes = zip_codes(categories)
    picks = [codes[0], codes[-1], codes[categories // 2]]
    picks += ["unseen", "z999999x"] if unseen else []
    picks += [codes[i] for i in rng.integers(0, categories, count - len(picks))]
    return [{"zip": code, "size": float(rng.uniform(20, 200))} for code in picks]


def test_tens_of_thousands_of_categories_upload_activate_and_predict(live_server, live_token):
    categories = 30_000
    fitted = zip_model(categories)
    url = live_server.url
    created = requests.post(f"{url}/api/v1/models", json={"name": "zips"}, headers=live_token)
    assert created.status_code == 201
    pushed = requests.post(
        f"{url}/api/v1/models/zips/versions",
        files={"artifact": ("zips.joblib", dump(fitted))},
        data={"activate": "true"},
        headers=live_token,
        timeout=300,
    )
    assert pushed.status_code == 201, pushed.text[:500]
    rows = sample_rows(categories)
    expected = fitted.predict(pd.DataFrame(rows))
    batch = requests.post(
        f"{url}/api/v1/models/zips/predict", json={"instances": rows}, timeout=300
    )
    assert batch.status_code == 200, batch.text[:500]
    np.testing.assert_allclose(batch.json()["predictions"], expected, rtol=1e-9)
    # Single rows on fresh connections, so that both workers compile the plan and answer.
    for row, want in list(zip(rows, expected, strict=True))[:8]:
        one = requests.post(f"{url}/api/v1/models/zips/predict", json=row, timeout=300)
        assert one.status_code == 200, one.text[:500]
        assert one.json()["prediction"] == pytest.approx(want, rel=1e-9)


def test_plan_of_many_categories_matches_scikit_learn_row_by_row_and_in_batches():
    categories = 5_000
    fitted = zip_model(categories, seed=3)
    plan = inspect_artifact(dump(fitted), timeout=120).plan
    frame = pd.DataFrame(sample_rows(categories, unseen=True))
    expected = fitted.predict(frame)
    columns = {"zip": list(frame["zip"]), "size": list(frame["size"])}
    np.testing.assert_allclose(plan.predict(columns).predictions, expected, rtol=1e-9)
    for i in range(10):
        one = plan.predict({"zip": [columns["zip"][i]], "size": [columns["size"][i]]})
        assert one.predictions[0] == pytest.approx(expected[i], rel=1e-9)
    parts = plan.predict(columns, explain=True).contributions
    for row, want in zip(parts, expected, strict=True):
        assert sum(row.values()) == pytest.approx(want, rel=1e-9)


@pytest.fixture
def small_limit_client(database_url, tmp_path, tokens):
    app = create_app(
        {"database_url": database_url, "artifact_root": tmp_path / "a", "max_categories": 1_000}
    )
    yield app.test_client()
    app.extensions["registry"].serving.close()
    app.extensions["registry"].db.dispose()


def test_categories_past_the_limit_are_422_naming_it(small_limit_client, tokens):
    client = small_limit_client
    client.post("/api/v1/models", json={"name": "zips"}, headers=tokens["publisher"])
    refused = post_artifact(client, "zips", dump(zip_model(1_001)), tokens["publisher"])
    assert refused.status_code == 422
    body = refused.get_json()
    assert body["code"] == "too_many_categories"
    assert "REGISTRY_MAX_CATEGORIES" in body["message"] and "1,000" in body["message"]
    assert "1,001" in body["message"]
    assert client.get("/api/v1/models/zips/versions").get_json()["total"] == 0
    accepted = post_artifact(client, "zips", dump(zip_model(1_000)), tokens["publisher"])
    assert accepted.status_code == 201, accepted.get_data(as_text=True)[:500]
