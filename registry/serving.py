"""Per-worker serving state: a registry snapshot, the generation check, and the plan cache."""

from __future__ import annotations

import os
import threading
from typing import Any

from sqlalchemy import select

from config import Config
from registry.db import UNAVAILABLE, Database, is_outage
from registry.errors import (
    DatabaseUnavailable,
    GenerationNotReached,
    ModelNotFound,
    VersionNotFound,
)
from registry.generation_push import GenerationListener
from registry.models import ModelVersion, RegistryState
from registry.plan_cache import PlanCache
from registry.plans import Plan
from registry.services.lookup import selected_version
from registry.services.state import changed_since
from registry.snapshot import ModelEntry, Snapshot, read_entries, replaced, updated

# The header answers carry (the generation they were made at) and clients may send back.
GENERATION_HEADER = "X-Registry-Generation"


class GenerationWatch:
    """Knows the registry generation: pushed by PostgreSQL, else read on a held connection.

    On PostgreSQL a listener (registry.generation_push) hears every change, and while it can
    prove it is current no query is made. Otherwise, and on SQLite, the generation is read on
    a connection this process holds, in autocommit (Database.held_connection), so no
    transaction stays open between requests.
    """

    def __init__(self, db: Database) -> None:
        self._db = db
        self._listener = None if db.is_sqlite else GenerationListener(db.engine, db.quick_timeout)
        # Generation reads that went to the database (the push listener's excepted).
        self.queries = 0
        self._pid = -1
        self._connection: Any = None
        self._data_version: int | None = None
        self._generation = -1
        # One thread at a time reads on the held connection: uploads run on pool threads, and
        # a thread that came in while another was reading was told the generation before it.
        self._reading = threading.Lock()

    def current(self, ask_database: bool = False) -> int:
        """Return the generation as committed in the database right now.

        ``ask_database`` reads it even when the listener could answer. Raises
        DatabaseUnavailable.
        """
        if self._listener is not None and not ask_database:
            pushed = self._listener.generation()
            # A listener behind what this worker last read itself is no proof either.
            if pushed is not None and pushed >= self._generation:
                return pushed
        health = self._db.health
        health.check()
        with self._reading:
            try:
                generation = self._read()
            except UNAVAILABLE as error:
                self._drop_connection()
                raise health.failed(error, is_outage(error)) from error
        health.ok()
        return generation

    def _read(self) -> int:
        if self._pid != os.getpid():
            # A forked worker must not share its parent's connection.
            self._pid, self._connection, self._data_version = os.getpid(), None, None
        if self._connection is None:
            self._connection = self._db.held_connection()
        cursor = self._connection.cursor()
        try:
            if self._db.is_sqlite:
                # data_version moves only when another connection commits: no table read.
                cursor.execute("PRAGMA data_version")
                version = cursor.fetchone()[0]
                if version == self._data_version:
                    return self._generation
                self._data_version = version
            self.queries += 1
            cursor.execute(f"SELECT generation FROM {RegistryState.__tablename__} WHERE id = 1")
            row = cursor.fetchone()
        finally:
            cursor.close()
        self._generation = int(row[0]) if row else 0
        return self._generation

    def wait_for(self, generation: int, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds for the listener to hear ``generation``."""
        return self._listener is not None and self._listener.wait_for(generation, timeout)

    def close(self) -> None:
        if self._listener is not None:
            self._listener.close()
        self._drop_connection()

    def _drop_connection(self) -> None:
        if self._connection is not None and self._pid == os.getpid():
            try:
                self._connection.close()
            except Exception:  # noqa: BLE001 - closing a broken connection may fail too
                pass
        self._connection, self._data_version = None, None


class Serving:
    """Resolves a model and selector to a plan, from a snapshot kept in step with the database."""

    def __init__(self, db: Database, plan_cache_size: int = Config.plan_cache_size) -> None:
        self._db = db
        self._watch = GenerationWatch(db)
        self._lock = threading.RLock()
        self._snapshot = Snapshot(generation=-1, models={})
        self._plans = PlanCache(plan_cache_size)

    @property
    def generation(self) -> int:
        """The generation of the newest snapshot this worker holds (no query)."""
        return self._snapshot.generation

    def snapshot_at_least(self, generation: int) -> Snapshot:
        """Return a snapshot of ``generation`` or newer: what a client's header demands.

        Raises GenerationNotReached when the database itself is older (the client's number
        comes from another database, or from before a restore), DatabaseUnavailable.
        """
        snapshot = self.snapshot()
        if snapshot.generation < generation:
            # Rare (the client heard of a change this worker has not): the database decides.
            snapshot = self.snapshot(ask_database=True)
            if snapshot.generation < generation:
                raise GenerationNotReached(
                    f"The registry is at generation {snapshot.generation}, older than the"
                    f" {generation} asked for in {GENERATION_HEADER}."
                )
        return snapshot

    def snapshot(self, ask_database: bool = False) -> Snapshot:
        """Return a snapshot at least as new as the database's current generation.

        While the database cannot be read, the last snapshot this worker loaded keeps
        serving (see README, "Faults"), unless ``ask_database`` insists. Raises
        DatabaseUnavailable if there is none yet.
        """
        snapshot = self._snapshot
        try:
            generation = self._watch.current(ask_database)
            if generation != snapshot.generation:
                with self._lock:
                    if generation != self._snapshot.generation:
                        self._snapshot = self._load(generation)
                    snapshot = self._snapshot
        except DatabaseUnavailable:
            if snapshot.generation < 0 or ask_database:
                raise
        return snapshot

    def _load(self, generation: int) -> Snapshot:
        previous = self._snapshot
        with self._db.read() as session:
            # A worker with no snapshot, or ahead of a restored database, reads everything.
            changes = changed_since(session, previous.generation, previous.nonce, generation)
            changed = changes.models
            entries = read_entries(session, changed)
        if changed is None:
            snapshot = replaced(previous, generation, changes.nonce, entries)
        else:
            snapshot = updated(previous, generation, changes.nonce, changed, entries)
        # Only a changed model can have lost versions: the others' plans all stay live.
        self._plans.drop(
            lambda key: (changed is None or key[0] in changed) and not snapshot.is_live(*key)
        )
        return snapshot

    def resolve(
        self, name: str, version: int | None = None, alias: str | None = None
    ) -> tuple[ModelEntry, int, Plan]:
        """Return the model, version number and plan a prediction route names.

        Raises ModelNotFound, VersionNotFound, AliasNotFound, NoActiveVersion.
        """
        entry = self.snapshot().models.get(name)
        if entry is None:
            raise ModelNotFound(f"There is no model called {name!r}.")
        version = selected_version(name, entry.active_version, entry.aliases, version, alias)
        if version not in entry.versions:
            raise VersionNotFound(f"Model {name!r} has no version {version}.")
        return entry, version, self.plan(entry, version)

    def plan(self, entry: ModelEntry, version: int) -> Plan:
        """Return a version's compiled plan, loading it on first use."""
        # The creation time tells a model from an earlier one that had its id (see ModelEntry).
        key = (entry.id, entry.created_at, version)
        plans = self._plans
        # The hot path (see PlanCache): about 80 ns more than the plain dict's get it replaced.
        try:
            plans.move_to_end(key)
            return plans[key]
        except KeyError:
            pass
        with self._db.read() as session:
            raw = session.scalar(
                select(ModelVersion.plan).where(
                    ModelVersion.model_id == entry.id, ModelVersion.version == version
                )
            )
        if raw is None:
            raise VersionNotFound(f"Model {entry.name!r} has no version {version}.")
        plan = Plan(raw)
        plans.keep(key, plan)
        return plan

    def close(self) -> None:
        """Release the connection the generation check holds."""
        self._watch.close()

    def preload(self, name: str, version: int) -> None:
        """Load one version's plan ahead of a change that will make it serve (no-op if absent)."""
        entry = self.snapshot().models.get(name)
        if entry is not None and version in entry.versions:
            self.plan(entry, version)

    def warm(self, name: str) -> None:
        """Load the plans a model's routes will need, so the next prediction is fast."""
        entry = self.snapshot().models.get(name)
        if entry is None:
            return
        wanted = {entry.active_version, *entry.aliases.values()} - {None}
        for version in wanted:
            if version in entry.versions:
                self.plan(entry, version)
