"""The worker's side of the intake zygote: start it once, ask it for fenced children.

Each worker process starts its own zygote on its first upload (a gunicorn worker forked
from the arbiter starts a new one: a zygote belongs to the process that started it). A
zygote found dead is started again; when that fails, the caller falls back to a fresh
interpreter per upload (registry.intake.sandbox) and logs why.
"""

from __future__ import annotations

import json
import logging
import os
import select
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

# The zygote's protocol (registry.intake.zygote): descriptors an order carries (the child's
# stdin, stdout, stderr and a reply socket), the largest message, and its first word.
CHILD_FDS = 4
MAX_ORDER = 4096
READY = b"ready"

_ROOT = Path(__file__).resolve().parents[2]
_BOOTSTRAP = (
    "import sys; sys.dont_write_bytecode = True; sys.path.insert(0, {root!r}); "
    "from registry.intake.zygote import main; main()"
)
# Importing numpy, pandas, scikit-learn and skops and opening two models, on a busy machine.
START_SECONDS = 120.0
# After a zygote failed to start, uploads take the fresh-interpreter path this long before
# the next attempt, rather than each paying for a start that is likely to fail again.
RETRY_SECONDS = 60.0


class ZygoteUnavailable(Exception):
    """No zygote could give a child; the message says why."""


class ZygoteChild:
    """A child forked by the zygote, with the part of subprocess.Popen that intake uses."""

    def __init__(self, pid: int, pidfd: int, reply: socket.socket, pipes: list[int]) -> None:
        self.pid, self._pidfd, self._reply = pid, pidfd, reply
        self.stdin = os.fdopen(pipes[0], "wb", buffering=0)
        self.stdout = os.fdopen(pipes[1], "rb", buffering=0)
        self.stderr = os.fdopen(pipes[2], "rb", buffering=0)
        self.returncode: int | None = None

    def poll(self) -> int | None:
        """Return the exit code if the child has ended, else None."""
        try:
            return self.wait(0)
        except subprocess.TimeoutExpired:
            return None

    def wait(self, timeout: float | None = None) -> int:
        """Wait for the zygote to report the child's end; raise ZygoteUnavailable if it died."""
        if self.returncode is not None:
            return self.returncode
        if not _readable(self._reply, timeout):
            raise subprocess.TimeoutExpired("intake child", timeout or 0)
        raw = self._reply.recv(MAX_ORDER)
        try:
            self.returncode = int(json.loads(raw)["status"])
        except (ValueError, KeyError, TypeError):
            raise ZygoteUnavailable("The zygote went away while a child ran.") from None
        return self.returncode

    def kill(self) -> None:
        """Send SIGKILL through the pidfd: never to another process that reused the pid."""
        try:
            signal.pidfd_send_signal(self._pidfd, signal.SIGKILL)
        except ProcessLookupError:
            pass

    def __enter__(self) -> ZygoteChild:
        return self

    def __exit__(self, *_: Any) -> None:
        for stream in (self.stdin, self.stdout, self.stderr):
            if not stream.closed:
                stream.close()
        self._reply.close()
        os.close(self._pidfd)


