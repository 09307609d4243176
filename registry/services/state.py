"""The registry generation: one row every worker watches to know when to refresh."""

from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.orm import Session

from registry.models import RegistryState


def bump_generation(session: Session) -> None:
    """Advance the generation in the caller's transaction."""
    session.execute(
        update(RegistryState)
        .where(RegistryState.id == 1)
        .values(generation=RegistryState.generation + 1)
    )
