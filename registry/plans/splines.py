"""The bspline op: one B-spline basis function of SplineTransformer, evaluated as scipy does.

    {"op": "bspline", "knots": [t0 <= ... <= tm], "degree": k, "index": i,
     "extrapolate": true | false | "periodic" | "linear", ("below": [a, v, s], "above": [b, v, s])}

is the i-th basis function of degree k on the knots, by de Boor's recursion as
scipy.interpolate.BSpline computes it. Outside the base interval [t_k, t_(m-k)] it
continues the end pieces (true), is NaN, refused (false), or as SplineTransformer extends it:
"periodic" first wraps x into the base interval and adds the basis function one period on
(the i-th of the first k also holds the (i + m - 2k)-th), "linear" is ``v + s * (x - a)``
below a and ``v + s * (x - b)`` above b with the ``below`` and ``above`` triples
(scikit-learn's boundary, and the value and slope there: 0 for the functions it does not
extend), and continues the end pieces between.

The basis functions of one input are computed together: de Boor's recursion gives every
function that is non-zero at x at once, so a plan evaluates it once per input and picks
each column from it (Spline.columns), rather than once per column.
"""

from __future__ import annotations

import bisect
import json
from dataclasses import dataclass
from typing import Any

import numpy as np

from registry.plans.spec import _finite_number, _require

MODES = (True, False, "periodic", "linear")


@dataclass(frozen=True, eq=False)
class Spline:
    """The basis of one bspline op: its knots, degree and extrapolation."""

    knots: np.ndarray
    degree: int
    mode: bool | str

    @property
    def key(self) -> tuple[Any, ...]:
        """Equal for ops that share their basis (they differ in index and ends only)."""
        return (self.knots.tobytes(), self.degree, self.mode)

    @property
    def count(self) -> int:
        """The number of basis functions the op may pick from."""
        total = len(self.knots) - self.degree - 1
        return total - self.degree if self.mode == "periodic" else total

    def columns(
        self, x: np.ndarray, index: np.ndarray, below: np.ndarray, above: np.ndarray
    ) -> np.ndarray:
        """Return the (rows, len(index)) values of basis functions ``index`` at x.

        ``below`` and ``above`` are (len(index), 3) end, value and slope of a linear mode.
        """
        k, knots = self.degree, self.knots
        total = len(knots) - k - 1
        low, high = knots[k], knots[total]
        if self.mode == "periodic":
            # As SplineTransformer maps x into the base interval (scipy's "periodic").
            x = low + (x - low) % (high - low) if high > low else np.zeros_like(x)
        basis = _de_boor(knots, k, total, x)
        if self.mode == "periodic":
            # The first k functions also hold the ones a period on, in scipy's order of sum.
            basis[:, :k] += basis[:, total - k :]
        out = basis[:, index]
        with np.errstate(invalid="ignore"):
            if self.mode is False:
                out[(x < low) | (x > high)] = np.nan
            elif self.mode == "linear":
                at = x[:, None]
                out = np.where(
                    at < below[:, 0], below[:, 1] + (at - below[:, 0]) * below[:, 2], out
                )
                out = np.where(
                    at > above[:, 0], above[:, 1] + (at - above[:, 0]) * above[:, 2], out
                )
        out[np.isnan(x)] = np.nan
        return out


def _de_boor(knots: np.ndarray, k: int, total: int, x: np.ndarray) -> np.ndarray:
    """Return the (rows, total) values of every basis function at x (NaN rows are garbage)."""
    n = len(x)
    if n <= _FEW:
        return _de_boor_rows(knots.tolist(), k, total, x.tolist())
    # The interval t[l] <= x < t[l+1], kept within the base interval as scipy keeps it.
    ell = np.clip(np.searchsorted(knots, x, side="right") - 1, k, total - 1)
    h = np.zeros((n, k + 1))
    h[:, 0] = 1.0
    for j in range(1, k + 1):
        previous = h[:, :j].copy()
        h[:, 0] = 0.0
        for m in range(1, j + 1):
            right, left = knots[ell + m], knots[ell + m - j]
            span = right - left
            w = np.divide(previous[:, m - 1], span, out=np.zeros(n), where=span != 0)
            h[:, m - 1] += w * (right - x)
            h[:, m] = w * (x - left)
    out = np.zeros((n, total))
    # h[:, a] is basis function l - k + a; the others are 0 at x.
    out[np.arange(n)[:, None], ell[:, None] - k + np.arange(k + 1)] = h
    return out


# Up to this many rows the recursion runs on Python floats: the same IEEE double arithmetic,
# without numpy's cost per call (a single row took ~40 numpy calls per input).
_FEW = 4


