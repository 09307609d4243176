"""Publishing a file as a version: intake in the sandbox, then one write transaction."""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import DBAPIError

from registry import intake
from registry.artifacts import ArtifactStore, database_full, no_room, sha256_of
from registry.db import Database
from registry.intake.sandbox import IntakeLimits
from registry.intake.verify import Reference
from registry.models import ModelVersion
from registry.services.lookup import find_model
from registry.services.results import VersionInfo
from registry.services.versions import add_version

SKOPS_MAGIC = b"PK\x03\x04"
log = logging.getLogger(__name__)


def artifact_format_of(data: bytes) -> str:
    """Tell a .skops archive (a zip file) from a joblib or pickle file."""
    return "skops" if data.startswith(SKOPS_MAGIC) else "joblib"


def publish_version(
    db: Database,
    store: ArtifactStore,
    name: str,
    data: bytes,
    actor: str,
    *,
    feature_names: list[str] | None = None,
    feature_types: dict[str, dict[str, Any]] | None = None,
    description: str = "",
    metrics: dict[str, float] | None = None,
    tags: dict[str, str] | None = None,
    evaluation: dict[str, Any] | None = None,
    activate: bool = False,
    timeout: float = 60.0,
    reference: Reference | None = None,
    limits: IntakeLimits | None = None,
) -> VersionInfo:
    """Inspect an artifact in the sandbox and store it as the model's next version.

    The slow, untrusted part runs outside any transaction. Raises ModelNotFound, the intake
    errors (InvalidArtifact, UntrustedArtifact, UnsupportedEstimator, InvalidFeatures,
    TooManyCategories, IntakeUnavailable),
    KindMismatch and, with ``activate``, IncompatibleSchema.
    """
    with db.read() as session:
        find_model(session, name)
    artifact_format = artifact_format_of(data)
    inspected = intake.inspect_artifact(
        data,
        feature_names=feature_names,
        feature_types=feature_types,
        artifact_format=artifact_format,
        timeout=timeout,
        limits=limits,
        reference=reference,
    )
    sha256 = sha256_of(data)
    try:
        with db.write() as session:
            return add_version(
                session,
                store,
                name,
                inspected,
                data,
                sha256,
                actor,
                description=description,
                # A search's records, unless the uploader gave the same keys.
                metrics={**inspected.metrics, **(metrics or {})},
                tags={**inspected.tags, **(tags or {})},
                evaluation=evaluation,
                activate=activate,
                artifact_format=artifact_format,
            )
    except BaseException as error:
        # The file may be in place while the transaction that refers to it is not.
        forget_unreferenced(db, store, sha256)
        if isinstance(error, DBAPIError) and database_full(error):
            raise no_room() from error
        raise


def forget_unreferenced(db: Database, store: ArtifactStore, sha256: str) -> None:
    """Remove a stored file that no committed version refers to (after a failed publish)."""
    try:
        with db.read() as session:
            referenced = select(ModelVersion.id).where(ModelVersion.sha256 == sha256).limit(1)
            if session.scalar(referenced) is not None:
                return
            store.discard(session, sha256)
    except Exception:  # noqa: BLE001 - the original error matters more; gc finds leftovers
        log.exception("Could not remove the unreferenced artifact %s", sha256)
