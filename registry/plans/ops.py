"""Elementwise operations a value column applies to its input before its affine part.

A value column may carry ``"ops": [op, ...]``, applied in order to a present input value x;
the result then goes through the column's ``(x - center) * mul + add``. A missing input never
reaches the ops: it gives the column's ``missing`` value, which extraction computed through
the same ops. Every op maps one float to one float, with numpy, and is one of:

    {"op": "affine", "center": c, "mul": m, "add": a}   (x - c) * m + a
    {"op": "clip", "low": l, "high": h}                 min(max(x, l), h)
    {"op": "ufunc", "name": n}                          numpy's n(x), n in UFUNCS
    {"op": "step", "edges": [e1 <= ... <= ek], "side": "left" | "right", "values": [v0, ..., vk]}
        values[i] where i = numpy.searchsorted(edges, x, side): with side "left", i counts the
        edges below x; with "right", the edges at or below x

    {"op": "yeo_johnson", "lambda": l}   scipy.stats.yeojohnson(x, l), as PowerTransformer
    {"op": "box_cox", "lambda": l}       scipy.special.boxcox(x, l): log(x), or expm1(l log x) / l
    {"op": "quantile", "quantiles": [q1 <= ... <= qn], "references": [r1, ..., rn],
     "output": "uniform" | "normal"}
        QuantileTransformer: the mean of the interpolations from below and from above, 0 at or
        below q1 and 1 at or above qn (within 1e-7 for "normal"); "normal" then takes the
        standard normal quantile (scipy.special.ndtri), clipped as scikit-learn clips it

    {"op": "bspline", "knots": [t0 <= ... <= tm], "degree": k, "index": i, "extrapolate": ...}
        one B-spline basis function of SplineTransformer (registry.plans.splines)

All parameters are finite JSON numbers. Each op is a few lines of array code, so that the same
plan can be translated to SQL or ONNX (clip: LEAST/GREATEST, step: a CASE over the edges).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from registry.plans.spec import _finite_number, _require
from registry.plans.splines import Spline, parse_spline

UFUNCS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "log": np.log,
    "log1p": np.log1p,
    "exp": np.exp,
    "expm1": np.expm1,
    "sqrt": np.sqrt,
    "square": np.square,
    "abs": np.absolute,
}


@dataclass(frozen=True)
class Op:
    """One parsed op: its JSON form and the function that applies it to an array."""

    raw: dict[str, Any]
    apply: Callable[[np.ndarray], np.ndarray]
    # A bspline op: the basis it picks from, its index and linear ends (registry.plans.splines).
    spline: tuple[Spline, int, np.ndarray, np.ndarray] | None = None


def apply_ops(ops: Sequence[Op], x: np.ndarray) -> np.ndarray:
    """Return the values after every op, in order."""
    for op in ops:
        x = op.apply(x)
    return x


def parse_ops(raw: Any, where: str) -> tuple[Op, ...]:
    """Check a column's ``ops`` list and return its ops; raises PlanError naming the bad one."""
    _require(isinstance(raw, list), f"{where}.ops must be a list.")
    return tuple(_parse(op, f"{where}.ops[{i}]") for i, op in enumerate(raw))


def _numbers(raw: Any, where: str) -> np.ndarray:
    _require(isinstance(raw, list) and raw, f"{where} must be a non-empty list of numbers.")
    return np.array([_finite_number(v, where) for v in raw], dtype=np.float64)


