"""A worker's plan cache: bounded, least recently used out first, safe across threads."""

from __future__ import annotations

import random
import sys
import threading

import pytest

from registry.plan_cache import PlanCache
from tests.factories import add_plan_version, house_plan

ROW = {"area": 1500, "bedrooms": 3, "bathrooms": 2, "age": 10}


@pytest.fixture
def app_settings() -> dict:
    return {"plan_cache_size": 3}


def _plan(intercept: float) -> dict:
    """A house plan whose answers tell it apart from the others'."""
    return {**house_plan(), "intercept": [intercept]}


def _models(app, count: int) -> list[str]:
    for i in range(count):
        add_plan_version(app, f"m{i}", _plan(1000.0 * i), activate=True)
    return [f"m{i}" for i in range(count)]


def _cached(app) -> set[tuple[str, int]]:
    """The (model name, version) pairs whose plans the worker holds compiled."""
    serving = app.extensions["registry"].serving
    names = {entry.id: name for name, entry in serving.snapshot().models.items()}
    return {(names[model_id], version) for model_id, _, version in serving._plans}


def _predict(client, name: str) -> dict:
    response = client.post(f"/api/v1/models/{name}/predict", json=ROW)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def test_plan_cache_keeps_the_most_recently_used_plans(app, client):
    names = _models(app, 5)
    for name in ["m0", "m1", "m2", "m0", "m3", "m4"]:
        _predict(client, name)
    # m0's second prediction made it newer than m1 and m2, which went first.
    assert _cached(app) == {("m0", 1), ("m3", 1), ("m4", 1)}
    assert len(names) == 5


def test_an_evicted_plan_answers_exactly_the_same_when_loaded_again(app, client):
    _models(app, 5)
    first = _predict(client, "m1")
    for name in ["m2", "m3", "m4"]:
        _predict(client, name)
    assert ("m1", 1) not in _cached(app)
    assert _predict(client, "m1") == first
    assert ("m1", 1) in _cached(app)


def test_activation_keeps_the_plans_it_loaded_ahead(app, client, tokens):
    _models(app, 3)
    for version in (2, 3):
        add_plan_version(app, "m0", _plan(-1000.0 * version))
    assert (
        client.put(
            "/api/v1/models/m0/aliases/next", json={"version": 2}, headers=tokens["publisher"]
        ).status_code
        == 200
    )
    for name in ["m1", "m2", "m1"]:
        _predict(client, name)
    response = client.post("/api/v1/models/m0/versions/3/activate", headers=tokens["publisher"])
    assert response.status_code == 200, response.get_json()
    # The preloaded version 3 and the alias warm() loaded; the other model's plans went.
    assert _cached(app) == {("m0", 3), ("m0", 2), ("m1", 1)}


def test_a_deleted_version_leaves_the_cache(app, client, tokens):
    _models(app, 1)
    add_plan_version(app, "m0", _plan(5.0))
    assert client.post("/api/v1/models/m0/versions/2/predict", json=ROW).status_code == 200
    response = client.delete("/api/v1/models/m0/versions/2", headers=tokens["admin"])
    assert response.status_code == 204
    _predict(client, "m0")
    assert _cached(app) == {("m0", 1)}


class _EvictedAfterFirstTouch(PlanCache):
    """A cache from which another thread evicts a plan right after this one touched it."""

    touches = 0

    def move_to_end(self, key, last=True):
        super().move_to_end(key, last)
        self.touches += 1
        if self.touches == 1:
            del self[key]


class _ReorderedDuringFirstWalk(PlanCache):
    """A cache that a hit on another thread reorders while the first walk over it is under way."""

    walks = 0

    def __iter__(self):
        self.walks += 1
        keys = super().__iter__()
        first = next(keys)
        yield first
        if self.walks == 1:
            self.move_to_end(first)
        yield from keys


def test_a_hit_on_a_plan_evicted_meanwhile_loads_it_again(app):
    _models(app, 1)
    serving = app.extensions["registry"].serving
    entry = serving.snapshot().models["m0"]
    plan = serving.plan(entry, 1)
    cache = _EvictedAfterFirstTouch(3)
    cache.update(serving._plans)
    serving._plans = cache
    again = serving.plan(entry, 1)
    assert again is not plan and again.intercept.tolist() == plan.intercept.tolist() == [0.0]
    assert cache.touches == 2 and _cached(app) == {("m0", 1)}


def test_a_reload_drops_stale_plans_though_a_hit_reorders_the_cache_meanwhile(app, client, tokens):
    _models(app, 1)
    add_plan_version(app, "m0", _plan(5.0))
    assert client.post("/api/v1/models/m0/versions/2/predict", json=ROW).status_code == 200
    _predict(client, "m0")
    serving = app.extensions["registry"].serving
    cache = _ReorderedDuringFirstWalk(3)
    cache.update(serving._plans)
    serving._plans = cache
    response = client.delete("/api/v1/models/m0/versions/2", headers=tokens["admin"])
    assert response.status_code == 204
    # Called directly: the prediction route's fast lane would retry an error on the full path.
    serving.resolve("m0")
    assert cache.walks == 2  # the reload walked it again after the hit
    assert _cached(app) == {("m0", 1)}


def test_concurrent_hits_loads_and_reloads_never_raise(app):
    # Predictions on one thread, preloads on pool threads, snapshots reloaded after changes:
    # the cache is read without a lock while other threads evict from it and prune it.
    names = _models(app, 5)
    serving = app.extensions["registry"].serving
    # Loaded first: threads racing for a worker's very first snapshot can be told the
    # generation before it is read (GenerationWatch), which is not what this test is about.
    serving.snapshot()
    errors: list[BaseException] = []
    stop = threading.Event()

    def guarded(work):
        def run() -> None:
            try:
                work()
            except BaseException as error:  # noqa: BLE001 - the test reports it
                errors.append(error)

        return threading.Thread(target=run)

    def predict(seed: int) -> None:
        # 5 models through 3 places at random: about as many hits as loads and evictions.
        pick = random.Random(seed)
        for _ in range(300):
            entry, version, plan = serving.resolve(pick.choice(names))
            assert plan.kind == "linear"

    def change() -> None:
        while not stop.is_set():
            add_plan_version(app, "changing", _plan(1.0))

    readers = [guarded(lambda k=k: predict(k)) for k in range(3)]
    changer = guarded(change)
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads as often as CPython can
    try:
        changer.start()
        for thread in readers:
            thread.start()
        for thread in readers:
            thread.join()
    finally:
        stop.set()
        changer.join()
        sys.setswitchinterval(interval)
    assert errors == []
    assert len(serving._plans) <= 3
