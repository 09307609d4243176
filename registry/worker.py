"""The gunicorn worker: requests are read whole off the event loop, then answered.

gunicorn's sync worker reads each request itself, so two clients that send half a request
and stall hold both workers. This worker is gunicorn's threaded worker with two changes.
A connection is read without blocking, in the worker's event loop, until its request is
complete (or evidently malformed, or larger than any body the app accepts): idle and slow
clients cost a socket and a buffer, never a thread, and a connection that sends nothing for
``REGISTRY_REQUEST_READ_TIMEOUT`` seconds is closed. Then a quick request (a prediction, a
read, an activation) is answered right there, on the event loop's thread, as a sync worker
would answer it: handing it to another thread costs as much as a single-row prediction.
Only the requests that wait on a child process (uploads and training) go to the thread pool,
so predictions keep being answered while they run. A plain request (registry.plain_http)
is answered without gunicorn's parser and environ building, which cost as much CPU as the
prediction; every other request goes through gunicorn as before. On SIGTERM the worker first
accepts every connection already queued on the listening socket, so that they are answered,
not reset.
"""

from __future__ import annotations

import errno
import os
import selectors
import socket
import struct
import time
from concurrent import futures
from functools import partial
from typing import Any

from gunicorn import http, util
from gunicorn.workers.gthread import STOP_KEEPALIVE_LINGER, TConn, ThreadWorker

from config import Config
from registry.plain_http import (
    Limits,
    PlainRequest,
    PlainResponse,
    base_environ,
    build_environ,
    parse_plain,
    write_answer,
)
from registry.server import adapt_gunicorn

CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"
# A chunk-size line longer than this is broken chunking: the parser refuses it.
CHUNK_LINE_LIMIT = 1 << 10
# How long a closing connection may still send before it is closed (gunicorn's own limit).
LINGER_SECONDS = 2.0


class RequestBuffer:
    """The bytes of one request as they arrive, and whether enough has come to hand it over.

    Enough means: the head and the whole body, a head or chunked body the parser will refuse,
    or a declared body over ``body_limit`` (the app refuses it by its length, unread). Each
    byte is scanned once, however the request is split.
    """

    def __init__(self, body_limit: int, head_limit: int, data: bytes = b"") -> None:
        self.body_limit = body_limit
        # A head without its end past this size is handed over: the parser refuses it.
        self.head_limit = head_limit
        self.expects_continue = False
        # Uploads and training: the app waits seconds on a child process for these.
        self.waits_on_child = False
        self.data = bytearray()
        self.head_lines: list[bytes] = []
        self.body_start: int | None = None
        self.length: int | None = None
        self.chunked = False
        self.next_chunk = 0  # where the next chunk-size line starts, in a chunked body
        self.complete = False
        if data:
            self.feed(data)

    def feed(self, chunk: bytes) -> bool:
        """Add received bytes; return whether the request can be handed over."""
        scanned = max(0, len(self.data) - 3)
        self.data += chunk
        if self.body_start is None:
            end = self.data.find(b"\r\n\r\n", scanned)
            if end < 0:
                self.complete = len(self.data) > self.head_limit
                return self.complete
            self.complete = self._read_head(end)
            if self.complete:
                return True
        if self.chunked:
            self.complete = self._chunks_complete()
        else:
            assert self.body_start is not None and self.length is not None
            self.complete = len(self.data) - self.body_start >= self.length
        return self.complete

    def _read_head(self, end: int) -> bool:
        """Note where the body starts and how long it is; True when that already settles it."""
        self.body_start = self.next_chunk = end + 4
        self.head_lines = bytes(self.data[:end]).split(b"\r\n")
        request_line, *header_lines = self.head_lines
        path = request_line.split(b" ")[1].partition(b"?")[0] if b" " in request_line else b""
        self.waits_on_child = path.endswith(b"/train")
        for line in header_lines:
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                try:
                    self.length = int(value.strip())
                except ValueError:
                    return True
            elif name == b"transfer-encoding":
                self.chunked = b"chunked" in value.lower()
            elif name == b"content-type":
                self.waits_on_child |= value.strip().lower().startswith(b"multipart/")
            elif name == b"expect":
                self.expects_continue = value.strip().lower() == b"100-continue"
        if self.chunked:
            return False
        if self.length is None:
            self.length = 0
        return self.length < 0 or self.length > self.body_limit

    def _chunks_complete(self) -> bool:
        assert self.body_start is not None
        data = self.data
        while True:
            eol = data.find(b"\r\n", self.next_chunk)
            if eol < 0:
                return len(data) - self.next_chunk > CHUNK_LINE_LIMIT
            size_text = bytes(data[self.next_chunk : eol]).split(b";")[0].strip()
            try:
                size = int(size_text, 16)
            except ValueError:
                return True
            if size < 0:
                return True
            if size == 0:
                # The last chunk, then optional trailers and an empty line.
                return data.find(b"\r\n\r\n", eol) >= 0
            following = eol + 2 + size + 2
            if following - self.body_start > self.body_limit:
                return True
            if following > len(data):
                return False
            self.next_chunk = following


