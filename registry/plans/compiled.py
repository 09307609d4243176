"""Checking a plan's JSON and compiling it into the arrays that prediction reads."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from registry.plans.spec import (
    LINKS,
    PLAN_FORMAT,
    _finite_number,
    _key,
    _matches_type,
    _parse_feature,
    _require,
    _same,
)


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
