"""Recompute probe rows from a plan and require scikit-learn's own outputs to within 1e-9."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from registry.errors import InvalidReference, UnsupportedEstimator, UntrustedArtifact
from registry.plans import Feature, NonFiniteScore, Plan

RELATIVE_TOLERANCE = 1e-9
MIN_REFERENCE_ROWS = 8
MAX_PROBE_ROWS = 4096


@dataclass(frozen=True)
class Reference:
    """The uploader's own scikit-learn outputs on rows of its choosing, sent with the upload."""

    sklearn_version: str
    rows: dict[str, list[Any]]
    outputs: list[list[float]]


def parse_reference(raw: Any) -> Reference:
    """Return the reference an upload carries, checking its shape. Raises InvalidReference."""
    if type(raw) is not dict or set(raw) != {"sklearn_version", "rows", "outputs"}:
        raise InvalidReference(
            "The reference must be an object with sklearn_version, rows and outputs.",
            {"reference": ["Expected keys sklearn_version, rows and outputs."]},
        )
    release = raw["sklearn_version"]
    if type(release) is not str or not 0 < len(release) <= 50:
        raise InvalidReference(
            "The reference's sklearn_version must be a release name.",
            {"reference": ["sklearn_version must be a short string."]},
        )
    return Reference(release, raw["rows"], raw["outputs"])


def _malformed(what: str, against: str) -> Exception:
    if against == "uploader":
        return InvalidReference(
            f"The reference {what} do not fit the model's features and outputs.",
            {"reference": [f"Malformed {what}."]},
        )
    return UntrustedArtifact(f"The sandboxed reader's probe {what} are malformed.")


def _valid_value(value: Any, feature: Feature, allowed: set[tuple[type, Any]] | None) -> bool:
    if value is None:
        return feature.nullable
    if allowed is not None:
        return type(value) in (str, int, float, bool) and (type(value), value) in allowed
    if feature.type == "string":
        return type(value) is str
    if feature.type == "boolean":
        return type(value) is bool
    if feature.type == "integer":
        return type(value) is int
    return type(value) in (int, float) and math.isfinite(value)


def _check_rows(plan: Plan, rows: Any, against: str) -> int:
    if type(rows) is not dict or set(rows) != {f.name for f in plan.features}:
        raise _malformed("rows", against)
    lengths = {len(v) if type(v) is list else -1 for v in rows.values()}
    if len(lengths) != 1 or not 0 < (n := lengths.pop()) <= MAX_PROBE_ROWS:
        raise _malformed("rows", against)
    if against == "uploader" and n < MIN_REFERENCE_ROWS:
        raise _malformed("rows", against)
    for feature in plan.features:
        # A set, so that checking is linear in rows + categories, not their product.
        closed = feature.enum is not None and not feature.accepts_unknown
        allowed = {(type(v), v) for v in feature.enum} if closed else None
        if not all(_valid_value(v, feature, allowed) for v in rows[feature.name]):
            raise _malformed("rows", against)
    return n


def _check_outputs(outputs: Any, n: int, width: int, against: str) -> np.ndarray:
    if type(outputs) is not list or len(outputs) != n:
        raise _malformed("outputs", against)
    for row in outputs:
        if type(row) is not list or len(row) != width:
            raise _malformed("outputs", against)
        if not all(type(v) in (int, float) and math.isfinite(v) for v in row):
            raise _malformed("outputs", against)
    return np.array(outputs, dtype=np.float64)


def check_probes(plan: Plan, rows: Any, outputs: Any, against: str = "server") -> int:
    """Refuse unless the plan reproduces every output to 1e-9 relative (1e-9 floor).

    ``against`` says whose outputs they are: "server" (the sandboxed reader's) or "uploader".
    Returns the number of rows checked. Raises UntrustedArtifact (malformed probes),
    InvalidReference (a malformed reference) and UnsupportedEstimator for a mismatch.
    """
    n = _check_rows(plan, rows, against)
    width = 1 if plan.kind == "linear" else len(plan.classes or ())
    expected = _check_outputs(outputs, n, width, against)
    try:
        result = plan.predict(rows)
    except NonFiniteScore:
        raise _malformed("rows", against) from None
    if plan.kind == "linear":
        got = np.array(result.predictions, dtype=np.float64).reshape(-1, 1)
    else:
        got = result.probabilities
    scale = np.maximum(np.maximum(np.abs(got), np.abs(expected)), 1.0)
    worst = float(np.max(np.abs(got - expected) / scale))
    if not worst <= RELATIVE_TOLERANCE:
        whose = (
            "the outputs your scikit-learn sent"
            if against == "uploader"
            else ("scikit-learn's own outputs")
        )
        raise UnsupportedEstimator(
            f"The plan extracted from the model does not reproduce {whose} "
            f"(relative difference {worst:.1e}); this configuration is not supported."
        )
    return n
