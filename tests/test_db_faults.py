"""Database faults on a real server: a hang or an outage is a bounded 503, never a 500 or a hang.

The PostgreSQL tests freeze (SIGSTOP) or stop a throwaway cluster of their own, never the shared
one; they start servers and a cluster, so they are marked slow and run once, not per backend.
"""

from __future__ import annotations

import os
import shutil
import signal
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
from sqlalchemy import create_engine, text

from tests.live import LiveServer, server_env, start_server
from tests.pgcluster import Cluster, create_cluster, postgres_bin
from tests.test_live_serving import ROW, seed

# Generous client-side guard: a hang shows up as a failed request, not as a stuck suite.
GUARD = 30
MODELS = "/api/v1/models"
PREDICT = "/api/v1/models/house-prices/predict"

needs_postgres = pytest.mark.skipif(
    postgres_bin() is None, reason="no PostgreSQL server binaries to start a throwaway cluster"
)


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    cluster = create_cluster()
    yield cluster
    cluster.destroy()


@pytest.fixture
def pg_url(cluster: Cluster, request: pytest.FixtureRequest) -> Iterator[str]:
    """A fresh database on the throwaway cluster (up and thawed) for one test."""
    name = f"registry_{request.node.name.split('[')[0][-40:]}".lower()
    admin = create_engine(cluster.url(), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    yield cluster.url(name)


def _serve(url: str, tmp_path: Path, workers: int = 2) -> LiveServer:
    env = server_env(url, tmp_path / "artifacts")
    server = start_server(env, tmp_path / "server.log", workers=workers)
    seed(url, tmp_path)
    # The worker loads the snapshot and the active plan while the database is up (with one
    # worker, surely: each worker serves from what it has loaded itself).
    for _ in range(4 * workers):
        with requests.Session() as session:
            assert session.post(server.url + PREDICT, json=ROW, timeout=GUARD).status_code == 200
    return server


def _fire(server: LiveServer, method: str, path: str, count: int, **kwargs) -> list:
    def one(_: int) -> requests.Response:
        return requests.request(method, server.url + path, timeout=GUARD, **kwargs)

    with ThreadPoolExecutor(count) as pool:
        return list(pool.map(one, range(count)))


def _assert_unavailable(response: requests.Response) -> None:
    assert response.status_code == 503, response.text
    assert response.json()["code"] == "database_unavailable"
    assert int(response.headers["Retry-After"]) >= 1


def _heals(server: LiveServer) -> None:
    """After the fault, every worker answers normally again: 8 answers in a row are 200."""
    deadline = time.monotonic() + GUARD
    streak = 0
    while streak < 8:
        assert time.monotonic() < deadline, "the server did not heal"
        models = requests.get(server.url + MODELS, timeout=GUARD).status_code
        ready = requests.get(server.url + "/health/ready", timeout=GUARD).status_code
        streak = streak + 1 if models == ready == 200 else 0
        if not streak:
            time.sleep(0.5)


@pytest.mark.slow
@needs_postgres
def test_a_frozen_database_is_a_bounded_503_and_liveness_stays_up(cluster, pg_url, tmp_path):
    server = _serve(pg_url, tmp_path, workers=1)
    try:
        cluster.freeze()
        try:
            # Predictions of a model in memory keep being answered while the database hangs.
            predictions = _fire(server, "POST", PREDICT, 4, json=ROW)
            for response in predictions:
                assert response.status_code == 200, response.text
            answers = _fire(server, "GET", MODELS, 4)
            for response in answers:
                _assert_unavailable(response)
            live = requests.get(server.url + "/health/live", timeout=GUARD)
            assert live.status_code == 200
            ready = requests.get(server.url + "/health/ready", timeout=GUARD)
            assert ready.status_code == 503
            assert ready.json()["checks"]["database"] is False
            slowest_503 = max(r.elapsed.total_seconds() for r in answers)
            slowest_prediction = max(r.elapsed.total_seconds() for r in predictions)
            print(
                f"frozen: slowest prediction {slowest_prediction:.2f} s, "
                f"slowest 503 {slowest_503:.2f} s, live {live.elapsed.total_seconds():.2f} s, "
                f"ready {ready.elapsed.total_seconds():.2f} s"
            )
        finally:
            cluster.thaw()
        _heals(server)
    finally:
        server.stop()
    assert "Traceback" not in server.log.read_text()


@pytest.mark.slow
@needs_postgres
def test_a_stopped_database_is_503_one_log_line_and_predictions_from_memory(
    cluster, pg_url, tmp_path
):
    server = _serve(pg_url, tmp_path, workers=1)
    try:
        cluster.stop()
        try:
            answers = _fire(server, "GET", MODELS, 8)
            for response in answers:
                _assert_unavailable(response)
            predictions = _fire(server, "POST", PREDICT, 40, json=ROW)
            for response in predictions:
                assert response.status_code == 200, response.text
                assert response.json()["version"] == 1
            slowest_503 = max(r.elapsed.total_seconds() for r in answers)
            slowest_prediction = max(r.elapsed.total_seconds() for r in predictions)
            print(f"stopped: slowest 503 {slowest_503:.2f} s, prediction {slowest_prediction:.2f}")
            # A version no worker has loaded needs the database: 503, not 500.
            _assert_unavailable(
                requests.post(
                    server.url + "/api/v1/models/house-prices/versions/2/predict",
                    json=ROW,
                    timeout=GUARD,
                )
            )
            assert requests.get(server.url + "/health/ready", timeout=GUARD).status_code == 503
        finally:
            cluster.start()
        _heals(server)
    finally:
        server.stop()
    log = server.log.read_text()
    print(log)
    assert "Traceback" not in log
    outage_lines = [line for line in log.splitlines() if "database" in line.lower()]
    # One line when the worker first sees the outage, one when it is over: not one per request.
    assert len(outage_lines) == 2, log


@pytest.mark.slow
@needs_postgres
def test_no_worker_holds_a_transaction_open_on_postgresql(pg_url, tmp_path):
    server = _serve(pg_url, tmp_path)
    try:
        token = server.manage("create-token", "--role", "admin", "--name", "t")
        headers = {"Authorization": f"Bearer {token.stdout.strip().splitlines()[-1]}"}
        url = server.url + "/api/v1/models/house-prices"
        for target in (2, 1, 2):
            activated = requests.post(
                f"{url}/versions/{target}/activate", headers=headers, timeout=GUARD
            )
            assert activated.status_code == 200
            for response in _fire(server, "POST", PREDICT, 6, json=ROW):
                assert response.json()["version"] == target
        _fire(server, "GET", MODELS, 6)
        engine = create_engine(pg_url, isolation_level="AUTOCOMMIT")
        with engine.connect() as connection:
            states = connection.execute(
                text(
                    "SELECT state FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
            ).scalars()
            states = list(states)
        engine.dispose()
        assert states, "the workers hold no connection at all: nothing was checked"
        assert [s for s in states if s.startswith("idle in transaction")] == []
    finally:
        server.stop()


def test_no_worker_holds_a_read_transaction_open_on_sqlite(tmp_path, sqlite_template):
    path = tmp_path / "registry.db"
    shutil.copy(sqlite_template, path)
    url = f"sqlite:///{path}"
    server = start_server(server_env(url, tmp_path / "artifacts"), tmp_path / "server.log")
    try:
        seed(url, tmp_path)
        for response in _fire(server, "POST", PREDICT, 8, json=ROW):
            assert response.status_code == 200
        engine = create_engine(url)
        with engine.connect() as connection:
            connection.exec_driver_sql("PRAGMA journal_mode=WAL")
            busy, _, _ = connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)").one()
        engine.dispose()
        # A worker holding a read transaction would keep the WAL from being truncated.
        assert busy == 0
    finally:
        server.stop()


def _worker_pids(server: LiveServer) -> set[int]:
    children = set()
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == server.process.pid:
                children.add(int(entry))
    return children


def test_a_worker_restarted_without_its_sqlite_file_creates_nothing_and_answers_503(
    tmp_path, sqlite_template
):
    path = tmp_path / "registry.db"
    shutil.copy(sqlite_template, path)
    url = f"sqlite:///{path}"
    server = _serve(url, tmp_path)
    aside = tmp_path / "moved-away"
    aside.mkdir()
    try:
        old = _worker_pids(server)
        for name in os.listdir(tmp_path):
            if name.startswith("registry.db"):
                os.rename(tmp_path / name, aside / name)
        for pid in old:
            os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + GUARD
        while time.monotonic() < deadline:
            fresh = _worker_pids(server)
            if len(fresh) == 2 and not fresh & old:
                break
            time.sleep(0.1)
        assert requests.get(server.url + "/health/live", timeout=GUARD).status_code == 200
        for response in _fire(server, "POST", PREDICT, 6, json=ROW):
            _assert_unavailable(response)
        for response in _fire(server, "GET", MODELS + "/house-prices", 6):
            _assert_unavailable(response)
        ready = requests.get(server.url + "/health/ready", timeout=GUARD)
        assert ready.status_code == 503
        assert ready.json()["checks"]["database"] is False
        assert not path.exists()
        for name in os.listdir(aside):
            os.rename(aside / name, tmp_path / name)
        _heals(server)
        assert requests.post(server.url + PREDICT, json=ROW, timeout=GUARD).status_code == 200
    finally:
        server.stop()
    assert "Traceback" not in server.log.read_text()
