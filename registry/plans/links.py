"""The link functions that turn a logistic plan's raw scores into class probabilities."""

from __future__ import annotations

import numpy as np


def class_probabilities(link: str, scores: np.ndarray) -> np.ndarray:
    """Return the (rows, classes) probabilities that ``link`` gives the raw scores."""
    if link == "logistic":
        positive = _sigmoid(scores[:, 0])
        return np.column_stack([1.0 - positive, positive])
    if link == "ovr":
        odds = _sigmoid(scores)
        return odds / odds.sum(axis=1, keepdims=True)
    shifted = np.exp(scores - scores.max(axis=1, keepdims=True))
    return shifted / shifted.sum(axis=1, keepdims=True)


def _sigmoid(x: np.ndarray) -> np.ndarray:
    # Split by sign so that neither branch overflows, as scipy.special.expit does.
    out = np.empty_like(x)
    positive = x >= 0
    out[positive] = 1.0 / (1.0 + np.exp(-x[positive]))
    e = np.exp(x[~positive])
    out[~positive] = e / (1.0 + e)
    return out
