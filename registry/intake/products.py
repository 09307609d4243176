"""PolynomialFeatures as product columns, and its bias column folded into the intercept."""

from __future__ import annotations

from typing import Any

import numpy as np

from registry.errors import InvalidArtifact
from registry.intake.design import Column, Product, Value, numeric_value


def _factor(step: Any, column: Column) -> Value:
    return numeric_value(
        step,
        column,
        "PolynomialFeatures of encoded, multiplied or normalized columns is not supported; "
        "give it numeric inputs.",
    )


def polynomial(step: Any, columns: list[Column]) -> list[Column]:
    """Return PolynomialFeatures' output columns: each a power product of its inputs."""
    try:
        powers = step.powers_
    except (AttributeError, TypeError, ValueError) as exc:
        raise InvalidArtifact("The PolynomialFeatures is not fitted.") from exc
    if type(powers) is not np.ndarray or powers.ndim != 2 or powers.shape[1] != len(columns):
        raise InvalidArtifact("The PolynomialFeatures' powers do not fit its input.")
    factors = [_factor(step, c) for c in columns]
    out: list[Column] = []
    for row in powers.tolist():
        used = tuple(f for f, power in zip(factors, row, strict=True) for _ in range(int(power)))
        out.append(used[0] if len(used) == 1 else Product(used))
    return out


def fold_constants(
    design: list[Any], coef: np.ndarray, intercept: np.ndarray
) -> tuple[list[Any], np.ndarray, np.ndarray]:
    """Move constant columns (a product of no factors) into the intercept."""
    constant = [j for j, c in enumerate(design) if type(c) is Product and not c.factors]
    if not constant:
        return design, coef, intercept
    values = np.array([design[j].mul + design[j].add for j in constant])
    intercept = intercept + coef[:, constant] @ values
    keep = [j for j in range(len(design)) if j not in set(constant)]
    return [design[j] for j in keep], coef[:, keep], intercept
