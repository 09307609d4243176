"""Finding rows by their public names, raising the right not-found error."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from registry.errors import ModelNotFound, VersionNotFound
from registry.models import ModelVersion, RegisteredModel


def find_model(session: Session, name: str, lock: bool = False) -> RegisteredModel:
    """Return the model called ``name``; ``lock`` takes its row lock. Raises ModelNotFound."""
    query = select(RegisteredModel).where(RegisteredModel.name == name)
    if lock:
        query = query.with_for_update()
    model = session.scalar(query)
    if model is None:
        raise ModelNotFound(f"There is no model called {name!r}.")
    return model


def find_version(session: Session, model: RegisteredModel, version: int) -> ModelVersion:
    """Return one version of a model. Raises VersionNotFound."""
    row = session.scalar(
        select(ModelVersion).where(
            ModelVersion.model_id == model.id, ModelVersion.version == version
        )
    )
    if row is None:
        raise VersionNotFound(f"Model {model.name!r} has no version {version}.")
    return row
