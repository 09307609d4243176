"""Training as a use case: fit in a fenced child process, then publish through the intake.

This module imports neither pandas nor scikit-learn, so that web workers stay small: the
fitting itself (registry.training) runs in a child Python process that gets the CSV bytes on
stdin and answers with JSON on stdout. The child raises the same fences as intake's (memory
and CPU limits, no network, no writes, nobody, Landlock, seccomp) and holds a sandbox slot;
a CSV that is not UTF-8, has no header or no such target, or is over the row and column
limits is refused here first, in milliseconds.
"""

from __future__ import annotations

import base64
import json
import logging
import math
import os
import sys
from dataclasses import dataclass, field, replace
from typing import Any

from config import ROOT
from registry.artifacts import ArtifactStore
from registry.child_budget import BUSY_RETRY_AFTER, OverBudget, Starved, run_within_budget
from registry.csv_check import check_csv
from registry.db import Database
from registry.errors import (
    IntakeBusy,
    IntakeUnavailable,
    InvalidTrainingData,
    KindMismatch,
    ModelExists,
    ModelNotFound,
)
from registry.intake.sandbox import IntakeLimits, missing_fences
from registry.intake.slots import sandbox_slot
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
import sys
sys.dont_write_bytecode = True
sys.path.insert(0, sys.argv[1])
from registry.training.child import child_main
child_main()
"""

# What a training child needs whatever the CSV (Python, pandas and scikit-learn starting and
# a warm-up fit: 1.5-2 CPU seconds measured) and per cell of the CSV (0.4 us measured up to
# 10 million cells), each with a wide margin. CPU time, not the wall clock: on a loaded machine
# the child (at a low priority) may get a small share of a core and still finish.
BASE_CPU_SECONDS = 15.0
CPU_SECONDS_PER_CELL = 5e-6

# One BLAS thread: training must not take every core away from the predictions.
_CHILD_ENV = {
    "OMP_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "LC_ALL": "C.UTF-8",
}


@dataclass(frozen=True)
class TrainLimits:
    """How training runs: the sandbox's fences and slots, CPU, memory, and the CSV's size."""

    sandbox: IntakeLimits = field(default_factory=IntakeLimits)
    cpu_seconds: int = 40
    memory_bytes: int = 2 << 30
    max_rows: int = 100_000
    max_columns: int = 100

    @classmethod
    def from_config(cls, config: Any) -> TrainLimits:
        """Read the limits from the app's settings (config.Config)."""
        return cls(
            sandbox=IntakeLimits.from_config(config),
            cpu_seconds=config.train_cpu_seconds,
            memory_bytes=config.train_memory_mb << 20,
            max_rows=config.max_csv_rows,
            max_columns=config.max_csv_columns,
        )


def _numbers(value: Any, limit: int = 1000) -> bool:
    return (
        isinstance(value, list)
        and len(value) <= limit
        and all(
            isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
            for v in value
        )
    )


def held_out_view(raw: Any) -> dict[str, Any] | None:
    """Return the child's held-out view if it has the shape the dashboard draws, else None.

    The view only illustrates the metrics, so a malformed one is dropped, not an error.
    """
    if not isinstance(raw, dict) or not isinstance(raw.get("rows"), int):
        return None
    if raw.get("type") == "residuals":
        predicted, actual = raw.get("predicted"), raw.get("actual")
        if _numbers(predicted) and _numbers(actual) and len(predicted) == len(actual):
            return raw
        return None
    labels, confusion, roc = raw.get("labels"), raw.get("confusion"), raw.get("roc")
    per_class = raw.get("roc_per_class")
    if raw.get("type") != "classes" or not isinstance(labels, list) or len(labels) > 100:
        return None
    if not all(isinstance(label, str) for label in labels):
        return None
    if not isinstance(confusion, list) or len(confusion) != len(labels):
        return None
    if not all(_numbers(row) and len(row) == len(labels) for row in confusion):
        return None
    if roc is not None and not (
        isinstance(roc, dict)
        and isinstance(roc.get("positive"), str)
        and _numbers(roc.get("fpr"))
        and _numbers(roc.get("tpr"))
        and len(roc["fpr"]) == len(roc["tpr"])
    ):
        return None
    if per_class is not None and not (
        isinstance(per_class, list)
        and len(per_class) <= len(labels)
        and all(_curve(curve, labels) for curve in per_class)
    ):
        return None
    return raw


