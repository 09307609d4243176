"""Comparing two versions of a model: their metrics, their input schemas, their compatibility."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from registry.compatibility import incompatibilities, schema_differences
from registry.services.lookup import find_model, find_version


@dataclass(frozen=True)
class MetricDelta:
    """One metric on both sides; ``diff`` is b - a, None when a side lacks it."""

    a: float | None
    b: float | None
    diff: float | None


@dataclass(frozen=True)
class Comparison:
    model: str
    a: int
    b: int
    metrics: dict[str, MetricDelta]
    schema: dict[str, list[Any]]
    compatible: bool
    incompatibilities: list[str]


def compare_versions(session: Session, name: str, a: int, b: int) -> Comparison:
    """Compare version ``b`` of a model with version ``a``.

    ``compatible`` says whether b accepts every request a accepts (the activation check).
    Raises ModelNotFound, VersionNotFound.
    """
    model = find_model(session, name)
    first, second = find_version(session, model, a), find_version(session, model, b)
    metrics = {}
    for key in sorted(first.metrics.keys() | second.metrics.keys()):
        left, right = first.metrics.get(key), second.metrics.get(key)
        diff = None if left is None or right is None else right - left
        metrics[key] = MetricDelta(a=left, b=right, diff=diff)
    problems = incompatibilities(first.features, second.features)
    return Comparison(
        model=model.name,
        a=a,
        b=b,
        metrics=metrics,
        schema=schema_differences(first.features, second.features),
        compatible=not problems,
        incompatibilities=problems,
    )


def prediction_differences(
    predictions_a: list[Any],
    predictions_b: list[Any],
    probabilities_a: list[dict[str, float]] | None = None,
    probabilities_b: list[dict[str, float]] | None = None,
) -> list[Any]:
    """Return, row by row, how version b's answers differ from version a's.

    Linear (no probabilities): the number b - a. Logistic: ``{"same_label": bool,
    "probabilities": {class: b - a}}`` over the classes of either version, a class that a
    version does not know counting as probability 0 there.
    """
    if probabilities_a is None or probabilities_b is None:
        return [b - a for a, b in zip(predictions_a, predictions_b, strict=True)]
    rows = []
    for label_a, label_b, left, right in zip(
        predictions_a, predictions_b, probabilities_a, probabilities_b, strict=True
    ):
        classes = list(dict.fromkeys([*left, *right]))
        rows.append(
            {
                "same_label": type(label_a) is type(label_b) and label_a == label_b,
                "probabilities": {c: right.get(c, 0.0) - left.get(c, 0.0) for c in classes},
            }
        )
    return rows
