"""Read use cases for the docs and the dashboard: descriptions, shown versions, metrics."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select, tuple_
from sqlalchemy.orm import Session

from registry.models import ModelVersion, RegisteredModel

# Two bound parameters a pair; stays far below every backend's parameter limit.
_CHUNK = 500


@dataclass(frozen=True)
class ShownVersion:
    """The version a model's documentation shows: its estimator and plan JSON."""

    model_id: int
    version: int
    estimator: str
    plan: dict[str, Any]


def model_descriptions(session: Session) -> dict[int, str]:
    """Return every model's description, by model id."""
    rows = session.execute(select(RegisteredModel.id, RegisteredModel.description))
    return {model_id: description or "" for model_id, description in rows}


def shown_versions(
    session: Session, keys: Collection[tuple[int, int]]
) -> dict[tuple[int, int], ShownVersion]:
    """Return the versions named by (model id, version) pairs; pairs that are gone are left out."""
    wanted = sorted(set(keys))
    found: dict[tuple[int, int], ShownVersion] = {}
    for start in range(0, len(wanted), _CHUNK):
        chunk = wanted[start : start + _CHUNK]
        rows = session.execute(
            select(
                ModelVersion.model_id,
                ModelVersion.version,
                ModelVersion.estimator,
                ModelVersion.plan,
            ).where(tuple_(ModelVersion.model_id, ModelVersion.version).in_(chunk))
        )
        for model_id, version, estimator, plan in rows:
            found[(model_id, version)] = ShownVersion(model_id, version, estimator, plan)
    return found


def latest_metrics(session: Session, names: Collection[str]) -> dict[str, dict[str, Any]]:
    """Return the metrics of each named model's newest version; models without one are left out."""
    wanted = sorted(set(names))
    found: dict[str, dict[str, Any]] = {}
    for start in range(0, len(wanted), _CHUNK):
        chunk = wanted[start : start + _CHUNK]
        newest = (
            select(ModelVersion.model_id, func.max(ModelVersion.version).label("version"))
            .join(RegisteredModel, RegisteredModel.id == ModelVersion.model_id)
            .where(RegisteredModel.name.in_(chunk))
            .group_by(ModelVersion.model_id)
            .subquery()
        )
        rows = session.execute(
            select(RegisteredModel.name, ModelVersion.metrics)
            .join(ModelVersion, ModelVersion.model_id == RegisteredModel.id)
            .join(
                newest,
                (newest.c.model_id == ModelVersion.model_id)
                & (newest.c.version == ModelVersion.version),
            )
        )
        for name, metrics in rows:
            found[name] = dict(metrics or {})
    return found
