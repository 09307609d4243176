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

All parameters are finite JSON numbers. Each op is a few lines of array code, so that the same
plan can be translated to SQL or ONNX (clip: LEAST/GREATEST, step: a CASE over the edges).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from registry.plans.spec import _finite_number, _require

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
    }
    _require(kind in expected, f"{where}.op must be one of {sorted(expected)}.")
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
