"""The served plan: numpy and pure-Python predict and explain over the compiled arrays."""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from registry.plans.compiled import CompiledPlan
from registry.plans.groups import Group, normalize_rows
from registry.plans.links import class_probabilities
from registry.plans.ops import apply_ops
from registry.plans.spec import INTERCEPT, Feature, _key, class_label
from registry.plans.target import contributions_space, predictions


class NonFiniteScore(ValueError):
    """Some rows' scores overflowed to infinity or NaN; ``rows`` lists them."""

    def __init__(self, rows: list[int]) -> None:
        super().__init__(f"The scores of rows {rows} are not finite.")
        self.rows = rows


@dataclass(frozen=True)
class Output:
    """What a plan computed for a batch of rows."""

    predictions: list[Any]
    probabilities: np.ndarray | None
    contributions: list[Any] | None


class Columns(dict[str, Any]):
    """Checked input columns by feature name; ``gaps`` names the features lacking a value.

    The row check sees every value's type anyway, so it notes for free which columns hold
    a None; a plain mapping is searched for them instead.
    """

    gaps: tuple[str, ...] = ()


class Plan(CompiledPlan):
    """A validated plan, compiled into arrays for fast prediction."""

    @property
    def contributions_space(self) -> str | None:
        """Where explain's parts add up when not to the prediction itself (linear plans).

        "linear_predictor": a GLM's score, before its log link; "transformed_target": the
        regressor's output before a TransformedTargetRegressor's inverse transform.
        """
        if self.kind != "linear":
            return None
        return contributions_space(self.link, self.target)

    def _value_design(self, columns: Mapping[str, Sequence[Any]], n: int) -> np.ndarray:
        """Return the (rows, value columns) design values of the value columns."""
        raw = np.empty((n, len(self._value_src)))
        for k, source in enumerate(self._value_src):
            raw[:, k] = _as_floats(columns[self.features[source].name])
        missing = np.isnan(raw)
        for k, ops in self._value_ops:
            raw[:, k] = apply_ops(ops, raw[:, k])
        for group in self._spline_groups:
            group.apply(raw)
        z = (raw - self._value_center) * self._value_mul + self._value_add
        if missing.any():
            z = np.where(missing, self._value_missing, z)
        return z

    def _product_values(self, z: np.ndarray) -> list[np.ndarray]:
        """Return each product column's values: mul times its factors' product, plus add."""
        out = []
        for _, found, mul, add in self._products:
            values = z[:, found[0]]
            for k in found[1:]:
                values = values * z[:, k]
            out.append(values * mul + add)
        return out

    def _normalized_values(self, z: np.ndarray) -> Iterator[tuple[Group, np.ndarray]]:
        """Yield each Normalizer with its (rows, its columns) values: mul * f / norm + add."""
        for group in self._groups:
            normalized = normalize_rows(z[:, group.factors], group.norm)
            yield group, normalized[:, group.members] * group.mul + group.add

    def _category_rows(
        self, columns: Mapping[str, Sequence[Any]]
    ) -> Iterator[tuple[int, np.ndarray, list[int]]]:
        """Yield each one-hot feature with its contribution table and each row's index in it."""
        for source, (lookup, table, _) in self._onehot.items():
            unknown, absent = len(table) - 2, len(table) - 1
            feature = self.features[source]
            rows = [
                absent if v is None else lookup.get(_key(v, feature.type), unknown)
                for v in columns[feature.name]
            ]
            yield source, table, rows

    def contributions_by_feature(self, columns: Mapping[str, Sequence[Any]]) -> np.ndarray:
        """Return the (rows, features, outputs) array of each feature's part of the raw score.

        ``columns`` maps every feature name to its values; None marks a missing value.
        """
        n = _row_count(columns, self.features)
        width = len(self.features) + len(self._interactions)
        parts = np.zeros((n, width, self.coef.shape[0]))
        if len(self._value_src):
            z = self._value_design(columns, n)
            for (j, _, _, _), values, at in zip(
                self._products, self._product_values(z), self._product_parts, strict=True
            ):
                parts[:, at, :] += values[:, None] * self.coef[:, j][None, :]
            column_parts = z[:, :, None] * self._value_coef[None, :, :]
            if self._value_src_unique:
                parts[:, self._value_src, :] = column_parts
            else:
                np.add.at(parts, (slice(None), self._value_src), column_parts)
            for group, values in self._normalized_values(z):
                # A normalized column's part goes to the input it divides: its coefficient
                # times that input's normalized value (the space where the model is additive).
                coef = self.coef[:, group.columns].T  # (its columns, outputs)
                sources = self._value_src[group.factors[group.members]]
                np.add.at(parts, (slice(None), sources), values[:, :, None] * coef[None])
        for source, table, rows in self._category_rows(columns):
            parts[:, source, :] = table[rows]
        return parts

    def _score_one(self, columns: Mapping[str, Sequence[Any]]) -> np.ndarray:
        """Score a single row in plain Python: for one row, numpy's per-call cost dominates."""
        scores = list(self._intercept_terms)
        outputs = range(len(scores))
        for name, center, mul, add, missing, coefs, ops in self._value_terms:
            x = columns[name][0]
            if x is None or x != x:
                z = missing
            else:
                if ops:
                    x = float(apply_ops(ops, np.array([x], dtype=np.float64))[0])
                z = (x - center) * mul + add
            for k in outputs:
                scores[k] += z * coefs[k]
        for _, table, rows in self._category_rows(columns):
            part = table[rows[0]]
            for k in outputs:
                scores[k] += part[k]
        return np.array([scores])

    def raw_scores(self, columns: Mapping[str, Sequence[Any]]) -> np.ndarray:
        """Return the (rows, outputs) linear scores before the link."""
        n = _row_count(columns, self.features)
        if n == 1 and not (self._products or self._groups or self._spline_groups):
            return self._score_one(columns)
        if len(self._value_src):
            z = self._value_design(columns, n)
            scores = z @ self._value_coef + self.intercept
            for (j, _, _, _), values in zip(self._products, self._product_values(z), strict=True):
                scores += values[:, None] * self.coef[:, j][None, :]
            for group, values in self._normalized_values(z):
                scores += values @ self.coef[:, group.columns].T
        else:
            scores = np.tile(self.intercept, (n, 1))
        for _, table, rows in self._category_rows(columns):
            scores += table[rows]
        return scores

    def predict(self, columns: Mapping[str, Sequence[Any]], explain: bool = False) -> Output:
        """Predict every row; with ``explain``, add each row's additive parts.

        Raises NonFiniteScore when huge inputs overflow a row's score.
        """
        # Overflow is detected on the result, so numpy's warnings about it are noise.
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            return self._predict(columns, explain)

    def _predict(self, columns: Mapping[str, Sequence[Any]], explain: bool) -> Output:
        contributions = None
        if explain:
            parts = self.contributions_by_feature(columns)
            scores = parts.sum(axis=1) + self.intercept
            contributions = self._explain(parts)
        else:
            scores = self.raw_scores(columns)
        if self.kind == "linear":
            values = predictions(self.link, self.target, scores[:, 0])
            finite = np.isfinite(scores[:, 0]) & np.isfinite(values)
            if not finite.all():
                raise NonFiniteScore(np.flatnonzero(~finite).tolist())
            return Output(values.tolist(), None, contributions)
        finite = np.isfinite(scores).all(axis=1)
        if not finite.all():
            raise NonFiniteScore(np.flatnonzero(~finite).tolist())
        probabilities = class_probabilities(self.link, scores)
        if self.link == "logistic":
            picks = (scores[:, 0] > 0).astype(np.intp)
        else:
            picks = probabilities.argmax(axis=1)
        labels = [self._classes[i] for i in picks]
        return Output(labels, probabilities, contributions)

    def filled_in(self, columns: Mapping[str, Sequence[Any]]) -> list[list[str]] | None:
        """Return each row's features that had no value (None, NaN), or None when none lacked one.

        Only nullable features can lack a value; checked Columns name the ones that do.
        """
        names = columns.gaps if isinstance(columns, Columns) else self.nullable
        gaps = []
        for name in names:
            values = columns[name]
            if isinstance(values, np.ndarray):
                missing = np.isnan(values) if values.dtype == np.float64 else None
                if missing is not None and missing.any():
                    gaps.append((name, missing.tolist()))
            elif None in values:
                gaps.append((name, [v is None for v in values]))
        if not gaps:
            return None
        rows: list[list[str]] = [[] for _ in gaps[0][1]]
        for name, missing in gaps:
            for row, absent in zip(rows, missing, strict=True):
                if absent:
                    row.append(name)
        return rows

    def _explain(self, parts: np.ndarray) -> list[Any]:
        names = [f.name for f in self.features] + list(self._interactions)
        if self.coef.shape[0] == 1:
            intercept = float(self.intercept[0])
            return [
                {**dict(zip(names, row[:, 0].tolist(), strict=True)), INTERCEPT: intercept}
                for row in parts
            ]
        labels = [class_label(c) for c in self._classes]
        return [
            {
                label: {
                    **dict(zip(names, row[:, k].tolist(), strict=True)),
                    INTERCEPT: float(self.intercept[k]),
                }
                for k, label in enumerate(labels)
            }
            for row in parts
        ]


def _as_floats(values: Sequence[Any]) -> np.ndarray:
    if isinstance(values, np.ndarray) and values.dtype == np.float64:
        return values
    return np.array([math.nan if v is None else v for v in values], dtype=np.float64)


def _row_count(columns: Mapping[str, Sequence[Any]], features: Sequence[Feature]) -> int:
    counts = {len(columns[f.name]) for f in features}
    if len(counts) != 1:
        raise ValueError("Every feature needs the same number of values.")
    return counts.pop()
