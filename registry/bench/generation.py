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
from registry.services.state import bump_generation
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
        watch.current()
        started = time.perf_counter()
        for _ in range(calls):
            watch.current()
        unchanged = (time.perf_counter() - started) / calls
        spent = 0.0
        for _ in range(commits):
            with database.write() as session:
                bump_generation(session)
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
def scratch_postgres(url: str) -> Iterator[str]:
    """Create a throwaway database on the server ``url`` names, and drop it afterwards."""
    admin = create_engine(_with_driver(url), isolation_level="AUTOCOMMIT")
    name = f"registry_bench_{secrets.token_hex(4)}"
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
