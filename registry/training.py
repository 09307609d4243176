"""Training from a table: pick the pipeline from the column types, fit, and score a held-out split.

The kind, when not given: a target of text, booleans or categories is a class label
(logistic); a numeric target whose values are all whole numbers, with at most
``MAX_GUESSED_CLASSES`` distinct values, is a class label too (0/1, grades 1 to 5); any
other numeric target is a quantity (linear).

The version pushed is the pipeline fitted on the training split, so that its metrics, computed
on the held-out split it never saw, describe exactly the model that serves.
"""

from __future__ import annotations

import io
import json
import math
import sys
import warnings
from collections.abc import Callable
from typing import Any

import joblib
import numpy as np
import pandas as pd
from pandas.api import types as ptypes
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.metrics import (
    accuracy_score,
    f1_score,
    mean_absolute_error,
    mean_squared_error,
    precision_score,
    r2_score,
    recall_score,
    roc_auc_score,
)
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from registry.errors import InvalidTrainingData, RegistryError
from registry.trainer import KINDS, TrainedModel

RANDOM_STATE = 0
MIN_ROWS = 10
MIN_SPLIT_ROWS = 2
MAX_GUESSED_CLASSES = 10
MAX_CLASSES = 100
MAX_CATEGORIES = 1000
LINEAR_METRICS = ("r2", "mae", "rmse")
LOGISTIC_METRICS = ("accuracy", "precision", "recall", "f1", "roc_auc")
STAGES = ("split", "fit", "evaluate")

Progress = Callable[[str], None]


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
    """Return the kind the module docstring's rule picks for a target column."""
    if ptypes.is_bool_dtype(target) or not ptypes.is_numeric_dtype(target):
        return "logistic"
    values = target.dropna().to_numpy(dtype=np.float64)
    values = values[np.isfinite(values)]
    whole = bool(np.all(values == np.round(values)))
    if whole and len(np.unique(values)) <= MAX_GUESSED_CLASSES:
        return "logistic"
    return "linear"


def column_groups(features: pd.DataFrame) -> dict[str, list[str]]:
    """Sort the feature columns into numeric, categorical and boolean ones."""
    groups: dict[str, list[str]] = {"numeric": [], "categorical": [], "boolean": []}
    for name in features.columns:
        column = features[name]
        if ptypes.is_bool_dtype(column):
            groups["boolean"].append(name)
        elif ptypes.is_numeric_dtype(column):
            groups["numeric"].append(name)
        else:
            groups["categorical"].append(name)
    return groups


def build_pipeline(features: pd.DataFrame, kind: str) -> Pipeline:
    """Return the unfitted pipeline for these feature columns and kind.

    Numeric columns: median imputation and standard scaling. Text and category columns:
    most-frequent imputation and one-hot encoding. Boolean columns (which pandas only gives
    when nothing is missing): one-hot encoding.
    """
    groups = column_groups(features)
    parts: list[tuple[str, Any, list[str]]] = []
    if groups["numeric"]:
        numeric = Pipeline(
            [("impute", SimpleImputer(strategy="median")), ("scale", StandardScaler())]
        )
        parts.append(("numeric", numeric, groups["numeric"]))
    if groups["categorical"]:
        categorical = Pipeline(
            [
                ("impute", SimpleImputer(strategy="most_frequent")),
                ("encode", _one_hot()),
            ]
        )
        parts.append(("categorical", categorical, groups["categorical"]))
    if groups["boolean"]:
        parts.append(("boolean", _one_hot(), groups["boolean"]))
    head = LinearRegression() if kind == "linear" else LogisticRegression(max_iter=1000)
    return Pipeline([("prepare", ColumnTransformer(parts)), ("model", head)])


def _one_hot() -> OneHotEncoder:
    return OneHotEncoder(handle_unknown="ignore", sparse_output=False)


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


def _split(
    x: pd.DataFrame, y: pd.Series, kind: str, test_size: float
) -> tuple[pd.DataFrame, pd.DataFrame, pd.Series, pd.Series]:
    rows = len(y)
    test_rows = math.ceil(test_size * rows)
    if test_rows < MIN_SPLIT_ROWS or rows - test_rows < MIN_SPLIT_ROWS:
        raise _invalid(
            f"A test_size of {test_size:g} splits {_rows(rows)} into {rows - test_rows} for "
            f"training and {test_rows} held out; each side needs at least {MIN_SPLIT_ROWS}.",
            "test_size",
        )
    stratify = None
    if kind == "logistic":
        counts = y.value_counts()
        if counts.min() >= 2 and min(test_rows, rows - test_rows) >= len(counts):
            stratify = y
    x_train, x_test, y_train, y_test = train_test_split(
        x, y, test_size=test_rows, random_state=RANDOM_STATE, stratify=stratify
    )
    if kind == "logistic" and y_train.nunique() < 2:
        raise _invalid(
            "The training split holds a single class; add rows of the other classes.", "target"
        )
    return x_train, x_test, y_train, y_test


