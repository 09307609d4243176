"""Activation and rollback, with the compatibility check and the history in events."""

from __future__ import annotations

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from registry.compatibility import incompatibilities
from registry.errors import IncompatibleSchema, NothingToRollBack
from registry.models import ActivationEntry, ModelVersion, RegisteredModel, utcnow
from registry.services.events import record_event
from registry.services.lookup import find_model, find_version
from registry.services.models import describe_model
from registry.services.results import ModelInfo
from registry.services.state import bump_generation

# How the refusal says to override it over HTTP; the CLI says it with its own flag.
FORCE_HINT = "pass force=true to activate it anyway"


def activate_version(
    session: Session, name: str, version: int, actor: str, force: bool = False
) -> ModelInfo:
    """Make a version the one that answers the model's predictions.

    Raises ModelNotFound, VersionNotFound, IncompatibleSchema (unless ``force``).
    """
    model = find_model(session, name, lock=True)
    row = find_version(session, model, version)
    previous = model.active_version
    if previous is not None and previous != version and not force:
        current = find_version(session, model, previous)
        problems = incompatibilities(current.features, row.features)
        if problems:
            raise IncompatibleSchema(
                f"Version {version} would reject requests that version {previous} accepts; "
                f"{FORCE_HINT}.",
                {"features": problems},
            )
    depth = _stack_depth(session, model) + 1
    session.add(ActivationEntry(model_id=model.id, depth=depth, version=version))
    model.active_version = version
    model.updated_at = utcnow()
    record_event(
        session, model, "activated", actor, version, depth=depth, forced=force, **{"from": previous}
    )
    bump_generation(session, model.id)
    session.flush()
    return describe_model(session, model)


def rollback(session: Session, name: str, actor: str) -> ModelInfo:
    """Undo the latest activation, stepping back past deleted versions.

    Raises ModelNotFound, NothingToRollBack.
    """
    model = find_model(session, name, lock=True)
    existing = set(
        session.scalars(select(ModelVersion.version).where(ModelVersion.model_id == model.id))
    )
    current = model.active_version
    found = _step_back(session, model, current, existing)
    if found is None:
        raise NothingToRollBack(f"Model {name!r} has no earlier active version to roll back to.")
    depth, target = found
    # Everything above the target is popped for good, as the history replay used to do.
    session.execute(
        delete(ActivationEntry).where(
            ActivationEntry.model_id == model.id, ActivationEntry.depth > depth
        )
    )
    model.active_version = target
    model.updated_at = utcnow()
    record_event(session, model, "rolled_back", actor, target, depth=depth, **{"from": current})
    bump_generation(session, model.id)
    session.flush()
    return describe_model(session, model)


def _stack_depth(session: Session, model: RegisteredModel) -> int:
    """Return how many activations the model's stack holds (one index lookup)."""
    depth = session.scalar(
        select(func.max(ActivationEntry.depth)).where(ActivationEntry.model_id == model.id)
    )
    return depth or 0


# Stack entries read per statement while stepping back past deleted or repeated versions.
_BATCH = 16


def _step_back(
    session: Session, model: RegisteredModel, current: int | None, existing: set[int]
) -> tuple[int, int] | None:
    """Return (depth, version) of the highest stack entry a rollback can return to."""
    below: int | None = None
    while True:
        query = (
            select(ActivationEntry.depth, ActivationEntry.version)
            .where(ActivationEntry.model_id == model.id)
            .order_by(ActivationEntry.depth.desc())
            .limit(_BATCH)
        )
        if below is not None:
            query = query.where(ActivationEntry.depth < below)
        rows = session.execute(query).all()
        for depth, version in rows:
            if version != current and version in existing:
                return depth, version
        if len(rows) < _BATCH:
            return None
        below = rows[-1][0]
