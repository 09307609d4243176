"""A fitted search's summary (read in the sandbox) and the metrics and tags it becomes.

A GridSearchCV or RandomizedSearchCV is served through its ``best_estimator_``. What the search
learnt is kept on the version: the metric ``cv_best_score`` (the best candidate's mean
cross-validated score) and the tags ``cv_search`` (which search), ``cv_scoring`` (the scorer that
chose it: a scoring name, the refit metric, "score" for the estimator's own, or "callable") and
``cv_best_params.<name>`` (each best parameter, JSON text for plain values, a class name
otherwise). The uploader's own metrics and tags win where the keys meet.
"""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np

from registry.intake.allowlist import printable
from registry.intake.inert import inert_name

MAX_PARAMS = 50
MAX_TAG_KEY = 128
MAX_TAG_VALUE = 1000
_SEARCHES = ("GridSearchCV", "RandomizedSearchCV")


def search_summary(search: Any) -> dict[str, Any]:
    """Return a fitted search's best score (None without one), scoring and best parameters."""
    state = vars(search)
    score = state.get("best_score_")
    finite = isinstance(score, (float, np.floating)) and math.isfinite(float(score))
    params = state.get("best_params_")
    if type(params) is not dict:
        params = {}
    return {
        "search": type(search).__name__,
        "best_score": float(score) if finite else None,
        "scoring": _scoring(state),
        "best_params": {
            printable(str(k)): _param_text(v) for k, v in list(params.items())[:MAX_PARAMS]
        },
    }


def _scoring(state: dict[str, Any]) -> str:
    scoring, refit = state.get("scoring"), state.get("refit")
    if scoring is None:
        return "score"  # the estimator's own: r2 for a regressor, accuracy for a classifier
    if isinstance(scoring, str):
        return printable(scoring)
    if isinstance(refit, str):
        return printable(refit)  # several metrics: the best candidate is chosen by this one
    return "callable"


def _param_text(value: Any) -> str:
    """A parameter value as tag text: JSON for plain values, the class name otherwise."""
    if isinstance(value, np.generic):
        value = value.item()
    if value is None or isinstance(value, (bool, int, str)):
        text = json.dumps(value)
    elif isinstance(value, float):
        text = json.dumps(value) if math.isfinite(value) else str(value)
    else:
        text = printable(inert_name(value) or type(value).__name__)
    return _clip(text, MAX_TAG_VALUE)


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def search_records(summary: Any) -> tuple[dict[str, float], dict[str, str]]:
    """Return the metrics and tags of a search summary from the sandbox, checking its shape.

    Anything that is not as search_summary writes it is left out: these are records, not the
    model, and a malformed one must not refuse the upload.
    """
    if type(summary) is not dict or summary.get("search") not in _SEARCHES:
        return {}, {}
    metrics: dict[str, float] = {}
    score = summary.get("best_score")
    if type(score) in (int, float) and math.isfinite(score):
        metrics["cv_best_score"] = float(score)
    tags = {"cv_search": summary["search"]}
    scoring = summary.get("scoring")
    if type(scoring) is str and scoring:
        tags["cv_scoring"] = _clip(scoring, MAX_TAG_VALUE)
    params = summary.get("best_params")
    if type(params) is dict:
        for name, text in list(params.items())[:MAX_PARAMS]:
            key = f"cv_best_params.{name}"
            if type(name) is str and type(text) is str and len(key) <= MAX_TAG_KEY:
                tags[key] = _clip(text, MAX_TAG_VALUE)
    return metrics, tags
