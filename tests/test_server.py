"""A real multi-worker server: health, metrics across workers, models seen by every worker."""

from __future__ import annotations

import threading

import requests


def test_health_and_json_errors(live_server):
    assert requests.get(f"{live_server.url}/health/live").json() == {"status": "ok"}
    ready = requests.get(f"{live_server.url}/health/ready").json()
    assert ready["checks"] == {"database": True, "artifact_store": True}
    missing = requests.get(f"{live_server.url}/nope")
    assert missing.status_code == 404 and missing.json()["code"] == "not_found"


def test_model_created_through_one_worker_is_seen_by_all(live_server, live_token):
    url = live_server.url
    created = requests.post(
        f"{url}/api/v1/models", json={"name": "seen-everywhere"}, headers=live_token
    )
    assert created.status_code == 201
    pids: set[str] = set()
    statuses: list[int] = []

    def read() -> None:
        for _ in range(15):
            response = requests.get(f"{url}/api/v1/models/seen-everywhere", timeout=10)
            statuses.append(response.status_code)
            pids.add(response.headers["X-Worker"])

    # Concurrent clients, so that both workers take requests.
    threads = [threading.Thread(target=read) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert set(statuses) == {200}
    assert len(pids) == 2
