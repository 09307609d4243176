"""The benchmarked processes: start the registry and the ceiling, find their workers' memory."""

from __future__ import annotations

import importlib.util
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from registry.bench.loadgen import Address, build_request, fetch

ROOT = Path(__file__).resolve().parent.parent.parent


@dataclass(frozen=True)
class WorkerMemory:
    """One gunicorn worker's resident memory, now and at its peak, in MiB."""

    pid: int
    rss_mb: float
    peak_mb: float


@dataclass
class ServerProcess:
    """A gunicorn master started for the benchmark."""

    name: str
    address: Address
    process: subprocess.Popen
    log: Path
    workers: int

    @property
    def url(self) -> str:
        return f"http://{self.address[0]}:{self.address[1]}"

    def stop(self) -> None:
        """Stop gunicorn gracefully, killing it if it lingers."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def cpu_seconds(self) -> float:
        """Return the user + system CPU time the master and its workers have used so far."""
        return sum(cpu_of(pid) for pid in [self.process.pid, *children_of(self.process.pid)])

    def worker_memory(self) -> list[WorkerMemory]:
        """Return the memory of each worker process of this master."""
        return [memory_of(pid) for pid in children_of(self.process.pid)]


def free_port() -> int:
    """Return a loopback port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def children_of(pid: int) -> list[int]:
    """Return the pids whose parent is ``pid``, read from /proc."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        # The command name may hold spaces and parentheses: the fields follow the last ')'.
        fields = stat[stat.rindex(")") + 2 :].split()
        if int(fields[1]) == pid:
            found.append(int(entry))
    return sorted(found)


def cpu_of(pid: int) -> float:
    """Return a process's user + system CPU seconds, 0 when it is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0.0
    fields = stat[stat.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def memory_of(pid: int) -> WorkerMemory:
    """Read VmRSS and VmHWM (peak resident set) of a process."""
    values = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            values[key] = int(rest.split()[0]) / 1024
    return WorkerMemory(pid, values.get("VmRSS", 0.0), values.get("VmHWM", 0.0))


def _start(
    name: str,
    command: list[str],
    env: dict[str, str],
    workers: int,
    ready_path: str,
    log: Path,
    timeout: float,
) -> ServerProcess:
    port = free_port()
    with open(log, "wb") as output:
        process = subprocess.Popen(
            [*command, "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers)],
            cwd=ROOT,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    server = ServerProcess(name, ("127.0.0.1", port), process, log, workers)
    probe = build_request("GET", ready_path)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"The {name} exited: {log.read_text()[-2000:]}")
        try:
            answered = fetch(server.address, probe, timeout=5).status == 200
        except OSError:
            answered = False
        if answered and len(children_of(process.pid)) >= workers:
            return server
        time.sleep(0.1)
    server.stop()
    raise RuntimeError(f"The {name} did not become ready in {timeout:.0f} s: see {log}.")


def start_registry(
    env: dict[str, str], workers: int, log: Path, timeout: float = 90
) -> ServerProcess:
    """Start `manage.py serve` and wait until every worker is up and /health/ready answers."""
    command = [sys.executable, "manage.py", "serve"]
    return _start("registry server", command, env, workers, "/health/ready", log, timeout)


def start_ceiling(
    env: dict[str, str], workers: int, log: Path, timeout: float = 60
) -> ServerProcess:
    """Start the bare Flask app under the same gunicorn settings."""
    command = [sys.executable, "-m", "registry.bench.ceiling"]
    return _start("ceiling app", command, env, workers, "/ready", log, timeout)


def granian_installed() -> bool:
    """Return whether granian (the Rust HTTP server) can be started."""
    return importlib.util.find_spec("granian") is not None


def _granian(factory: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "granian",
        "--interface",
        "wsgi",
        "--factory",
        "--log-level",
        "warning",
        "--no-ws",
        factory,
    ]


def start_granian_ceiling(
    env: dict[str, str], workers: int, log: Path, timeout: float = 60
) -> ServerProcess:
    """Start the bare Flask app under granian's WSGI interface (a second ceiling)."""
    command = _granian("registry.bench.ceiling:create_ceiling_app")
    return _start("granian ceiling", command, env, workers, "/ready", log, timeout)


def start_granian_registry(
    env: dict[str, str], workers: int, log: Path, timeout: float = 90
) -> ServerProcess:
    """Start the registry app itself under granian's WSGI interface: what a switch would give.

    Not a supported way to serve it: granian answers malformed HTTP itself, not in JSON.
    """
    command = _granian("registry.app:create_app")
    return _start("registry on granian", command, env, workers, "/health/ready", log, timeout)


def start_trivial(log: Path, timeout: float = 20) -> tuple[subprocess.Popen, Address]:
    """Start the trivial constant-answer socket server."""
    port = free_port()
    with open(log, "wb") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "registry.bench.trivial", str(port)],
            cwd=ROOT,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return process, ("127.0.0.1", port)
        except OSError:
            time.sleep(0.05)
    process.kill()
    raise RuntimeError("The trivial socket server did not start.")