def _de_boor_rows(knots: list[float], k: int, total: int, xs: list[float]) -> np.ndarray:
    """_de_boor row by row, operation for operation."""
    out = np.zeros((len(xs), total))
    for row, x in enumerate(xs):
        ell = min(max(bisect.bisect_right(knots, x) - 1, k), total - 1)
        h = [1.0] + [0.0] * k
        for j in range(1, k + 1):
            previous = h[:j]
            h[0] = 0.0
            for m in range(1, j + 1):
                right, left = knots[ell + m], knots[ell + m - j]
                span = right - left
                w = previous[m - 1] / span if span != 0 else 0.0
                h[m - 1] += w * (right - x)
                h[m] = w * (x - left)
        out[row, ell - k : ell + 1] = h
    return out


def parse_spline(raw: dict[str, Any], where: str) -> tuple[Spline, int, np.ndarray, np.ndarray]:
    """Check a bspline op; return its basis, index and linear ends. Raises PlanError."""
    mode = raw.get("extrapolate")
    _require(
        any(mode is m or (type(m) is str and mode == m) for m in MODES),
        f"{where}.extrapolate must be true, false, 'periodic' or 'linear'.",
    )
    expected = {"op", "knots", "degree", "index", "extrapolate"}
    if mode == "linear":
        expected |= {"below", "above"}
    _require(set(raw) == expected, f"{where} needs exactly {sorted(expected - {'op'})}.")
    knots = raw["knots"]
    _require(
        isinstance(knots, list) and knots, f"{where}.knots must be a non-empty list of numbers."
    )
    knots = np.array([_finite_number(v, f"{where}.knots") for v in knots], dtype=np.float64)
    degree, index = raw["degree"], raw["index"]
    _require(type(degree) is int and 0 <= degree <= 10, f"{where}.degree must be an integer to 10.")
    spline = Spline(knots, degree, mode)
    _require(spline.count >= 1, f"{where}.knots are too few for the degree.")
    _require(
        type(index) is int and 0 <= index < spline.count,
        f"{where}.index must name a basis function.",
    )
    _require(bool(np.all(np.diff(knots) >= 0)), f"{where}.knots must be ascending.")
    ends = [[0.0, 0.0, 0.0], [0.0, 0.0, 0.0]]
    if mode == "linear":
        ends = [_triple(raw[side], f"{where}.{side}") for side in ("below", "above")]
    below, above = (np.array([pair], dtype=np.float64) for pair in ends)
    return spline, index, below, above


def _triple(raw: Any, where: str) -> list[float]:
    _require(
        isinstance(raw, list) and len(raw) == 3, f"{where} must be an [end, value, slope] triple."
    )
    return [_finite_number(v, where) for v in raw]


@dataclass(frozen=True, eq=False)
class SplineGroup:
    """Value columns that pick from one input's basis, through the same ops before it."""

    prefix: tuple[Any, ...]  # the ops before the bspline op, the same in every column
    spline: Spline
    columns: np.ndarray  # positions among the value columns
    index: np.ndarray
    below: np.ndarray
    above: np.ndarray

    def apply(self, raw: np.ndarray) -> None:
        """Replace the group's columns of ``raw`` (rows, value columns) by their basis values."""
        x = raw[:, self.columns[0]]
        for op in self.prefix:
            x = op.apply(x)
        raw[:, self.columns] = self.spline.columns(x, self.index, self.below, self.above)


def group_splines(
    value_ops: list[tuple[int, tuple[Any, ...]]], sources: np.ndarray
) -> tuple[list[tuple[int, tuple[Any, ...]]], tuple[SplineGroup, ...]]:
    """Split value columns' ops into those applied one by one and the groups of spline columns."""
    plain = []
    found: dict[tuple[Any, ...], list[tuple[int, tuple[Any, ...]]]] = {}
    for k, ops in value_ops:
        last = ops[-1].spline
        if last is None:
            plain.append((k, ops))
            continue
        before = json.dumps([op.raw for op in ops[:-1]], sort_keys=True, default=repr)
        found.setdefault((int(sources[k]), before, last[0].key), []).append((k, ops))
    groups = []
    for members in found.values():
        picks = [ops[-1].spline for _, ops in members]
        groups.append(
            SplineGroup(
                members[0][1][:-1],
                picks[0][0],
                np.array([k for k, _ in members], dtype=np.intp),
                np.array([index for _, index, _, _ in picks], dtype=np.intp),
                np.vstack([below for _, _, below, _ in picks]),
                np.vstack([above for _, _, _, above in picks]),
            )
        )
    return plain, tuple(groups)
