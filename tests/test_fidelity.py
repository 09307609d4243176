"""Fidelity: a served answer is the answer of the scikit-learn release that saved the model."""

from __future__ import annotations

import io
import json
import warnings

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
from registry.intake.reference import reference_outputs
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


def _publish(client, tokens, estimator, name: str = "fidelity") -> dict:
    client.post("/api/v1/models", json={"name": name}, headers=tokens["publisher"])
    response = client.post(
        f"/api/v1/models/{name}/versions",
        data={"artifact": (io.BytesIO(dump(estimator)), "model.joblib"), "activate": "true"},
        headers=tokens["publisher"],
        content_type="multipart/form-data",
    )
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def _shop_frame() -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(3)
    frame = pd.DataFrame(
        {
            "id": np.arange(80),
            "area": rng.normal(100, 20, 80),
            "color": pd.Series(rng.choice(["red", "green", "blue"], 80), dtype=object),
            "note": pd.Series(rng.choice(["x", "y"], 80), dtype=object),
        }
    )
    target = frame["area"] * 3 + frame["color"].map({"red": 5, "green": -5, "blue": 0})
    return frame, target.to_numpy()


def _shop_model(handle_unknown: str):
    frame, target = _shop_frame()
    columns = make_column_transformer(
        (StandardScaler(), ["area"]),
        (OneHotEncoder(handle_unknown=handle_unknown), ["color"]),
        remainder="drop",
    )
    return make_pipeline(columns, Ridge(alpha=0.1)).fit(frame, target)


def test_inputs_the_model_receives_but_drops_are_accepted_and_ignored(client, tokens):
    estimator = _shop_model("error")
    body = _publish(client, tokens, estimator)
    assert [f["name"] for f in body["features"]] == ["area", "color"]
    row = {"id": 7, "area": 120.5, "color": "red", "note": "x"}
    answer = client.post(f"{BASE}/predict", json=row)
    assert answer.status_code == 200, answer.get_json()
    expected = estimator.predict(pd.DataFrame([row]))[0]
    assert answer.get_json()["prediction"] == pytest.approx(expected, rel=1e-9)
    batch = client.post(f"{BASE}/predict", json={"instances": [row, {**row, "id": None}]})
    assert batch.status_code == 200 and len(batch.get_json()["predictions"]) == 2
    unknown = client.post(f"{BASE}/predict", json={**row, "colour": "red"})
    assert unknown.status_code == 422
    assert unknown.get_json()["errors"] == {"colour": ["Unknown field."]}
    schema = client.get(f"{BASE}/versions/1/schema").get_json()
    assert set(schema["properties"]) == {"area", "color", "id", "note"}
    assert schema["required"] == ["area", "color"]


@pytest.mark.parametrize("handle_unknown", ["ignore", "infrequent_if_exist", "warn"])
def test_unseen_categories_are_answered_as_the_encoder_answers_them(client, tokens, handle_unknown):
    estimator = _shop_model(handle_unknown)
    body = _publish(client, tokens, estimator)
    color = next(f for f in body["features"] if f["name"] == "color")
    assert color["accepts_unknown"] is True and color["enum"] == ["blue", "green", "red"]
    row = {"area": 90.0, "color": "purple"}
    answer = client.post(f"{BASE}/predict", json=row)
    assert answer.status_code == 200, answer.get_json()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # 'warn' warns about the unseen category
        expected = estimator.predict(pd.DataFrame([{**row, "id": 0, "note": "x"}]))[0]
    assert answer.get_json()["prediction"] == pytest.approx(expected, rel=1e-9)
    assert client.post(f"{BASE}/predict", json={**row, "color": 3}).status_code == 422
    schema = client.get(f"{BASE}/versions/1/schema").get_json()
    assert "enum" not in schema["properties"]["color"]
    assert schema["properties"]["color"]["examples"] == ["blue", "green", "red"]


def test_an_encoder_that_refuses_unseen_categories_keeps_the_enum(client, tokens):
    _publish(client, tokens, _shop_model("error"))
    answer = client.post(f"{BASE}/predict", json={"area": 90.0, "color": "purple"})
    assert answer.status_code == 422
    assert "color" in answer.get_json()["errors"]


