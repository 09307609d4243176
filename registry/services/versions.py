"""Version use cases: add an inspected upload, list, read, edit, delete, download."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from registry.artifacts import ArtifactStore, sha256_of
from registry.errors import (
    ArtifactCorrupted,
    ArtifactMissing,
    KindMismatch,
    VersionIsActive,
    VersionIsAliased,
)
from registry.models import Alias, ModelVersion, RegisteredModel, utcnow
from registry.plans import Plan
from registry.services.activation import activate_version
from registry.services.events import record_event
from registry.services.lookup import find_model, find_version
from registry.services.paging import fetch_page
from registry.services.results import Artifact, Page, VersionInfo
from registry.services.state import bump_generation

log = logging.getLogger(__name__)


class Inspected(Protocol):
    """What intake learned about an upload (registry.intake's IntakeResult)."""

    kind: str
    estimator: str
    plan: Plan
    sklearn_version: str | None
    verification: dict[str, Any] | None
    referred: list[dict[str, Any]] | None


@dataclass(frozen=True)
class KnownPlan:
    """An Inspected whose plan was already validated, for storing it again without intake."""

    kind: str
    estimator: str
    plan: Plan
    sklearn_version: str | None = None
    verification: dict[str, Any] | None = None
    referred: list[dict[str, Any]] | None = None  # not recorded: the file was not opened


def describe_versions(
    session: Session, model: RegisteredModel, rows: list[ModelVersion]
) -> list[VersionInfo]:
    """Turn version rows into VersionInfo, with their aliases."""
    aliases: dict[int, list[str]] = {}
    for alias in session.scalars(
        select(Alias).where(Alias.model_id == model.id).order_by(Alias.name)
    ):
        aliases.setdefault(alias.version, []).append(alias.name)
    return [
        VersionInfo(
            model=model.name,
            version=v.version,
            kind=v.kind,
            estimator=v.estimator,
            features=v.features,
            classes=v.classes,
            sha256=v.sha256,
            size_bytes=v.size_bytes,
            sklearn_version=v.sklearn_version,
            verification=v.verification,
            intake=v.intake,
            metrics=dict(v.metrics),
            description=v.description,
            tags=dict(v.tags),
            archived=v.is_archived,
            active=model.active_version == v.version,
            aliases=aliases.get(v.version, []),
            created_at=v.created_at,
            created_by=v.created_by,
            artifact_format=v.artifact_format,
        )
        for v in rows
    ]


def add_version(
    session: Session,
    store: ArtifactStore,
    name: str,
    inspected: Inspected,
    data: bytes,
    sha256: str,
    actor: str,
    description: str = "",
    metrics: dict[str, float] | None = None,
    tags: dict[str, str] | None = None,
    activate: bool = False,
    artifact_format: str = "joblib",
    evaluation: dict[str, Any] | None = None,
) -> VersionInfo:
    """Store an inspected upload as the model's next version.

    Raises ModelNotFound, KindMismatch, and with ``activate`` IncompatibleSchema.
    """
    model = find_model(session, name, lock=True)
    if model.kind is not None and model.kind != inspected.kind:
        raise KindMismatch(
            f"Model {name!r} is {model.kind}, and this upload is a {inspected.kind} model.",
            {"artifact": [f"Expected a {model.kind} model, got a {inspected.kind} one."]},
        )
    model.kind = inspected.kind
    store.put(session, sha256, data)
    model.last_version += 1
    plan = inspected.plan
    row = ModelVersion(
        model_id=model.id,
        version=model.last_version,
        kind=inspected.kind,
        estimator=inspected.estimator,
        features=[f.to_dict() for f in plan.features],
        classes=plan.classes,
        plan=plan.to_json(),
        sha256=sha256,
        size_bytes=len(data),
        artifact_format=artifact_format,
        sklearn_version=inspected.sklearn_version,
        verification=inspected.verification,
        intake=None if inspected.referred is None else {"referred": inspected.referred},
        evaluation=evaluation,
        metrics=metrics or {},
        description=description,
        tags=tags or {},
        is_archived=False,
        created_at=utcnow(),
        created_by=actor,
    )
    session.add(row)
    model.updated_at = utcnow()
    session.flush()
    record_event(
        session, model, "version_uploaded", actor, row.version, sha256=sha256, size=len(data)
    )
    bump_generation(session, model.id)
    if activate:
        activate_version(session, name, row.version, actor)
    return describe_versions(session, model, [row])[0]


def list_versions(session: Session, name: str, page: int, per_page: int) -> Page[VersionInfo]:
    """Return a page of a model's versions, newest first. Raises ModelNotFound."""
    model = find_model(session, name)
    query = (
        select(ModelVersion)
        .where(ModelVersion.model_id == model.id)
        .order_by(ModelVersion.version.desc())
    )
    rows, total = fetch_page(session, query, page, per_page)
    return Page(tuple(describe_versions(session, model, list(rows))), page, per_page, total)


def get_version(session: Session, name: str, version: int) -> VersionInfo:
    """Return one version. Raises ModelNotFound, VersionNotFound."""
    model = find_model(session, name)
    return describe_versions(session, model, [find_version(session, model, version)])[0]


def get_plan(session: Session, name: str, version: int) -> dict[str, Any]:
    """Return one version's plan JSON. Raises ModelNotFound, VersionNotFound."""
    model = find_model(session, name)
    return find_version(session, model, version).plan


def get_evaluation(session: Session, name: str, version: int) -> dict[str, Any] | None:
    """Return the held-out view a version trained here keeps, or None.

    Raises ModelNotFound, VersionNotFound.
    """
    model = find_model(session, name)
    return find_version(session, model, version).evaluation


def update_version(
    session: Session,
    name: str,
    version: int,
    actor: str,
    description: str | None = None,
    tags: dict[str, str] | None = None,
    archived: bool | None = None,
) -> VersionInfo:
    """Edit a version's description, tags and archived flag. Raises ModelNotFound, ..."""
    model = find_model(session, name, lock=True)
    row = find_version(session, model, version)
    if description is not None:
        row.description = description
    if tags is not None:
        row.tags = dict(tags)
    if archived is not None and archived != row.is_archived:
        row.is_archived = archived
        record_event(session, model, "archived" if archived else "unarchived", actor, version)
    record_event(session, model, "version_updated", actor, version)
    session.flush()
    return describe_versions(session, model, [row])[0]


def delete_version(session: Session, name: str, version: int, actor: str) -> None:
    """Delete a version that is neither active nor aliased.

    Raises ModelNotFound, VersionNotFound, VersionIsActive, VersionIsAliased.
    """
    model = find_model(session, name, lock=True)
    row = find_version(session, model, version)
    if model.active_version == version:
        raise VersionIsActive(
            f"Version {version} of {name!r} is active; activate another version first."
        )
    aliases = session.scalars(
        select(Alias.name).where(Alias.model_id == model.id, Alias.version == version)
    ).all()
    if aliases:
        raise VersionIsAliased(
            f"Version {version} of {name!r} is aliased as {', '.join(aliases)}; "
            "move or remove those aliases first."
        )
    session.delete(row)
    record_event(session, model, "deleted", actor, version)
    bump_generation(session, model.id)
    session.flush()


def get_artifact(session: Session, store: ArtifactStore, name: str, version: int) -> Artifact:
    """Return a version's original file, checked against its sha256.

    Raises ModelNotFound, VersionNotFound, ArtifactMissing, ArtifactCorrupted.
    """
    model = find_model(session, name)
    row = find_version(session, model, version)
    data = store.get(session, row.sha256)
    if data is None:
        log.error("The artifact %s of %s v%d is missing.", row.sha256, name, version)
        raise ArtifactMissing(
            f"The file of version {version} of {name!r} is missing from the artifact store; "
            "an operator can restore it by uploading the same file again."
        )
    if sha256_of(data) != row.sha256:
        log.error("The artifact %s of %s v%d does not match its hash.", row.sha256, name, version)
        raise ArtifactCorrupted(
            f"The stored file of version {version} of {name!r} is damaged (it no longer "
            "matches its sha256); an operator can repair it by uploading the same file again."
        )
    extension = "skops" if row.artifact_format == "skops" else "joblib"
    return Artifact(data=data, sha256=row.sha256, filename=f"{name}-v{version}.{extension}")
