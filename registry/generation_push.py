"""PostgreSQL pushes the registry generation: a listener per worker process, and writers' wait.

Every transaction that bumps the generation also runs NOTIFY (delivered at its commit). Each
worker process holds one LISTEN connection on a thread of its own, and serves from the
generation it last heard, with no query. Two things keep that read-your-writes:

- The listener acknowledges each generation it has installed by naming it in its session's
  ``application_name``; a writer, after its commit, waits until no listener on the database
  shows an older one (pg_stat_activity, a read of shared memory). So when a write answers,
  every connected listener already holds its generation.
- A worker trusts its listener only while nothing is pending on the listener's socket and the
  listener is connected and settled; otherwise (starting, reconnecting, behind, a notification
  or a lost connection not yet read) the request asks the database, as it would without push.
"""

from __future__ import annotations

import logging
import os
import select
import socket
import threading
import time

import psycopg
from psycopg import pq
from sqlalchemy import Engine, make_url, text

from registry.services.state import CHANNEL

log = logging.getLogger("registry.generation")

# application_name of a listener's session: this prefix and the generation it holds.
APP_PREFIX = "registry-listener "
# Listeners on this database whose acknowledged generation is older than the one given.
_LAGGARDS = text(
    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
    " AND substring(application_name from '^registry-listener ([0-9]+)$')::bigint < :generation"
)
# How often a waiting writer looks at pg_stat_activity again.
_POLL_SECONDS = 0.0005
# Reconnection back-off after a lost listener connection, doubling up to the maximum.
_RETRY_FIRST, _RETRY_MAX = 0.05, 2.0


def wait_for_listeners(engine: Engine, generation: int, timeout: float) -> bool:
    """Wait until every listener on the database holds ``generation``; False on timeout.

    A listener that disconnects leaves pg_stat_activity, and its worker asks the database
    per request until it is back, so it is not waited for. One that neither acknowledges nor
    leaves (its process stopped) is given ``timeout`` seconds; the notification then waits on
    its socket, where its worker looks before trusting it.
    """
    deadline = time.monotonic() + timeout
    try:
        with engine.connect() as connection:
            while True:
                behind = connection.scalar(_LAGGARDS, {"generation": generation})
                # A new transaction per look: pg_stat_activity is read once per transaction.
                connection.rollback()
                if not behind:
                    return True
                if time.monotonic() >= deadline:
                    break
                time.sleep(_POLL_SECONDS)
    except Exception as error:  # noqa: BLE001 - the write is committed; only the wait failed
        log.warning("Could not wait for generation listeners: %s", error)
        return False
    log.warning(
        "%d generation listener(s) did not acknowledge generation %d within %.1f s.",
        behind,
        generation,
        timeout,
    )
    return False


