"""Finding rows by their public names, raising the right not-found error."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from registry.errors import AliasNotFound, ModelNotFound, NoActiveVersion, VersionNotFound
from registry.models import MAX_VERSION, ModelVersion, RegisteredModel


def find_model(session: Session, name: str, lock: bool = False) -> RegisteredModel:
    """Return the model called ``name``; ``lock`` takes its row lock. Raises ModelNotFound."""
    model = None
    # No name holds NUL, and PostgreSQL refuses a query that carries one.
    if "\x00" not in name:
        query = select(RegisteredModel).where(RegisteredModel.name == name)
        if lock:
            query = query.with_for_update()
        model = session.scalar(query)
    if model is None:
        raise ModelNotFound(f"There is no model called {name!r}.")
    return model


def find_version(session: Session, model: RegisteredModel, version: int) -> ModelVersion:
    """Return one version of a model. Raises VersionNotFound."""
    row = None
    # A number the column cannot hold names no version (PostgreSQL would refuse the query).
    if 0 < version <= MAX_VERSION:
        row = session.scalar(
            select(ModelVersion).where(
                ModelVersion.model_id == model.id, ModelVersion.version == version
            )
        )
    if row is None:
        raise VersionNotFound(f"Model {model.name!r} has no version {version}.")
    return row


def selected_version(
    name: str,
    active_version: int | None,
    aliases: dict[str, int],
    version: int | None = None,
    alias: str | None = None,
) -> int:
    """Return the version a prediction selector names: an alias, a pinned version, or active.

    Raises AliasNotFound, NoActiveVersion.
    """
    if alias is not None:
        if alias not in aliases:
            raise AliasNotFound(f"Model {name!r} has no alias {alias!r}.")
        return aliases[alias]
    if version is not None:
        return version
    if active_version is None:
        raise NoActiveVersion(f"Model {name!r} has no active version yet.")
    return active_version
