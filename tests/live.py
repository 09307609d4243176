"""A real server for tests: `manage.py serve` with gunicorn workers on a free loopback port."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class LiveServer:
    url: str
    env: dict[str, str]
    process: subprocess.Popen

    log: Path

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def manage(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
        """Run a manage.py command against the same database and artifact store."""
        return subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )


def server_env(database_url: str, artifact_root: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("REGISTRY_")}
    env.update(
        REGISTRY_DATABASE_URL=database_url,
        REGISTRY_ARTIFACT_ROOT=str(artifact_root),
        PROMETHEUS_MULTIPROC_DIR="",
        # Tests tell the workers apart by it.
        REGISTRY_WORKER_HEADER="true",
        **extra,
    )
    env.pop("PROMETHEUS_MULTIPROC_DIR")
    return env


def start_server(
    # A loaded 2-core machine has taken 80 s to bring up two workers (either worker class).
    env: dict[str, str],
    log: Path,
    workers: int = 2,
    timeout: float = 180,
) -> LiveServer:
    """Start `manage.py serve` and wait until /health/ready answers; output goes to ``log``."""
    port = free_port()
    with open(log, "wb") as output:
        process = subprocess.Popen(
            [
                sys.executable,
                "manage.py",
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--workers",
                str(workers),
            ],
            cwd=ROOT,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"The server exited: {log.read_text()[-2000:]}")
        try:
            if requests.get(f"{url}/health/ready", timeout=5).status_code == 200:
                return LiveServer(url=url, env=env, process=process, log=log)
        except requests.RequestException:
            pass
        time.sleep(0.1)
    process.kill()
    raise RuntimeError("The server did not become ready in time.")
