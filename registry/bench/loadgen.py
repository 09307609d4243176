"""The built-in load generator: raw non-blocking sockets, pre-built HTTP/1.1 requests, one epoll."""

from __future__ import annotations

import errno
import resource
import select
import socket
import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

Address = tuple[str, int]
# Seconds after the load's end that answers still in flight are waited for, at most.
ABANDON_AFTER = 10.0


@dataclass(frozen=True)
class LoadResult:
    """What one load run measured; latencies in seconds."""

    completed: int
    errors: int
    seconds: float
    p50: float
    p99: float
    client_cpu_seconds: float
    tool: str

    @property
    def requests_per_second(self) -> float:
        return self.completed / self.seconds if self.seconds > 0 else 0.0


@dataclass(frozen=True)
class Reply:
    """One HTTP answer read to the end, and how long it took."""

    status: int
    headers: dict[str, str]
    body: bytes
    seconds: float


def build_request(
    method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None
) -> bytes:
    """Return the bytes of one HTTP/1.1 request that asks the server to close afterwards."""
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", "Connection: close"]
    if body or method in ("POST", "PUT", "PATCH"):
        lines += ["Content-Type: application/json", f"Content-Length: {len(body)}"]
    lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def parse_reply(raw: bytes, seconds: float) -> Reply:
    """Split a complete HTTP answer into status, headers and body."""
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    if headers.get("transfer-encoding", "").lower() == "chunked":
        body = _unchunk(body)
    return Reply(int(lines[0].split()[1]), headers, body, seconds)


def _unchunk(data: bytes) -> bytes:
    parts, position = [], 0
    while True:
        end = data.index(b"\r\n", position)
        size = int(data[position:end].split(b";")[0], 16)
        if size == 0:
            return b"".join(parts)
        parts.append(data[end + 2 : end + 2 + size])
        position = end + 2 + size + 2


def fetch(address: Address, request: bytes, timeout: float = 60.0) -> Reply:
    """Send one request on a fresh connection and read the answer until the server closes."""
    started = time.perf_counter()
    with socket.create_connection(address, timeout=timeout) as sock:
        sock.sendall(request)
        chunks = []
        while chunk := sock.recv(262144):
            chunks.append(chunk)
        # Until the server's close, as run_load times it: joining an 80 MB answer is ours.
        seconds = time.perf_counter() - started
    return parse_reply(b"".join(chunks), seconds)


class _Slot:
    """One connection of the load: the request being sent and the answer being read."""

    __slots__ = ("sock", "view", "sent", "first", "started", "connected")

    def __init__(self, sock: socket.socket, request: bytes) -> None:
        self.sock = sock
        self.view = memoryview(request)
        self.sent = 0
        self.first = b""
        self.started = 0.0
        self.connected = False


def run_load(
    address: Address,
    requests: Sequence[bytes],
    concurrency: int,
    duration: float | None = None,
    total: int | None = None,
) -> LoadResult:
    """Keep ``concurrency`` requests in flight for ``duration`` seconds or ``total`` requests.

    Requests are taken from ``requests`` in turn. Latency runs from the first byte written
    to the server's close, like wrk's. A non-200 answer or a socket error counts as an error.
    """
    if (duration is None) == (total is None):
        raise ValueError("Give exactly one of duration and total.")
    poller = select.epoll()
    slots: dict[int, _Slot] = {}
    latencies: list[float] = []
    errors = 0
    issued = 0
    clock = time.perf_counter
    usage = resource.getrusage(resource.RUSAGE_SELF)
    cpu_before = usage.ru_utime + usage.ru_stime
    started = clock()
    deadline = started + duration if duration is not None else float("inf")

    def want_more() -> bool:
        return issued < total if total is not None else clock() < deadline

    def open_slot() -> None:
        nonlocal issued, errors
        request = requests[issued % len(requests)]
        issued += 1
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setblocking(False)
        code = sock.connect_ex(address)
        if code not in (0, errno.EINPROGRESS):
            errors += 1
            sock.close()
            return
        slot = _Slot(sock, request)
        slots[sock.fileno()] = slot
        poller.register(sock.fileno(), select.EPOLLOUT)

    def finish(fd: int, slot: _Slot, ok: bool) -> None:
        nonlocal errors
        poller.unregister(fd)
        slot.sock.close()
        del slots[fd]
        if ok and slot.first[9:12] == b"200":
            latencies.append(clock() - slot.started)
        else:
            errors += 1
        if want_more():
            open_slot()

    for _ in range(concurrency if total is None else min(concurrency, total)):
        open_slot()
    # A server that stops answering (stalled by other clients) must not hang the benchmark.
    cutoff = deadline + min(ABANDON_AFTER, max(2.0, 2 * (duration or 0.0)))
    while slots:
        if clock() > cutoff:
            errors += len(slots)
            for fd, slot in list(slots.items()):
                poller.unregister(fd)
                slot.sock.close()
            slots.clear()
            break
        for fd, events in poller.poll(1.0):
            slot = slots[fd]
            try:
                if events & select.EPOLLOUT:
                    if not slot.connected:
                        if slot.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR):
                            finish(fd, slot, False)
                            continue
                        slot.connected = True
                        slot.started = clock()
                    slot.sent += slot.sock.send(slot.view[slot.sent :])
                    if slot.sent == len(slot.view):
                        poller.modify(fd, select.EPOLLIN)
                elif events & (select.EPOLLIN | select.EPOLLHUP | select.EPOLLERR):
                    chunk = slot.sock.recv(262144)
                    if not chunk:
                        finish(fd, slot, bool(slot.first))
                    elif not slot.first:
                        slot.first = chunk
            except (BlockingIOError, InterruptedError):
                continue
            except OSError:
                finish(fd, slot, False)
    seconds = clock() - started
    poller.close()
    usage = resource.getrusage(resource.RUSAGE_SELF)
    p50, p99 = np.percentile(latencies, [50, 99]) if latencies else (0.0, 0.0)
    return LoadResult(
        completed=len(latencies),
        errors=errors,
        seconds=seconds,
        p50=float(p50),
        p99=float(p99),
        client_cpu_seconds=usage.ru_utime + usage.ru_stime - cpu_before,
        tool="builtin",
    )
