"""A real multi-worker server: health, metrics across workers, models seen by every worker."""

from __future__ import annotations

import threading

import requests

from tests.conftest import SQLITE_ONLY
from tests.factories import dump, house_model

ROW = {"area": 1500, "bedrooms": 3, "bathrooms": 2, "age": 10}


@SQLITE_ONLY
def test_health_and_json_errors(live_server):
    assert requests.get(f"{live_server.url}/health/live").json() == {"status": "ok"}
    ready = requests.get(f"{live_server.url}/health/ready").json()
    assert ready["checks"] == {"database": True, "artifact_store": True, "intake_sandbox": True}
    missing = requests.get(f"{live_server.url}/nope")
    assert missing.status_code == 404 and missing.json()["code"] == "not_found"


def test_model_created_through_one_worker_is_seen_by_all(live_server, live_token):
    url = live_server.url
    created = requests.post(
        f"{url}/api/v1/models", json={"name": "seen-everywhere"}, headers=live_token
    )
    assert created.status_code == 201
    files = {"artifact": ("m.joblib", dump(house_model()))}
    pushed = requests.post(
        f"{url}/api/v1/models/seen-everywhere/versions",
        files=files,
        data={"activate": "true"},
        headers=live_token,
        timeout=120,
    )
    assert pushed.status_code == 201, pushed.text
    seen: dict[str, set[str]] = {"route": set(), "docs": set()}
    failures: list[str] = []

    def read() -> None:
        # Until both workers have answered both (bounded), every answer checked.
        for _ in range(100):
            if len(seen["route"]) == 2 and len(seen["docs"]) == 2:
                return
            answer = requests.post(
                f"{url}/api/v1/models/seen-everywhere/predict", json=ROW, timeout=10
            )
            if answer.status_code != 200 or answer.json()["version"] != 1:
                failures.append(answer.text[:200])
            seen["route"].add(answer.headers["X-Worker"])
            spec = requests.get(f"{url}/api/v1/swagger.json", timeout=10)
            if "/models/seen-everywhere/predict" not in spec.json()["paths"]:
                failures.append("the spec lacks the new model")
            seen["docs"].add(spec.headers["X-Worker"])

    # Concurrent clients, so that both workers take requests.
    threads = [threading.Thread(target=read) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    assert len(seen["route"]) == 2 and len(seen["docs"]) == 2
