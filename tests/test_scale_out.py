"""README's scale-out setup, run for real: two servers on one PostgreSQL behind nginx.

The nginx configuration is the one shipped in deploy/nginx.conf, with its three ports moved to
free ones. The servers share nothing but the database (REGISTRY_ARTIFACT_STORE=database, each
with its own artifact folder), so whatever one of them is told is seen through the other.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from registry.bench.servers import children_of
from tests.conftest import POSTGRES_URL, empty_postgres
from tests.factories import dump, house_model
from tests.flips import flip_under_load
from tests.live import LiveServer, free_port, server_env, start_server

ROOT = Path(__file__).resolve().parent.parent
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
ROW = {"area": 1500, "bedrooms": 3, "bathrooms": 2, "age": 10}

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        POSTGRES_URL is None, reason="scaling out is on PostgreSQL: set REGISTRY_TEST_POSTGRES_URL"
    ),
]


def _nginx(servers: list[LiveServer], folder: Path) -> tuple[subprocess.Popen, str]:
    """Start nginx with the shipped configuration, pointed at ``servers``; return its URL."""
    port = free_port()
    conf = (ROOT / "deploy" / "nginx.conf").read_text()
    conf = conf.replace("listen 127.0.0.1:8000;", f"listen 127.0.0.1:{port};")
    for shipped, server in zip(("127.0.0.1:8001", "127.0.0.1:8002"), servers, strict=True):
        conf = conf.replace(f"server {shipped};", f"server {server.url.removeprefix('http://')};")
    for name in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (folder / "tmp" / name).mkdir(parents=True)
        # nginx's workers drop to an unprivileged user when it starts as root.
        (folder / "tmp" / name).chmod(0o777)
    (folder / "tmp").chmod(0o777)
    (folder / "nginx.conf").write_text(conf)
    with open(folder / "nginx.log", "wb") as log:
        process = subprocess.Popen(
            [NGINX, "-p", str(folder), "-c", str(folder / "nginx.conf")],
            stdout=subprocess.DEVNULL,
            stderr=log,
        )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        assert process.poll() is None, (folder / "nginx.log").read_text()
        try:
            if requests.get(f"{url}/health/ready", timeout=5).status_code == 200:
                return process, url
        except requests.RequestException:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError("nginx did not start: " + (folder / "nginx.log").read_text())


@pytest.fixture(scope="module")
def deployment(
    postgres_database: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[list[LiveServer], str]]:
    """Two servers and nginx, started once for the module: each test works on its own model."""
    database_url = empty_postgres(postgres_database)
    folder = tmp_path_factory.mktemp("scale-out")
    servers = []
    try:
        for name in ("a", "b"):
            env = server_env(
                database_url, folder / f"artifacts-{name}", REGISTRY_ARTIFACT_STORE="database"
            )
            servers.append(start_server(env, folder / f"server-{name}.log", workers=2))
        nginx, url = _nginx(servers, folder / "nginx")
        try:
            yield servers, url
        finally:
            nginx.terminate()
            nginx.wait(timeout=20)
    finally:
        for server in servers:
            server.stop()


def _token(server: LiveServer) -> dict[str, str]:
    made = server.manage("create-token", "--role", "admin", "--name", "scale-out")
    assert made.returncode == 0, made.stderr
    return {"Authorization": f"Bearer {made.stdout.strip().splitlines()[-1]}"}


def _create_model(url: str, token: dict[str, str], name: str) -> str:
    """Create the model ``name`` through ``url``; return its path."""
    made = requests.post(
        f"{url}/api/v1/models", json={"name": name, "kind": "linear"}, headers=token, timeout=30
    )
    assert made.status_code == 201, made.text
    return f"/api/v1/models/{name}"


def _upload(
    url: str, model: str, token: dict[str, str], artifact: bytes, activate: bool
) -> requests.Response:
    return requests.post(
        f"{url}{model}/versions",
        files={"artifact": ("model.joblib", artifact)},
        data={"activate": "true" if activate else "false"},
        headers=token,
        timeout=120,
    )


def test_what_one_server_is_told_every_other_serves_at_once(deployment):
    (first, second), balanced = deployment
    token = _token(first)
    model = _create_model(second.url, token, "houses")
    artifact = dump(house_model())
    created = _upload(first.url, model, token, artifact, activate=True)
    assert created.status_code == 201, created.text
    for url in (second.url, balanced, first.url):
        answer = requests.post(f"{url}{model}/predict", json=ROW, timeout=30)
        assert answer.status_code == 200, answer.text
        assert answer.json()["version"] == 1
        spec = requests.get(f"{url}/api/v1/swagger.json", timeout=30).json()
        assert "/models/houses/predict" in spec["paths"]  # under basePath /api/v1
        download = requests.get(f"{url}{model}/versions/1/artifact", timeout=30)
        assert download.status_code == 200
        assert download.content == artifact
        assert download.headers["ETag"] == f'"{hashlib.sha256(artifact).hexdigest()}"'
    # Nothing of it was written to either server's own folder: the database holds it all.
    for name in ("artifacts-a", "artifacts-b"):
        folder = Path(first.log).parent / name
        assert not folder.exists() or not any(p.is_file() for p in folder.rglob("*"))


def test_fifty_activation_flips_through_the_balancer_fail_no_request(deployment):
    (first, _), balanced = deployment
    token = _token(first)
    model = _create_model(balanced, token, "flips")
    for activate in (True, False):
        uploaded = _upload(balanced, model, token, dump(house_model()), activate=activate)
        assert uploaded.status_code == 201, uploaded.text
    outcome = flip_under_load(f"{balanced}{model}", token, ROW, timeout=30)
    assert outcome.failures == []
    assert len(outcome.answered) > 50 and set(outcome.answered) == {1, 2}
    # Both servers took part (each answer names its worker's process through X-Worker).
    answering = {
        int(requests.post(f"{balanced}{model}/predict", json=ROW, timeout=30).headers["X-Worker"])
        for _ in range(40)
    }
    for server in deployment[0]:
        assert answering & set(children_of(server.process.pid)), (answering, server.url)
