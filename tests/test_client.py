"""The Python client against a real server: push, predict in every form, errors, lifecycle."""

from __future__ import annotations

import hashlib
import json
import math

import numpy as np
import pandas as pd
import pytest
import requests

from registry import client as rc
from registry.client import Registry
from tests import factories

SEED_HOUSE = {"area": 1500, "bedrooms": 3, "bathrooms": 2, "age": 10}


@pytest.fixture
def registry(live_server, live_token) -> Registry:
    token = live_token["Authorization"].removeprefix("Bearer ")
    with Registry(live_server.url, token=token) as connection:
        yield connection


def count_posts(registry: Registry) -> list[str]:
    """Record the path of every POST the client sends."""
    seen: list[str] = []

    def hook(response: requests.Response, *args: object, **kwargs: object) -> None:
        if response.request.method == "POST":
            seen.append(response.request.path_url)

    registry.session.hooks["response"].append(hook)
    return seen


def test_push_then_predict_from_every_input_form(registry):
    model = factories.house_model()
    pushed = registry.push("houses", model, description="First", metrics={"r2": 0.9})
    assert isinstance(pushed, rc.Version)
    assert (pushed.model, pushed.version, pushed.kind) == ("houses", 1, "linear")
    assert pushed.feature_names == factories.HOUSE_FEATURES
    assert pushed.metrics == {"r2": 0.9} and pushed.active is False
    registry.activate("houses", 1)

    frame, _ = factories.house_frame(rows=25, seed=3)
    frame.index = [f"house-{i}" for i in range(25)]
    expected = model.predict(frame)

    series = registry.predict("houses", frame)
    assert isinstance(series, pd.Series) and series.name == "prediction"
    assert list(series.index) == list(frame.index)
    assert series.attrs["version"] == 1
    np.testing.assert_allclose(series.to_numpy(), expected, rtol=1e-9)

    rows = frame.to_dict(orient="records")
    from_rows = registry.predict("houses", rows, version=1)
    assert list(from_rows.index) == list(range(25))
    np.testing.assert_allclose(from_rows.to_numpy(), expected, rtol=1e-9)

    from_array = registry.predict("houses", frame.to_numpy())
    np.testing.assert_allclose(from_array.to_numpy(), expected, rtol=1e-9)

    one = registry.predict("houses", SEED_HOUSE)
    seed_row = pd.DataFrame([[1500, 3, 2, 10]], columns=factories.HOUSE_FEATURES, dtype=float)
    assert isinstance(one, float)
    assert one == pytest.approx(model.predict(seed_row)[0], rel=1e-9)
    assert registry.predict("houses", frame.iloc[0]) == pytest.approx(expected[0], rel=1e-9)

    answer, contributions = registry.predict("houses", frame.head(3), explain=True)
    assert set(contributions.columns) == {*factories.HOUSE_FEATURES, "_intercept"}
    np.testing.assert_allclose(contributions.sum(axis=1), answer, rtol=1e-9)


def test_large_frames_go_in_chunks_to_one_version(registry):
    model = factories.house_model()
    registry.push("houses", model, activate=True)
    registry.max_batch_rows = 10
    posts = count_posts(registry)
    frame, _ = factories.house_frame(rows=25, seed=4)
    series = registry.predict("houses", frame)
    # A frame is checked against the active version's schema first; every chunk then goes to
    # that version, even if another is activated meanwhile.
    assert posts == ["/api/v1/models/houses/versions/1/predict"] * 3
    np.testing.assert_allclose(series.to_numpy(), model.predict(frame), rtol=1e-9)

    frame.loc[1, "age"] = np.nan
    with pytest.raises(rc.Unprocessable) as invalid:
        registry.predict("houses", frame)
    assert invalid.value.code == "validation_failed"
    assert list(invalid.value.errors) == ["1"] and list(invalid.value.errors["1"]) == ["age"]

    with pytest.raises(rc.Unprocessable) as one:
        registry.predict("houses", {"area": 1500, "bedrooms": 3, "bathrooms": 2})
    assert list(one.value.errors) == ["age"]

    with pytest.raises(ValueError, match="infinity"):
        registry.predict("houses", frame.fillna(np.inf))
    with pytest.raises(ValueError, match="takes 4"):
        registry.predict("houses", np.ones((2, 3)))


