"""Engine and session setup: SQLite pragmas and write locks, PostgreSQL pooling and timeouts."""

from __future__ import annotations

import math
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import psycopg
from sqlalchemy import Engine, create_engine, event, make_url, text
from sqlalchemy.exc import ArgumentError, DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm import Session, sessionmaker

from config import Config, ConfigError
from registry.errors import DatabaseUnavailable
from registry.generation_push import wait_for_listeners
from registry.outage import Health
from registry.services.state import BUMPED

# An engine option that makes a SQLite transaction take the write lock at BEGIN, so that
# read-modify-write use cases (allocating a version number) serialize instead of failing.
_IMMEDIATE = "registry_begin_immediate"

# What a database that hangs, is down, is missing or refuses to serve raises (through
# SQLAlchemy, or straight from the driver on a raw connection).
UNAVAILABLE = (
    OperationalError,
    InterfaceError,
    PoolTimeout,
    sqlite3.OperationalError,
    sqlite3.InterfaceError,
    psycopg.OperationalError,
    psycopg.InterfaceError,
)

# A PostgreSQL backend answering with any of these is cut off or shutting down.
_OUTAGE_STATES = ("57P01", "57P02", "57P03")
# SQLite result codes of a file that is missing, unreadable or not a database.
_SQLITE_OUTAGES = (8, 10, 11, 14, 26)


def _disk_full(error: BaseException) -> bool:
    # A full disk is the caller's to answer (uploads say 507), not an unavailable database.
    original = getattr(error, "orig", error)
    if getattr(original, "sqlite_errorcode", None) == 13:
        return True
    return getattr(original, "sqlstate", None) == "53100"


def is_outage(error: BaseException) -> bool:
    """Tell a database that cannot be reached from one statement that failed (a lock timeout)."""
    if isinstance(error, PoolTimeout):
        return True
    if isinstance(error, DBAPIError) and error.connection_invalidated:
        return True
    original = getattr(error, "orig", error)
    if isinstance(original, sqlite3.Error):
        code = getattr(original, "sqlite_errorcode", 0) & 0xFF
        return code in _SQLITE_OUTAGES or "no such table" in str(original)
    if isinstance(original, psycopg.Error):
        state = original.sqlstate
        # No SQLSTATE: the client gave up (connect failed, connection lost, no answer in time).
        return state is None or state.startswith("08") or state in _OUTAGE_STATES
    return False


@dataclass(frozen=True)
class Database:
    """The engine and the two ways to open a transaction on it."""

    engine: Engine
    _reads: sessionmaker[Session]
    _writes: sessionmaker[Session]
    health: Health = field(default_factory=Health)
    # Seconds a trivial statement (a ping, the generation check) may wait for PostgreSQL.
    quick_timeout: float = 2.0
    # Connections handed out by held_connection(), closed by dispose() if still open.
    _held: list[Any] = field(default_factory=list)
    # Per thread: the generation the last write committed, for the answer's header.
    committed: threading.local = field(default_factory=threading.local)

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    @contextmanager
    def read(self) -> Iterator[Session]:
        """Open a read-only unit of work. Raises DatabaseUnavailable."""
        self.health.check()
        try:
            with self._reads() as session:
                yield session
                session.rollback()
        except UNAVAILABLE as error:
            if _disk_full(error):
                raise
            raise self.health.failed(error, is_outage(error)) from error
        self.health.ok()

    @contextmanager
    def write(self) -> Iterator[Session]:
        """Open a unit of work that commits on success and rolls back on error.

        Raises DatabaseUnavailable.
        """
        self.health.check()
        try:
            with self._writes.begin() as session:
                yield session
        except UNAVAILABLE as error:
            if _disk_full(error):
                raise
            raise self.health.failed(error, is_outage(error)) from error
        self.health.ok()
        generation = session.info.get(BUMPED)
        if generation is not None:
            self.committed.generation = generation
            if not self.is_sqlite:
                # Read-your-writes across servers: answer once every listener holds it.
                wait_for_listeners(self.engine, generation, self.quick_timeout)

    def take_committed_generation(self) -> int | None:
        """Return the generation this thread's last write committed, once (None if none)."""
        generation = getattr(self.committed, "generation", None)
        self.committed.generation = None
        return generation

    def held_connection(self) -> Any:
        """Return a DBAPI connection out of the pool, in autocommit, for quick reads.

        Autocommit: each statement is its own transaction, so holding the connection between
        requests holds no transaction (PostgreSQL would show "idle in transaction", blocking
        ALTER TABLE and vacuum; SQLite, WAL checkpoints).
        """
        proxy = self.engine.raw_connection()
        driver = proxy.driver_connection
        # Out of the pool for good; the caller closes the driver's connection itself, so
        # the pool never tries to reset (roll back) one that may be broken.
        proxy.detach()
        if self.is_sqlite:
            driver.isolation_level = None
        else:
            driver.autocommit = True
            # Only trivial statements run here: they get the short, ping-sized wait.
            driver.answer_timeout = self.quick_timeout
        self._held[:] = [c for c in self._held if not _is_closed(c)] + [driver]
        return driver

    def probe(self) -> None:
        """Check that the database is there and has the registry's schema.

        Raises DatabaseUnavailable.
        """
        database = make_url(self.engine.url).database
        if self.is_sqlite and database and database != ":memory:":
            if not Path(database).is_file():
                raise self.health.failed(FileNotFoundError(f"{database} is missing"), True)
        with self.read() as session:
            session.execute(text("SELECT generation FROM registry_state WHERE id = 1"))

    def dispose(self) -> None:
        for connection in self._held:
            try:
                connection.close()
            except Exception:  # noqa: BLE001 - closing a broken connection may fail too
                pass
        self._held.clear()
        self.engine.dispose()


