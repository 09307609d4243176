"""The registry generation check's cost, in-process, on SQLite and PostgreSQL."""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import create_engine, make_url, text

from registry.db import connect
from registry.migrate import upgrade
from registry.services.state import NO_MODEL, bump_generation
from registry.serving import GenerationWatch


@dataclass(frozen=True)
class GenerationCost:
    """Microseconds for one GenerationWatch.current() call, unchanged and after a commit."""

    backend: str
    calls: int
    unchanged_us: float
    after_commit_us: float


def measure_generation(url: str, calls: int, commits: int = 50) -> GenerationCost:
    """Time ``calls`` checks with nothing changed, and ``commits`` checks right after a bump."""
    database = connect(url)
    try:
        upgrade(database.engine)
        watch = GenerationWatch(database)
        for _ in range(200):  # let PostgreSQL's push listener connect and settle
            watch.current()
            time.sleep(0.005 if not database.is_sqlite else 0)
        started = time.perf_counter()
        for _ in range(calls):
            watch.current()
        unchanged = (time.perf_counter() - started) / calls
        spent = 0.0
        for _ in range(commits):
            with database.write() as session:
                bump_generation(session, NO_MODEL)
            started = time.perf_counter()
            watch.current()
            spent += time.perf_counter() - started
        watch.close()
    finally:
        database.dispose()
    return GenerationCost(
        database.engine.dialect.name, calls, unchanged * 1e6, spent / commits * 1e6
    )


def sqlite_url(folder: Path) -> str:
    """Return the URL of a fresh SQLite file in ``folder``."""
    return f"sqlite:///{folder / 'generation.db'}"


@contextmanager
def scratch_postgres(url: str, prefix: str = "registry_bench") -> Iterator[str]:
    """Create a throwaway database on the server ``url`` names, and drop it afterwards."""
    admin = create_engine(_with_driver(url), isolation_level="AUTOCOMMIT")
    name = f"{prefix}_{secrets.token_hex(6)}"
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            yield make_url(url).set(database=name).render_as_string(hide_password=False)
        finally:
            with admin.connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


def _with_driver(url: str) -> str:
    parsed = make_url(url)
    if parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


@dataclass(frozen=True)
class CrossServer:
    """Two registries ("servers") on one PostgreSQL database, in this process.

    queries_per_check: transactions PostgreSQL counted (pg_stat_database.xact_commit of the
    scratch database) per Serving.snapshot() call, the registry check every prediction makes.
    write_ms: median time for a write that bumps the generation (what an activation commits)
    to return. stale: reads on the other registry, made right after a write returned, that did
    not see it (read-your-writes says 0). first_read_us: median time of that first read, which
    reloads the snapshot.
    """

    checks: int
    queries_per_check: float
    flips: int
    write_ms: float
    stale: int
    first_read_us: float


def measure_cross_server(url: str, checks: int, flips: int = 50) -> CrossServer:
    """Count PostgreSQL's transactions per check, and time writes seen across registries."""
    from registry.serving import Serving  # the bench's module loads without a database

    writer_db, reader_db = connect(url), connect(url)
    upgrade(writer_db.engine)
    writer, reader = Serving(writer_db), Serving(reader_db)
    try:
        reader.snapshot()
        writer.snapshot()
        for _ in range(200):  # let a push listener, if any, connect and settle
            reader.snapshot()
            time.sleep(0.005)
        before = _commits(url)
        for _ in range(checks):
            reader.snapshot()
        after = _commits(url)
        writes, firsts, stale = [], [], 0
        for _ in range(flips):
            started = time.perf_counter()
            with writer_db.write() as session:
                bump_generation(session, NO_MODEL)
            returned = time.perf_counter()
            with writer_db.read() as session:
                expected = session.scalar(text("SELECT generation FROM registry_state"))
            began = time.perf_counter()
            seen = reader.snapshot().generation
            firsts.append(time.perf_counter() - began)
            writes.append(returned - started)
            stale += seen < expected
    finally:
        for serving in (writer, reader):
            serving.close()
        writer_db.dispose()
        reader_db.dispose()
    return CrossServer(
        checks=checks,
        queries_per_check=max(after - before, 0) / checks,
        flips=flips,
        write_ms=sorted(writes)[len(writes) // 2] * 1e3,
        stale=stale,
        first_read_us=sorted(firsts)[len(firsts) // 2] * 1e6,
    )


def _commits(url: str) -> int:
    """Return the scratch database's committed transactions, every backend's counts flushed."""
    # An idle backend reports its counts within PostgreSQL's idle interval (10 s): wait it out.
    time.sleep(11)
    admin = create_engine(_with_driver(url), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text("SELECT pg_stat_force_next_flush()"))
            return int(
                connection.scalar(
                    text(
                        "SELECT xact_commit + xact_rollback FROM pg_stat_database"
                        " WHERE datname = current_database()"
                    )
                )
            )
    finally:
        admin.dispose()
