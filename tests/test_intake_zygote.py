"""The intake zygote: one interpreter per worker, a fresh fenced fork per upload."""

from __future__ import annotations

import io
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import joblib
import pytest
from sklearn.datasets import load_diabetes
from sklearn.linear_model import Ridge
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from registry.intake import inspect_artifact, spawner
from registry.intake.sandbox import THREAD_ENV, IntakeLimits
from registry.intake.wire import encode_request

ZYGOTE = IntakeLimits(zygote=True)


@pytest.fixture(scope="module")
def model_bytes() -> bytes:
    X, y = load_diabetes(return_X_y=True, as_frame=True)
    buffer = io.BytesIO()
    joblib.dump(make_pipeline(StandardScaler(), Ridge()).fit(X, y), buffer)
    return buffer.getvalue()


def _parent(pid: int) -> int:
    stat = Path(f"/proc/{pid}/stat").read_text()
    return int(stat.rsplit(")", 1)[1].split()[1])


def test_uploads_are_forked_from_one_zygote_that_stays(model_bytes):
    first = inspect_artifact(model_bytes, limits=ZYGOTE)
    zygote = spawner.spawner(THREAD_ENV).zygote_pid()
    assert zygote is not None and _parent(zygote) == os.getpid()
    second = inspect_artifact(model_bytes, limits=ZYGOTE)
    assert spawner.spawner(THREAD_ENV).zygote_pid() == zygote
    assert first.plan.to_json() == second.plan.to_json()
    assert all(second.sandbox.values()), second.sandbox


def test_each_child_is_a_fork_of_the_zygote_not_a_new_interpreter(model_bytes):
    own = spawner.spawner(THREAD_ENV)
    request = encode_request({"format": "joblib", "feature_names": None}, model_bytes)
    with own.spawn(20, "joblib", frozenset()) as child:
        zygote = own.zygote_pid()
        assert _parent(child.pid) == zygote
        # A fork shares the zygote's command line; a new interpreter would run child.main.
        assert Path(f"/proc/{child.pid}/cmdline").read_bytes() == (
            Path(f"/proc/{zygote}/cmdline").read_bytes()
        )
        child.stdin.write(request)
        child.stdin.close()
        answer = child.stdout.read()
        assert child.wait(60) == 0
    assert b'"ok": true' in answer


def test_a_killed_zygote_is_replaced_and_uploads_go_on(model_bytes):
    inspect_artifact(model_bytes, limits=ZYGOTE)
    own = spawner.spawner(THREAD_ENV)
    killed = own.zygote_pid()
    assert killed is not None
    os.kill(killed, signal.SIGKILL)
    result = inspect_artifact(model_bytes, limits=ZYGOTE)
    assert all(result.sandbox.values()), result.sandbox
    replacement = own.zygote_pid()
    assert replacement is not None and replacement != killed


def test_a_zygote_with_threads_never_forks_and_intake_falls_back(model_bytes, caplog):
    # Without the thread settings, OpenBLAS starts threads: fork would copy only one.
    threaded = spawner.Spawner({})
    with pytest.raises(spawner.ZygoteUnavailable, match="threads"):
        threaded.spawn(20, "joblib", frozenset())
    assert threaded.zygote_pid() is None

    saved = spawner._spawner
    spawner._spawner = threaded
    try:
        with caplog.at_level(logging.WARNING, logger="registry.intake.sandbox"):
            result = inspect_artifact(model_bytes, limits=ZYGOTE)
    finally:
        spawner._spawner = saved
    assert all(result.sandbox.values()), result.sandbox
    assert "fresh interpreter" in caplog.text and "threads" in caplog.text


@pytest.fixture
def own_spawner() -> Iterator[spawner.Spawner]:
    """A spawner with no zygote yet, as this process's, for one test."""
    saved, fresh = spawner._spawner, spawner.Spawner(THREAD_ENV)
    spawner._spawner = fresh
    try:
        yield fresh
    finally:
        spawner._spawner = saved
        if fresh.zygote_pid() is not None:
            fresh._stop()


@pytest.mark.parametrize(
    ("settings", "forked"), [({}, True), ({"intake_zygote": False}, False)], ids=["default", "off"]
)
def test_a_server_forks_uploads_from_a_zygote_unless_told_not_to(
    make_app, own_spawner, settings, forked
):
    from registry.services.tokens import create_token
    from tests.factories import dump, house_model

    app = make_app(**settings)
    with app.extensions["registry"].db.write() as session:
        headers = {"Authorization": f"Bearer {create_token(session, 'publisher', 'p')}"}
    client = app.test_client()
    client.post("/api/v1/models", json={"name": "house"}, headers=headers)
    response = client.post(
        "/api/v1/models/house/versions",
        data={"artifact": (io.BytesIO(dump(house_model())), "m.joblib")},
        headers=headers,
        content_type="multipart/form-data",
    )
    assert response.status_code == 201, response.get_json()
    # REGISTRY_INTAKE_ZYGOTE=false keeps the fresh interpreter per upload reachable.
    assert (own_spawner.zygote_pid() is not None) is forked


_STARTER = """
import sys
sys.path.insert(0, sys.argv[1])
from registry.intake import spawner
from registry.intake.sandbox import THREAD_ENV
spawner.Spawner(THREAD_ENV).spawn(20, "joblib", frozenset())
"""


def _zygotes_of(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and _parent(int(entry.name)) == pid:
                if b"registry.intake.zygote" in (entry / "cmdline").read_bytes():
                    found.append(int(entry.name))
        except (OSError, ValueError):
            pass
    return found


def _gone(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] in "ZX"
    except OSError:
        return True


def test_a_starting_zygote_dies_with_the_worker_that_started_it():
    root = str(Path(__file__).resolve().parents[1])
    worker = subprocess.Popen([sys.executable, "-c", _STARTER, root])
    zygotes: list[int] = []
    try:
        deadline = time.monotonic() + 60
        while not zygotes:
            assert worker.poll() is None and time.monotonic() < deadline
            zygotes = _zygotes_of(worker.pid)
            time.sleep(0.005)
        # Killed while its zygote imports the libraries (seconds): it must not finish them.
        worker.kill()
        worker.wait()
        time.sleep(1.0)
        assert _gone(zygotes[0])
    finally:
        worker.kill()
        worker.wait()
        for pid in zygotes:
            if not _gone(pid):
                os.kill(pid, signal.SIGKILL)
