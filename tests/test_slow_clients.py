"""Slow, idle and half-sent connections never starve other clients; a stop answers the queue."""

from __future__ import annotations

import signal
import socket
import threading
from pathlib import Path

import requests

from registry.app import create_app
from tests.conftest import SQLITE_ONLY
from tests.factories import add_plan_version, dump, house_model, house_plan
from tests.live import LiveServer, server_env, start_server

ROW = {"area": 1500, "bedrooms": 3, "bathrooms": 2, "age": 10}
PREDICT = "/api/v1/models/house-prices/predict"


def seed(database_url: str, tmp_path: Path) -> None:
    app = create_app({"database_url": database_url, "artifact_root": tmp_path / "artifacts"})
    add_plan_version(app, "house-prices", house_plan(), activate=True)
    app.extensions["registry"].serving.close()
    app.extensions["registry"].db.dispose()


def address(server: LiveServer) -> tuple[str, int]:
    host, port = server.url.removeprefix("http://").split(":")
    return host, int(port)


def stalled_connections(server: LiveServer, count: int) -> list[socket.socket]:
    """Open connections that stall: silent, mid-headers, or mid-body."""
    body = b'{"area": 1500, "bedrooms": 3, "bathrooms": 2, "age": 10}'
    head = (
        f"POST {PREDICT} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode()
    partial = [b"", head[:30], head + body[:10]]
    opened = []
    for index in range(count):
        sock = socket.create_connection(address(server), timeout=30)
        if partial[index % 3]:
            sock.sendall(partial[index % 3])
        opened.append(sock)
    return opened


def raw_request(prepared: requests.PreparedRequest) -> bytes:
    """Return a prepared request as the bytes of an HTTP/1.1 request."""
    body = prepared.body or b""
    body = body.encode() if isinstance(body, str) else body
    headers = {**prepared.headers, "Host": "x", "Content-Length": str(len(body))}
    head = f"{prepared.method} {prepared.path_url} HTTP/1.1\r\n" + "".join(
        f"{name}: {value}\r\n" for name, value in headers.items()
    )
    return (head + "\r\n").encode("latin-1") + body


def send(server: LiveServer, request: bytes) -> socket.socket:
    sock = socket.create_connection(address(server), timeout=60)
    sock.sendall(request)
    return sock


def raw_answer(sock: socket.socket) -> bytes:
    chunks = []
    try:
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    except OSError as error:
        return f"socket error: {error}".encode()
    return b"".join(chunks)


@SQLITE_ONLY
def test_predictions_answer_while_100_connections_stall(database_url, tmp_path, live_server):
    seed(database_url, tmp_path)
    stalled = stalled_connections(live_server, 100)
    try:
        answers = []
        with requests.Session() as session:
            for _ in range(20):
                answers.append(session.post(f"{live_server.url}{PREDICT}", json=ROW, timeout=30))
        for _ in range(20):
            answers.append(requests.post(f"{live_server.url}{PREDICT}", json=ROW, timeout=30))
        assert [a.status_code for a in answers] == [200] * 40
        assert len({a.json()["prediction"] for a in answers}) == 1
    finally:
        for sock in stalled:
            sock.close()


@SQLITE_ONLY
def test_sigterm_answers_connections_already_queued(database_url, tmp_path):
    seed(database_url, tmp_path)
    # Both uploads must run: the second waits for the one sandbox slot instead of a 503.
    env = server_env(database_url, tmp_path / "artifacts", REGISTRY_INTAKE_QUEUE_SECONDS="120")
    server = start_server(env, tmp_path / "server.log", workers=2)
    try:
        made = server.manage("create-token", "--role", "publisher", "--name", "slow-clients")
        assert made.returncode == 0, made.stderr
        token = {"Authorization": f"Bearer {made.stdout.strip().splitlines()[-1]}"}
        # Two uploads keep both workers busy in the sandbox while predictions queue up.
        upload = requests.Request(
            "POST",
            f"{server.url}/api/v1/models/house-prices/versions",
            files={"artifact": ("m.joblib", dump(house_model()))},
            headers={**token, "Connection": "close"},
        ).prepare()
        uploads = [send(server, raw_request(upload)) for _ in range(2)]
        body = b'{"area": 1500, "bedrooms": 3, "bathrooms": 2, "age": 10}'
        predict = requests.Request(
            "POST",
            f"{server.url}{PREDICT}",
            data=body,
            headers={"Content-Type": "application/json", "Connection": "close"},
        ).prepare()
        queued = [send(server, raw_request(predict)) for _ in range(30)]
        server.process.send_signal(signal.SIGTERM)
        answers = [raw_answer(sock) for sock in uploads + queued]
        for sock in uploads + queued:
            sock.close()
        assert server.process.wait(timeout=60) == 0
    finally:
        server.stop()
    statuses = [answer[:12] for answer in answers]
    assert statuses == [b"HTTP/1.1 201"] * 2 + [b"HTTP/1.1 200"] * 30, answers


@SQLITE_ONLY
def test_stop_removes_the_metrics_folder_it_made(database_url, tmp_path):
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    env = {**server_env(database_url, tmp_path / "artifacts"), "TMPDIR": str(scratch)}
    server = start_server(env, tmp_path / "server.log", workers=2)
    try:
        assert requests.get(f"{server.url}/metrics", timeout=10).status_code == 200
        assert [p.name[:17] for p in scratch.glob("registry-metrics-*")] == ["registry-metrics-"]
    finally:
        server.stop()
    assert server.process.returncode == 0
    assert list(scratch.glob("registry-metrics-*")) == []


def test_reload_replaces_workers_without_a_failed_request(database_url, tmp_path, live_server):
    seed(database_url, tmp_path)
    url = f"{live_server.url}{PREDICT}"
    before = {requests.post(url, json=ROW, timeout=30).headers["X-Worker"] for _ in range(20)}
    stop = threading.Event()
    failures: list[str] = []
    seen: set[str] = set()

    def load() -> None:
        while not stop.is_set():
            try:
                answer = requests.post(url, json=ROW, timeout=30)
            except requests.RequestException as error:
                failures.append(repr(error))
                continue
            if answer.status_code != 200:
                failures.append(answer.text[:200])
            seen.add(answer.headers["X-Worker"])

    threads = [threading.Thread(target=load) for _ in range(4)]
    for thread in threads:
        thread.start()
    try:
        live_server.process.send_signal(signal.SIGHUP)
        # Bounded: until two new workers have answered.
        for _ in range(600):
            if len(seen - before) >= 2:
                break
            stop.wait(0.1)
    finally:
        stop.set()
        for thread in threads:
            thread.join()
    assert failures == []
    assert len(seen - before) >= 2


@SQLITE_ONLY
def test_expect_100_continue_gets_its_interim_answer_before_the_body(
    database_url, tmp_path, live_server
):
    seed(database_url, tmp_path)
    body = b'{"area": 1500, "bedrooms": 3, "bathrooms": 2, "age": 10}'
    head = (
        f"POST {PREDICT} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        f"Expect: 100-continue\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    ).encode()
    with socket.create_connection(address(live_server), timeout=10) as sock:
        sock.sendall(head)
        assert sock.recv(65536).startswith(b"HTTP/1.1 100 Continue\r\n\r\n")
        sock.sendall(body)
        rest = raw_answer(sock)
    # Past any second interim answer, the prediction.
    assert b"HTTP/1.1 200" in rest, rest
