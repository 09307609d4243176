"""Checking a plan's JSON and compiling it into the arrays that prediction reads."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from registry.plans.groups import Group, check_normalized
from registry.plans.ops import Op, parse_ops
from registry.plans.spec import (
    LINKS,
    PLAN_FORMAT,
    _finite_number,
    _key,
    _matches_type,
    _parse_feature,
    _require,
)
from registry.plans.splines import group_splines
from registry.plans.target import parse_target


class CompiledPlan:
    """A validated plan, compiled into arrays; Plan adds predict and explain."""

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
        # The features a row may leave out or send as null: the plan fills them in.
        self.nullable = tuple(f.name for f in self.features if f.nullable)
        ignored = raw.get("ignored", [])
        _require(
            isinstance(ignored, list) and all(isinstance(n, str) and n for n in ignored),
            "ignored must be a list of input names.",
        )
        _require(
            len(set(ignored)) == len(ignored) and not set(ignored) & set(names),
            "ignored names must be unique and not features.",
        )
        # Inputs the fitted model receives but does not use: accepted in rows, never read.
        self.ignored = tuple(ignored)
        self.raw = dict(raw)
        self._compile_head(raw)
        target = raw.get("target", [])
        _require(self.kind == "linear" or not target, "Only a linear plan has a target.")
        self.target = parse_target(target)
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
        self.coef = _finite_array(coef, "coef")
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
        value_src, value_cols = [], []
        value_ops: list[tuple[Op, ...]] = []
        onehot: dict[int, list[tuple[int, Lookup]]] = {}
        # A product's or a Normalizer's factors are value columns of their own, appended after
        # the plan's columns with no coefficient: the product multiplies their design values,
        # the Normalizer divides them by their row's norm.
        expansion = _with_factors(columns)
        columns, factors = expansion.columns, expansion.products
        for j, column in enumerate(columns):
            _require(isinstance(column, dict), f"columns[{j}] must be an object.")
            if j in factors or j in expansion.normalized:
                continue
            source = self._index.get(column.get("feature"))
            _require(source is not None, f"columns[{j}].feature must name a feature.")
            if "category" in column or "lookup" in column:
                lookup = _parse_lookup(column, self.features[source].type, j)
                onehot.setdefault(source, []).append((j, lookup))
            else:
                _require(
                    self.features[source].type in ("number", "integer", "boolean"),
                    f"columns[{j}] reads a string feature as a number.",
                )
                value_src.append(source)
                value_cols.append(j)
                value_ops.append(
                    parse_ops(column["ops"], f"columns[{j}]") if "ops" in column else ()
                )
        # Checked as whole arrays: a per-value check runs only to name a bad value.
        mul = _finite_array([c.get("mul") for c in columns], "columns[{}].mul")
        add = _finite_array([c.get("add") for c in columns], "columns[{}].add")
        # Subtracted before scaling, as scikit-learn's scalers do: x * mul - center * mul would
        # lose the digits of a value far from zero (epoch milliseconds).
        center = _finite_array([c.get("center", 0.0) for c in columns], "columns[{}].center")
        given = [c.get("missing") for c in columns]
        _finite_array([0.0 if m is None else m for m in given], "columns[{}].missing")
        missing = np.array([math.nan if m is None else m for m in given], dtype=np.float64)
        used = set(value_src) | set(onehot)
        _require(used == set(range(len(self.features))), "Every feature must feed a column.")
        valued = set(value_src)
        for source in onehot:
            _require(source not in valued, "A feature is either one-hot or a value.")
        self._value_src = np.array(value_src, dtype=np.intp)
        # Usually each feature feeds one value column, and a plain assignment is much faster.
        self._value_src_unique = len(valued) == len(value_src)
        value_cols_array = np.array(value_cols, dtype=np.intp)
        value_mul = mul[value_cols_array].tolist()
        value_add = add[value_cols_array].tolist()
        value_missing = missing[value_cols_array].tolist()
        self._value_mul = mul[value_cols_array]
        self._value_add = add[value_cols_array]
        self._value_missing = missing[value_cols_array]
        self._value_center = center[value_cols_array]
        value_center = self._value_center.tolist()
        hidden = len(columns) - self.coef.shape[1]
        coef = np.hstack([self.coef, np.zeros((self.coef.shape[0], hidden))])
        self._value_coef = coef[:, value_cols].T  # (value columns, outputs)
        position = {j: k for k, j in enumerate(value_cols)}
        self._products = tuple(
            (j, np.array([position[f] for f in found], dtype=np.intp), mul[j], add[j])
            for j, found in factors.items()
        )
        self._interactions = self._interaction_names()
        self._groups = _groups(expansion, position, mul, add)
        # Value columns with ops, by their index among value columns; most columns have none.
        # The spline columns of one input share one evaluation of its basis.
        plain, self._spline_groups = group_splines(
            [(k, ops) for k, ops in enumerate(value_ops) if ops], self._value_src
        )
        self._value_ops = tuple(plain)
        self._intercept_terms = tuple(float(v) for v in self.intercept)
        self._value_terms = tuple(
            (
                self.features[source].name,
                value_center[k],
                value_mul[k],
                value_add[k],
                value_missing[k],
                tuple(float(c) for c in self._value_coef[k]),
                value_ops[k],
            )
            for k, source in enumerate(value_src)
        )
        self._onehot = {
            s: self._contribution_table(s, cols, mul, add, missing) for s, cols in onehot.items()
        }
        # A value feature is nullable when none of its columns lacks a missing value.
        unfilled = set(self._value_src[np.isnan(self._value_missing)].tolist())
        for i, feature in enumerate(self.features):
            allowed = self._onehot[i][2] if i in self._onehot else i not in unfilled
            # A feature whose columns all fill a missing value may still refuse one: the fitted
            # model does (MissingIndicator's error_on_new), or the uploader said so.
            _require(
                allowed or not feature.nullable,
                f"Feature {feature.name!r} is nullable but a column has no missing value.",
            )

    def _interaction_names(self) -> tuple[str, ...]:
        """Name each product of two or more features ("a*b"); a power of one keeps its feature."""
        names: list[str] = []
        self._product_parts: list[int] = []  # where each product's part goes in explain
        for _, found, _, _ in self._products:
            sources = [int(self._value_src[k]) for k in found]
            if len(set(sources)) == 1:
                self._product_parts.append(sources[0])
                continue
            name = "*".join(self.features[s].name for s in dict.fromkeys(sources))
            if name not in names:
                names.append(name)
            self._product_parts.append(len(self.features) + names.index(name))
        return tuple(names)

    def _contribution_table(
        self,
        source: int,
        columns: list[tuple[int, Lookup]],
        mul: np.ndarray,
        add: np.ndarray,
        missing: np.ndarray,
    ) -> tuple[dict[tuple[type, Any], int], np.ndarray, bool]:
        """Precompute one categorical feature's contribution for each value it can take.

        Row i < len(enum) is enum[i]; the next row is an unknown value; the last is missing.
        Linear in categories + columns: every row starts from what all the columns add, then
        each column adds its part to the rows holding its categories (and the unknown row).
        """
        feature = self.features[source]
        _require(feature.enum is not None, f"One-hot feature {feature.name!r} needs an enum.")
        values = feature.enum
        rows_of: dict[tuple[type, Any], list[int]] = {}
        for row, value in enumerate(values):
            rows_of.setdefault(_key(value, feature.type), []).append(row)
        index = np.array([j for j, _ in columns], dtype=np.intp)
        coef = self.coef[:, index]  # (outputs, this feature's columns)
        absent = missing[index]
        table = np.empty((len(values) + 2, self.coef.shape[0]))
        table[: len(values) + 1] = coef @ add[index]
        table[len(values) + 1] = coef @ np.nan_to_num(absent, nan=0.0)
        hit_rows: list[int] = []
        hit_columns: list[int] = []
        hit_values: list[float] = []
        for k, (_, lookup) in enumerate(columns):
            for category, value in lookup.values:
                found = rows_of.get(_key(category, feature.type), ())
                hit_rows.extend(found)
                hit_columns.extend([k] * len(found))
                hit_values.extend([value] * len(found))
            if lookup.unknown:
                hit_rows.append(len(values))
                hit_columns.append(k)
                hit_values.append(lookup.unknown)
        picked = np.array(hit_columns, dtype=np.intp)
        part = coef[:, picked] * (mul[index][picked] * np.array(hit_values, dtype=np.float64))
        np.add.at(table, np.array(hit_rows, dtype=np.intp), part.T)
        lookup = {key: rows[-1] for key, rows in rows_of.items()}
        return lookup, table, not np.isnan(absent).any()


@dataclass(frozen=True)
class Lookup:
    """A categorical column's value for each category it names, and for an unknown one."""

    values: tuple[tuple[Any, float], ...]
    unknown: float = 0.0


