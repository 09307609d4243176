"""The registry generation: one row every worker watches to know when to refresh."""

from __future__ import annotations

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from registry.models import RegistryState

# Where bump_generation leaves the new generation, in the session's info.
BUMPED = "registry_generation"
# The channel PostgreSQL's listeners hear generations on (registry.generation_push).
CHANNEL = "registry_generation"


def bump_generation(session: Session) -> None:
    """Advance the generation in the caller's transaction (and announce it on PostgreSQL)."""
    generation = session.scalar(
        update(RegistryState)
        .where(RegistryState.id == 1)
        .values(generation=RegistryState.generation + 1)
        .returning(RegistryState.generation)
    )
    if generation is None:
        return
    session.info[BUMPED] = generation
    if session.get_bind().dialect.name == "postgresql":
        # Delivered to every listener when (and only if) the transaction commits.
        session.execute(select(func.pg_notify(CHANNEL, str(generation))))
