"""The served model: a plan of plain numbers, its feature spec, and numpy predict and explain.

A plan is JSON (format 1):

    {"format": 1, "kind": "linear" | "logistic",
     "link": "identity" | "logistic" | "softmax" | "ovr",
     "features": [{"name", "type", "enum"?, "nullable"}],
     "columns": [{"feature", "mul", "add", "missing", "category"?}],
     "coef": [[...], ...], "intercept": [...], "classes": [...] | null}

Each column of the design matrix comes from one input feature. A value column is
``mul * x + add``; a one-hot column (it has a ``category`` key) is ``mul * (x == category) + add``
(``category: null`` is the missing-value category, never equal to a present value). A missing
input gives the column's ``missing`` value, or is refused when that is null. The head is
``coef @ z + intercept`` followed by the link.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

PLAN_FORMAT = 1
FEATURE_TYPES = ("number", "integer", "boolean", "string")
LINKS = {"linear": ("identity",), "logistic": ("logistic", "softmax", "ovr")}
INTERCEPT = "_intercept"


class PlanError(ValueError):
    """The plan JSON is not a valid plan; the message says what is wrong."""


class NonFiniteScore(ValueError):
    """Some rows' scores overflowed to infinity or NaN; ``rows`` lists them."""

    def __init__(self, rows: list[int]) -> None:
        super().__init__(f"The scores of rows {rows} are not finite.")
        self.rows = rows


@dataclass(frozen=True)
class Feature:
    """One input field of a version: its name, JSON type, allowed values and nullability."""

    name: str
    type: str
    enum: tuple[Any, ...] | None = None
    nullable: bool = False

    def to_dict(self) -> dict[str, Any]:
        """Return the API form of the feature."""
        out: dict[str, Any] = {"name": self.name, "type": self.type}
        if self.enum is not None:
            out["enum"] = list(self.enum)
        out["nullable"] = self.nullable
        return out


@dataclass(frozen=True)
class Output:
    """What a plan computed for a batch of rows."""

    predictions: list[Any]
    probabilities: np.ndarray | None
    contributions: list[Any] | None


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise PlanError(message)


def _finite_number(value: Any, where: str) -> float:
    _require(
        isinstance(value, (int, float)) and not isinstance(value, bool),
        f"{where} must be a number, not {type(value).__name__}.",
    )
    _require(math.isfinite(value), f"{where} must be finite.")
    return float(value)


def _matches_type(value: Any, type_: str) -> bool:
    if type_ == "string":
        return isinstance(value, str)
    if type_ == "boolean":
        return isinstance(value, bool)
    if isinstance(value, bool):
        return False
    if type_ == "integer":
        return isinstance(value, int)
    return isinstance(value, (int, float)) and math.isfinite(value)


def _parse_feature(raw: Any, index: int) -> Feature:
    _require(isinstance(raw, dict), f"features[{index}] must be an object.")
    name, type_ = raw.get("name"), raw.get("type")
    _require(isinstance(name, str) and name != "", f"features[{index}].name must be a string.")
    _require(type_ in FEATURE_TYPES, f"features[{index}].type must be one of {FEATURE_TYPES}.")
    nullable = raw.get("nullable", False)
    _require(isinstance(nullable, bool), f"features[{index}].nullable must be a boolean.")
    enum = raw.get("enum")
    if enum is not None:
        _require(isinstance(enum, list) and enum, f"features[{index}].enum must be a list.")
        _require(
            all(_matches_type(v, type_) for v in enum),
            f"features[{index}].enum values must all be of type {type_}.",
        )
        enum = tuple(enum)
    return Feature(name=name, type=type_, enum=enum, nullable=nullable)


