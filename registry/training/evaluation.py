"""Scoring a fitted pipeline on the held-out split, and the view of it that versions keep."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import (
    accuracy_score,
    auc,
    confusion_matrix,
    f1_score,
    mean_absolute_error,
    mean_squared_error,
    precision_score,
    r2_score,
    recall_score,
    roc_auc_score,
    roc_curve,
)
from sklearn.pipeline import Pipeline

LINEAR_METRICS = ("r2", "mae", "rmse")
LOGISTIC_METRICS = ("accuracy", "precision", "recall", "f1", "roc_auc")


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


# Points a stored held-out view keeps at most: enough to draw, small enough to keep per version.
VIEW_POINTS = 300
ROC_POINTS = 101
# Classes a multiclass view keeps one-vs-rest ROC curves for at most: each is a chart.
ROC_CLASSES = 12


def _spread(count: int, limit: int) -> np.ndarray:
    """Return up to ``limit`` indexes spread evenly over ``count``, the first and last kept."""
    if count <= limit:
        return np.arange(count)
    return np.unique(np.linspace(0, count - 1, limit).round().astype(int))


def _label(value: Any) -> str:
    # As registry.plans.class_label writes classes: JSON text for booleans.
    if isinstance(value, (bool, np.bool_)):
        return "true" if value else "false"
    return str(value.item() if isinstance(value, np.generic) else value)


def held_out_view(model: Pipeline, kind: str, x: pd.DataFrame, y: pd.Series) -> dict[str, Any]:
    """Return what a person looks at of the held-out split, small enough to store.

    Linear: predicted and actual values of up to VIEW_POINTS rows, spread over the split.
    Logistic: the confusion matrix (rows: actual class, columns: predicted class) and, when
    binary and both classes are in the split, the ROC curve of ``classes_[1]`` in up to
    ROC_POINTS points; with more classes (up to ROC_CLASSES), ``roc_per_class``: each class's
    one-vs-rest curve and its area, for the classes the split has both in and out of.
    """
    predicted = model.predict(x)
    if kind == "linear":
        keep = _spread(len(y), VIEW_POINTS)
        return {
            "type": "residuals",
            "rows": len(y),
            "predicted": np.asarray(predicted, dtype=float)[keep].tolist(),
            "actual": np.asarray(y, dtype=float)[keep].tolist(),
        }
    classes = model.classes_
    view: dict[str, Any] = {
        "type": "classes",
        "rows": len(y),
        "labels": [_label(c) for c in classes],
        "confusion": confusion_matrix(y, predicted, labels=classes).tolist(),
    }
    if len(classes) == 2 and set(np.unique(y)) == set(classes):
        scores = model.predict_proba(x)[:, 1]
        fpr, tpr, _ = roc_curve(np.asarray(y == classes[1], dtype=int), scores)
        keep = _spread(len(fpr), ROC_POINTS)
        view["roc"] = {
            "positive": _label(classes[1]),
            "fpr": fpr[keep].tolist(),
            "tpr": tpr[keep].tolist(),
        }
    elif 2 < len(classes) <= ROC_CLASSES:
        view["roc_per_class"] = _one_vs_rest(model.predict_proba(x), np.asarray(y), classes)
    return view


def _one_vs_rest(probabilities: np.ndarray, y: np.ndarray, classes: np.ndarray) -> list[Any]:
    """Return each class's ROC curve against all the others, as scikit-learn's 'ovr' AUC."""
    curves = []
    for index, cls in enumerate(classes):
        actual = np.asarray(y == cls, dtype=int)
        if actual.min() == actual.max():
            continue  # the split has no row of it, or only rows of it: no curve to draw
        fpr, tpr, _ = roc_curve(actual, probabilities[:, index])
        keep = _spread(len(fpr), ROC_POINTS)
        curves.append(
            {
                "positive": _label(cls),
                "fpr": fpr[keep].tolist(),
                "tpr": tpr[keep].tolist(),
                "auc": float(auc(fpr, tpr)),
            }
        )
    return curves
