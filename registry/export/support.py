"""What the exporters know of the plan format: anything else is refused, never guessed."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from registry.errors import NotExportable

PLAN_KEYS = {
    "format",
    "kind",
    "link",
    "features",
    "columns",
    "ignored",
    "coef",
    "intercept",
    "classes",
    "target",
}
FEATURE_KEYS = {"name", "type", "enum", "nullable", "accepts_unknown"}
COLUMN_KEYS = {"feature", "center", "mul", "add", "missing", "ops", "category", "lookup", "unknown"}
LINKS = {"identity", "log", "logistic", "softmax", "ovr"}
TARGET_FUNCTIONS = {"exp", "expm1", "square", "log", "log1p", "sqrt", "absolute", "affine"}
OPS = {"affine", "clip", "ufunc", "step", "yeo_johnson", "box_cox", "quantile"}
UFUNCS = {"log", "log1p", "exp", "expm1", "sqrt", "square", "abs"}
# The scikit-learn step behind a part of the plan no exporter writes, to name it in the refusal.
STEPS = {
    "product": "PolynomialFeatures",
    "normalize": "Normalizer",
    "bspline": "SplineTransformer",
    "quantile": "QuantileTransformer",
}


def check_exportable(raw: Mapping[str, Any], ops: set[str] = OPS) -> None:
    """Raise NotExportable naming the first part of the plan that these exporters do not know.

    The plan format grows (new step kinds); an exporter that met one it does not know would
    write a query that computes something else, so it refuses instead.
    """
    _known(set(raw), PLAN_KEYS, "plan key")
    _known({raw.get("link")}, LINKS, "link")
    for feature in raw.get("features", []):
        _known(set(feature), FEATURE_KEYS, "feature key")
    for column in raw.get("columns", []):
        _known(set(column), COLUMN_KEYS, "column key")
        for op in column.get("ops", []):
            _known({op.get("op")}, ops, "step kind")
            if op.get("op") == "ufunc":
                _known({op.get("name")}, UFUNCS, "function")
    for step in raw.get("target", []):
        _known({step.get("function")}, TARGET_FUNCTIONS, "target transform")


def _known(found: set[Any], known: set[str], what: str) -> None:
    # A part that names a step comes first: 'normalize' says more than its 'index'.
    unknown = sorted((str(v) for v in found - known), key=lambda v: (v not in STEPS, v))
    if unknown:
        step = f" (a {STEPS[unknown[0]]} step)" if unknown[0] in STEPS else ""
        raise NotExportable(
            f"The plan holds the {what} {unknown[0]!r}{step}, which this export does not know.",
            {"plan": [f"Unknown {what}: {', '.join(unknown)}."]},
        )
