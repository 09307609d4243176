"""Which columns a fitted feature selector keeps, as the release that saved it chose them."""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
from sklearn.feature_selection import SelectFromModel


def _near_one(value: Any) -> bool:
    try:
        return value is not None and bool(np.all(np.isclose(value, 1.0)))
    except (TypeError, ValueError):
        return False


def _release_key(release: str | None) -> tuple[int, ...] | None:
    try:
        return tuple(int(part) for part in (release or "").split(".")[:2])
    except ValueError:
        return None


def default_threshold(estimator: Any, release: str | None) -> float | str | None:
    """Return SelectFromModel's threshold=None as the saving release read it (None: unknown).

    Every release takes 1e-5 after an L1 penalty and the mean importance otherwise; up to 1.7
    an ElasticNet* with l1_ratio 1 counts as L1 and a LogisticRegression only with
    penalty='l1'. From 1.8 (penalty deprecated) a LogisticRegression(CV) with l1_ratio 1 counts
    too, and the installed release's check fails on an older file's l1_ratio=None.
    """
    key = _release_key(release)
    if key is None or len(key) < 2:
        return None
    name, state = type(estimator).__name__, vars(estimator)
    l1 = state.get("penalty") == "l1" or "Lasso" in name
    if key < (1, 8):
        l1 = l1 or (
            "ElasticNet" in name
            and (_near_one(state.get("l1_ratio_")) or _near_one(state.get("l1_ratio")))
        )
    else:
        l1 = (
            l1
            or (name in ("ElasticNet", "LogisticRegression") and _near_one(state.get("l1_ratio")))
            or (
                name in ("ElasticNetCV", "LogisticRegressionCV")
                and _near_one(state.get("l1_ratio_"))
            )
        )
    return 1e-5 if l1 else "mean"


def with_saved_threshold(step: Any, release: str | None) -> Any:
    """Return a SelectFromModel whose default threshold is spelt out as its release read it."""
    if type(step) is not SelectFromModel or vars(step).get("threshold") is not None:
        return step
    threshold = default_threshold(vars(step).get("estimator_"), release)
    if threshold is None:
        return step
    spelt = copy.copy(step)
    spelt.threshold = threshold
    return spelt