class Plan:
    """A validated plan, compiled into arrays for fast prediction."""

    def __init__(self, raw: Mapping[str, Any]) -> None:
        _require(isinstance(raw, Mapping), "The plan must be a JSON object.")
        _require(raw.get("format") == PLAN_FORMAT, f"The plan format must be {PLAN_FORMAT}.")
        self.kind = raw.get("kind")
        _require(self.kind in LINKS, "The plan kind must be 'linear' or 'logistic'.")
        self.link = raw.get("link")
        _require(self.link in LINKS[self.kind], f"The link {self.link!r} does not fit the kind.")
        raw_features = raw.get("features")
        _require(isinstance(raw_features, list) and raw_features, "The plan needs features.")
        self.features = tuple(_parse_feature(f, i) for i, f in enumerate(raw_features))
        names = [f.name for f in self.features]
        _require(len(set(names)) == len(names), "Feature names must be unique.")
        self._index = {name: i for i, name in enumerate(names)}
        self.raw = dict(raw)
        self._compile_head(raw)
        self._compile_columns(raw.get("columns"))

    @property
    def classes(self) -> list[Any] | None:
        """Return the class labels of a logistic plan, None for a linear one."""
        return self._classes

    def to_json(self) -> dict[str, Any]:
        """Return the plan's JSON form."""
        return self.raw

    def _compile_head(self, raw: Mapping[str, Any]) -> None:
        coef, intercept = raw.get("coef"), raw.get("intercept")
        _require(isinstance(coef, list) and coef, "coef must be a non-empty list of rows.")
        _require(all(isinstance(r, list) for r in coef), "coef must be a list of rows.")
        width = len(coef[0])
        _require(all(len(r) == width for r in coef), "coef rows must have equal lengths.")
        self.coef = np.array(
            [[_finite_number(v, "coef") for v in row] for row in coef], dtype=np.float64
        )
        _require(isinstance(intercept, list), "intercept must be a list.")
        self.intercept = np.array(
            [_finite_number(v, "intercept") for v in intercept], dtype=np.float64
        )
        outputs = self.coef.shape[0]
        _require(self.intercept.shape == (outputs,), "intercept must have one value per row.")
        classes = raw.get("classes")
        if self.kind == "linear":
            _require(classes is None, "A linear plan has no classes.")
            _require(outputs == 1, "A linear plan has one output.")
            self._classes = None
            return
        _require(isinstance(classes, list) and len(classes) >= 2, "classes must list 2 or more.")
        _require(
            all(isinstance(c, (str, int, float, bool)) for c in classes),
            "classes must be strings, numbers or booleans.",
        )
        _require(len({(type(c), c) for c in classes}) == len(classes), "classes must be unique.")
        expected = 1 if self.link == "logistic" else len(classes)
        _require(self.link != "logistic" or len(classes) == 2, "The logistic link is binary.")
        _require(outputs == expected, f"coef must have {expected} rows for this link.")
        self._classes = list(classes)

    def _compile_columns(self, columns: Any) -> None:
        _require(isinstance(columns, list), "columns must be a list.")
        _require(len(columns) == self.coef.shape[1], "coef must have one value per column.")
        value_src, value_mul, value_add, value_missing, value_cols = [], [], [], [], []
        onehot: dict[int, list[tuple[int, Any, float, float, float | None]]] = {}
        for j, column in enumerate(columns):
            _require(isinstance(column, dict), f"columns[{j}] must be an object.")
            source = self._index.get(column.get("feature"))
            _require(source is not None, f"columns[{j}].feature must name a feature.")
            mul = _finite_number(column.get("mul"), f"columns[{j}].mul")
            add = _finite_number(column.get("add"), f"columns[{j}].add")
            missing = column.get("missing")
            if missing is not None:
                missing = _finite_number(missing, f"columns[{j}].missing")
            if "category" in column:
                category = column["category"]
                feature = self.features[source]
                _require(
                    category is None or _matches_type(category, feature.type),
                    f"columns[{j}].category must be of type {feature.type}.",
                )
                onehot.setdefault(source, []).append((j, category, mul, add, missing))
            else:
                _require(
                    self.features[source].type in ("number", "integer", "boolean"),
                    f"columns[{j}] reads a string feature as a number.",
                )
                value_src.append(source)
                value_mul.append(mul)
                value_add.append(add)
                value_missing.append(math.nan if missing is None else missing)
                value_cols.append(j)
        used = set(value_src) | set(onehot)
        _require(used == set(range(len(self.features))), "Every feature must feed a column.")
        for source in onehot:
            _require(source not in value_src, "A feature is either one-hot or a value.")
        self._value_src = np.array(value_src, dtype=np.intp)
        # Usually each feature feeds one value column, and a plain assignment is much faster.
        self._value_src_unique = len(set(value_src)) == len(value_src)
        self._value_mul = np.array(value_mul, dtype=np.float64)
        self._value_add = np.array(value_add, dtype=np.float64)
        self._value_missing = np.array(value_missing, dtype=np.float64)
        self._value_coef = self.coef[:, value_cols].T  # (value columns, outputs)
        self._intercept_terms = tuple(float(v) for v in self.intercept)
        self._value_terms = tuple(
            (
                self.features[source].name,
                value_mul[k],
                value_add[k],
                value_missing[k],
                tuple(float(c) for c in self._value_coef[k]),
            )
            for k, source in enumerate(value_src)
        )
        self._onehot = {s: self._contribution_table(s, cols) for s, cols in onehot.items()}
        for i, feature in enumerate(self.features):
            allowed = self._nullable(i)
            _require(feature.nullable == allowed, f"Feature {feature.name!r} nullability is off.")

    def _contribution_table(
        self, source: int, columns: list[tuple[int, Any, float, float, float | None]]
    ) -> tuple[dict[tuple[type, Any], int], np.ndarray, bool]:
        """Precompute one categorical feature's contribution for each value it can take.

        Row i < len(enum) is enum[i]; the next row is an unknown value; the last is missing.
        """
        feature = self.features[source]
        _require(feature.enum is not None, f"One-hot feature {feature.name!r} needs an enum.")
        values = list(feature.enum)
        table = np.zeros((len(values) + 2, self.coef.shape[0]))
        missing_ok = True
        for j, category, mul, add, missing in columns:
            for row, value in enumerate(values):
                hit = category is not None and _same(value, category, feature.type)
                table[row] += self.coef[:, j] * (mul * float(hit) + add)
            table[len(values)] += self.coef[:, j] * add
            if missing is None:
                missing_ok = False
            else:
                table[len(values) + 1] += self.coef[:, j] * missing
        lookup = {_key(v, feature.type): i for i, v in enumerate(values)}
        return lookup, table, missing_ok

    def _nullable(self, source: int) -> bool:
        if source in self._onehot:
            return self._onehot[source][2]
        mask = self._value_src == source
        return bool(np.all(~np.isnan(self._value_missing[mask])))

    def _value_design(self, columns: Mapping[str, Sequence[Any]], n: int) -> np.ndarray:
        """Return the (rows, value columns) design values of the value columns."""
        raw = np.empty((n, len(self._value_src)))
        for k, source in enumerate(self._value_src):
            raw[:, k] = _as_floats(columns[self.features[source].name])
        z = raw * self._value_mul + self._value_add
        missing = np.isnan(raw)
        if missing.any():
            z = np.where(missing, self._value_missing, z)
        return z

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
        parts = np.zeros((n, len(self.features), self.coef.shape[0]))
        if len(self._value_src):
            z = self._value_design(columns, n)
            column_parts = z[:, :, None] * self._value_coef[None, :, :]
            if self._value_src_unique:
                parts[:, self._value_src, :] = column_parts
            else:
                np.add.at(parts, (slice(None), self._value_src), column_parts)
        for source, table, rows in self._category_rows(columns):
            parts[:, source, :] = table[rows]
        return parts

    def _score_one(self, columns: Mapping[str, Sequence[Any]]) -> np.ndarray:
        """Score a single row in plain Python: for one row, numpy's per-call cost dominates."""
        scores = list(self._intercept_terms)
        outputs = range(len(scores))
        for name, mul, add, missing, coefs in self._value_terms:
            x = columns[name][0]
            z = missing if x is None or x != x else x * mul + add
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
        if n == 1:
            return self._score_one(columns)
        if len(self._value_src):
            scores = self._value_design(columns, n) @ self._value_coef + self.intercept
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
        with np.errstate(over="ignore", invalid="ignore"):
            return self._predict(columns, explain)

    def _predict(self, columns: Mapping[str, Sequence[Any]], explain: bool) -> Output:
        contributions = None
        if explain:
            parts = self.contributions_by_feature(columns)
            scores = parts.sum(axis=1) + self.intercept
            contributions = self._explain(parts)
        else:
            scores = self.raw_scores(columns)
        finite = np.isfinite(scores).all(axis=1)
        if not finite.all():
            raise NonFiniteScore(np.flatnonzero(~finite).tolist())
        if self.kind == "linear":
            return Output(scores[:, 0].tolist(), None, contributions)
        probabilities = self._probabilities(scores)
        if self.link == "logistic":
            picks = (scores[:, 0] > 0).astype(np.intp)
        else:
            picks = probabilities.argmax(axis=1)
        labels = [self._classes[i] for i in picks]
        return Output(labels, probabilities, contributions)

    def _probabilities(self, scores: np.ndarray) -> np.ndarray:
        if self.link == "logistic":
            positive = _sigmoid(scores[:, 0])
            return np.column_stack([1.0 - positive, positive])
        if self.link == "ovr":
            odds = _sigmoid(scores)
            return odds / odds.sum(axis=1, keepdims=True)
        shifted = np.exp(scores - scores.max(axis=1, keepdims=True))
        return shifted / shifted.sum(axis=1, keepdims=True)

    def _explain(self, parts: np.ndarray) -> list[Any]:
        names = [f.name for f in self.features]
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


