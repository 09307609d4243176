"""Artifact integrity: check every stored file, find unreferenced ones, sample for readiness."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from registry.artifacts import ArtifactStore, Sample, StoredItem, sha256_of, write_probe
from registry.models import ModelVersion, RegisteredModel

# How many of the newest versions readiness looks at: enough to notice a lost store, cheap.
READY_SAMPLE = 3


@dataclass(frozen=True)
class Damage:
    """A version whose stored file is missing or no longer matches its sha256."""

    model: str
    version: int
    sha256: str
    state: str  # "missing" or "corrupted"


@dataclass(frozen=True)
class Verification:
    checked: int
    damaged: list[Damage]


def artifact_state(session: Session, store: ArtifactStore, sha256: str) -> str:
    """Return 'intact', 'missing' or 'corrupted' for one stored file."""
    data = store.get(session, sha256)
    if data is None:
        return "missing"
    return "intact" if sha256_of(data) == sha256 else "corrupted"


def verify_artifacts(session: Session, store: ArtifactStore) -> Verification:
    """Hash every version's artifact (each file once) and report the damaged ones."""
    rows = session.execute(
        select(RegisteredModel.name, ModelVersion.version, ModelVersion.sha256)
        .join(RegisteredModel, RegisteredModel.id == ModelVersion.model_id)
        .order_by(RegisteredModel.name, ModelVersion.version)
    ).all()
    states: dict[str, str] = {}
    damaged = []
    for name, version, sha256 in rows:
        if sha256 not in states:
            states[sha256] = artifact_state(session, store, sha256)
        if states[sha256] != "intact":
            damaged.append(Damage(name, version, sha256, states[sha256]))
    return Verification(checked=len(rows), damaged=damaged)


def unreferenced_items(
    session: Session, store: ArtifactStore, min_age_seconds: float
) -> list[StoredItem]:
    """Return the stored files no version refers to, and stale temporary files.

    Files younger than ``min_age_seconds`` are left alone: an upload may be about to commit
    the version that refers to them.
    """
    referenced = set(session.scalars(select(ModelVersion.sha256).distinct()))
    return [
        item
        for item in store.items(session)
        if (item.temporary or item.name not in referenced)
        and (item.age_seconds is None or item.age_seconds >= min_age_seconds)
    ]


def store_problems(session: Session, store: ArtifactStore) -> list[str]:
    """Return what readiness should report: the newest files, room on the store and database."""
    rows = session.execute(
        select(
            RegisteredModel.name, ModelVersion.version, ModelVersion.sha256, ModelVersion.size_bytes
        )
        .join(RegisteredModel, RegisteredModel.id == ModelVersion.model_id)
        .order_by(ModelVersion.id.desc())
        .limit(READY_SAMPLE)
    ).all()
    samples = [Sample(sha256, size, f"{name} v{version}") for name, version, sha256, size in rows]
    problems = store.problems(session, samples)
    url = session.get_bind().url
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        # A SQLite file's disk fills up like any other: a commit then fails, and uploads 507.
        problem = write_probe(Path(url.database).resolve().parent, "The SQLite database's disk")
        if problem and problem not in problems:
            problems.append(problem)
    return problems
