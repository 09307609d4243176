"""Uploading versions over HTTP: multipart rules, intake results, concurrency, downloads."""

from __future__ import annotations

import hashlib
import io
import json
import threading

import pytest
import requests
from sklearn.linear_model import LogisticRegression, Ridge

from tests.factories import churn_model, dump, house_model

BASE = "/api/v1/models/house-prices"


@pytest.fixture
def model(client, tokens):
    client.post("/api/v1/models", json={"name": "house-prices"}, headers=tokens["publisher"])
    return BASE


def upload(client, tokens, data: bytes, **fields):
    form = {"artifact": (io.BytesIO(data), "../../etc/passwd"), **fields}
    return client.post(
        f"{BASE}/versions",
        data=form,
        headers=tokens["publisher"],
        content_type="multipart/form-data",
    )


def test_upload_creates_a_version_with_its_spec(client, tokens, model):
    data = dump(house_model())
    response = upload(
        client,
        tokens,
        data,
        description="first",
        metrics='{"r2": 0.91}',
        tags='{"team": "pricing"}',
        activate="true",
    )
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["version"] == 1 and body["kind"] == "linear" and body["active"] is True
    assert body["estimator"] == "Pipeline(StandardScaler, LinearRegression)"
    assert [f["name"] for f in body["features"]] == ["area", "bedrooms", "bathrooms", "age"]
    assert {f["type"] for f in body["features"]} == {"number"}
    assert body["sha256"] == hashlib.sha256(data).hexdigest()
    assert body["size_bytes"] == len(data) and body["metrics"] == {"r2": 0.91}
    assert body["created_by"] == "test-publisher" and body["sklearn_version"]
    row = {"area": 1500, "bedrooms": 3, "bathrooms": 2, "age": 10}
    answer = client.post(f"{BASE}/predict", json=row).get_json()
    expected = house_model().predict(__import__("pandas").DataFrame([row]))[0]
    assert answer["prediction"] == pytest.approx(expected, rel=1e-9)
    download = client.get(f"{BASE}/versions/1/artifact")
    assert download.data == data
    assert download.headers["ETag"] == f'"{body["sha256"]}"'
    again = client.get(
        f"{BASE}/versions/1/artifact", headers={"If-None-Match": download.headers["ETag"]}
    )
    assert again.status_code == 304


def test_upload_without_artifact_is_400(client, tokens, model):
    response = client.post(
        f"{BASE}/versions",
        data={"description": "x"},
        headers=tokens["publisher"],
        content_type="multipart/form-data",
    )
    assert response.status_code == 400
    assert response.get_json()["code"] == "missing_artifact"


def test_json_instead_of_multipart_is_415(client, tokens, model):
    response = client.post(f"{BASE}/versions", json={"artifact": "x"}, headers=tokens["publisher"])
    assert response.status_code == 415


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("metrics", "{bad"),
        ("metrics", "[1]"),
        ("tags", '{"a": 1}'),
        ("features", '"a"'),
        ("activate", "maybe"),
    ],
)
def test_bad_multipart_field_is_400(client, tokens, model, field, value):
    response = upload(client, tokens, dump(house_model()), **{field: value})
    assert response.status_code == 400, response.get_json()


@pytest.mark.parametrize("data", [b"", b"\x80\x04\x95", b"not a pickle at all"])
def test_unreadable_artifact_is_422(client, tokens, model, data):
    response = upload(client, tokens, data)
    assert response.status_code == 422
    assert response.get_json()["code"] == "invalid_artifact"
    assert client.get(f"{BASE}/versions").get_json()["total"] == 0


def test_upload_to_unknown_model_is_404(client, tokens):
    response = upload(client, tokens, dump(house_model()))
    assert response.status_code == 404


def test_kind_is_fixed_by_the_first_version(client, tokens, model):
    assert upload(client, tokens, dump(house_model())).status_code == 201
    response = upload(client, tokens, dump(churn_model()))
    assert response.status_code == 422
    assert response.get_json()["code"] == "kind_mismatch"


def test_features_for_unnamed_estimators(client, tokens, model):
    import numpy as np

    X = np.random.default_rng(0).normal(size=(40, 2))
    ridge = Ridge().fit(X, X @ [1.0, 2.0])
    missing = upload(client, tokens, dump(ridge))
    assert missing.status_code == 422
    named = upload(client, tokens, dump(ridge), features=json.dumps(["width", "depth"]))
    assert named.status_code == 201, named.get_json()
    answer = client.post(f"{BASE}/versions/1/predict", json={"width": 1.0, "depth": 1.0})
    assert answer.get_json()["prediction"] == pytest.approx(ridge.predict([[1.0, 1.0]])[0])


def test_features_must_match_named_columns(client, tokens, model):
    response = upload(
        client, tokens, dump(house_model()), features=json.dumps(["a", "b", "c", "d"])
    )
    assert response.status_code == 422


def test_upload_too_large_is_413(database_url, tmp_path, tokens):
    from registry.app import create_app

    app = create_app(
        {"database_url": database_url, "artifact_root": tmp_path / "a", "max_upload_bytes": 100}
    )
    client = app.test_client()
    client.post("/api/v1/models", json={"name": "house-prices"}, headers=tokens["publisher"])
    response = upload(client, tokens, dump(house_model()))
    assert response.status_code == 413
    app.extensions["registry"].db.dispose()


def test_activate_on_upload_refuses_incompatible_and_stores_nothing(client, tokens, model):
    assert upload(client, tokens, dump(house_model()), activate="true").status_code == 201
    response = upload(client, tokens, dump(house_model(extra=True)), activate="true")
    assert response.status_code == 409
    assert client.get(f"{BASE}/versions").get_json()["total"] == 1