class GenerationListener:
    """One LISTEN connection per process, on a daemon thread, started on first use."""

    def __init__(self, engine: Engine, connect_timeout: float = 2.0) -> None:
        self._engine = engine
        self._connect_timeout = connect_timeout
        self._pid = -1
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._generation = -1
        # True only while connected, listening, and not in the middle of reading the socket.
        self._settled = False
        self._socket: socket.socket | None = None
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._wake_read, self._wake_write = -1, -1
        # Connections inherited through fork: kept referenced so that no finalizer closes
        # the parent's session from the child.
        self._inherited: list[object] = []
        # Sessions opened so far, and the server process of the current one (for operators).
        self.connections = 0
        self.backend_pid: int | None = None

    def generation(self) -> int | None:
        """Return the pushed generation when it is provably current, else None."""
        if self._pid != os.getpid():
            self._start()
            return None
        if not self._settled:
            return None
        generation = self._generation
        sock = self._socket
        # Bytes waiting on the socket are a notification (or the end of the connection) that
        # the listener thread has not read yet: the database must be asked.
        if sock is None or _readable(sock) or not self._settled:
            return None
        return generation

    def wait_for(self, generation: int, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds for the listener to hold ``generation``."""
        with self._changed:
            return self._changed.wait_for(
                lambda: self._settled and self._generation >= generation, timeout
            )

    def close(self) -> None:
        """Stop the listener thread and close its connection."""
        if self._pid != os.getpid() or self._thread is None:
            return
        self._stop.set()
        try:
            os.write(self._wake_write, b"x")
        except OSError:
            pass
        self._thread.join(timeout=5)
        for fd in (self._wake_read, self._wake_write):
            try:
                os.close(fd)
            except OSError:
                pass
        self._thread = None

    def _start(self) -> None:
        with self._lock:
            if self._pid == os.getpid():
                return
            # A forked child: the parent's thread did not come along, and its socket is not ours.
            self._inherited.append(self._socket)
            self._settled, self._socket, self._generation = False, None, -1
            self._stop = threading.Event()
            self._wake_read, self._wake_write = os.pipe()
            self._pid = os.getpid()
            self._thread = threading.Thread(
                target=self._run, name="registry-generation-listener", daemon=True
            )
            self._thread.start()

    def _run(self) -> None:
        delay = _RETRY_FIRST
        while not self._stop.is_set():
            try:
                with self._connect() as connection:
                    delay = _RETRY_FIRST
                    self._listen(connection)
            except Exception as error:  # noqa: BLE001 - any failure: fall back, then reconnect
                if not self._stop.is_set():
                    log.info("Generation listener lost its connection (%s); reconnecting.", error)
            finally:
                self._settled = False
                self._socket = None
            if self._stop.wait(delay):
                break
            delay = min(delay * 2, _RETRY_MAX)

    def _connect(self) -> psycopg.Connection:
        url = make_url(self._engine.url).set(drivername="postgresql")
        connection = psycopg.connect(
            url.render_as_string(hide_password=False),
            autocommit=True,
            connect_timeout=max(2, int(self._connect_timeout)),
            application_name=f"{APP_PREFIX}0",
            # A peer that vanished without a word is noticed within about 10 s.
            keepalives=1,
            keepalives_idle=5,
            keepalives_interval=2,
            keepalives_count=3,
        )
        self.connections += 1
        self.backend_pid = connection.info.backend_pid
        return connection

    def _listen(self, connection: psycopg.Connection) -> None:
        # Notifications psycopg reads while it runs a statement go to this handler; the ones
        # read below, straight from libpq, are added by hand.
        heard = [self._generation]
        connection.add_notify_handler(
            lambda notice: heard.append(int(notice.payload)) if notice.channel == CHANNEL else None
        )
        # LISTEN first, then read: a commit between the two is still heard.
        connection.execute(f"LISTEN {CHANNEL}")
        row = connection.execute("SELECT generation FROM registry_state WHERE id = 1").fetchone()
        # A new session must acknowledge, even a generation this worker already held.
        self._install(connection, int(row[0]) if row else 0)
        self._catch_up(connection, heard)
        pgconn = connection.pgconn
        self._socket = socket.socket(fileno=os.dup(pgconn.socket))
        try:
            self._settle()
            while not self._stop.is_set():
                ready, _, _ = select.select([pgconn.socket, self._wake_read], [], [], 5.0)
                if pgconn.socket not in ready:
                    continue
                self._settled = False
                pgconn.consume_input()  # raises on a lost connection
                if pgconn.status != pq.ConnStatus.OK:
                    raise psycopg.OperationalError("The listener's connection was closed.")
                while (notice := pgconn.notifies()) is not None:
                    if notice.relname.decode() == CHANNEL:
                        heard.append(int(notice.extra.decode()))
                self._catch_up(connection, heard)
                self._settle()
        finally:
            self._settled = False
            self._socket.close()

    def _catch_up(self, connection: psycopg.Connection, heard: list[int]) -> None:
        # Acknowledging runs a statement, during which more may be heard: repeat until none.
        while (newest := max(heard)) > self._generation:
            heard[:] = [newest]
            self._install(connection, newest)

    def _settle(self) -> None:
        with self._changed:
            self._settled = True
            self._changed.notify_all()

    def _install(self, connection: psycopg.Connection, generation: int) -> None:
        with self._changed:
            self._generation = held = max(self._generation, generation)
            self._changed.notify_all()
        # The acknowledgement writers wait for; only after the worker holds the generation.
        connection.execute(
            "SELECT set_config('application_name', %s, false)", [f"{APP_PREFIX}{held}"]
        )


def _readable(sock: socket.socket) -> bool:
    ready, _, _ = select.select([sock], [], [], 0)
    return bool(ready)