def _parse_lookup(column: dict[str, Any], type_: str, j: int) -> Lookup:
    """Read a one-hot column (``category``) or a lookup column (``lookup`` and ``unknown``)."""
    if "category" in column:
        _require("lookup" not in column, f"columns[{j}] has both a category and a lookup.")
        category = column["category"]
        _require(
            category is None or _matches_type(category, type_),
            f"columns[{j}].category must be of type {type_}.",
        )
        # The missing-value category never equals a present value: its part is ``missing``.
        return Lookup(() if category is None else ((category, 1.0),))
    pairs = column["lookup"]
    _require(isinstance(pairs, list), f"columns[{j}].lookup must be a list of pairs.")
    values = []
    for pair in pairs:
        _require(
            isinstance(pair, list) and len(pair) == 2 and _matches_type(pair[0], type_),
            f"columns[{j}].lookup must hold [category, number] pairs of type {type_}.",
        )
        values.append((pair[0], _finite_number(pair[1], f"columns[{j}].lookup")))
    keys = {_key(category, type_) for category, _ in values}
    _require(len(keys) == len(values), f"columns[{j}].lookup names a category twice.")
    unknown = _finite_number(column.get("unknown", 0.0), f"columns[{j}].unknown")
    return Lookup(tuple(values), unknown)


