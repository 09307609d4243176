"""Scoring a fitted pipeline on the held-out split."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
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