def evaluate(model: Pipeline, kind: str, x: pd.DataFrame, y: pd.Series) -> dict[str, float]:
    """Return the held-out metrics of a fitted pipeline.

    Linear: r2, mae, rmse. Logistic: accuracy, and precision, recall and f1 of the positive
    class (``classes_[1]``) when binary, macro-averaged over the classes otherwise; roc_auc
    (binary, or one-vs-rest macro for several classes), left out when the held-out split
    lacks a class.
    """
    predicted = model.predict(x)
    if kind == "linear":
        return {
            "r2": float(r2_score(y, predicted)),
            "mae": float(mean_absolute_error(y, predicted)),
            "rmse": float(math.sqrt(mean_squared_error(y, predicted))),
        }
    classes = model.classes_
    binary = len(classes) == 2
    options: dict[str, Any] = (
        {"average": "binary", "pos_label": classes[1]} if binary else {"average": "macro"}
    )
    metrics = {
        "accuracy": float(accuracy_score(y, predicted)),
        "precision": float(precision_score(y, predicted, zero_division=0, **options)),
        "recall": float(recall_score(y, predicted, zero_division=0, **options)),
        "f1": float(f1_score(y, predicted, zero_division=0, **options)),
    }
    if set(np.unique(y)) == set(classes):
        probabilities = model.predict_proba(x)
        if binary:
            score = roc_auc_score(np.asarray(y == classes[1], dtype=int), probabilities[:, 1])
        else:
            score = roc_auc_score(
                y, probabilities, multi_class="ovr", average="macro", labels=classes
            )
        metrics["roc_auc"] = float(score)
    return metrics


def train(
    frame: pd.DataFrame,
    target: str,
    kind: str | None = None,
    test_size: float = 0.2,
    progress: Progress | None = None,
) -> TrainedModel:
    """Fit the pipeline the columns call for and score it on a held-out split.

    ``progress`` is called with each of STAGES as it finishes. Raises InvalidTrainingData.
    """
    if kind is not None and kind not in KINDS:
        raise _invalid(f"The kind must be linear or logistic, not {kind!r}.", "kind")
    if isinstance(test_size, bool) or not 0 < test_size < 1:
        raise _invalid(f"test_size must be between 0 and 1, not {test_size!r}.", "test_size")
    frame = frame.rename(columns=str)
    if target not in frame.columns:
        raise _invalid(f"The CSV has no column {target!r} to use as the target.", "target")
    if frame.columns.duplicated().any():
        raise _invalid("The CSV repeats a column name; each column needs its own.")
    if len(frame) < MIN_ROWS:
        raise _invalid(f"The CSV has {_rows(len(frame))}; training needs at least {MIN_ROWS} rows.")
    kind = kind or guess_kind(frame[target])
    x = _features(frame, target)
    y = _labels(frame[target], target, kind)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        x_train, x_test, y_train, y_test = _split(x, y, kind, test_size)
        _step(progress, "split")
        model = build_pipeline(x_train, kind)
        try:
            model.fit(x_train, y_train)
        except ValueError as error:
            raise _invalid(f"Fitting failed: {_first_line(error)}") from None
        _step(progress, "fit")
        metrics = evaluate(model, kind, x_test, y_test)
        _step(progress, "evaluate")
    notes = tuple(dict.fromkeys(_first_line(w.message) for w in caught))
    if any(not math.isfinite(v) for v in metrics.values()):
        raise _invalid("The held-out metrics are not finite numbers; check the data.")
    buffer = io.BytesIO()
    joblib.dump(model, buffer)
    return TrainedModel(
        kind=kind,
        artifact=buffer.getvalue(),
        metrics=metrics,
        target=target,
        features=tuple(x.columns),
        train_rows=len(y_train),
        test_rows=len(y_test),
        warnings=notes,
    )


def _rows(count: int) -> str:
    return "1 row" if count == 1 else f"{count} rows"


def _step(progress: Progress | None, stage: str) -> None:
    if progress is not None:
        progress(stage)


def _first_line(error: Any) -> str:
    text = str(error).strip()
    line = text.splitlines()[0] if text else type(error).__name__
    return line if line.endswith(".") else f"{line}."


def child_main() -> None:
    """Train in a child process: a JSON header line and CSV bytes on stdin, JSON on stdout."""
    stdin = sys.stdin.buffer.read()
    header, _, data = stdin.partition(b"\n")
    try:
        options = json.loads(header)
        trained = train(
            read_csv(data), options["target"], options["kind"], float(options["test_size"])
        )
        answer: dict[str, Any] = {"ok": True, "result": trained.to_json()}
    except RegistryError as error:
        answer = {"ok": False, "message": error.message, "errors": error.errors}
    except MemoryError:
        answer = {"ok": False, "message": "The CSV is too large to train on in memory."}
    except Exception as error:  # noqa: BLE001 - the parent turns it into a clean 422
        answer = {"ok": False, "message": f"Training failed: {_first_line(error)}"}
    sys.stdout.buffer.write(json.dumps(answer).encode("utf-8"))
    sys.stdout.flush()
