"""The intake fence as deployed: from a locked-down checkout, closed when a fence is missing."""

from __future__ import annotations

import errno
import io
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import joblib
import pyseccomp
import pytest
import requests
import skops.io
from sklearn.datasets import load_diabetes
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from tests.live import free_port, server_env

ROOT = Path(__file__).resolve().parents[1]
SITE = Path(joblib.__file__).resolve().parents[1]

needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="the 0700 layout matters to root only")


def _joblib(obj: object) -> bytes:
    buffer = io.BytesIO()
    joblib.dump(obj, buffer, compress=3)
    return buffer.getvalue()


@pytest.fixture(scope="module")
def locked_checkout(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A checkout and its virtual environment inside a 0700 directory, as under /root."""
    home = tmp_path_factory.mktemp("root-home")
    home.chmod(0o700)
    checkout = home / "checkout"
    shutil.copytree(ROOT / "registry", checkout / "registry", ignore=_no_caches)
    shutil.copy(ROOT / "config.py", checkout / "config.py")
    venv = home / "venv"
    subprocess.run(
        [sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120
    )
    site = next((venv / "lib").glob("python3*/site-packages"))
    site.rmdir()
    # Hard links: a copy of the installed packages that only root can reach, made quickly
    # (a real copy when the temporary folder is on another file system).
    linked = subprocess.run(["cp", "-al", str(SITE), str(site)], check=False, timeout=300)
    if linked.returncode != 0:
        shutil.rmtree(site, ignore_errors=True)
        subprocess.run(["cp", "-a", str(SITE), str(site)], check=True, timeout=600)
    for editable in site.glob("__editable__*"):
        editable.unlink()
    return checkout


def _no_caches(_folder: str, names: list[str]) -> list[str]:
    return [n for n in names if n == "__pycache__"]


_UPLOAD = """
import json, sys
sys.path.insert(0, sys.argv[1])
from registry.intake import inspect_artifact
from registry.intake import sandbox
assert sandbox.__file__.startswith(sys.argv[1]), sandbox.__file__
limits = sandbox.IntakeLimits(zygote=sys.argv[3] == "zygote")
result = inspect_artifact(sys.stdin.buffer.read(), artifact_format=sys.argv[2], limits=limits)
print(json.dumps({"estimator": result.estimator, "sandbox": result.sandbox}))
"""


@needs_root
@pytest.mark.parametrize("path", ["fresh", "zygote"])
@pytest.mark.parametrize("artifact_format", ["joblib", "skops"])
def test_uploads_work_from_a_checkout_nobody_can_read(locked_checkout, artifact_format, path):
    X, y = load_diabetes(return_X_y=True, as_frame=True)
    if artifact_format == "joblib":
        model = make_pipeline(StandardScaler(), LogisticRegression()).fit(X, y > 140)
        data = _joblib(model)
    else:
        data = skops.io.dumps(make_pipeline(StandardScaler(), Ridge()).fit(X, y))
    python = locked_checkout.parent / "venv" / "bin" / "python"
    done = subprocess.run(
        [str(python), "-I", "-c", _UPLOAD, str(locked_checkout), artifact_format, path],
        input=data,
        capture_output=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr.decode()[-3000:]
    answer = json.loads(done.stdout)
    assert answer["estimator"].startswith("Pipeline(StandardScaler, ")
    assert all(answer["sandbox"].values()), answer["sandbox"]


def _libseccomp_path() -> str:
    for line in Path("/proc/self/maps").read_text().splitlines():
        if "libseccomp" in line:
            return line.split()[-1]
    raise AssertionError("pyseccomp is imported, so libseccomp is mapped")


def _hide_libseccomp() -> list[str]:
    """A private mount namespace where libseccomp is an empty file, as if not installed."""
    script = 'mount --bind /dev/null "$0" && exec "$@"'
    return [
        "unshare",
        "--mount",
        "--propagation",
        "private",
        "sh",
        "-c",
        script,
        _libseccomp_path(),
    ]


def _forbid_namespaces() -> None:
    """A seccomp filter refusing unshare, as container runtimes install by default."""
    rules = pyseccomp.SyscallFilter(defaction=pyseccomp.ALLOW)
    rules.add_rule(pyseccomp.ERRNO(errno.EPERM), "unshare")
    rules.load()


@contextmanager
def _server(
    tmp_path: Path,
    database_url: str,
    wrapper: list[str],
    preexec: Callable[[], None] | None,
    **settings: str,
) -> Iterator[str]:
    """`manage.py serve` started inside a crippled environment; yields its URL."""
    env = server_env(database_url, tmp_path / "artifacts", **settings)
    port = free_port()
    log = tmp_path / "server.log"
    command = [sys.executable, "manage.py", "serve", "--host", "127.0.0.1", "--port", str(port)]
    with open(log, "wb") as output:
        process = subprocess.Popen(
            [*wrapper, *command],
            cwd=ROOT,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            preexec_fn=preexec,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, log.read_text()[-2000:]
            assert time.monotonic() < deadline, "the server did not start"
            try:
                requests.get(f"{url}/health/live", timeout=5)
                break
            except requests.RequestException:
                time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)


def _token(database_url: str, tmp_path: Path) -> dict[str, str]:
    env = server_env(database_url, tmp_path / "artifacts")
    done = subprocess.run(
        [sys.executable, "manage.py", "create-token", "--role", "publisher", "--name", "t"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return {"Authorization": f"Bearer {done.stdout.strip().splitlines()[-1]}"}


def _upload(
    url: str, headers: dict[str, str], name: str, data: bytes | None = None
) -> requests.Response:
    if data is None:
        X, y = load_diabetes(return_X_y=True, as_frame=True)
        data = _joblib(make_pipeline(StandardScaler(), Ridge()).fit(X, y))
    created = requests.post(
        f"{url}/api/v1/models", json={"name": name}, headers=headers, timeout=30
    )
    assert created.status_code == 201, created.text
    return requests.post(
        f"{url}/api/v1/models/{name}/versions",
        files={"artifact": ("model.joblib", data)},
        headers=headers,
        timeout=120,
    )


FENCE_FAULTS = {
    "seccomp": (_hide_libseccomp, None),
    "netns": (list, _forbid_namespaces),
}


# REGISTRY_INTAKE_ZYGOTE of each intake path: a fresh interpreter, or a fork of the zygote.
PATHS = {"fresh": "false", "zygote": "true"}


@needs_root
@pytest.mark.parametrize("path", sorted(PATHS))
@pytest.mark.parametrize("fence", sorted(FENCE_FAULTS))
def test_uploads_fail_closed_when_a_fence_cannot_be_raised(database_url, tmp_path, fence, path):
    wrapper, preexec = FENCE_FAULTS[fence]
    headers = _token(database_url, tmp_path)
    zygote = {"REGISTRY_INTAKE_ZYGOTE": PATHS[path]}
    with _server(tmp_path, database_url, wrapper(), preexec, **zygote) as url:
        refused = _upload(url, headers, "closed")
        ready = requests.get(f"{url}/health/ready", timeout=60)
    assert refused.status_code == 503, refused.text
    assert refused.json()["code"] == "intake_unavailable"
    assert fence in refused.json()["message"]
    assert ready.status_code == 503
    assert ready.json()["checks"]["intake_sandbox"] is False
    assert ready.json()["intake_sandbox"]["missing"] == [fence]
    log = (tmp_path / "server.log").read_text()
    assert f"REGISTRY_INTAKE_ALLOW_WEAK_FENCES={fence}" in log
    # The zygote's own child refused: intake did not fall back to a fresh interpreter.
    assert "fresh interpreter" not in log

    settings = {"REGISTRY_INTAKE_ALLOW_WEAK_FENCES": fence, **zygote}
    with _server(tmp_path, database_url, wrapper(), preexec, **settings) as url:
        accepted = _upload(url, headers, "waived")
        ready = requests.get(f"{url}/health/ready", timeout=60)
    assert accepted.status_code == 201, accepted.text
    assert ready.status_code == 200, ready.text
    assert ready.json()["intake_sandbox"] == {"missing": [], "waived": [fence]}
    assert "fresh interpreter" not in (tmp_path / "server.log").read_text()


_READS = """
import json, sys
sys.path.insert(0, sys.argv[1])
from registry.intake.child import _fence_in
status = _fence_in(30, "joblib")
out = {"status": status}
for name, path in json.loads(sys.argv[2]).items():
    try:
        with open(path, "rb") as handle:
            out[name] = handle.read(64).decode("latin-1")
    except OSError as exc:
        out[name] = exc.errno
print(json.dumps(out))
"""


@pytest.fixture
def open_folder() -> Iterator[Path]:
    """A folder anyone may read, unlike pytest's (its parent is 0700)."""
    folder = Path(tempfile.mkdtemp(prefix="fence-test-", dir="/tmp"))
    folder.chmod(0o755)
    yield folder
    shutil.rmtree(folder)


def test_fenced_child_cannot_read_the_database_artifacts_or_other_processes(open_folder):
    import sqlite3

    database = open_folder / "registry.db"
    with sqlite3.connect(database) as connection:
        connection.execute("CREATE TABLE api_token (token_hash TEXT)")
        connection.execute("INSERT INTO api_token VALUES ('secret-hash')")
    connection.close()
    artifacts = open_folder / "artifacts"
    artifacts.mkdir()
    artifact = artifacts / ("ab" * 32)
    artifact.write_bytes(b"model bytes")
    for path in (database, artifacts, artifact):
        path.chmod(0o755 if path.is_dir() else 0o644)
    other = subprocess.Popen(["sleep", "120"])
    try:
        targets = {
            "database": str(database),
            "artifact": str(artifact),
            "cmdline": f"/proc/{other.pid}/cmdline",
        }
        done = subprocess.run(
            [sys.executable, "-I", "-B", "-c", _READS, str(ROOT), json.dumps(targets)],
            capture_output=True,
            timeout=120,
            check=True,
        )
    finally:
        other.kill()
        other.wait()
    out = json.loads(done.stdout)
    assert all(out["status"].values()), out["status"]
    for name in targets:
        assert out[name] in (errno.EACCES, errno.EPERM), (name, out[name])


_ORPHAN_HARNESS = """
import ctypes, json, os, signal, subprocess, sys, threading, time
import requests

# Orphans of the server's workers come to this process, which can then see how they end.
ctypes.CDLL(None).prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER
url, headers, model = sys.argv[1], json.loads(sys.argv[2]), sys.stdin.buffer.read()
server = subprocess.Popen(json.loads(sys.argv[3]), cwd=sys.argv[4])
for _ in range(600):
    try:
        requests.get(url + "/health/live", timeout=5)
        break
    except requests.RequestException:
        time.sleep(0.1)
requests.post(url + "/api/v1/models", json={"name": "orphan"}, headers=headers, timeout=30)


def upload():
    try:
        requests.post(url + "/api/v1/models/orphan/versions", headers=headers, timeout=120,
                      files={"artifact": ("m.joblib", model)})
    except requests.RequestException:
        pass


def parent_of(pid):
    with open(f"/proc/{pid}/stat") as handle:
        return int(handle.read().rsplit(")", 1)[1].split()[1])


def intake_child():
    # Only this server's grandchildren: other intake children on the machine are not ours.
    pids = [int(entry) for entry in os.listdir("/proc") if entry.isdigit()]
    parents = {}
    for pid in pids:
        try:
            parents[pid] = parent_of(pid)
        except (OSError, ValueError):
            pass
    workers = {pid for pid, parent in parents.items() if parent == server.pid}
    for pid, parent in parents.items():
        if parent in workers and b"registry.intake.child" in command(pid):
            return pid, parent, None  # a fresh interpreter
        # A fork of the worker's zygote: it shares the zygote's command line.
        worker = parents.get(parent)
        forked = b"registry.intake.zygote" in command(pid) and command(pid) == command(parent)
        if worker in workers and forked:
            return pid, worker, parent
    return None


def command(pid):
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as handle:
            return handle.read()
    except OSError:
        return b""


def ending(pid, seconds=60):
    # How the process ended, once it is reparented to this process; None if it lives on.
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            done, status = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:  # not reparented to this process yet
            assert os.path.exists(f"/proc/{pid}")
            done = 0
        if done:
            return {"signal": os.WTERMSIG(status) if os.WIFSIGNALED(status) else None,
                    "exit": os.WEXITSTATUS(status) if os.WIFEXITED(status) else None}
        time.sleep(0.01)
    return None


try:
    threading.Thread(target=upload, daemon=True).start()
    found = None
    while found is None and server.poll() is None:
        found = intake_child()
        time.sleep(0.01)
    child, worker, zygote = found
    assert parent_of(worker) == server.pid
    os.kill(worker, signal.SIGKILL)
    ended = {"child": ending(child), "zygote": zygote and ending(zygote)}
finally:
    server.terminate()
    server.wait(60)
print(json.dumps(ended))
"""


def _slow_joblib(model: object, pairs: int = 4_000_000) -> bytes:
    """A valid joblib file that keeps intake's child busy for seconds (0.7 s a million pairs).

    After the pickle's PROTO opcode come ``pairs`` of NONE and POP: the pure-Python allow-list
    unpickler runs each, well inside the child's CPU budget, then reads the model as usual.
    A zygote's fork opens a small file in a tenth of a second: too soon to be watched.
    """
    buffer = io.BytesIO()
    joblib.dump(model, buffer)
    raw = buffer.getvalue()
    return zlib.compress(raw[:2] + b"N0" * pairs + raw[2:], 9)


@pytest.mark.parametrize("path", sorted(PATHS))
def test_intake_child_and_its_folder_die_with_a_killed_worker(database_url, tmp_path, path):
    headers = _token(database_url, tmp_path)
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    port = free_port()
    settings = {"TMPDIR": str(scratch), "REGISTRY_INTAKE_ZYGOTE": PATHS[path]}
    env = server_env(database_url, tmp_path / "artifacts", **settings)
    command = [sys.executable, "manage.py", "serve", "--port", str(port), "--workers", "1"]
    X, y = load_diabetes(return_X_y=True, as_frame=True)
    model = _slow_joblib(make_pipeline(StandardScaler(), Ridge()).fit(X, y))
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            _ORPHAN_HARNESS,
            f"http://127.0.0.1:{port}",
            json.dumps(headers),
            json.dumps(command),
            str(ROOT),
        ],
        input=model,
        env=env,
        capture_output=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr.decode()[-3000:]
    ended = json.loads(done.stdout.splitlines()[-1])
    # Killed with its worker (or gone at its next check, if the kill came while it changed
    # user), rather than left to finish the upload for nobody: that ended with status 120.
    killed = ({"signal": signal.SIGKILL, "exit": None}, {"signal": None, "exit": 70})
    assert ended["child"] in killed, ended
    if path == "zygote":
        # The zygote went too: it left when its worker's end of the control socket closed.
        assert ended["zygote"] in ({"signal": None, "exit": 0}, killed[0]), ended
    else:
        assert ended["zygote"] is None
    assert [p.name for p in scratch.iterdir() if p.name.startswith("intake-")] == []