def _parse(raw: Any, where: str) -> Op:
    _require(isinstance(raw, dict), f"{where} must be an object.")
    kind = raw.get("op")
    expected = {
        "affine": {"center", "mul", "add"},
        "clip": {"low", "high"},
        "ufunc": {"name"},
        "step": {"edges", "side", "values"},
        "yeo_johnson": {"lambda"},
        "box_cox": {"lambda"},
        "quantile": {"quantiles", "references", "output"},
        "bspline": set(),  # checked by parse_spline
    }
    _require(kind in expected, f"{where}.op must be one of {sorted(expected)}.")
    if kind == "bspline":
        spline, index, below, above = parse_spline(raw, where)
        picked = np.array([index])
        return Op(
            raw,
            lambda x: spline.columns(x, picked, below, above)[:, 0],
            (spline, index, below, above),
        )
    _require(
        set(raw) == expected[kind] | {"op"}, f"{where} needs exactly {sorted(expected[kind])}."
    )
    if kind == "affine":
        c, m, a = (_finite_number(raw[k], f"{where}.{k}") for k in ("center", "mul", "add"))
        return Op(raw, lambda x: (x - c) * m + a)
    if kind == "clip":
        low, high = (_finite_number(raw[k], f"{where}.{k}") for k in ("low", "high"))
        _require(low <= high, f"{where}.low must not exceed high.")
        return Op(raw, lambda x: np.minimum(np.maximum(x, low), high))
    if kind == "ufunc":
        function = UFUNCS.get(raw["name"]) if isinstance(raw["name"], str) else None
        _require(function is not None, f"{where}.name must be one of {sorted(UFUNCS)}.")
        return Op(raw, function)
    # No edges: one bin (a KBinsDiscretizer input with a single value).
    if kind in ("yeo_johnson", "box_cox"):
        lmbda = _finite_number(raw["lambda"], f"{where}.lambda")
        return Op(raw, _yeo_johnson(lmbda) if kind == "yeo_johnson" else _box_cox(lmbda))
    if kind == "quantile":
        return Op(raw, _quantile(raw, where))
    edges = _numbers(raw["edges"], f"{where}.edges") if raw["edges"] != [] else np.empty(0)
    values = _numbers(raw["values"], f"{where}.values")
    _require(bool(np.all(np.diff(edges) >= 0)), f"{where}.edges must be ascending.")
    _require(len(values) == len(edges) + 1, f"{where}.values must have one more than edges.")
    side = raw["side"]
    _require(side in ("left", "right"), f"{where}.side must be 'left' or 'right'.")
    return Op(raw, lambda x: _step(x, edges, side, values))


def _step(x: np.ndarray, edges: np.ndarray, side: str, values: np.ndarray) -> np.ndarray:
    out = values[np.searchsorted(edges, x, side=side)]
    # searchsorted puts NaN past every edge; a NaN that an op made stays NaN.
    return np.where(np.isnan(x), np.nan, out)


def _yeo_johnson(lmbda: float) -> Callable[[np.ndarray], np.ndarray]:
    eps = np.finfo(np.float64).eps

    def apply(x: np.ndarray) -> np.ndarray:
        out = np.zeros_like(x)
        pos = x >= 0
        if abs(lmbda) < eps:
            out[pos] = np.log1p(x[pos])
        else:
            out[pos] = np.expm1(lmbda * np.log1p(x[pos])) / lmbda
        if abs(lmbda - 2) > eps:
            out[~pos] = -np.expm1((2 - lmbda) * np.log1p(-x[~pos])) / (2 - lmbda)
        else:
            out[~pos] = -np.log1p(-x[~pos])
        return out

    return apply


def _box_cox(lmbda: float) -> Callable[[np.ndarray], np.ndarray]:
    if abs(lmbda) < 1e-19:
        return np.log
    return lambda x: np.expm1(lmbda * np.log(x)) / lmbda


_BOUNDS_THRESHOLD = 1e-7  # scikit-learn's QuantileTransformer constant


def _quantile(raw: dict[str, Any], where: str) -> Callable[[np.ndarray], np.ndarray]:
    quantiles = _numbers(raw["quantiles"], f"{where}.quantiles")
    references = _numbers(raw["references"], f"{where}.references")
    _require(len(quantiles) >= 2, f"{where}.quantiles needs two or more.")
    _require(len(references) == len(quantiles), f"{where}.references must match quantiles.")
    _require(bool(np.all(np.diff(quantiles) >= 0)), f"{where}.quantiles must be ascending.")
    output = raw["output"]
    _require(output in ("uniform", "normal"), f"{where}.output must be 'uniform' or 'normal'.")
    low, high = quantiles[0], quantiles[-1]
    down_q, down_r = -quantiles[::-1], -references[::-1]

    def apply(x: np.ndarray) -> np.ndarray:
        with np.errstate(invalid="ignore"):
            if output == "normal":
                lower, upper = x - _BOUNDS_THRESHOLD < low, x + _BOUNDS_THRESHOLD > high
            else:
                lower, upper = x == low, x == high
        y = 0.5 * (np.interp(x, quantiles, references) - np.interp(-x, down_q, down_r))
        y[upper] = 1.0
        y[lower] = 0.0
        if output == "uniform":
            return y
        from scipy.special import ndtri  # scikit-learn's norm.ppf is ndtri

        bound = _BOUNDS_THRESHOLD - np.spacing(1)
        return np.clip(ndtri(y), ndtri(bound), ndtri(1 - bound))

    return apply
