"""Elementwise steps (functions, Binarizer, clipping, bins) as plan ops on a design column."""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any

import numpy as np
from sklearn.preprocessing import (
    Binarizer,
    FunctionTransformer,
    KBinsDiscretizer,
    PowerTransformer,
    QuantileTransformer,
)

from registry.errors import InvalidArtifact, UnsupportedEstimator
from registry.intake.allowlist import function_sentence, printable
from registry.intake.design import (
    NO_FILL,
    Column,
    Raw,
    Value,
    as_number,
    name_of,
    vector,
)
from registry.plans.ops import UFUNCS, parse_ops


def through_op(step: Any, column: Column, op: dict[str, Any]) -> Column:
    """Follow an elementwise plan op (registry.plans.ops) through a column."""
    if type(column) not in (Raw, Value):
        raise UnsupportedEstimator(
            f"{name_of(step)} after an encoder, PolynomialFeatures or Normalizer is not supported; "
            "place it before them."
        )
    apply = parse_ops([op], "op")[0].apply

    def through(x: float) -> float:
        value = float(apply(np.array([x], dtype=np.float64))[0])
        if not math.isfinite(value):
            raise UnsupportedEstimator(
                f"{name_of(step)} turns the value that fills a missing input into {value}."
            )
        return value

    if type(column) is Raw:
        fill = None if column.fill is NO_FILL else through(as_number(column.fill, step))
        return Value(column.source, missing=fill, ops=(op,))
    ops = column.ops
    if (column.center, column.mul, column.add) != (0.0, 1.0, 0.0):
        affine = {"op": "affine", "center": column.center, "mul": column.mul, "add": column.add}
        ops = (*ops, affine)
    missing = None if column.missing is None else through(column.missing)
    return Value(column.source, missing=missing, ops=(*ops, op))


def _ufunc(step: FunctionTransformer, width: int) -> list[dict[str, Any]]:
    name = next((n for n, f in UFUNCS.items() if step.func is f), None)
    if name is None:
        raise UnsupportedEstimator(
            f"FunctionTransformer(func={printable(getattr(step.func, '__name__', '?'))}) is not "
            f"supported; {function_sentence()}."
        )
    if step.kw_args:
        raise UnsupportedEstimator(
            "FunctionTransformer with kw_args is not supported; numpy's functions here take none."
        )
    return [{"op": "ufunc", "name": name}] * width


def _binarize(step: Binarizer, width: int) -> list[dict[str, Any]]:
    threshold = step.threshold
    if isinstance(threshold, bool) or not isinstance(threshold, (int, float)):
        raise UnsupportedEstimator("Binarizer is supported with one number as its threshold.")
    # x > threshold is 1: searchsorted(side='left') counts the edges strictly below x.
    op = {"op": "step", "edges": [float(threshold)], "side": "left", "values": [0.0, 1.0]}
    return [op] * width


def _power(step: PowerTransformer, width: int) -> list[dict[str, Any]]:
    method = {"yeo-johnson": "yeo_johnson", "box-cox": "box_cox"}.get(step.method)
    if method is None:
        raise UnsupportedEstimator("PowerTransformer's method is not supported.")
    lambdas = vector(step, "lambdas_", width).tolist()
    return [{"op": method, "lambda": lmbda} for lmbda in lambdas]


def _quantiles(step: QuantileTransformer, width: int) -> list[dict[str, Any]]:
    quantiles = getattr(step, "quantiles_", None)
    references = getattr(step, "references_", None)
    if not (
        type(quantiles) is np.ndarray
        and type(references) is np.ndarray
        and quantiles.ndim == 2
        and quantiles.shape[1] == width
        and references.shape == (quantiles.shape[0],)
    ):
        raise InvalidArtifact("The QuantileTransformer is not fitted.")
    if step.output_distribution not in ("uniform", "normal"):
        raise UnsupportedEstimator("QuantileTransformer's output_distribution is not supported.")
    return [
        {
            "op": "quantile",
            "quantiles": quantiles[:, j].astype(np.float64).tolist(),
            "references": references.astype(np.float64).tolist(),
            "output": step.output_distribution,
        }
        for j in range(width)
    ]


