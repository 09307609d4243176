"""Tabular inputs to JSON prediction bodies, and prediction answers to Series and DataFrames."""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

_ROUTING_KEYS = frozenset({"instances", "columns", "data"})
_EXACT_FLOAT_INT = 2**53

# Looks up a version's class labels by their JSON keys: (model name, version) -> {str: label}.
Classes = Callable[[str, int], dict[str, Any]]


# JSON conversion of tabular inputs -------------------------------------------------------------


def _plain(value: Any) -> Any:
    """Return a JSON-ready scalar: numpy scalars unwrapped, NaN and NA as None."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def _column_values(column: pd.Series) -> list[Any]:
    """Return a column as JSON-ready values; floats that are all whole become ints."""
    numpy_dtype = isinstance(column.dtype, np.dtype)  # not a nullable extension dtype
    if numpy_dtype and column.dtype.kind in "biu":
        return column.to_numpy().tolist()
    if numpy_dtype and column.dtype.kind == "f":
        array = column.to_numpy(dtype=np.float64)
        present = ~np.isnan(array)
        if np.isinf(array).any():
            raise ValueError(f"Column {column.name!r} holds infinity, which JSON cannot carry.")
        values = array.tolist()
        # Pandas turns integer columns with gaps into floats; whole numbers keep the server's
        # integer features on their fast path and mean the same to number features.
        kept = array[present]
        if np.all(np.mod(kept, 1) == 0) and np.all(np.abs(kept) < _EXACT_FLOAT_INT):
            return [int(v) if ok else None for v, ok in zip(values, present, strict=True)]
        return [v if ok else None for v, ok in zip(values, present, strict=True)]
    values = [_plain(v) for v in column.astype(object)]
    if any(isinstance(v, float) and math.isinf(v) for v in values):
        raise ValueError(f"Column {column.name!r} holds infinity, which JSON cannot carry.")
    return values


def _frame_rows(frame: pd.DataFrame) -> list[list[Any]]:
    columns = [_column_values(frame.iloc[:, i]) for i in range(frame.shape[1])]
    return [list(row) for row in zip(*columns, strict=True)]


def _plain_row(row: Mapping[str, Any]) -> dict[str, Any]:
    out = {}
    for key, value in row.items():
        value = _plain(value)
        if isinstance(value, float) and math.isinf(value):
            raise ValueError(f"Feature {key!r} is infinite, which JSON cannot carry.")
        out[str(key)] = value
    return out


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"{type(value).__name__} is not JSON serializable.")


def _dumps(value: Any) -> str:
    return json.dumps(value, default=_json_default, allow_nan=False)


def _table_bodies(X: Any, step: int) -> list[dict[str, Any]]:
    """Return prediction bodies of at most ``step`` rows: columns/data for a frame, else rows."""
    if len(X) == 0:
        raise ValueError("There are no rows to predict.")
    if isinstance(X, pd.DataFrame):
        names = [str(c) for c in X.columns]
        rows = _frame_rows(X)
        chunks = [rows[i : i + step] for i in range(0, len(rows), step)]
        return [{"columns": names, "data": chunk} for chunk in chunks]
    rows = [_plain_row(row) for row in X]
    return [{"instances": rows[i : i + step]} for i in range(0, len(rows), step)]


def _is_row(X: Any) -> bool:
    return isinstance(X, (Mapping, pd.Series))


def _is_array(X: Any) -> bool:
    if isinstance(X, pd.DataFrame) or _is_row(X):
        return False
    if isinstance(X, np.ndarray):
        return True
    return isinstance(X, Sequence) and not all(isinstance(row, Mapping) for row in X)


def _single_body(X: Mapping[str, Any] | pd.Series) -> dict[str, Any]:
    row = _plain_row(X.to_dict() if isinstance(X, pd.Series) else X)
    # A feature named like a body key would make the flat form ambiguous: send it as rows.
    return {"instances": [row]} if _ROUTING_KEYS & row.keys() else row


# Prediction answers as pandas ------------------------------------------------------------------


def _unwrap(answer: dict[str, Any]) -> dict[str, Any]:
    """Return a one-row answer in the single-row shape, however the row was sent."""
    if "prediction" in answer:
        return answer
    out = {"model": answer["model"], "version": answer["version"]}
    out["prediction"] = answer["predictions"][0]
    for key in ("probabilities", "contributions", "imputed"):
        if key in answer:
            out[key] = answer[key][0]
    return out


def _single_result(
    name: str, answer: dict[str, Any], explain: bool, proba: bool, classes: Classes
) -> Any:
    result = answer["prediction"]
    if proba:
        labels = classes(name, answer["version"])
        result = {labels.get(k, k): p for k, p in answer["probabilities"].items()}
    if explain:
        return result, answer["contributions"]
    return result


def _batch_result(
    name: str,
    answers: list[dict[str, Any]],
    index: pd.Index,
    explain: bool,
    proba: bool,
    classes: Classes,
) -> Any:
    version = answers[0]["version"]
    if proba:
        rows = [p for answer in answers for p in answer.get("probabilities") or []]
        if len(rows) != len(index):
            raise ValueError(f"{name} v{version} is not a classifier: it has no probabilities.")
        labels = classes(name, version)
        result: Any = pd.DataFrame(rows, index=index).rename(columns=labels)
        result.columns.name = "class"
    else:
        predictions = [p for answer in answers for p in answer["predictions"]]
        result = pd.Series(predictions, index=index, name="prediction")
    result.attrs["version"] = version
    if any("imputed" in answer for answer in answers):
        # Per row, the features the server filled in; only when some row lacked one.
        result.attrs["imputed"] = [
            names
            for answer in answers
            for names in answer.get("imputed") or [[] for _ in answer["predictions"]]
        ]
    if not explain:
        return result
    parts = [c for answer in answers for c in answer["contributions"]]
    if parts and isinstance(next(iter(parts[0].values())), dict):
        labels = classes(name, version)
        flat = [
            {(labels.get(k, k), f): v for k, by in row.items() for f, v in by.items()}
            for row in parts
        ]
        contributions = pd.DataFrame(flat, index=index)
        contributions.columns = pd.MultiIndex.from_tuples(
            contributions.columns, names=["class", "feature"]
        )
    else:
        contributions = pd.DataFrame(parts, index=index)
    contributions.attrs["version"] = version
    if "contributions_space" in answers[0]:
        # The parts sum to the linear predictor or the transformed target, not the prediction.
        contributions.attrs["space"] = answers[0]["contributions_space"]
    return result, contributions
