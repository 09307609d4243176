"""Publishing a file as a version: intake in the sandbox, then one write transaction."""

from __future__ import annotations

from registry import intake
from registry.artifacts import ArtifactStore, sha256_of
from registry.db import Database
from registry.services.lookup import find_model
from registry.services.results import VersionInfo
from registry.services.versions import add_version

SKOPS_MAGIC = b"PK\x03\x04"


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
    description: str = "",
    metrics: dict[str, float] | None = None,
    tags: dict[str, str] | None = None,
    activate: bool = False,
    timeout: float = 60.0,
) -> VersionInfo:
    """Inspect an artifact in the sandbox and store it as the model's next version.

    The slow, untrusted part runs outside any transaction. Raises ModelNotFound, the intake
    errors (InvalidArtifact, UntrustedArtifact, UnsupportedEstimator, InvalidFeatures),
    KindMismatch and, with ``activate``, IncompatibleSchema.
    """
    with db.read() as session:
        find_model(session, name)
    artifact_format = artifact_format_of(data)
    inspected = intake.inspect_artifact(
        data, feature_names=feature_names, artifact_format=artifact_format, timeout=timeout
    )
    with db.write() as session:
        return add_version(
            session,
            store,
            name,
            inspected,
            data,
            sha256_of(data),
            actor,
            description=description,
            metrics=metrics,
            tags=tags,
            activate=activate,
            artifact_format=artifact_format,
        )
