"""Fitting a table: the train/test split, the fit, and the TrainedModel it gives."""

from __future__ import annotations

import io
import math
import warnings
from collections.abc import Callable
from typing import Any

import joblib
import pandas as pd
from sklearn.model_selection import train_test_split

from registry.trainer import KINDS, TrainedModel
from registry.training.data import _features, _invalid, _labels, guess_kind
from registry.training.evaluation import evaluate, held_out_view
from registry.training.pipeline import build_pipeline

RANDOM_STATE = 0
MIN_ROWS = 10
MIN_SPLIT_ROWS = 2
STAGES = ("split", "fit", "evaluate")

Progress = Callable[[str], None]


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
        view = held_out_view(model, kind, x_test, y_test)
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
        evaluation=view,
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
