"""Normalizer: each of its columns divided by the norm of the row of columns it receives."""

from __future__ import annotations

from typing import Any

from registry.errors import UnsupportedEstimator
from registry.intake.allowlist import printable
from registry.intake.design import Column, Normalized, Value, numeric_value
from registry.plans.groups import NORMS


def _factor(step: Any, column: Column) -> Value:
    return numeric_value(
        step,
        column,
        "Normalizer after an encoder, PolynomialFeatures or another Normalizer is not "
        "supported; give it numeric inputs.",
    )


def normalized(step: Any, columns: list[Column]) -> list[Column]:
    """Return a Normalizer's output columns: each input over the norm of them all."""
    norm = step.norm
    if norm not in NORMS:
        raise UnsupportedEstimator(
            f"Normalizer with norm={printable(str(norm))!r} is not supported; "
            "'l1', 'l2' and 'max' are."
        )
    # A missing value reaching a Normalizer is refused by scikit-learn: its factor has none.
    factors = tuple(_factor(step, c) for c in columns)
    return [Normalized(factors, norm, index) for index in range(len(factors))]