def _curve(curve: Any, labels: list[str]) -> bool:
    """Tell whether a one-vs-rest ROC curve has the shape the dashboard draws."""
    return (
        isinstance(curve, dict)
        and curve.get("positive") in labels
        and _numbers(curve.get("fpr"))
        and _numbers(curve.get("tpr"))
        and len(curve["fpr"]) == len(curve["tpr"]) > 0
        and _numbers([curve.get("auc")])
    )


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
    # Which fences stood around the child that fitted it (set by the parent).
    sandbox: dict[str, bool] = field(default_factory=dict)
    # What the dashboard draws of the held-out split (registry.training.evaluation).
    evaluation: dict[str, Any] | None = None

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
            "evaluation": self.evaluation,
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
            evaluation=held_out_view(raw.get("evaluation")),
        )

    def tags(self) -> dict[str, str]:
        """Return the provenance tags a trained version carries."""
        return {
            "trained_by": "registry",
            "target": self.target[:1000],
            "train_rows": str(self.train_rows),
            "test_rows": str(self.test_rows),
        }


def train_cpu_budget(rows: int, columns: int, cap: int) -> int:
    """Return the CPU seconds a training child may use for a CSV: its start-up plus its cells.

    ``cap`` (REGISTRY_TRAIN_CPU_SECONDS) bounds it whatever the CSV.
    """
    needed = BASE_CPU_SECONDS + rows * columns * CPU_SECONDS_PER_CELL
    return max(1, min(cap, math.ceil(needed)))


def _seconds(count: int) -> str:
    return "1 CPU second" if count == 1 else f"{count} CPU seconds"


def _over_budget(budget: int, rows: int, columns: int, limits: TrainLimits) -> str:
    raised = (
        " The operator may raise REGISTRY_TRAIN_CPU_SECONDS."
        if budget >= limits.cpu_seconds
        else ""
    )
    return (
        f"Training needed more than the {_seconds(budget)} allowed for a CSV of {rows} rows "
        f"and {columns} columns, and was stopped. Send fewer rows or columns (or text columns "
        f"with fewer distinct values), or fit the model on your machine and push it.{raised}"
    )


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
    data: bytes,
    target: str,
    kind: str | None,
    test_size: float,
    timeout: float,
    limits: TrainLimits | None = None,
) -> TrainedModel:
    """Check CSV bytes here, then fit on them in a fenced child process; return the result.

    The child may use CPU seconds in proportion to the CSV's cells (train_cpu_budget);
    ``timeout`` only bounds how long this waits for them on a busy machine.
    Raises InvalidTrainingData (bad data, a crash or a CPU budget used up), PayloadTooLarge
    (rows or columns over the limits), IntakeBusy (every slot taken, or the machine too busy
    to give the child its CPU in ``timeout`` seconds), or IntakeUnavailable (a fence is down).
    """
    limits = limits or TrainLimits()
    if not data.strip():
        raise InvalidTrainingData("The CSV is empty.", {"data": ["The file is empty."]})
    rows, columns = check_csv(data, target, limits.max_rows, limits.max_columns)
    budget = train_cpu_budget(rows, columns, limits.cpu_seconds)
    header = json.dumps({"target": target, "kind": kind, "test_size": test_size})
    command = [
        sys.executable,
        "-I",
        "-c",
        _BOOTSTRAP,
        str(ROOT),
        str(budget),
        str(limits.memory_bytes),
        str(os.getpid()),
        ",".join(sorted(limits.sandbox.allow_weak)),
    ]
    sandbox = limits.sandbox
    with sandbox_slot(sandbox.slot_folder, sandbox.slots, sandbox.queue_seconds):
        try:
            finished = run_within_budget(
                command,
                header.encode("utf-8") + b"\n" + data,
                {"PATH": os.defpath, **_CHILD_ENV},
                timeout,
            )
        except OverBudget:
            raise InvalidTrainingData(_over_budget(budget, rows, columns, limits)) from None
        except Starved as starved:
            raise IntakeBusy(
                f"The server is too busy to train now: in {timeout:g} seconds the training "
                f"child got {starved.cpu_used:.1f} of the {_seconds(budget)} it may use. "
                "Try again in a minute, or fit the model on your machine and push it "
                "(registry.push, or manage.py versions push).",
                retry_after=BUSY_RETRY_AFTER,
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
    status = answer.get("sandbox") if type(answer.get("sandbox")) is dict else {}
    missing = missing_fences(status, sandbox) if status else ["all"]
    if answer.get("code") == "intake_unavailable" or missing:
        log.error(
            "Training is refused: its sandbox cannot raise %s here; fix the host or accept "
            "the risk with REGISTRY_INTAKE_ALLOW_WEAK_FENCES=%s.",
            ", ".join(missing),
            ",".join(missing),
        )
        raise IntakeUnavailable(
            f"Training is unavailable: its sandbox cannot raise its {', '.join(missing)} "
            "fence on this server. The operator has been told."
        )
    if not answer.get("ok"):
        raise InvalidTrainingData(answer["message"], answer.get("errors"))
    trained = TrainedModel.from_json(answer["result"])
    return replace(trained, sandbox={str(k): v is True for k, v in status.items()})


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
        evaluation=trained.evaluation,
        activate=activate,
        timeout=timeout,
        limits=limits,
    )
