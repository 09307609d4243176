"""The plan's elementwise ops and target transforms as SQL expressions over one value."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from registry.errors import NotExportable
from registry.export.dialects import Dialect

# Below this size log1p and expm1 take their Taylor series: LN(1 + x) and EXP(x) - 1 would
# lose the digits of a tiny x (neither function is in SQL). Past it they lose < 1e-11 relative.
_SERIES_BOUND = 1e-5
_EPS = float(np.finfo(np.float64).eps)

# The ops the SQL exporter writes (a quantile op only with a uniform output, see _quantile).
SQL_OPS = {"affine", "clip", "ufunc", "step", "yeo_johnson", "box_cox", "quantile"}


def log1p(x: str, d: Dialect) -> str:
    """Return log(1 + x), exact for small x."""
    n = d.number
    return (
        f"(CASE WHEN ABS({x}) < {n(_SERIES_BOUND)} "
        f"THEN {x} - {x} * {x} / {n(2.0)} + {x} * {x} * {x} / {n(3.0)} "
        f"ELSE LN({n(1.0)} + {x}) END)"
    )


def expm1(x: str, d: Dialect) -> str:
    """Return exp(x) - 1, exact for small x."""
    n = d.number
    return (
        f"(CASE WHEN ABS({x}) < {n(_SERIES_BOUND)} "
        f"THEN {x} + {x} * {x} / {n(2.0)} + {x} * {x} * {x} / {n(6.0)} "
        f"ELSE EXP({x}) - {n(1.0)} END)"
    )


FUNCTIONS: dict[str, Callable[[str, Dialect], str]] = {
    "log": lambda x, d: f"LN({x})",
    "log1p": log1p,
    "exp": lambda x, d: f"EXP({x})",
    "expm1": expm1,
    "sqrt": lambda x, d: f"SQRT({x})",
    "square": lambda x, d: f"({x} * {x})",
    "abs": lambda x, d: f"ABS({x})",
    "absolute": lambda x, d: f"ABS({x})",
}


def affine(x: str, center: float, mul: float, add: float, d: Dialect) -> str:
    """Return ``(x - center) * mul + add``, leaving out the parts that change nothing."""
    out = x
    if center != 0.0:
        out = f"({out} - {d.number(center)})"
    if mul != 1.0:
        out = f"{out} * {d.number(mul)}"
    if add != 0.0:
        out = f"{out} + {d.number(add)}"
    return f"({out})"


def op_sql(op: dict[str, Any], x: str, d: Dialect) -> str:
    """Return one op (registry.plans.ops) applied to the SQL expression ``x``."""
    kind = op["op"]
    n = d.number
    if kind == "affine":
        return affine(x, op["center"], op["mul"], op["add"], d)
    if kind == "clip":
        low, high = n(op["low"]), n(op["high"])
        return f"(CASE WHEN {x} < {low} THEN {low} WHEN {x} > {high} THEN {high} ELSE {x} END)"
    if kind == "ufunc":
        return FUNCTIONS[op["name"]](x, d)
    if kind == "step":
        return _step(x, op["edges"], op["side"], op["values"], d)
    if kind == "yeo_johnson":
        return _yeo_johnson(x, float(op["lambda"]), d)
    if kind == "box_cox":
        return _box_cox(x, float(op["lambda"]), d)
    if kind == "quantile":
        return _quantile(x, op, d)
    raise ValueError(f"No SQL for the op {kind!r}.")  # check_exportable refused it already


def _step(x: str, edges: list[float], side: str, values: list[float], d: Dialect) -> str:
    # numpy.searchsorted: "left" counts the edges below x, "right" the edges at or below it.
    if not edges:
        return d.number(values[0])
    compare = "<=" if side == "left" else "<"
    branches = " ".join(
        f"WHEN {x} {compare} {d.number(e)} THEN {d.number(v)}"
        for e, v in zip(edges, values, strict=False)
    )
    return f"(CASE {branches} ELSE {d.number(values[-1])} END)"


def _yeo_johnson(x: str, lmbda: float, d: Dialect) -> str:
    # As registry.plans.ops._yeo_johnson (scipy's formulas), branch by branch.
    n = d.number
    if abs(lmbda) < _EPS:
        positive = log1p(x, d)
    else:
        positive = f"({expm1(f'{n(lmbda)} * {log1p(x, d)}', d)} / {n(lmbda)})"
    minus_x = f"(-{x})"
    if abs(lmbda - 2) > _EPS:
        negative = f"(-{expm1(f'{n(2 - lmbda)} * {log1p(minus_x, d)}', d)} / {n(2 - lmbda)})"
    else:
        negative = f"(-{log1p(minus_x, d)})"
    return f"(CASE WHEN {x} >= {n(0.0)} THEN {positive} ELSE {negative} END)"


def _box_cox(x: str, lmbda: float, d: Dialect) -> str:
    if abs(lmbda) < 1e-19:
        return f"LN({x})"
    return f"({expm1(f'{d.number(lmbda)} * LN({x})', d)} / {d.number(lmbda)})"


def target_sql(function: str, center: float, mul: float, add: float, y: str, d: Dialect) -> str:
    """Return one of a linear plan's target transforms (registry.plans.target) applied to y."""
    if function == "affine":
        return affine(y, center, mul, add, d)
    return FUNCTIONS[function](y, d)


def _quantile(x: str, op: dict[str, Any], d: Dialect) -> str:
    """QuantileTransformer's uniform output, as registry.plans.ops computes it, bit for bit.

    The mean of numpy.interp from below and from above: at a knot, the mean of the first and
    last reference of the knot's value; between two knots, both interpolations on the same
    slope. The normal output takes the inverse normal CDF, which no SQL dialect has.
    """
    if op["output"] != "uniform":
        raise NotExportable(
            "The plan holds the step kind 'quantile' with a normal output (the inverse normal "
            "CDF), which SQL cannot compute exactly.",
            {"plan": ["Unknown step kind for SQL: quantile (output normal)."]},
        )
    n = d.number
    quantiles = [float(q) for q in op["quantiles"]]
    references = [float(r) for r in op["references"]]
    first: dict[float, int] = {}
    last: dict[float, int] = {}
    for i, q in enumerate(quantiles):
        first.setdefault(q, i)
        last[q] = i
    knots = sorted(first)
    low, high = quantiles[0], quantiles[-1]
    branches = [
        f"WHEN {x} = {n(low)} THEN {n(0.0)}",
        f"WHEN {x} = {n(high)} THEN {n(1.0)}",
        f"WHEN {x} < {n(low)} THEN {n(references[0])}",
        f"WHEN {x} > {n(high)} THEN {n(references[-1])}",
    ]
    for left, right in zip(knots, knots[1:], strict=False):
        a, b = last[left], first[right]
        r_a, r_b = references[a], references[b]
        at_knot = 0.5 * (references[first[left]] + references[last[left]])
        branches.append(f"WHEN {x} = {n(left)} THEN {n(at_knot)}")
        slope = (r_b - r_a) / (right - left)
        up = f"{n(slope)} * ({x} - {n(left)}) + {n(r_a)}"
        down = f"{n(slope)} * ({n(right)} - {x}) - {n(r_b)}"
        branches.append(f"WHEN {x} < {n(right)} THEN {n(0.5)} * (({up}) - ({down}))")
    return "(CASE " + " ".join(branches) + " END)"