def _socket_timeouts(sock: socket.socket, seconds: float) -> None:
    # Kernel-level, so that they survive gunicorn's setblocking(True): a client that stops
    # reading its answer (or sending a body too large to buffer) holds the thread this long.
    whole = int(seconds)
    value = struct.pack("ll", whole, int((seconds - whole) * 1e6))
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, value)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, value)


class Conn(TConn):
    """gunicorn's connection, noting whether its socket's kernel timeouts are set."""

    timeouts_set = False


class BufferingWorker(ThreadWorker):
    """gunicorn's threaded worker that buffers each request before its thread sees it."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.reading: dict[Conn, float] = {}
        self.buffers: dict[Conn, RequestBuffer] = {}
        self.lingering: dict[Conn, float] = {}  # closing connections, until when
        self.drained = False
        config = Config.from_env()
        self.read_timeout = config.request_read_timeout
        self.body_limit = max(config.max_upload_bytes, config.max_body_bytes, config.max_csv_bytes)
        cfg = self.cfg
        # The largest head gunicorn's parser reads before it refuses one.
        self.head_limit = max(
            64 << 10,
            cfg.limit_request_line + cfg.limit_request_fields * (cfg.limit_request_field_size + 2),
        )

    def init_process(self) -> None:
        adapt_gunicorn()
        self.limits = Limits(self.cfg)
        self.base_environ = base_environ(self.cfg)
        # gunicorn's path writes the access log; SCRIPT_NAME moves PATH_INFO (both rare).
        self.plain_enabled = not self.cfg.accesslog and not os.environ.get("SCRIPT_NAME")
        self.listener_names: dict[Any, tuple[Any, Any]] = {}
        super().init_process()

    def accept(self, listener: Any) -> None:
        """Accept a connection and start reading its first request."""
        try:
            # socket.accept() looks up the listener's family and type through enum
            # conversions each time, and getsockname() is a system call: both are cached.
            fd, address = listener._accept()
        except OSError as error:
            if error.errno not in (errno.EAGAIN, errno.ECONNABORTED, errno.EWOULDBLOCK):
                raise
            return
        names = self.listener_names.get(listener)
        if names is None:
            names = self.listener_names[listener] = (listener.family, listener.getsockname())
        client = socket.socket(names[0], socket.SOCK_STREAM, 0, fd)
        self.nr_conns += 1
        conn = Conn(self.cfg, client, address, names[1])
        self._start_reading(conn, b"")

    def on_client_socket_readable(self, conn: Conn, client: socket.socket) -> None:
        """A kept-alive connection sends again: read its next request the same way."""
        self.poller.unregister(client)
        self.keepalived_conns.remove(conn)
        self._start_reading(conn, b"")

    def answer_here(self, conn: Conn) -> None:
        """Answer a quick request on the event loop's thread, as a sync worker would."""
        done: futures.Future[bool] = futures.Future()
        done.set_result(self.handle(conn))  # gunicorn's handle() catches what the app raises
        self.finish_request(conn, done)

    def finish_request(self, conn: Conn, fs: Any) -> None:
        """After an answer: keep the connection, or read a pipelined request, or close."""
        try:
            keep = fs.result() if not fs.cancelled() else False
            if keep and conn.parser.unreader.buf.getvalue():
                # Through the loop, not by recursion: a client may pipeline thousands.
                self.method_queue.defer(
                    self._start_reading, conn, conn.parser.unreader.take_buffered()
                )
                return
            if not keep:
                self._linger(conn)
                return
        except Exception:  # noqa: BLE001 - gunicorn's own handling below closes it
            pass
        super().finish_request(conn, fs)

    def _linger(self, conn: Conn) -> None:
        """Close after the answer as RFC 9112 (9.6) asks, without waiting on the loop.

        gunicorn half-closes, then reads until the client closes, blocking for up to two
        seconds; on the loop's thread that would hold every other client. Here the loop
        reads what the client still sends, and closes at its end or after LINGER_SECONDS.
        """
        sock = conn.sock
        try:
            sock.shutdown(socket.SHUT_WR)
            sock.setblocking(False)
        except OSError:
            self._close(conn)
            return
        self.lingering[conn] = time.monotonic() + LINGER_SECONDS
        self.poller.register(sock, selectors.EVENT_READ, partial(self._on_linger_readable, conn))

    def _on_linger_readable(self, conn: Conn, client: socket.socket) -> None:
        try:
            more = client.recv(1 << 16)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            more = b""
        if not more:
            self.poller.unregister(client)
            self._close(conn)

    def _close(self, conn: Conn) -> None:
        self.lingering.pop(conn, None)
        self.nr_conns -= 1
        util.close(conn.sock)

    def _start_reading(self, conn: Conn, already: bytes) -> None:
        if conn.sock.gettimeout() != 0.0:  # a kept-alive socket is non-blocking already
            conn.sock.setblocking(False)
        self.buffers[conn] = buffer = RequestBuffer(self.body_limit, self.head_limit, already)
        self.reading[conn] = time.monotonic() + self.read_timeout
        if buffer.complete:
            self._hand_over(conn)
        else:
            # A request usually arrives with its connection: reading it now saves a trip
            # through the poller (and, on a busy machine, a wait to be scheduled again).
            self._read(conn, registered=False)

    def _on_readable(self, conn: Conn, _client: socket.socket) -> None:
        self._read(conn, registered=True)

    def _read(self, conn: Conn, registered: bool) -> None:
        client = conn.sock
        try:
            chunk = client.recv(1 << 16)
        except (BlockingIOError, InterruptedError):
            if not registered:
                self.poller.register(client, selectors.EVENT_READ, partial(self._on_readable, conn))
            return
        except OSError:
            chunk = b""
        if not chunk:
            if registered:
                self.poller.unregister(client)
            self._drop(conn)
            return
        self.reading[conn] = time.monotonic() + self.read_timeout
        buffer = self.buffers[conn]
        if buffer.feed(chunk):
            if registered:
                self.poller.unregister(client)
            self._hand_over(conn)
            return
        if not registered:
            self.poller.register(client, selectors.EVENT_READ, partial(self._on_readable, conn))
        if buffer.expects_continue and buffer.body_start is not None:
            # The client waits for this before it sends the body (gunicorn sends it again
            # when the app reads the body: clients skip a second interim answer).
            buffer.expects_continue = False
            try:
                client.send(CONTINUE)
            except OSError:
                pass

    def _hand_over(self, conn: Conn) -> None:
        buffer = self.buffers.pop(conn)
        del self.reading[conn]
        conn.sock.setblocking(True)
        if not conn.timeouts_set:
            # Once per connection: the kernel keeps them for the socket's life.
            _socket_timeouts(conn.sock, self.read_timeout)
            conn.timeouts_set = True
        if self._answer_if_plain(conn, buffer):
            return
        data = bytes(buffer.data)
        if conn.parser is None:
            conn.parser = http.get_parser(self.cfg, conn.sock, conn.client)
            conn.initialized = True
        conn.parser.unreader.unread(data)
        conn.data_ready = True
        if buffer.waits_on_child:
            self.enqueue_req(conn)  # to the thread pool
        else:
            self.answer_here(conn)

    def _answer_if_plain(self, conn: Conn, buffer: RequestBuffer) -> bool:
        """Answer a plain, whole request here; False (nothing done) when gunicorn must read it."""
        start, length = buffer.body_start, buffer.length
        if (
            not self.plain_enabled
            or buffer.waits_on_child
            or buffer.chunked
            or start is None
            or length is None
            or not 0 <= length <= self.body_limit
            or len(buffer.data) < start + length
            or not isinstance(conn.server, tuple)
        ):
            return False
        parsed = parse_plain(buffer.head_lines, self.limits)
        if parsed is None:
            return False
        request, keys = parsed
        data = buffer.data
        body, leftover = bytes(data[start : start + length]), bytes(data[start + length :])
        self._answer_plain(conn, request, keys, body, leftover)
        return True

    def _answer_plain(
        self, conn: Conn, request: PlainRequest, keys: dict, body: bytes, leftover: bytes
    ) -> None:
        """gunicorn's handle_request for a plain request, then what finish_request does."""
        sock = conn.sock
        response = PlainResponse(request, sock, self.cfg)
        environ = build_environ(
            self.base_environ, request, keys, body, sock, conn.client, conn.server
        )
        self.nr += 1
        if self.nr >= self.max_requests and self.alive:
            self.log.info("Autorestarting worker after current request.")
            self.alive = False
        if not self.alive or len(self.keepalived_conns) >= self.max_keepalived:
            response.force_close()
        try:
            write_answer(response, self.wsgi(environ, response.start_response), environ)
        except OSError as error:
            if error.errno not in (errno.EPIPE, errno.ECONNRESET, errno.ENOTCONN):
                self.log.exception("Socket error processing request.")
            self._close(conn)
            return
        except Exception as error:  # noqa: BLE001 - answered as gunicorn answers it
            if response.headers_sent:
                self.log.exception("Error handling request")
                self._close(conn)
            else:
                self.handle_error(request, sock, conn.client, error)
                self._linger(conn)
            return
        if not response.should_close():
            if leftover:
                # Through the loop, not by recursion: a client may pipeline thousands.
                self.method_queue.defer(self._start_reading, conn, leftover)
            else:
                self._keep_alive(conn)
        elif request.close_asked and not leftover:
            # The client asked to close and sent nothing more: no need to linger.
            self._close(conn)
        else:
            self._linger(conn)

    def _keep_alive(self, conn: Conn) -> None:
        """Wait for the connection's next request in the poller (gunicorn's finish_request)."""
        conn.sock.setblocking(False)
        conn.set_timeout()
        if not self.alive:
            conn.timeout = min(conn.timeout, time.monotonic() + STOP_KEEPALIVE_LINGER)
        self.keepalived_conns.append(conn)
        self.poller.register(
            conn.sock, selectors.EVENT_READ, partial(self.on_client_socket_readable, conn)
        )

    def _drop(self, conn: Conn) -> None:
        self.buffers.pop(conn, None)
        self.reading.pop(conn, None)
        self.nr_conns -= 1
        conn.close()

    def murder_pending(self) -> None:
        """Close connections silent for the read timeout; when stopping, for a second."""
        super().murder_pending()
        now = time.monotonic()
        for conn, deadline in list(self.lingering.items()):
            if deadline <= now:
                self.poller.unregister(conn.sock)
                self._close(conn)
        for conn, deadline in list(self.reading.items()):
            # Stopping: a connection that has sent nothing for a second gets no more time.
            idle = not self.alive and not self.buffers[conn].data
            if deadline <= now or (idle and deadline - self.read_timeout + 1.0 <= now):
                try:
                    self.poller.unregister(conn.sock)
                except (KeyError, ValueError, OSError):
                    pass
                self._drop(conn)

    def set_accept_enabled(self, enabled: bool) -> None:
        """When stopping, first take every connection already queued."""
        if not enabled and not self.alive and not self.drained:
            self.drained = True
            for listener in self.sockets:
                self._drain(listener)
        super().set_accept_enabled(enabled)

    def _drain(self, listener: Any) -> None:
        listener.setblocking(False)
        while True:
            try:
                client, address = listener.accept()
            except OSError:
                return
            self.nr_conns += 1
            conn = Conn(self.cfg, client, address, listener.getsockname())
            self._start_reading(conn, b"")
