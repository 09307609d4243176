"""Reading a training CSV and checking its feature and target columns."""

from __future__ import annotations

import io
import math

import numpy as np
import pandas as pd
from pandas.api import types as ptypes

from registry.errors import InvalidTrainingData

MAX_GUESSED_CLASSES = 10
MAX_CLASSES = 100
MAX_CATEGORIES = 1000


def _invalid(message: str, field: str = "data") -> InvalidTrainingData:
    return InvalidTrainingData(message, {field: [message]})


def read_csv(data: bytes) -> pd.DataFrame:
    """Parse CSV bytes (UTF-8, a header line first). Raises InvalidTrainingData."""
    if not data.strip():
        raise _invalid("The CSV is empty.")
    try:
        frame = pd.read_csv(io.BytesIO(data), encoding="utf-8-sig")
    except pd.errors.EmptyDataError:
        raise _invalid("The CSV is empty.") from None
    except UnicodeDecodeError:
        raise _invalid("The CSV is not UTF-8 text.") from None
    except (pd.errors.ParserError, ValueError) as error:
        detail = str(error).strip().splitlines()[0].rstrip(".") if str(error).strip() else ""
        raise _invalid(f"The CSV could not be parsed: {detail}.") from None
    if frame.empty:
        raise _invalid("The CSV has a header but no rows.")
    return frame


def guess_kind(target: pd.Series) -> str:
    """Return the kind the package docstring's rule picks for a target column."""
    if ptypes.is_bool_dtype(target) or not ptypes.is_numeric_dtype(target):
        return "logistic"
    values = target.dropna().to_numpy(dtype=np.float64)
    values = values[np.isfinite(values)]
    whole = bool(np.all(values == np.round(values)))
    if whole and len(np.unique(values)) <= MAX_GUESSED_CLASSES:
        return "logistic"
    return "linear"


def _features(frame: pd.DataFrame, target: str) -> pd.DataFrame:
    features = frame.drop(columns=[target])
    if features.shape[1] == 0:
        raise _invalid(f"The CSV needs at least one column besides the target {target!r}.")
    out = {}
    for name in features.columns:
        column = features[name]
        if ptypes.is_bool_dtype(column):
            out[name] = column
            continue
        if ptypes.is_numeric_dtype(column):
            if column.isna().all():
                raise _invalid(f"Column {name!r} has no values.")
            if not isinstance(column.dtype, np.dtype):
                column = column.astype(np.float64)  # nullable extension types: NA becomes NaN
            if np.isinf(column.to_numpy(dtype=np.float64)).any():
                raise _invalid(f"Column {name!r} holds infinite values; use finite numbers.")
            out[name] = column
            continue
        # Text (pandas' str dtype), categories and mixed objects become plain object columns
        # of Python values with NaN for a missing one, which is what the plan serves.
        column = column.astype(object).where(column.notna(), np.nan)
        if column.isna().all():
            raise _invalid(f"Column {name!r} has no values.")
        distinct = column.dropna().nunique()
        if distinct > MAX_CATEGORIES:
            raise _invalid(
                f"Column {name!r} has {distinct} distinct text values, more than the "
                f"{MAX_CATEGORIES} a one-hot encoding allows; drop it or make it numeric."
            )
        if len({type(v) for v in column.dropna()}) > 1:
            column = column.map(lambda v: v if isinstance(v, float) and math.isnan(v) else str(v))
        out[name] = column
    return pd.DataFrame(out, index=features.index)


def _labels(target: pd.Series, name: str, kind: str) -> pd.Series:
    if target.isna().any():
        count = int(target.isna().sum())
        raise _invalid(
            f"The target column {name!r} has {count} missing value{'s' * (count != 1)}; "
            "drop or fill those rows first.",
            "target",
        )
    numeric = ptypes.is_numeric_dtype(target) and not ptypes.is_bool_dtype(target)
    if numeric and not np.all(np.isfinite(target.to_numpy(dtype=np.float64))):
        raise _invalid(f"The target column {name!r} holds infinite values.", "target")
    if kind == "linear":
        if not numeric:
            raise _invalid(
                f"A linear model needs a numeric target, and column {name!r} is not numeric; "
                "use kind logistic to predict classes.",
                "target",
            )
        return target.astype(np.float64)
    if numeric:
        values = target.to_numpy(dtype=np.float64)
        if not np.all(values == np.round(values)):
            raise _invalid(
                f"A logistic model needs class labels, and column {name!r} holds continuous "
                "numbers; use kind linear to predict a quantity.",
                "target",
            )
        target = target.astype(np.int64)
    elif not ptypes.is_bool_dtype(target):
        target = target.astype(object)
    classes = target.nunique()
    if classes < 2:
        only = target.iloc[0]
        only = only.item() if isinstance(only, np.generic) else only
        raise _invalid(
            f"The target column {name!r} holds a single class ({only!r}); "
            "a logistic model needs at least two.",
            "target",
        )
    if classes > MAX_CLASSES:
        raise _invalid(
            f"The target column {name!r} has {classes} distinct values, more than the "
            f"{MAX_CLASSES} classes a logistic model may have; use kind linear for a quantity.",
            "target",
        )
    return target