def _is_closed(connection: Any) -> bool:
    closed = getattr(connection, "closed", None)
    if closed is not None:  # psycopg
        return bool(closed)
    try:  # sqlite3 has no flag: a closed connection refuses to make a cursor
        connection.cursor().close()
    except sqlite3.ProgrammingError:
        return True
    return False


def connect(url: str, config: Config | None = None) -> Database:
    """Create the engine for a database URL, with the settings each backend needs.

    It never creates a database: a missing SQLite file is DatabaseUnavailable when first used
    (`create_sqlite_file` makes one, for `db upgrade`).
    """
    settings = config or Config()
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise ConfigError(f"{url!r} is not a database URL, such as sqlite:///path.db.") from None
    if parsed.get_backend_name() == "sqlite":
        engine = _sqlite_engine(url)
    else:
        if parsed.drivername == "postgresql":
            url = parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
        engine = _postgresql_engine(url, settings)
    writes = engine.execution_options(**{_IMMEDIATE: True})
    return Database(
        engine=engine,
        _reads=sessionmaker(engine, expire_on_commit=False),
        _writes=sessionmaker(writes, expire_on_commit=False),
        health=Health(retry_after=settings.database_retry_after),
        quick_timeout=_quick_timeout(settings),
    )


def create_sqlite_file(engine: Engine) -> None:
    """Create an empty SQLite database file (and its folder) if the URL names a missing one."""
    if engine.dialect.name != "sqlite":
        return
    database = make_url(engine.url).database
    if database and database != ":memory:" and not Path(database).exists():
        Path(database).parent.mkdir(parents=True, exist_ok=True)
        sqlite3.connect(database).close()


class AnswerTimeout(psycopg.OperationalError):
    """The server did not answer in time; the connection was closed."""


class BoundedConnection(psycopg.Connection):
    """A psycopg connection that gives up on a server that does not answer in time.

    A frozen server never fires its own statement_timeout, and the kernel keeps acknowledging
    its packets, so only the client can bound the wait; after that the protocol state is
    unknown, so the connection is closed (SQLAlchemy then sees a disconnect and drops it).
    """

    answer_timeout: float = 6.0

    def wait(self, gen: Any, interval: float = 0.1, timeout: float | None = None) -> Any:
        try:
            return super().wait(gen, interval, self.answer_timeout if timeout is None else timeout)
        except psycopg.errors._WaitTimeout:
            self.pgconn.finish()
            raise AnswerTimeout(
                f"The database did not answer within {self.answer_timeout:g} s."
            ) from None


def _quick_timeout(settings: Config) -> float:
    # libpq counts whole seconds and treats less than 2 as 2.
    return float(max(2, math.ceil(settings.database_connect_timeout)))


def _postgresql_engine(url: str, settings: Config) -> Engine:
    statement_ms = int(settings.database_statement_timeout * 1000)
    engine = create_engine(
        url,
        pool_pre_ping=True,
        pool_size=5,
        max_overflow=10,
        pool_timeout=settings.database_pool_timeout,
        connect_args={
            "connect_timeout": int(_quick_timeout(settings)),
        },
    )
    # The server cancels a slow statement itself; the client waits a little longer for that.
    answer_timeout = settings.database_statement_timeout + 1.0
    # A pool's liveness ping is trivial: it gets no more time than a connection attempt.
    ping_timeout = _quick_timeout(settings)

    @event.listens_for(engine, "do_connect")
    def _bounded(_dialect, _record, cargs, cparams):  # type: ignore[no-untyped-def]
        options = cparams.get("options", "")
        cparams["options"] = f"{options} -c statement_timeout={statement_ms}".strip()
        connection = BoundedConnection.connect(*cargs, **cparams)
        connection.answer_timeout = answer_timeout
        return connection

    ping = engine.dialect.do_ping

    def _short_ping(dbapi_connection: Any) -> bool:
        dbapi_connection.answer_timeout = ping_timeout
        try:
            return ping(dbapi_connection)
        finally:
            dbapi_connection.answer_timeout = answer_timeout

    engine.dialect.do_ping = _short_ping  # type: ignore[method-assign]

    @event.listens_for(engine, "handle_error")
    def _no_retry_on_silence(context) -> None:  # type: ignore[no-untyped-def]
        # A ping that got no answer: reconnecting to a server that hangs would only wait
        # out connect_timeout too, so the checkout fails now.
        if context.is_pre_ping and isinstance(context.original_exception, AnswerTimeout):
            context.is_disconnect = False

    return engine


def _sqlite_engine(url: str) -> Engine:
    database = make_url(url).database
    engine = create_engine(url, connect_args={"timeout": 30})

    if database and database != ":memory:":

        @event.listens_for(engine, "do_connect")
        def _no_create(_dialect, _record, cargs, cparams) -> None:  # type: ignore[no-untyped-def]
            # mode=rw: a missing file is an error, not a new empty database.
            cargs[:] = [f"file:{quote(str(Path(database).absolute()))}?mode=rw"]
            cparams["uri"] = True

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
        # Let SQLAlchemy's "begin" event, not pysqlite, decide how a transaction starts.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection) -> None:  # type: ignore[no-untyped-def]
        immediate = connection.get_execution_options().get(_IMMEDIATE, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


__all__ = ["UNAVAILABLE", "Database", "DatabaseUnavailable", "connect", "create_sqlite_file"]
