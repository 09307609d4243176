"""Design columns as a plan sees them, on their way from the inputs through fitted steps."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from registry.errors import InvalidArtifact, UnsupportedEstimator

NO_FILL: Any = type("NoFill", (), {"__repr__": lambda self: "NO_FILL"})()


@dataclass(frozen=True)
class Raw:
    """An input value on its way, untouched but for the value an imputer gives a missing one."""

    source: int
    fill: Any = NO_FILL


@dataclass(frozen=True)
class Value:
    """A numeric column: (ops(x) - center) * mul + add, or ``missing`` (None: refused)."""

    source: int
    mul: float = 1.0
    add: float = 0.0
    missing: float | None = None
    center: float = 0.0  # subtracted from x before mul, as the scaler itself does
    ops: tuple[dict[str, Any], ...] = ()  # plan ops applied to x first (registry.plans.ops)


@dataclass(frozen=True)
class Categorical:
    """A column of a categorical input: mul * L(x) + add, or ``missing`` for a missing x.

    L(x) is the value ``values`` pairs with category x, 0 for another known category, and
    ``unknown`` for a category the encoder never saw (None: NaN, which a later imputer must
    fill). A one-hot column pairs 1 with one category.
    """

    source: int
    values: tuple[tuple[Any, float], ...]
    mul: float
    add: float
    missing: float | None
    unknown: float | None = 0.0


@dataclass(frozen=True)
class Product:
    """A product of value columns (PolynomialFeatures): mul * (f1 * f2 * ...) + add.

    No factors is PolynomialFeatures' bias column, the constant mul + add.
    """

    factors: tuple[Value, ...]
    mul: float = 1.0
    add: float = 0.0


@dataclass(frozen=True)
class Normalized:
    """A Normalizer's column: mul * f_index / norm(f1, f2, ...) + add, over value columns.

    Every column of one Normalizer holds the same factors (the columns it receives).
    """

    factors: tuple[Value, ...]
    norm: str
    index: int
    mul: float = 1.0
    add: float = 0.0


Column = Raw | Value | Categorical | Product | Normalized


def name_of(step: Any) -> str:
    return type(step).__name__


def vector(step: Any, attribute: str, width: int) -> np.ndarray:
    """Return a fitted per-column attribute as finite float64 values, one per column."""
    value = getattr(step, attribute, None)
    if type(value) is not np.ndarray or value.dtype.kind not in "iuf" or value.shape != (width,):
        raise InvalidArtifact(
            f"{name_of(step)}.{attribute} does not hold one number per column; is it fitted?"
        )
    value = value.astype(np.float64)
    if not np.all(np.isfinite(value)):
        raise InvalidArtifact(f"{name_of(step)}.{attribute} holds values that are not finite.")
    return value


def divisor(step: Any, attribute: str, width: int) -> np.ndarray:
    value = vector(step, attribute, width)
    if np.any(value == 0.0):
        raise InvalidArtifact(f"{name_of(step)}.{attribute} holds a zero scale.")
    return value


def numeric_value(step: Any, column: Column, refusal: str) -> Value:
    """Return a raw or value column as a Value, a missing input's fill kept; refuse the others.

    Steps that combine columns (products, norms) need plain numbers, not encoded columns.
    """
    if type(column) is Value:
        return column
    if type(column) is Raw:
        fill = None if column.fill is NO_FILL else as_number(column.fill, step)
        return Value(column.source, missing=fill)
    raise UnsupportedEstimator(refusal)


def as_number(value: Any, step: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise UnsupportedEstimator(
            f"{name_of(step)} receives a column that is not numeric; encode it with OneHotEncoder."
        )
    return float(value)
