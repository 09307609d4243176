"""Activation and rollback, with the compatibility check and the history in events."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from registry.compatibility import incompatibilities
from registry.errors import IncompatibleSchema, NothingToRollBack
from registry.models import Event, ModelVersion, RegisteredModel, utcnow
from registry.services.events import record_event
from registry.services.lookup import find_model, find_version
from registry.services.models import describe_model
from registry.services.results import ModelInfo
from registry.services.state import bump_generation


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
                "pass force=true to activate it anyway.",
                {"features": problems},
            )
    depth = len(_activation_stack(session, model)) + 1
    model.active_version = version
    model.updated_at = utcnow()
    record_event(
        session, model, "activated", actor, version, depth=depth, forced=force, **{"from": previous}
    )
    bump_generation(session)
    session.flush()
    return describe_model(session, model)


def rollback(session: Session, name: str, actor: str) -> ModelInfo:
    """Undo the latest activation, stepping back past deleted versions.

    Raises ModelNotFound, NothingToRollBack.
    """
    model = find_model(session, name, lock=True)
    stack = _activation_stack(session, model)
    existing = set(
        session.scalars(select(ModelVersion.version).where(ModelVersion.model_id == model.id))
    )
    current = model.active_version
    while stack and stack[-1] == current:
        stack.pop()
    while stack and (stack[-1] not in existing or stack[-1] == current):
        stack.pop()
    if not stack:
        raise NothingToRollBack(f"Model {name!r} has no earlier active version to roll back to.")
    target = stack[-1]
    model.active_version = target
    model.updated_at = utcnow()
    record_event(
        session, model, "rolled_back", actor, target, depth=len(stack), **{"from": current}
    )
    bump_generation(session)
    session.flush()
    return describe_model(session, model)


def _activation_stack(session: Session, model: RegisteredModel) -> list[int]:
    """Replay the activation history into a stack whose top is the active version."""
    stack: list[int] = []
    events = session.scalars(
        select(Event)
        .where(Event.model_id == model.id, Event.action.in_(("activated", "rolled_back")))
        .order_by(Event.id)
    )
    for event in events:
        if event.action == "activated":
            stack.append(event.version)
        else:
            del stack[event.detail["depth"] :]
    return stack
