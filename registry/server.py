"""Serving the app with gunicorn: N worker processes sharing metrics files."""

from __future__ import annotations

import gc
import math
import os
import shutil
import tempfile
from typing import Any

import orjson
from gunicorn import util
from gunicorn.app.base import BaseApplication
from gunicorn.http import wsgi
from gunicorn.workers.sync import SyncWorker

from registry.access_log import access_log_options

_ERROR_CODES = {
    400: "bad_request",
    403: "forbidden",
    414: "uri_too_long",
    417: "expectation_failed",
    431: "headers_too_large",
    501: "not_implemented",
}


def write_json_error(sock: Any, status: int, reason: str, message: str) -> None:
    """Answer a request gunicorn refused before the app saw it, in the API's error shape."""
    body = orjson.dumps(
        {"message": f"{reason}: {message}"[:500], "code": _ERROR_CODES.get(status, "bad_request")}
    )
    # The request could not be read, so its own X-Request-ID is unknown: a fresh one.
    head = (
        f"HTTP/1.1 {status} {reason}\r\nConnection: close\r\n"
        f"X-Request-ID: {os.urandom(16).hex()}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    util.write_nonblock(sock, head.encode("latin-1") + body)


class CoalescingResponse(wsgi.Response):
    """gunicorn's response, sending its head with the first piece of the body.

    gunicorn writes the head and the body with two sends: with TCP_NODELAY, two packets and
    two wake-ups of the client for every small answer. Here a single-row answer is one.
    """

    pending_head: bytes | None = None
    # Set while gunicorn sends a file: it writes the file's bytes itself, right after the head.
    head_now: bool = False

    def send_headers(self) -> None:
        if self.headers_sent:
            return
        lines = self.default_headers()
        lines.extend(f"{name}: {value}\r\n" for name, value in self.headers)
        self.pending_head = ("".join(lines) + "\r\n").encode("latin-1")
        self.headers_sent = True
        if self.head_now:
            self.flush_head()

    def _emit_body(self, data: bytes) -> None:
        head, self.pending_head = self.pending_head, None
        if head is not None and not self.chunked:
            util.write(self.sock, head + data)
            return
        if head is not None:
            util.write(self.sock, head)
        super()._emit_body(data)

    def flush_head(self) -> None:
        head, self.pending_head = self.pending_head, None
        if head is not None:
            util.write(self.sock, head)

    def sendfile(self, respiter: Any) -> bool:
        # gunicorn's sendfile calls send_headers and then writes the file to the socket:
        # the head has to leave first, or the client reads the file's bytes as the head.
        self.flush_head()
        self.head_now = True
        try:
            return super().sendfile(respiter)
        finally:
            self.head_now = False

    def close(self) -> None:
        if not self.headers_sent:
            self.send_headers()
        self.flush_head()  # an answer without a body, or before the last chunk
        super().close()


def adapt_gunicorn() -> None:
    """Make this worker process's gunicorn answer the registry's way.

    gunicorn writes its own error pages through util.write_error and builds responses from
    wsgi.Response; this process serves only the registry, so the replacements stay inside it.
    """
    util.write_error = write_json_error
    wsgi.Response = CoalescingResponse


class JsonErrorSyncWorker(SyncWorker):
    """gunicorn's sync worker, whose own error pages (414, 431, bad framing) are JSON too."""

    def init_process(self) -> None:
        adapt_gunicorn()
        super().init_process()


def prepare_metrics_dir() -> str:
    """Point prometheus_client at a fresh folder shared by every worker; return it."""
    folder = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if not folder:
        folder = tempfile.mkdtemp(prefix="registry-metrics-")
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = folder
    for leftover in os.listdir(folder):
        if leftover.endswith(".db"):
            os.unlink(os.path.join(folder, leftover))
    return folder


def _post_worker_init(_worker: Any) -> None:
    # The app's long-lived objects need no garbage collection; full collections then skip them.
    gc.freeze()


def _child_exit(_server: Any, worker: Any) -> None:
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


class RegistryServer(BaseApplication):
    """gunicorn running create_app() in each worker."""

    def __init__(self, options: dict[str, Any], app_options: dict[str, Any] | None = None):
        self.options = options
        self.app_options = app_options or {}
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> Any:
        from registry.app import create_app

        return create_app(self.app_options)


def worker_timeout(config: Any) -> int:
    """Return the seconds gunicorn lets a worker go without checking in before killing it.

    The buffering worker's event loop checks in every second, whatever its thread is doing.
    A sync worker checks in between requests only, so it must outlive the longest one:
    training waiting for its child on a busy machine, then the intake of the result.
    """
    if config.worker_class != "sync":
        return 120
    return max(120, math.ceil(config.train_timeout + config.intake_timeout) + 30)


WORKER_CLASSES = {
    # Reads each request whole without blocking, then answers it on the event loop's thread
    # (uploads and training on a pool thread).
    "buffering": "registry.worker.BufferingWorker",
    # gunicorn's sync worker: a client that stalls mid-request holds the worker.
    "sync": "registry.server.JsonErrorSyncWorker",
}


def serve(host: str, port: int, workers: int, app_options: dict[str, Any] | None = None) -> None:
    """Run gunicorn in the foreground until it is stopped."""
    from config import Config

    config = Config.from_env()
    master = os.getpid()
    created = not os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    metrics_dir = prepare_metrics_dir()
    options = {
        "bind": f"{host}:{port}",
        "workers": workers,
        "worker_class": WORKER_CLASSES[config.worker_class],
        # The pool threads of the buffering worker run only uploads and training, which
        # wait on a child process: two let one of each run while the loop answers the rest.
        "threads": 2,
        # A kept-alive client stays on one worker; it never waits behind that worker's long
        # requests, which run on the pool. (Sync workers close every connection regardless.)
        "keepalive": 5,
        "timeout": worker_timeout(config),
        "child_exit": _child_exit,
        "post_worker_init": _post_worker_init,
        **access_log_options(),
        "errorlog": "-",
        "loglevel": "warning",
    }
    try:
        RegistryServer(options, {**(app_options or {}), "metrics_dir": metrics_dir}).run()
    finally:
        # Workers leave through here too (gunicorn forks them inside run()).
        if created and os.getpid() == master:
            shutil.rmtree(metrics_dir, ignore_errors=True)