_HOLD_SLOT = """
import sys, time
sys.path.insert(0, sys.argv[1])
from pathlib import Path
from registry.intake.slots import sandbox_slot
with sandbox_slot(Path(sys.argv[2]), 1, 0):
    print("held", flush=True)
    sys.stdin.read()
"""


def test_sandbox_slots_are_shared_between_processes_and_freed_by_death(tmp_path):
    from registry.errors import IntakeBusy
    from registry.intake.slots import sandbox_slot

    folder = tmp_path / "slots"
    with subprocess.Popen(
        [sys.executable, "-c", _HOLD_SLOT, str(ROOT), str(folder)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    ) as holder:
        assert holder.stdout.readline() == b"held\n"
        with pytest.raises(IntakeBusy) as busy, sandbox_slot(folder, 1, 0.2):
            pass
        assert busy.value.retry_after > 0
        with sandbox_slot(folder, 2, 0):  # a second slot is free
            pass
        holder.kill()
    with sandbox_slot(folder, 1, 0):  # the kernel freed the dead holder's slot
        pass


def _house_seed(database_url: str, tmp_path: Path) -> None:
    from registry.app import create_app
    from tests.factories import add_plan_version, house_plan

    app = create_app({"database_url": database_url, "artifact_root": tmp_path / "artifacts"})
    add_plan_version(app, "house-prices", house_plan(), activate=True)
    app.extensions["registry"].db.dispose()


@pytest.mark.parametrize("path", sorted(PATHS))
@pytest.mark.parametrize("worker_class", ["sync", "buffering"])
def test_predictions_keep_answering_while_uploads_run(database_url, tmp_path, worker_class, path):
    from tests.live import start_server

    _house_seed(database_url, tmp_path)
    headers = _token(database_url, tmp_path)
    # No queue: an upload beyond the slot is refused at once, so the test needs no timing.
    # The file keeps each upload in its child for seconds, on either path: long enough to see
    # predictions answered meanwhile (a zygote's fork opens a small file in a tenth of one).
    env = server_env(
        database_url,
        tmp_path / "artifacts",
        REGISTRY_INTAKE_QUEUE_SECONDS="0",
        REGISTRY_INTAKE_ZYGOTE=PATHS[path],
        REGISTRY_WORKER_CLASS=worker_class,
    )
    X, y = load_diabetes(return_X_y=True, as_frame=True)
    model = _slow_joblib(make_pipeline(StandardScaler(), Ridge()).fit(X, y))
    server = start_server(env, tmp_path / "server.log", workers=2)
    events: list[tuple[float, str, int]] = []
    uploads: list[tuple[float, float, requests.Response]] = []
    predicting = threading.Event()

    def predict() -> None:
        url = f"{server.url}/api/v1/models/house-prices/predict"
        row = {"area": 1500, "bedrooms": 3, "bathrooms": 2, "age": 10}
        with requests.Session() as session:
            while predicting.is_set():
                status = session.post(url, json=row, timeout=120).status_code
                events.append((time.monotonic(), "predict", status))

    def upload(name: str) -> None:
        started = time.monotonic()
        response = _upload(server.url, headers, name, model)
        uploads.append((started, time.monotonic(), response))

    try:
        predicting.set()
        predictor = threading.Thread(target=predict)
        predictor.start()
        uploaders = [threading.Thread(target=upload, args=(f"slow-{i}",)) for i in range(3)]
        for thread in uploaders:
            thread.start()
        for thread in uploaders:
            thread.join()
        predicting.clear()
        predictor.join()
    finally:
        server.stop()
    assert {status for _, _, status in events} == {200}
    stored = [(start, end) for start, end, r in uploads if r.status_code == 201]
    assert stored, [r.text for _, _, r in uploads]
    for _, _, response in uploads:
        if response.status_code != 201:
            assert response.status_code == 503 and response.json()["code"] == "intake_busy"
            assert int(response.headers["Retry-After"]) > 0
    # While every stored upload was being opened, other clients' predictions were answered
    # (in the second half of that time: a few slip in before the uploads reach a worker).
    start, end = max(s for s, _ in stored), min(e for _, e in stored)
    during = [t for t, _, _ in events if (start + end) / 2 < t < end]
    assert len(during) >= 5, (start, end, len(events))


def test_settings_know_every_fence():
    import config
    from registry.intake import fences

    assert config.FENCES == fences.FENCES
    with pytest.raises(config.ConfigError, match="REGISTRY_INTAKE_ALLOW_WEAK_FENCES"):
        config.Config(intake_allow_weak_fences="seccomp,everything")
    assert config.Config(intake_allow_weak_fences=" netns, seccomp").weak_fences() == {
        "netns",
        "seccomp",
    }