@dataclass(frozen=True)
class _Expansion:
    """The plan's columns with the factors of its products and Normalizers appended."""

    columns: list[Any]
    products: dict[int, list[int]]  # product column -> its factor columns
    groups: list[tuple[list[int], str]]  # each Normalizer's factor columns and norm
    normalized: dict[int, tuple[int, int]]  # normalized column -> (its group, its factor)


def _with_factors(columns: list[Any]) -> _Expansion:
    """Return the columns with every product's and Normalizer's factors appended."""
    expanded = list(columns)
    factors: dict[int, list[int]] = {}
    groups: list[tuple[list[int], str]] = []
    found: dict[tuple[str, str], int] = {}
    normalized: dict[int, tuple[int, int]] = {}
    for j, column in enumerate(columns):
        if isinstance(column, dict) and "normalize" in column:
            given, norm, index = check_normalized(column, j)
            # The columns of one Normalizer list the same factors: they are computed once.
            key = (norm, json.dumps(given, sort_keys=True, default=repr))
            if key not in found:
                found[key] = len(groups)
                groups.append((_append_factors(expanded, given, j, "normalize"), norm))
            normalized[j] = (found[key], index)
            continue
        if not (isinstance(column, dict) and "product" in column):
            continue
        given = column["product"]
        _require(
            isinstance(given, list) and len(given) >= 2,
            f"columns[{j}].product must list two or more factors.",
        )
        _require(
            set(column) == {"product", "mul", "add"}, f"columns[{j}] needs only product, mul, add."
        )
        factors[j] = _append_factors(expanded, given, j, "product")
    return _Expansion(expanded, factors, groups, normalized)


def _append_factors(expanded: list[Any], given: list[Any], j: int, key: str) -> list[int]:
    """Append a column's factors (value columns) and return their indices."""
    for factor in given:
        _require(
            isinstance(factor, dict)
            and not {"product", "normalize", "category", "lookup"} & set(factor),
            f"columns[{j}].{key} must list value columns.",
        )
        expanded.append(factor)
    return list(range(len(expanded) - len(given), len(expanded)))


def _groups(
    expansion: _Expansion, position: dict[int, int], mul: np.ndarray, add: np.ndarray
) -> tuple[Group, ...]:
    """Compile each Normalizer: its factors among the value columns and its columns."""
    out = []
    for g, (found, norm) in enumerate(expansion.groups):
        mine = [(j, member) for j, (group, member) in expansion.normalized.items() if group == g]
        columns = np.array([j for j, _ in mine], dtype=np.intp)
        out.append(
            Group(
                np.array([position[f] for f in found], dtype=np.intp),
                norm,
                columns,
                np.array([member for _, member in mine], dtype=np.intp),
                mul[columns],
                add[columns],
            )
        )
    return tuple(out)


def _finite_array(values: list[Any], where: str) -> np.ndarray:
    """Return a list (or list of rows) of finite JSON numbers as float64.

    Raises PlanError naming the first value that is not one; ``where`` may hold ``{}`` for
    its index.
    """
    flat = values[0] if values and type(values[0]) is list else None
    numbers = (int, float)
    if flat is None:
        plain = all(type(v) in numbers for v in values)
    else:
        plain = all(type(v) in numbers for row in values for v in row)
    if plain:
        array = np.array(values, dtype=np.float64)
        if np.isfinite(array).all():
            return array
    if flat is None:
        return np.array(
            [_finite_number(v, where.format(i)) for i, v in enumerate(values)], dtype=np.float64
        )
    return np.array([[_finite_number(v, where) for v in row] for row in values], dtype=np.float64)