def class_label(value: Any) -> str:
    """Return a class as a JSON object key: its JSON text for booleans, str() otherwise."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _key(value: Any, type_: str) -> tuple[type, Any]:
    # Keyed by type so that True never finds 1; a number feature finds 2.0 from 2.
    if type_ == "number" and not isinstance(value, bool) and isinstance(value, (int, float)):
        return float, float(value)
    return type(value), value


def _same(value: Any, category: Any, type_: str) -> bool:
    return _key(value, type_) == _key(category, type_)


def _sigmoid(x: np.ndarray) -> np.ndarray:
    # Split by sign so that neither branch overflows, as scipy.special.expit does.
    out = np.empty_like(x)
    positive = x >= 0
    out[positive] = 1.0 / (1.0 + np.exp(-x[positive]))
    e = np.exp(x[~positive])
    out[~positive] = e / (1.0 + e)
    return out


def _as_floats(values: Sequence[Any]) -> np.ndarray:
    if isinstance(values, np.ndarray) and values.dtype == np.float64:
        return values
    return np.array([math.nan if v is None else v for v in values], dtype=np.float64)


def _row_count(columns: Mapping[str, Sequence[Any]], features: Sequence[Feature]) -> int:
    counts = {len(columns[f.name]) for f in features}
    if len(counts) != 1:
        raise ValueError("Every feature needs the same number of values.")
    return counts.pop()
