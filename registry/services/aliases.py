"""Alias use cases: point a name at a version, or remove it."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from registry.errors import AliasNotFound
from registry.models import Alias, utcnow
from registry.services.events import record_event
from registry.services.lookup import find_model, find_version
from registry.services.models import describe_model
from registry.services.names import check_alias_name
from registry.services.results import ModelInfo
from registry.services.state import bump_generation


def set_alias(session: Session, name: str, alias: str, version: int, actor: str) -> ModelInfo:
    """Point ``alias`` at a version. Raises ModelNotFound, InvalidName, VersionNotFound."""
    check_alias_name(alias)
    model = find_model(session, name, lock=True)
    find_version(session, model, version)
    row = session.scalar(select(Alias).where(Alias.model_id == model.id, Alias.name == alias))
    previous = None
    if row is None:
        session.add(Alias(model_id=model.id, name=alias, version=version))
    else:
        previous, row.version = row.version, version
    model.updated_at = utcnow()
    record_event(session, model, "alias_set", actor, version, alias=alias, **{"from": previous})
    bump_generation(session, model.id)
    session.flush()
    return describe_model(session, model)


def remove_alias(session: Session, name: str, alias: str, actor: str) -> None:
    """Remove an alias. Raises ModelNotFound, AliasNotFound."""
    model = find_model(session, name, lock=True)
    row = session.scalar(select(Alias).where(Alias.model_id == model.id, Alias.name == alias))
    if row is None:
        raise AliasNotFound(f"Model {name!r} has no alias {alias!r}.")
    session.delete(row)
    model.updated_at = utcnow()
    record_event(session, model, "alias_removed", actor, row.version, alias=alias)
    bump_generation(session, model.id)
    session.flush()
