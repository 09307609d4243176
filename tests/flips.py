"""Activation flips under load: the read-your-writes check shared by one server and a balancer."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

import requests


@dataclass
class FlipOutcome:
    answered: list[int] = field(default_factory=list)  # versions named by the background load
    failures: list[str] = field(default_factory=list)  # non-200 answers to the background load


def flip_under_load(
    model_url: str,
    token: dict[str, str],
    row: dict,
    *,
    flips: int = 50,
    timeout: float = 10,
) -> FlipOutcome:
    """Flip the active version between 1 and 2 while four threads predict without pause.

    After each flip, fresh connections (reaching any worker or server) must name the new
    version at once: that is read-your-writes.
    """
    outcome = FlipOutcome()
    stop = threading.Event()

    def load() -> None:
        with requests.Session() as session:
            while not stop.is_set():
                response = session.post(f"{model_url}/predict", json=row, timeout=timeout)
                if response.status_code == 200:
                    outcome.answered.append(response.json()["version"])
                else:
                    outcome.failures.append(f"{response.status_code} {response.text[:200]}")

    threads = [threading.Thread(target=load) for _ in range(4)]
    for thread in threads:
        thread.start()
    try:
        for flip in range(flips):
            target = 2 if flip % 2 == 0 else 1
            response = requests.post(
                f"{model_url}/versions/{target}/activate", headers=token, timeout=timeout
            )
            assert response.status_code == 200, response.text
            for _ in range(4):
                after = requests.post(f"{model_url}/predict", json=row, timeout=timeout)
                assert after.status_code == 200, after.text
                assert after.json()["version"] == target
    finally:
        stop.set()
        for thread in threads:
            thread.join()
    return outcome
