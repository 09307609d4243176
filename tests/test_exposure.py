"""What the server shows: request IDs instead of worker IDs, and the access log naming them."""

from __future__ import annotations

import re

import pytest
import requests

from registry.app import create_app
from tests.factories import add_plan_version, house_plan
from tests.live import server_env, start_server

ROW = {"area": 1500, "bedrooms": 3, "bathrooms": 2, "age": 10}
GENERATED = re.compile(r"[0-9a-f]{32}")


@pytest.fixture
def make_app(database_url, tmp_path):
    """Build apps on the test database with extra settings; dispose of them afterwards."""
    made = []

    def make(**settings):
        app = create_app(
            {"database_url": database_url, "artifact_root": tmp_path / "a", **settings}
        )
        made.append(app)
        return app

    yield make
    for app in made:
        app.extensions["registry"].serving.close()
        app.extensions["registry"].db.dispose()


@pytest.fixture
def house(app):
    add_plan_version(app, "house-prices", house_plan(), activate=True)
    return "/api/v1/models/house-prices"


# The fast lane answers the first; the others go through Flask.
ANSWERS = [
    ("post", "/predict", ROW, 200),
    ("post", "/predict?explain=false", ROW, 200),
    ("post", "/predict", {"area": 1}, 422),
    ("get", "", None, 200),
    ("get", "/nothing-here", None, 404),
]


@pytest.mark.parametrize(("method", "path", "body", "status"), ANSWERS)
def test_every_answer_carries_a_request_id_and_no_worker_id(
    client, house, method, path, body, status
):
    sent = "7f3a-abc_DEF.42:x"
    echoed = getattr(client, method)(f"{house}{path}", json=body, headers={"X-Request-ID": sent})
    assert echoed.status_code == status
    assert echoed.headers["X-Request-ID"] == sent
    assert "X-Worker" not in echoed.headers
    fresh = [getattr(client, method)(f"{house}{path}", json=body) for _ in range(2)]
    ids = [answer.headers["X-Request-ID"] for answer in fresh]
    assert all(GENERATED.fullmatch(i) for i in ids) and ids[0] != ids[1]


@pytest.mark.parametrize("sent", ["x" * 129, "has space", "new\tline", "", 'quote"d', "é"])
def test_an_unusable_request_id_is_replaced(client, house, sent):
    answer = client.post(f"{house}/predict", json=ROW, headers={"X-Request-ID": sent})
    assert GENERATED.fullmatch(answer.headers["X-Request-ID"])


def test_the_worker_header_is_a_debug_setting(make_app):
    app = make_app(worker_header=True)
    add_plan_version(app, "house-prices", house_plan(), activate=True)
    client = app.test_client()
    fast = client.post("/api/v1/models/house-prices/predict", json=ROW)
    full = client.post("/api/v1/models/house-prices/predict?explain=false", json=ROW)
    assert (
        fast.headers["X-Worker"] == full.headers["X-Worker"] and fast.headers["X-Worker"].isdigit()
    )


def test_the_access_log_names_each_request_id(database_url, tmp_path):
    env = server_env(database_url, tmp_path / "artifacts", REGISTRY_ACCESS_LOG="-")
    server = start_server(env, tmp_path / "server.log", workers=1)
    try:
        url = f"{server.url}/api/v1/models/nothing/predict"
        sent = requests.post(url, json=ROW, headers={"X-Request-ID": "trace-0451"}, timeout=10)
        fresh = requests.get(f"{server.url}/health/live", timeout=10)
    finally:
        server.stop()
    assert sent.status_code == 404 and sent.headers["X-Request-ID"] == "trace-0451"
    generated = fresh.headers["X-Request-ID"]
    lines = server.log.read_text().splitlines()
    assert any(
        '"POST /api/v1/models/nothing/predict HTTP/1.1" 404' in line
        and line.endswith(" trace-0451")
        for line in lines
    )
    assert any(
        '"GET /health/live HTTP/1.1" 200' in line and line.endswith(f" {generated}")
        for line in lines
    )
