"""The registry generation and its change feed: what workers watch to know what to refresh."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from enum import Enum

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.orm import Session

from registry.models import GenerationChange, RegistryState

# Where bump_generation leaves the new generation, in the session's info.
BUMPED = "registry_generation"
# The channel PostgreSQL's listeners hear generations on (registry.generation_push).
CHANNEL = "registry_generation"
# The change rows kept: a worker further behind than this loads every model again.
KEPT_GENERATIONS = 1000


class Scope(Enum):
    """A change that names no single model."""

    # A bulk write: any model may have changed.
    EVERY_MODEL = "every_model"
    # Nothing a snapshot holds changed (a revoked token: workers drop their cached ones).
    NO_MODEL = "no_model"


EVERY_MODEL = Scope.EVERY_MODEL
NO_MODEL = Scope.NO_MODEL


def bump_generation(session: Session, changed: int | Scope) -> None:
    """Advance the generation in the caller's transaction, saying which model ``changed``.

    ``changed`` is a model's id, EVERY_MODEL or NO_MODEL. On PostgreSQL the new generation
    is also announced to listeners.
    """
    generation = session.scalar(
        update(RegistryState)
        .where(RegistryState.id == 1)
        .values(generation=RegistryState.generation + 1)
        .returning(RegistryState.generation)
    )
    if generation is None:
        return
    session.execute(
        insert(GenerationChange).values(
            generation=generation,
            model_id=changed if isinstance(changed, int) else None,
            is_bulk=changed is EVERY_MODEL,
            nonce=secrets.randbits(63),
        )
    )
    # Keeps the feed bounded; bumps take the generation row's lock, so they prune in turn.
    session.execute(
        delete(GenerationChange).where(GenerationChange.generation <= generation - KEPT_GENERATIONS)
    )
    session.info[BUMPED] = generation
    if session.get_bind().dialect.name == "postgresql":
        # Delivered to every listener when (and only if) the transaction commits.
        session.execute(select(func.pg_notify(CHANNEL, str(generation))))


@dataclass(frozen=True)
class Changes:
    """What the change feed says to a worker about to load a snapshot of a generation."""

    # The ids of the models changed since the worker's snapshot; None: read every model.
    models: frozenset[int] | None
    # The nonce of the new generation's row (None without one): what the snapshot remembers.
    nonce: int | None


def changed_since(session: Session, generation: int, nonce: int | None, newest: int) -> Changes:
    """Return the models changed after ``generation`` up to ``newest`` at least.

    ``nonce`` is the one ``generation``'s row had when the snapshot was read. The models are
    None when the feed cannot say, and every model must be read again: a bulk write, a
    generation in (``generation``, ``newest``] without its row (pruned, or written by a server
    older than the feed), or ``generation``'s own row missing or with another nonce (the
    database restored behind the snapshot, then written past it). ``newest`` must be committed
    already; the rows read may go past it. Read it before the models' rows: on PostgreSQL each
    statement sees the commits made before it, so the models read after are at least as new as
    the changes.
    """
    if not 0 <= generation <= newest:
        # Nothing to compare with (no snapshot yet, or the database went back): read them all.
        return Changes(None, newest_nonce(session, newest))
    rows = session.execute(
        select(
            GenerationChange.generation,
            GenerationChange.model_id,
            GenerationChange.is_bulk,
            GenerationChange.nonce,
        ).where(GenerationChange.generation >= generation)
    ).all()
    nonces = {row.generation: row.nonce for row in rows}
    found = Changes(None, nonces.get(newest))
    # The one row more than the changes: the snapshot's own, to tell its history is this one.
    if nonce is None or nonces.get(generation) != nonce:
        return found
    # Bumps commit in generation order (each holds the generation row until it commits),
    # so a row missing now is missing for good.
    if sum(1 for row in rows if generation < row.generation <= newest) != newest - generation:
        return found
    if any(row.is_bulk for row in rows if row.generation > generation):
        return found
    changed = (row.model_id for row in rows if row.generation > generation)
    return Changes(frozenset(model_id for model_id in changed if model_id is not None), found.nonce)


def newest_nonce(session: Session, generation: int) -> int | None:
    """Return the nonce of ``generation``'s change row, None if it has none."""
    return session.scalar(
        select(GenerationChange.nonce).where(GenerationChange.generation == generation)
    )