def test_probabilities_of_a_logistic_model(registry):
    model = factories.churn_model()
    registry.push("churn", model, activate=True, tags={"team": "growth"})
    frame, _ = factories.churn_frame(rows=40, seed=5)
    assert frame["tenure"].isna().any()  # NaN goes out as null; the imputer covers it

    labels = registry.predict("churn", frame)
    np.testing.assert_array_equal(labels.to_numpy(), model.predict(frame))

    proba = registry.predict("churn", frame, proba=True)
    assert isinstance(proba, pd.DataFrame) and proba.attrs["version"] == 1
    assert list(proba.columns) == list(model.classes_)  # the labels themselves, not "0"/"1"
    np.testing.assert_allclose(proba.to_numpy(), model.predict_proba(frame), rtol=1e-9)

    row = {"tenure": None, "plan": "pro", "seats": 3}
    single = registry.predict("churn", row, proba=True)
    assert set(single) == {0, 1} and math.isclose(sum(single.values()), 1.0)
    assert registry.predict("churn", row) in (0, 1)


def test_errors_carry_status_code_and_field_messages(registry, live_server):
    with pytest.raises(rc.NotFound) as missing:
        registry.get_model("nobody")
    assert missing.value.status == 404 and missing.value.code == "model_not_found"

    with pytest.raises(rc.Unprocessable) as bad_name:
        registry.create_model("Not A Name")
    assert bad_name.value.code == "invalid_name"

    with pytest.raises(rc.Unprocessable) as too_long:
        registry.create_model("long", description="x" * 10_001)
    assert too_long.value.code == "validation_failed"
    assert list(too_long.value.errors) == ["description"]

    registry.create_model("taken", kind="linear")
    with pytest.raises(rc.Conflict) as taken:
        registry.create_model("taken")
    assert taken.value.code == "model_exists"
    assert isinstance(taken.value, rc.RegistryClientError)

    with Registry(live_server.url) as anonymous, pytest.raises(rc.Unauthorized):
        anonymous.create_model("anonymous")
    with Registry(live_server.url, token="not-a-token") as forged:
        with pytest.raises(rc.Unauthorized) as refused:
            forged.list_models()
    assert refused.value.code == "unauthorized"

    with pytest.raises(rc.Unprocessable) as junk:
        registry.push("taken", b"this is not a pickle")
    assert junk.value.code in ("invalid_artifact", "untrusted_artifact")
    assert registry.get_model("taken").latest_version is None

    with Registry("http://127.0.0.1:9", timeout=2) as nowhere:
        with pytest.raises(rc.ConnectionFailed):
            nowhere.list_models()


def test_activate_rollback_alias_and_download(registry):
    model = factories.house_model()
    registry.push("houses", model, activate=True)
    wider = factories.house_model(extra=True)  # adds a required garage
    second = registry.push("houses", wider, description="With a garage")
    assert second.version == 2
    house = pd.DataFrame([SEED_HOUSE])
    with_garage = house.assign(garage=1.0)

    with pytest.raises(rc.Conflict) as refused:
        registry.activate("houses", 2)
    assert refused.value.code == "incompatible_schema"
    assert "garage" in json.dumps(refused.value.errors)
    assert registry.activate("houses", 2, force=True).active_version == 2
    assert registry.predict("houses", with_garage).attrs["version"] == 2
    assert registry.rollback("houses").active_version == 1
    assert registry.predict("houses", house).attrs["version"] == 1
    with pytest.raises(rc.Conflict) as nothing:
        registry.rollback("houses")
    assert nothing.value.code == "nothing_to_roll_back"

    assert registry.set_alias("houses", "staging", 2).aliases == {"staging": 2}
    assert registry.predict("houses", with_garage, alias="staging").attrs["version"] == 2
    as_array = np.array([[1500, 3, 2, 10, 1]])
    assert registry.predict("houses", as_array, alias="staging").attrs == {"version": 2}
    registry.remove_alias("houses", "staging")
    with pytest.raises(rc.NotFound) as gone:
        registry.predict("houses", with_garage, alias="staging")
    assert gone.value.code == "alias_not_found"

    assert [v.version for v in registry.versions("houses")] == [2, 1]
    assert registry.version("houses", 2).description == "With a garage"
    schema = registry.schema("houses", 2)
    assert schema["properties"]["garage"]["type"] == "number" and "garage" in schema["required"]
    actions = [e.action for e in registry.events("houses")]
    assert actions[:3] == ["alias_removed", "alias_set", "rolled_back"]
    assert [m.name for m in registry.list_models(q="hou")] == ["houses"]
    assert registry.list_models(kind="logistic") == []

    downloaded = registry.download("houses", 1)
    frame, _ = factories.house_frame(rows=10, seed=9)
    np.testing.assert_array_equal(downloaded.predict(frame), model.predict(frame))
    assert hashlib.sha256(registry.download_bytes("houses", 2)).hexdigest() == second.sha256