def test_large_offsets_and_big_integer_categories_are_computed_as_scikit_learn_does(client, tokens):
    rng = np.random.default_rng(5)
    start = 1_700_000_000_000  # epoch milliseconds
    frame = pd.DataFrame(
        {
            "seen_at": start + rng.integers(0, 60_000, 120),
            "product": rng.choice([2**53 + 1, 2**60 + 7, 2**62 + 11], 120),
        }
    )
    target = (frame["seen_at"] - start) / 1000.0 + (frame["product"] == 2**60 + 7) * 4.0
    columns = make_column_transformer(
        (StandardScaler(), ["seen_at"]), (OneHotEncoder(), ["product"])
    )
    estimator = make_pipeline(columns, Ridge(alpha=0.01)).fit(frame, target)
    _publish(client, tokens, estimator)
    rows = frame.head(20).to_dict(orient="records")
    rows = [{k: int(v) for k, v in row.items()} for row in rows]
    answer = client.post(f"{BASE}/predict", json={"instances": rows})
    assert answer.status_code == 200, answer.get_json()
    expected = estimator.predict(frame.head(20))
    assert answer.get_json()["predictions"] == pytest.approx(expected.tolist(), rel=1e-9)


def _upload_with_reference(client, tokens, estimator, reference) -> object:
    client.post("/api/v1/models", json={"name": "fidelity"}, headers=tokens["publisher"])
    form = {"artifact": (io.BytesIO(dump(estimator)), "model.joblib")}
    if reference is not None:
        form["reference"] = json.dumps(reference)
    return client.post(
        f"{BASE}/versions",
        data=form,
        headers=tokens["publisher"],
        content_type="multipart/form-data",
    )


def test_an_upload_checked_against_the_uploaders_outputs_says_so(client, tokens):
    estimator = _shop_model("ignore")
    reference = reference_outputs(estimator)
    response = _upload_with_reference(client, tokens, estimator, reference)
    assert response.status_code == 201, response.get_json()
    verification = response.get_json()["verification"]
    assert verification["against"] == "uploader"
    assert verification["rows"] == len(reference["outputs"])
    assert verification["sklearn_version"] == reference["sklearn_version"]
    plain = _upload_with_reference(client, tokens, estimator, None).get_json()
    assert plain["verification"]["against"] == "server"


def test_reference_outputs_that_the_plan_does_not_reproduce_are_refused(client, tokens):
    estimator = _shop_model("ignore")
    reference = reference_outputs(estimator)
    reference["outputs"][3][0] += 1.0
    response = _upload_with_reference(client, tokens, estimator, reference)
    assert response.status_code == 422
    body = response.get_json()
    assert body["code"] == "unsupported_estimator"
    assert "the outputs your scikit-learn sent" in body["message"]
    assert client.get(f"{BASE}/versions").get_json()["total"] == 0


@pytest.mark.parametrize(
    "reference",
    [
        {"rows": {}, "outputs": []},
        {"sklearn_version": "1.7.2", "rows": {"area": [1.0]}, "outputs": [[1.0]]},
        {"sklearn_version": "1.7.2", "rows": "x", "outputs": "y"},
    ],
)
def test_a_malformed_reference_is_refused_by_field(client, tokens, reference):
    response = _upload_with_reference(client, tokens, _shop_model("ignore"), reference)
    assert response.status_code == 422
    assert response.get_json()["code"] == "invalid_reference"
    assert "reference" in response.get_json()["errors"]


def test_the_python_client_sends_its_own_outputs(live_server, live_token):
    from registry.client import Registry

    token = live_token["Authorization"].removeprefix("Bearer ")
    with Registry(live_server.url, token=token) as registry:
        version = registry.push("fidelity", _shop_model("ignore"), activate=True)
    assert version.verification["against"] == "uploader"
    assert version.sklearn_version == version.verification["sklearn_version"]


def _flags_data() -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(11)
    frame = pd.DataFrame(
        {
            "size": rng.normal(50, 10, 60),
            "has_garden": rng.integers(0, 2, 60).astype(bool),
            "rooms": rng.integers(1, 6, 60),
        }
    )
    target = frame["size"] + 7 * frame["has_garden"] + 2 * frame["rooms"]
    return frame, target.to_numpy()