ELEMENTWISE = {
    FunctionTransformer: _ufunc,
    Binarizer: _binarize,
    PowerTransformer: _power,
    QuantileTransformer: _quantiles,
}


# Where each function is worth probing, in its own input: inside its domain, away from overflow.
_UFUNC_SPANS = {
    "log": (1.0, 20.0),
    "log1p": (-0.5, 20.0),
    "sqrt": (0.0, 20.0),
    "exp": (-3.0, 3.0),
    "expm1": (-3.0, 3.0),
    "square": (-3.0, 3.0),
    "abs": (-3.0, 3.0),
}
_OP_SPANS = {"yeo_johnson": (-3.0, 3.0), "box_cox": (0.1, 20.0)}


def probe_range(column: Value) -> tuple[float, float] | None:
    """Return input values that exercise a column's first op that is not affine, if any.

    A clip or step is probed around its bounds, a function inside its domain; the range is
    mapped back through the affine ops before it to the input's own units.
    """
    before = []
    for op in column.ops:
        if op["op"] == "affine":
            before.append(op)
            continue
        if op["op"] == "ufunc":
            low, high = _UFUNC_SPANS[op["name"]]
        elif op["op"] in _OP_SPANS:
            low, high = _OP_SPANS[op["op"]]
        elif op["op"] == "step" and not op["edges"]:
            return None  # one bin: every value gives the same
        else:
            low, high = _bounds(op)
            width = (high - low) or max(abs(low), 1.0)
            low, high = low - width / 4, high + width / 4
        for affine in reversed(before):
            low, high = (
                (v - affine["add"]) / affine["mul"] + affine["center"] for v in (low, high)
            )
        return (min(low, high), max(low, high))
    return None


def _bounds(op: dict[str, Any]) -> tuple[float, float]:
    if op["op"] == "clip":
        return op["low"], op["high"]
    if op["op"] == "bspline":
        return op["knots"][op["degree"]], op["knots"][-op["degree"] - 1]
    edges = op["quantiles"] if op["op"] == "quantile" else op["edges"]
    return edges[0], edges[-1]


def bins(step: KBinsDiscretizer, columns: list[Column]) -> list[Column]:
    """KBinsDiscretizer: a step op per input (ordinal) or per bin (one-hot)."""
    if getattr(step, "dtype", None) not in (None, np.float64):
        raise UnsupportedEstimator("KBinsDiscretizer is supported with dtype=None or float64.")
    edges = getattr(step, "bin_edges_", None)
    counts = getattr(step, "n_bins_", None)
    if not (
        type(edges) is np.ndarray
        and type(counts) is np.ndarray
        and edges.shape == counts.shape == (len(columns),)
    ):
        raise InvalidArtifact("The KBinsDiscretizer is not fitted.")
    out: list[Column] = []
    for column, bin_edges, count in zip(columns, edges, counts.tolist(), strict=True):
        if type(bin_edges) is not np.ndarray or bin_edges.shape != (count + 1,):
            raise InvalidArtifact("The KBinsDiscretizer's bin edges are damaged.")
        if bin_edges.dtype.kind != "f" or not np.all(np.isfinite(bin_edges)):
            raise InvalidArtifact("The KBinsDiscretizer's bin edges are damaged.")
        # transform: numpy.searchsorted(bin_edges[1:-1], x, side="right") is the bin's index.
        cut = bin_edges[1:-1].astype(np.float64).tolist()
        if step.encode == "ordinal":
            targets = [[float(b) for b in range(count)]]
        else:
            targets = [[float(b == k) for b in range(count)] for k in range(count)]
        for values in targets:
            op = {"op": "step", "edges": cut, "side": "right", "values": values}
            out.append(through_op(step, column, op))
    return out