def test_push_takes_a_file_path_and_features_for_bare_arrays(registry, tmp_path):
    frame, price = factories.house_frame()
    from sklearn.linear_model import Ridge

    bare = Ridge().fit(frame.to_numpy(), price)
    path = tmp_path / "ridge.joblib"
    path.write_bytes(factories.dump(bare))
    pushed = registry.push("ridge", path, features=["a", "b", "c", "d"], activate=True)
    assert pushed.feature_names == ["a", "b", "c", "d"]
    predicted = registry.predict("ridge", frame.to_numpy()[:5])
    np.testing.assert_allclose(predicted.to_numpy(), bare.predict(frame.to_numpy()[:5]))


class _WrongEtag(requests.adapters.BaseAdapter):
    """Answers every request with some bytes and an ETag that is not their sha256."""

    def send(self, request, **kwargs):
        response = requests.Response()
        response.status_code = 200
        response._content = b"tampered"
        response.headers["ETag"] = '"' + "0" * 64 + '"'
        response.request = request
        return response

    def close(self) -> None:
        pass


def test_download_refuses_bytes_that_do_not_match_the_etag():
    session = requests.Session()
    session.mount("http://", _WrongEtag())
    registry = Registry("http://registry.invalid", session=session)
    with pytest.raises(rc.ChecksumMismatch):
        registry.download("houses", 1)


def test_frames_become_strict_json_values():
    frame = pd.DataFrame(
        {
            "whole": [1.0, np.nan, 3.0],
            "real": [0.5, 1.0, np.nan],
            "count": np.array([1, 2, 3], dtype=np.int64),
            "flag": [True, False, True],
            "plan": ["basic", None, "pro"],
            "nullable": pd.array([1, None, 3], dtype="Int64"),
        }
    )
    (body,) = rc._table_bodies(frame, 10)
    assert body["data"] == [
        [1, 0.5, 1, True, "basic", 1],
        [None, 1.0, 2, False, None, None],
        [3, None, 3, True, "pro", 3],
    ]
    assert all(type(v) in (int, float, bool, str, type(None)) for row in body["data"] for v in row)
    bodies = rc._table_bodies(frame, 2)
    assert [len(b["data"]) for b in bodies] == [2, 1]
    assert rc._single_body({"data": 1}) == {"instances": [{"data": 1}]}
    assert rc._single_body({"area": np.float64(2.5), "age": np.nan}) == {"area": 2.5, "age": None}


def test_url_and_token_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("REGISTRY_URL", "http://example.test:9000/api/v1/")
    monkeypatch.setenv("REGISTRY_TOKEN", "secret")
    registry = Registry()
    assert registry.api == "http://example.test:9000/api/v1"
    assert registry.session.headers["Authorization"] == "Bearer secret"


def test_a_frame_must_have_every_feature_and_extra_columns_are_named_once(registry):
    registry.push("house-prices", factories.house_model(), activate=True)
    misspelt = pd.DataFrame([SEED_HOUSE]).rename(columns={"area": "area_sqft"})
    with pytest.raises(rc.MissingFeatures, match=r"'area' \(did you mean 'area_sqft'\?\)"):
        registry.predict("house-prices", misspelt)
    with pytest.warns(UserWarning, match="not sent: id"):
        answer = registry.predict("house-prices", pd.DataFrame([SEED_HOUSE] * 3).assign(id=1))
    assert len(answer) == 3 and answer.attrs["version"] == 1


def test_errors_of_a_large_batch_are_summarised(registry):
    registry.push("house-prices", factories.house_model(), activate=True)
    bad = pd.DataFrame([{**SEED_HOUSE, "area": "large"}] * 2_000)
    with pytest.raises(rc.Unprocessable) as caught:
        registry.predict("house-prices", bad)
    text = str(caught.value)
    assert len(text) < 1_500 and "more" in text


def test_predictions_say_which_rows_had_features_filled_in(registry):
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LinearRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    frame, price = factories.house_frame()
    fitted = make_pipeline(SimpleImputer(), StandardScaler(), LinearRegression()).fit(frame, price)
    registry.push("imputing", fitted, activate=True)
    full = registry.predict("imputing", pd.DataFrame([SEED_HOUSE] * 2))
    assert "imputed" not in full.attrs
    gaps = pd.DataFrame([SEED_HOUSE, {**SEED_HOUSE, "bedrooms": math.nan}])
    answer = registry.predict("imputing", gaps)
    assert answer.attrs["imputed"] == [[], ["bedrooms"]]
    no_age = pd.DataFrame([SEED_HOUSE]).drop(columns="age")
    assert registry.predict("imputing", no_age, allow_missing=True).attrs["imputed"] == [["age"]]