def _declared_upload(client, tokens, estimator, features) -> object:
    client.post("/api/v1/models", json={"name": "fidelity"}, headers=tokens["publisher"])
    return client.post(
        f"{BASE}/versions",
        data={
            "artifact": (io.BytesIO(dump(estimator)), "model.joblib"),
            "features": json.dumps(features),
            "activate": "true",
        },
        headers=tokens["publisher"],
        content_type="multipart/form-data",
    )


@pytest.mark.parametrize("fitted_on", ["frame", "array"])
def test_boolean_and_integer_columns_can_be_declared_and_sent_as_json_types(
    client, tokens, fitted_on
):
    frame, target = _flags_data()
    X = frame if fitted_on == "frame" else frame.to_numpy(dtype=float)
    estimator = make_pipeline(StandardScaler(), Ridge(alpha=0.1)).fit(X, target)
    features = [
        "size",
        {"name": "has_garden", "type": "boolean"},
        {"name": "rooms", "type": "integer"},
    ]
    response = _declared_upload(client, tokens, estimator, features)
    assert response.status_code == 201, response.get_json()
    types = {f["name"]: f["type"] for f in response.get_json()["features"]}
    assert types == {"size": "number", "has_garden": "boolean", "rooms": "integer"}
    rows = frame.head(5).to_dict(orient="records")
    rows = [{"size": r["size"], "has_garden": r["has_garden"], "rooms": r["rooms"]} for r in rows]
    answer = client.post(f"{BASE}/predict", json={"instances": rows})
    assert answer.status_code == 200, answer.get_json()
    expected = estimator.predict(X[:5] if fitted_on == "array" else frame.head(5))
    assert answer.get_json()["predictions"] == pytest.approx(expected.tolist(), rel=1e-9)
    wrong = client.post(f"{BASE}/predict", json={**rows[0], "has_garden": 1})
    assert wrong.status_code == 422 and "has_garden" in wrong.get_json()["errors"]


@pytest.mark.parametrize(
    "declared",
    [
        {"name": "size", "type": "string"},
        {"name": "size", "nullable": True},
        {"name": "size", "type": "number", "enum": [1.0, 2.0]},
    ],
)
def test_a_declaration_the_model_contradicts_is_refused(client, tokens, declared):
    frame, target = _flags_data()
    estimator = Ridge().fit(frame, target)
    features = [declared, "has_garden", "rooms"]
    response = _declared_upload(client, tokens, estimator, features)
    assert response.status_code == 422, response.get_json()
    assert response.get_json()["code"] == "invalid_features"


def test_linear_versions_have_no_classes_key(client, tokens):
    body = _publish(client, tokens, _shop_model("ignore"))
    assert "classes" not in body
    listed = client.get(f"{BASE}/versions").get_json()["items"][0]
    assert "classes" not in listed
    classifier = make_pipeline(StandardScaler(), LogisticRegression()).fit(
        *_flags_data()[:1], [0, 1] * 30
    )
    assert _publish(client, tokens, classifier, "fidelity-logistic")["classes"] == [0, 1]


def test_a_string_feature_can_be_declared_for_an_array_fitted_encoder(client, tokens):
    # An ndarray of strings names no columns: the upload's feature objects name and type them.
    cities = np.array([["north"], ["south"], ["east"]] * 10, dtype=object)
    target = np.array([1.0, 2.0, 3.0] * 10)
    estimator = make_pipeline(OneHotEncoder(), Ridge(alpha=0.1)).fit(cities, target)
    response = _declared_upload(client, tokens, estimator, [{"name": "city", "type": "string"}])
    assert response.status_code == 201, response.get_json()
    (feature,) = response.get_json()["features"]
    assert feature["type"] == "string" and sorted(feature["enum"]) == ["east", "north", "south"]
    assert "classes" not in response.get_json()
    answer = client.post(f"{BASE}/predict", json={"city": "south"})
    assert answer.status_code == 200, answer.get_json()
    assert answer.get_json()["prediction"] == pytest.approx(estimator.predict([["south"]])[0])
    wrong = client.post(f"{BASE}/predict", json={"city": 3})
    assert wrong.status_code == 422 and "city" in wrong.get_json()["errors"]