def splines(step: Any, columns: list[Column]) -> list[Column]:
    """SplineTransformer: a bspline op per basis function of each input."""
    extrapolation = step.extrapolation
    modes = {"continue": True, "error": False, "constant": True, "periodic": "periodic"}
    modes["linear"] = "linear"
    if extrapolation not in modes:
        raise UnsupportedEstimator(
            f"SplineTransformer with extrapolation={printable(str(extrapolation))!r} is not "
            "supported; 'continue', 'constant', 'linear', 'periodic' and 'error' are."
        )
    fitted = getattr(step, "bsplines_", None)
    if type(fitted) is not list or len(fitted) != len(columns):
        raise InvalidArtifact("The SplineTransformer is not fitted.")
    zeros = vars(step).get("handle_missing", "error") == "zeros"
    out: list[Column] = []
    # scikit-learn's linear extension counts its functions with a degree it raises once it is
    # 1 or less, and keeps for the next inputs: their boundaries move in with it.
    reach = None
    for column, spline in zip(columns, fitted, strict=True):
        knots, degree, count = _basis(spline, extrapolation == "periodic")
        before = []
        if extrapolation == "constant":
            # Beyond the base interval scikit-learn repeats the end values: the same as clipping.
            before = [{"op": "clip", "low": knots[degree], "high": knots[-degree - 1]}]
        ends = None
        if extrapolation == "linear":
            reach = degree if reach is None else reach
            ends = _linear_ends(knots, degree, count, reach)
            reach = reach + 1 if reach <= 1 else reach
        kept = range(count if step.include_bias else count - 1)
        for index in kept:
            op = {
                "op": "bspline",
                "knots": knots,
                "degree": degree,
                "index": index,
                "extrapolate": modes[extrapolation],
            }
            if ends is not None:
                op["below"], op["above"] = ends[0][index], ends[1][index]
            made = column
            for first in before:
                made = through_op(step, made, first)
            made = through_op(step, made, op)
            if zeros and made.missing is None:
                made = replace(made, missing=0.0)  # handle_missing='zeros'
            out.append(made)
    return out


def _linear_ends(
    knots: list[float], degree: int, count: int, reach: int
) -> list[list[list[float]]]:
    """Each basis function's [end, value, slope] below and above, as scikit-learn extends
    them: beyond knots[reach] and knots[-reach - 1], the first and last ``reach`` functions
    (one more when reach <= 1) follow their tangent there, the others are 0."""
    from scipy.interpolate import BSpline  # a fresh basis on the checked knots

    basis = BSpline(np.array(knots), np.eye(count), degree, extrapolate=False)
    low, high = knots[reach], knots[-reach - 1]
    f_low, f_high = basis(low), basis(high)
    slope_low, slope_high = basis(low, nu=1), basis(high, nu=1)
    below = [[low, 0.0, 0.0] for _ in range(count)]
    above = [[high, 0.0, 0.0] for _ in range(count)]
    for j in range(reach + 1 if reach <= 1 else reach):
        below[j] = [low, float(f_low[j]), float(slope_low[j])]
        k = count - 1 - j
        above[k] = [high, float(f_high[k]), float(slope_high[k])]
    return [below, above]


def _basis(spline: Any, periodic: bool) -> tuple[list[float], int, int]:
    """Return a fitted BSpline's knots, degree and output count, checking it is the plain
    basis (with the first ``degree`` functions repeated a period on when periodic)."""
    state = vars(spline)
    # scipy 1.15 on keeps the knots and coefficients as _t and _c.
    knots, degree = state.get("_t", state.get("t")), state.get("k")
    coef = state.get("_c", state.get("c"))
    if not (
        type(knots) is np.ndarray
        and knots.ndim == 1
        and knots.dtype.kind == "f"
        and type(degree) is int
        and type(coef) is np.ndarray
        and np.all(np.isfinite(knots))
    ):
        raise InvalidArtifact("The SplineTransformer's splines are damaged.")
    total = len(knots) - degree - 1
    count = total - degree if periodic else total
    expected = np.eye(count) if count > 0 else None
    if periodic and expected is not None:
        expected = np.concatenate((expected, expected[:degree]))
    if expected is None or coef.shape != (total, count) or not np.array_equal(coef, expected):
        raise UnsupportedEstimator("This SplineTransformer's basis is not supported.")
    return knots.astype(np.float64).tolist(), degree, count