class Spawner:
    """This process's zygote, started on first use and again when found dead."""

    def __init__(self, env: dict[str, str]) -> None:
        self._env = env
        self._lock = threading.Lock()
        self._owner = 0
        self._process: subprocess.Popen[bytes] | None = None
        self._control: socket.socket | None = None
        self._failure: tuple[float, str] | None = None

    def spawn(self, cpu_seconds: int, artifact_format: str, weak: frozenset[str]) -> ZygoteChild:
        """Return a fresh child that will raise its fences, then read its stdin.

        One retry with a new zygote when the current one is gone; ZygoteUnavailable after.
        """
        order = json.dumps(
            {"cpu_seconds": cpu_seconds, "format": artifact_format, "weak": sorted(weak)}
        ).encode()
        failed = None
        for attempt in (1, 2):
            control = self._zygote(failed)
            try:
                return self._order(control, order)
            except (OSError, ZygoteUnavailable) as exc:
                if attempt > 1:
                    raise ZygoteUnavailable(str(exc)) from exc
                log.warning("The intake zygote is gone (%s); starting another.", exc)
                failed = control
        raise AssertionError("unreachable")

    def zygote_pid(self) -> int | None:
        """Return the pid of this process's zygote, if it has one running."""
        process = self._process
        if self._owner != os.getpid() or process is None or process.poll() is not None:
            return None
        return process.pid

    def _order(self, control: socket.socket, order: bytes) -> ZygoteChild:
        stdin_r, stdin_w = os.pipe()
        stdout_r, stdout_w = os.pipe()
        stderr_r, stderr_w = os.pipe()
        mine, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        try:
            socket.send_fds(control, [order], [stdin_r, stdout_w, stderr_w, theirs.fileno()])
        except OSError:
            mine.close()
            _close(stdin_r, stdin_w, stdout_r, stdout_w, stderr_r, stderr_w)
            raise
        finally:
            theirs.close()
        _close(stdin_r, stdout_w, stderr_w)
        try:
            raw, fds, _, _ = socket.recv_fds(mine, MAX_ORDER, 1)
            answer = json.loads(raw) if raw else {"error": "The zygote closed the reply."}
            if "pid" not in answer or len(fds) != 1:
                _close(*fds)
                raise ZygoteUnavailable(str(answer.get("error", "no child")))
        except (OSError, ValueError, ZygoteUnavailable):
            mine.close()
            _close(stdin_w, stdout_r, stderr_r)
            raise
        return ZygoteChild(int(answer["pid"]), fds[0], mine, [stdin_w, stdout_r, stderr_r])

    def _zygote(self, failed: socket.socket | None) -> socket.socket:
        """Return the control socket of a live zygote; replace ``failed`` if still current."""
        with self._lock:
            if self._owner != os.getpid():
                # Inherited through a fork (a gunicorn worker): the zygote is not ours.
                if self._control is not None:
                    self._control.close()  # this copy only: the zygote stays its owner's
                self._process = self._control = None
                self._owner = os.getpid()
            dead = self._process is None or self._process.poll() is not None
            if self._control is not None and (self._control is failed or dead):
                self._stop()
            if self._control is None:
                if self._failure and time.monotonic() - self._failure[0] < RETRY_SECONDS:
                    raise ZygoteUnavailable(self._failure[1])
                try:
                    self._control = self._start()
                except ZygoteUnavailable as exc:
                    self._failure = (time.monotonic(), str(exc))
                    raise
                self._failure = None
            return self._control

    def _start(self) -> socket.socket:
        mine, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        began = time.monotonic()
        try:
            self._process = subprocess.Popen(
                [
                    sys.executable,
                    "-I",
                    "-B",
                    "-c",
                    _BOOTSTRAP.format(root=str(_ROOT)),
                    str(theirs.fileno()),
                    str(os.getpid()),
                ],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                env=dict(self._env),
                cwd="/",
                pass_fds=[theirs.fileno()],
                start_new_session=True,
            )
        except OSError as exc:
            mine.close()
            raise ZygoteUnavailable(f"The zygote could not start: {exc}") from exc
        finally:
            theirs.close()
        raw = mine.recv(MAX_ORDER) if _readable(mine, START_SECONDS) else b""
        if raw != READY:
            mine.close()
            self._process.kill()
            self._process.wait()
            self._process = None
            why = raw.decode(errors="replace") or "it did not get ready in time"
            raise ZygoteUnavailable(f"The zygote could not start: {why}.")
        log.info("Intake zygote %d ready in %.1f s.", self._process.pid, time.monotonic() - began)
        return mine

    def _stop(self) -> None:
        assert self._control is not None and self._process is not None
        self._control.close()  # the zygote exits when it reads the end of its socket
        try:
            self._process.wait(5)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        self._process = self._control = None


def _readable(sock: socket.socket, timeout: float | None) -> bool:
    """Wait for ``sock`` to have something to read (poll: a worker may hold 1,024 fds)."""
    poller = select.poll()
    poller.register(sock, select.POLLIN)
    return bool(poller.poll(None if timeout is None else timeout * 1000))


def _close(*fds: int) -> None:
    for fd in fds:
        try:
            os.close(fd)
        except OSError:
            pass


_spawner: Spawner | None = None
_spawner_lock = threading.Lock()


def spawner(env: dict[str, str]) -> Spawner:
    """Return this process's spawner (one zygote per worker process)."""
    global _spawner
    with _spawner_lock:
        if _spawner is None:
            _spawner = Spawner(env)
        return _spawner
