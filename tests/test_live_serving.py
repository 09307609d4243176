"""Activation is read-your-writes on every worker of a real server, with no failed request."""

from __future__ import annotations

import threading
import time

import requests

from registry.app import create_app
from tests.conftest import SQLITE_ONLY
from tests.factories import add_plan_version, house_plan
from tests.flips import flip_under_load

ROW = {"area": 1500, "bedrooms": 3, "bathrooms": 2, "age": 10}


def seed(database_url, tmp_path, versions=2):
    app = create_app({"database_url": database_url, "artifact_root": tmp_path / "artifacts"})
    for index in range(versions):
        add_plan_version(app, "house-prices", house_plan(), activate=index == 0)
    app.extensions["registry"].db.dispose()


def test_activation_flips_under_load_without_failures(
    database_url, tmp_path, live_server, live_token
):
    seed(database_url, tmp_path)
    url = f"{live_server.url}/api/v1/models/house-prices"
    outcome = flip_under_load(url, live_token, ROW)
    assert outcome.failures == []
    assert len(outcome.answered) > 50 and set(outcome.answered) <= {1, 2}


@SQLITE_ONLY
def test_metrics_count_across_workers(database_url, tmp_path, live_server):
    seed(database_url, tmp_path, versions=1)
    url = f"{live_server.url}/api/v1/models/house-prices/predict"
    workers: set[str] = set()
    sent = []

    def send() -> None:
        # Until both workers have answered (bounded), so that the count spans processes.
        while len(workers) < 2 and len(sent) < 400:
            response = requests.post(url, json=ROW, timeout=10)
            assert response.status_code == 200
            sent.append(1)
            workers.add(response.headers["X-Worker"])

    threads = [threading.Thread(target=send) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(workers) == 2
    series = 'registry_prediction_requests_total{model="house-prices",status="200",version="1"}'
    expected = f"{series} {len(sent)}.0"
    text = requests.get(f"{live_server.url}/metrics", timeout=10).text
    assert expected in text


@SQLITE_ONLY
def test_single_connection_latency_has_no_nagle_stall(database_url, tmp_path, live_server):
    # A server that delays small writes (Nagle with delayed ACKs) answers in ~40 ms at best;
    # this is a check of the socket setup, with a wide margin, not a speed target.
    seed(database_url, tmp_path, versions=1)
    url = f"{live_server.url}/api/v1/models/house-prices/predict"
    durations = []
    with requests.Session() as session:
        for _ in range(25):
            started = time.perf_counter()
            assert session.post(url, json=ROW, timeout=10).status_code == 200
            durations.append(time.perf_counter() - started)
    durations.sort()
    assert durations[len(durations) // 2] < 0.035
