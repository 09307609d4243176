"""Training as a use case: fit in a child process, then publish through the sandboxed intake.

This module imports neither pandas nor scikit-learn, so that web workers stay small: the
fitting itself (registry.training) runs in a child Python process that gets the CSV bytes on
stdin and answers with JSON on stdout.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from typing import Any

from config import ROOT
from registry.artifacts import ArtifactStore
from registry.db import Database
from registry.errors import InvalidTrainingData, KindMismatch, ModelExists, ModelNotFound
from registry.intake.sandbox import IntakeLimits
from registry.publishing import publish_version
from registry.services.lookup import find_model
from registry.services.models import create_model
from registry.services.names import check_model_name
from registry.services.results import VersionInfo

log = logging.getLogger(__name__)

KINDS = ("linear", "logistic")

# The child imports registry.training from this checkout: -I keeps the caller's environment
# variables, user site and working directory out of its import path.
_BOOTSTRAP = """\
import os, sys
sys.path.insert(0, sys.argv[1])
os.nice(10)
from registry.training import child_main
child_main()
"""

# One BLAS thread: training must not take every core away from the predictions.
_CHILD_ENV = {
    "OMP_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "LC_ALL": "C.UTF-8",
}


@dataclass(frozen=True)
class TrainedModel:
    """A fitted pipeline's joblib bytes with its held-out metrics."""

    kind: str
    artifact: bytes
    metrics: dict[str, float]
    target: str
    features: tuple[str, ...]
    train_rows: int
    test_rows: int
    warnings: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        """Return the JSON form the child process sends back."""
        return {
            "kind": self.kind,
            "artifact": base64.b64encode(self.artifact).decode("ascii"),
            "metrics": self.metrics,
            "target": self.target,
            "features": list(self.features),
            "train_rows": self.train_rows,
            "test_rows": self.test_rows,
            "warnings": list(self.warnings),
        }

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> TrainedModel:
        """Rebuild a result from its JSON form."""
        return cls(
            kind=raw["kind"],
            artifact=base64.b64decode(raw["artifact"]),
            metrics={str(k): float(v) for k, v in raw["metrics"].items()},
            target=raw["target"],
            features=tuple(raw["features"]),
            train_rows=int(raw["train_rows"]),
            test_rows=int(raw["test_rows"]),
            warnings=tuple(raw["warnings"]),
        )

    def tags(self) -> dict[str, str]:
        """Return the provenance tags a trained version carries."""
        return {
            "trained_by": "registry",
            "target": self.target[:1000],
            "train_rows": str(self.train_rows),
            "test_rows": str(self.test_rows),
        }


def kind_to_train(db: Database, name: str, kind: str | None) -> str | None:
    """Return the kind to train for model ``name``: the one asked for, else the model's own.

    A model that does not exist yet must have a valid name, as it will be created.
    Raises InvalidName, KindMismatch.
    """
    with db.read() as session:
        try:
            model_kind = find_model(session, name).kind
        except ModelNotFound:
            check_model_name(name)
            return kind
    if kind is not None and model_kind is not None and kind != model_kind:
        raise KindMismatch(
            f"Model {name!r} is {model_kind}; it cannot take a {kind} version.",
            {"kind": [f"Model {name!r} is {model_kind}."]},
        )
    return kind or model_kind


def train_in_child(
    data: bytes, target: str, kind: str | None, test_size: float, timeout: float
) -> TrainedModel:
    """Fit on CSV bytes in a separate Python process and return the result.

    Raises InvalidTrainingData (bad data, a crash or the timeout).
    """
    if not data.strip():
        raise InvalidTrainingData("The CSV is empty.", {"data": ["The file is empty."]})
    header = json.dumps({"target": target, "kind": kind, "test_size": test_size})
    with tempfile.TemporaryDirectory(prefix="registry-train-") as workdir:
        env = {"PATH": os.defpath, "HOME": workdir, "TMPDIR": workdir, **_CHILD_ENV}
        try:
            finished = subprocess.run(
                [sys.executable, "-I", "-c", _BOOTSTRAP, str(ROOT)],
                input=header.encode("utf-8") + b"\n" + data,
                capture_output=True,
                timeout=timeout,
                env=env,
                cwd=workdir,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise InvalidTrainingData(
                f"Training took longer than the limit of {timeout:g} seconds; "
                "try a smaller CSV or fewer columns."
            ) from None
    try:
        answer = json.loads(finished.stdout)
    except ValueError:
        log.warning(
            "Training child exited with %s: %s",
            finished.returncode,
            finished.stderr.decode("utf-8", "replace")[-2000:],
        )
        raise InvalidTrainingData(
            f"Training stopped unexpectedly (exit status {finished.returncode}); "
            "the CSV may be too large to train on."
        ) from None
    if not answer.get("ok"):
        raise InvalidTrainingData(answer["message"], answer.get("errors"))
    return TrainedModel.from_json(answer["result"])


def ensure_model(db: Database, name: str, kind: str, actor: str) -> bool:
    """Create model ``name`` unless it exists; return whether it was created.

    Raises InvalidName.
    """
    with db.read() as session:
        try:
            find_model(session, name)
            return False
        except ModelNotFound:
            pass
    try:
        with db.write() as session:
            create_model(session, name, actor, kind=kind)
    except ModelExists:
        return False  # someone else created it in the meantime: just as good
    return True


def publish_trained(
    db: Database,
    store: ArtifactStore,
    name: str,
    trained: TrainedModel,
    actor: str,
    *,
    description: str = "",
    activate: bool = False,
    timeout: float = 60.0,
    limits: IntakeLimits | None = None,
) -> VersionInfo:
    """Publish a trained pipeline as the next version of ``name``, creating the model if needed.

    The bytes go through the same sandboxed intake as any upload. Raises InvalidName,
    KindMismatch, IncompatibleSchema (with ``activate``) and the intake errors.
    """
    ensure_model(db, name, trained.kind, actor)
    return publish_version(
        db,
        store,
        name,
        trained.artifact,
        actor,
        description=description,
        metrics=trained.metrics,
        tags=trained.tags(),
        activate=activate,
        timeout=timeout,
        limits=limits,
    )