def test_logistic_upload_predicts_like_sklearn(client, tokens):
    import pandas as pd

    client.post("/api/v1/models", json={"name": "churn"}, headers=tokens["publisher"])
    fitted = churn_model()
    form = {"artifact": (io.BytesIO(dump(fitted)), "model.joblib"), "activate": "true"}
    created = client.post(
        "/api/v1/models/churn/versions",
        data=form,
        headers=tokens["publisher"],
        content_type="multipart/form-data",
    )
    assert created.status_code == 201, created.get_json()
    features = {f["name"]: f for f in created.get_json()["features"]}
    assert features["plan"]["enum"] == ["basic", "plus", "pro"]
    assert features["tenure"]["nullable"] is True
    rows = [
        {"tenure": None, "seats": 3, "plan": "pro"},
        {"tenure": 30.0, "seats": 1, "plan": "basic"},
    ]
    answer = client.post("/api/v1/models/churn/predict", json={"instances": rows}).get_json()
    frame = pd.DataFrame(rows).astype({"tenure": float})
    assert answer["predictions"] == fitted.predict(frame).tolist()
    expected = fitted.predict_proba(frame)
    for got, want in zip(answer["probabilities"], expected, strict=True):
        assert [got["0"], got["1"]] == pytest.approx(want.tolist(), rel=1e-9)


def test_twenty_concurrent_uploads_get_consecutive_versions(database_url, tmp_path):
    from tests.live import server_env, start_server

    # Uploads beyond the sandbox slot wait their turn (a long queue), rather than get 503.
    env = server_env(database_url, tmp_path / "artifacts", REGISTRY_INTAKE_QUEUE_SECONDS="300")
    live_server = start_server(env, tmp_path / "server.log")
    try:
        _twenty_uploads(live_server, _admin_token(live_server))
    finally:
        live_server.stop()


def _admin_token(server) -> dict[str, str]:
    result = server.manage("create-token", "--role", "admin", "--name", "live-admin")
    assert result.returncode == 0, result.stderr
    return {"Authorization": f"Bearer {result.stdout.strip().splitlines()[-1]}"}


def _twenty_uploads(live_server, live_token) -> None:
    url = f"{live_server.url}/api/v1/models"
    assert requests.post(url, json={"name": "busy"}, headers=live_token).status_code == 201
    data = dump(LogisticRegression().fit([[0.0], [1.0], [2.0], [3.0]], [0, 0, 1, 1]))
    results: list[requests.Response] = []

    def send() -> None:
        files = {"artifact": ("m.joblib", data)}
        results.append(
            requests.post(
                f"{url}/busy/versions",
                files=files,
                data={"features": '["x"]'},
                headers=live_token,
                timeout=120,
            )
        )

    threads = [threading.Thread(target=send) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [r.status_code for r in results] == [201] * 20, [
        r.text for r in results if r.status_code != 201
    ][:3]
    assert sorted(r.json()["version"] for r in results) == list(range(1, 21))


def test_database_artifact_store_keeps_the_bytes(database_url, tmp_path, tokens):
    from registry.app import create_app

    root = tmp_path / "no-files-here"
    app = create_app(
        {"database_url": database_url, "artifact_root": root, "artifact_store": "database"}
    )
    client = app.test_client()
    client.post("/api/v1/models", json={"name": "house-prices"}, headers=tokens["publisher"])
    data = dump(house_model())
    assert upload(client, tokens, data).status_code == 201
    download = client.get(f"{BASE}/versions/1/artifact")
    assert download.status_code == 200 and download.data == data
    assert not root.exists() or not any(root.rglob("*.bin"))
    ready = client.get("/health/ready").get_json()
    assert ready["checks"]["artifact_store"] is True
    app.extensions["registry"].serving.close()
    app.extensions["registry"].db.dispose()


def test_filesystem_store_names_files_by_content(app, client, tokens, model, tmp_path):
    data = dump(house_model())
    upload(client, tokens, data)
    digest = hashlib.sha256(data).hexdigest()
    stored = list((tmp_path / "artifacts").rglob("*.bin"))
    assert [p.name for p in stored] == [f"{digest}.bin"]


@pytest.mark.parametrize(
    "extra",
    [
        # Built per test: a file object is closed once a request has sent it.
        lambda: {"artifact2": (io.BytesIO(b"x"), "b.joblib")},
        lambda: {"metrics": (io.BytesIO(b"{}"), "metrics.json")},
        lambda: {"colour": "blue"},
    ],
    ids=["second-file", "metrics-as-file", "unknown-field"],
)
def test_unexpected_multipart_parts_are_400(client, tokens, model, extra):
    form = {"artifact": (io.BytesIO(dump(house_model())), "m.joblib"), **extra()}
    response = client.post(
        f"{BASE}/versions",
        data=form,
        headers=tokens["publisher"],
        content_type="multipart/form-data",
    )
    assert response.status_code == 400, response.get_json()
    assert client.get(f"{BASE}/versions").get_json()["total"] == 0


def test_form_field_that_is_not_utf8_is_400(client, tokens, model):
    artifact = dump(house_model())
    body = (
        b'--b\r\nContent-Disposition: form-data; name="description"\r\n\r\ncaf\xe9\r\n'
        b'--b\r\nContent-Disposition: form-data; name="artifact"; filename="m.joblib"\r\n'
        b"Content-Type: application/octet-stream\r\n\r\n" + artifact + b"\r\n--b--\r\n"
    )
    response = client.post(
        f"{BASE}/versions",
        data=body,
        headers=tokens["publisher"],
        content_type="multipart/form-data; boundary=b",
    )
    assert response.status_code == 400
    assert "description" in response.get_json()["errors"]
