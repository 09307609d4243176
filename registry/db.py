"""Engine and session setup: SQLite pragmas and write locks, PostgreSQL pooling."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine, create_engine, event, make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.orm import Session, sessionmaker

from config import ConfigError

# An engine option that makes a SQLite transaction take the write lock at BEGIN, so that
# read-modify-write use cases (allocating a version number) serialize instead of failing.
_IMMEDIATE = "registry_begin_immediate"


@dataclass(frozen=True)
class Database:
    """The engine and the two ways to open a transaction on it."""

    engine: Engine
    _reads: sessionmaker[Session]
    _writes: sessionmaker[Session]

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    @contextmanager
    def read(self) -> Iterator[Session]:
        """Open a read-only unit of work."""
        with self._reads() as session:
            yield session
            session.rollback()

    @contextmanager
    def write(self) -> Iterator[Session]:
        """Open a unit of work that commits on success and rolls back on error."""
        with self._writes.begin() as session:
            yield session

    def dispose(self) -> None:
        self.engine.dispose()


def connect(url: str) -> Database:
    """Create the engine for a database URL, with the settings each backend needs."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise ConfigError(f"{url!r} is not a database URL, such as sqlite:///path.db.") from None
    if parsed.get_backend_name() == "sqlite":
        engine = _sqlite_engine(url)
    else:
        if parsed.drivername == "postgresql":
            url = parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
        engine = create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=10)
    writes = engine.execution_options(**{_IMMEDIATE: True})
    return Database(
        engine=engine,
        _reads=sessionmaker(engine, expire_on_commit=False),
        _writes=sessionmaker(writes, expire_on_commit=False),
    )


def _sqlite_engine(url: str) -> Engine:
    database = make_url(url).database
    if database and database != ":memory:":
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"timeout": 30})

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
