"""Probe rows for a plan, and scikit-learn's own outputs on them, to check the plan against."""

from __future__ import annotations

import math
import warnings
from typing import Any

import joblib
import numpy as np
import pandas as pd

from registry.errors import UnsupportedEstimator
from registry.intake.compat import predict_proba, restore_defaults
from registry.intake.extract import Extraction, Hint

MIN_ROWS = 32
MAX_ROWS = 512
_MISSING_EVERY = 5
_UNSEEN_EVERY = 7


def _unseen(enum: list[Any], type_: str) -> Any:
    """Return a value of the feature's type that the encoder never saw, if there is one."""
    if type_ == "boolean":
        left = {True, False} - set(enum)
        return left.pop() if left else None
    if type_ == "string":
        return "unseen-" + max(enum, key=len)
    return max(enum) + (1 if type_ == "integer" else 0.5)


def probe_rows(extraction: Extraction, seed: int = 0) -> dict[str, list[Any]]:
    """Return probe rows by feature: random numbers, every category, and missing values."""
    rng = np.random.default_rng(seed)
    features = extraction.plan["features"]
    longest = max((len(f.get("enum", ())) for f in features), default=0)
    n = min(max(MIN_ROWS, longest + _MISSING_EVERY), MAX_ROWS)
    rows: dict[str, list[Any]] = {}
    for offset, feature in enumerate(features):
        if "enum" in feature:
            enum = feature["enum"]
            start = int(rng.integers(len(enum)))
            values = [enum[(start + i) % len(enum)] for i in range(n)]
            unseen = _unseen(enum, feature["type"]) if feature.get("accepts_unknown") else None
            if unseen is not None:
                for i in range((offset + 2) % _UNSEEN_EVERY, n, _UNSEEN_EVERY):
                    values[i] = unseen
        else:
            hint = extraction.hints[feature["name"]]
            z = rng.normal(size=n) * 1.5
            # Values near the fitted range, so that probabilities are not all saturated.
            if hint.span is not None:
                values = rng.uniform(*hint.span, size=n).tolist()
            else:
                values = ((z - hint.add) / hint.mul + hint.center if hint.mul else z).tolist()
            if feature["type"] == "boolean":
                values = [bool(v > hint.center) for v in values]
            elif feature["type"] == "integer":
                values = [round(v) for v in values]
        if feature["nullable"]:
            for i in range(offset % _MISSING_EVERY, n, _MISSING_EVERY):
                values[i] = None
        rows[feature["name"]] = values
    return rows


def _column(values: list[Any], hint: Hint, categorical: bool) -> np.ndarray:
    if not categorical:
        return np.array([math.nan if v is None else v for v in values], dtype=np.float64)
    has_missing = any(v is None for v in values)
    if hint.kind in "iu" and not has_missing:
        # Integers as integers: a category above 2**53 has no exact float.
        return np.array(values, dtype=np.int64 if hint.kind == "i" else np.uint64)
    if hint.kind in "iuf" and not (has_missing and hint.missing is None):
        return np.array([math.nan if v is None else v for v in values], dtype=np.float64)
    if hint.kind == "b" and not has_missing:
        return np.array(values, dtype=bool)
    return np.array([hint.missing if v is None else v for v in values], dtype=object)


def sklearn_inputs(extraction: Extraction, rows: dict[str, list[Any]]) -> Any:
    """Return the probe rows as the estimator was fitted on: a DataFrame or a numpy array."""
    n = len(next(iter(rows.values())))
    categorical = {f["name"] for f in extraction.plan["features"] if "enum" in f}
    columns = {
        name: _column(rows[name], extraction.hints[name], name in categorical)
        if name in rows
        else np.zeros(n)  # an input the model drops: any value will do
        for name in extraction.input_names
    }
    if extraction.has_names:
        # Explicit dtypes: pandas 3 would read an object column of strings as its string
        # dtype, turning None into NaN, which scikit-learn treats differently.
        return pd.DataFrame(
            {name: pd.Series(column, dtype=column.dtype) for name, column in columns.items()},
            columns=list(extraction.input_names),
        )
    dtype = object if any(c.dtype == object for c in columns.values()) else np.float64
    return np.column_stack([columns[name].astype(dtype) for name in extraction.input_names])


def sklearn_outputs(
    estimator: Any, extraction: Extraction, rows: dict[str, list[Any]], *, as_saved: bool = True
) -> list:
    """Return scikit-learn's predictions (linear) or class probabilities (logistic) as rows.

    ``as_saved`` runs a file from an older release as that release would (the server's check);
    the uploader's own scikit-learn, which fitted the estimator, runs it as it is.
    """
    inputs = sklearn_inputs(extraction, rows)
    with warnings.catch_warnings(), joblib.parallel_config(backend="sequential"):
        warnings.simplefilter("ignore")
        if as_saved:
            restore_defaults(estimator)
        if extraction.kind == "linear":
            out = np.asarray(estimator.predict(inputs), dtype=np.float64).reshape(-1, 1)
        elif as_saved:
            out = np.asarray(predict_proba(estimator, inputs), dtype=np.float64)
        else:
            out = np.asarray(estimator.predict_proba(inputs), dtype=np.float64)
    return out.tolist()


def keep_finite(rows: dict[str, list[Any]], outputs: list) -> tuple[dict[str, list[Any]], list]:
    """Return the probe rows whose scikit-learn outputs are all finite.

    A model may answer NaN for some inputs (an inverse target transform of numpy.sqrt on a
    negative score); the plan refuses those rows, so they check nothing. Raises
    UnsupportedEstimator when no row is left.
    """
    keep = [i for i, row in enumerate(outputs) if all(math.isfinite(v) for v in row)]
    if len(keep) == len(outputs):
        return rows, outputs
    if not keep:
        raise UnsupportedEstimator(
            "scikit-learn's own predictions are not finite on any probe row; the model "
            "cannot be checked."
        )
    return {name: [values[i] for i in keep] for name, values in rows.items()}, [
        outputs[i] for i in keep
    ]
