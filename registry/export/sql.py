"""A plan as one SQL SELECT that scores every row of a table where the data lives.

The query reads the feature columns of the caller's table and returns the table's own columns
followed by the plan's outputs:

- a linear plan: ``score`` (the linear predictor) and ``prediction``;
- a logistic plan: ``score`` (binary) or ``score_<class>`` (one per class), then
  ``probability_<class>`` for each class and ``prediction`` (the class label).

NULL is a missing value: it is filled in exactly where the plan fills it in (a nullable
feature); where the service would refuse the row (a missing value of a required feature, or a
category outside the enum of a feature that does not accept unknown ones), the outputs are NULL.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from registry.export.dialects import Dialect
from registry.export.elementwise import affine, op_sql, target_sql
from registry.plans import Plan, class_label
from registry.plans.spec import Feature

# Past this many categories a feature's parts come from a joined table instead of a CASE.
JOIN_AT = 32


def plan_sql(plan: Plan, dialect: Dialect, table: str) -> str:
    """Return the SELECT that computes ``plan`` from the feature columns of ``table``.

    Each level adds columns to the one below (source, scored, weighed), so that no level
    repeats a whole expression of the level under it.
    """
    names = _score_names(plan)
    joins = _lookup_joins(plan, dialect)
    levels = [list(zip(names, _score_expressions(plan, dialect, joins), strict=True))]
    levels.extend(_outputs(plan, [f"scored.{dialect.identifier(n)}" for n in names], dialect))
    query, below = f"{dialect.table(table)} AS source", "source"
    query += "".join(f"\nLEFT JOIN {join}" for join in joins.values())
    for alias, columns in zip(("scored", "weighed", "picked"), levels, strict=False):
        listed = ",\n  ".join(f"{expr} AS {dialect.identifier(name)}" for name, expr in columns)
        select = f"SELECT\n  {below}.*,\n  {listed}\nFROM {query}"
        query, below = f"(\n{select}\n) AS {alias}", alias
    return select + "\n"


def _score_names(plan: Plan) -> list[str]:
    if plan.coef.shape[0] == 1:
        return ["score"]
    return [f"score_{class_label(c)}" for c in plan.classes or []]


def _lookup_joins(plan: Plan, d: Dialect) -> dict[int, str]:
    """Return, per feature with many categories, the join of its table of parts (by source).

    A CASE over thousands of categories is a scan per row; a join is a hash lookup. The
    categories are unique keys, so the LEFT JOIN keeps each row once.
    """
    joins = {}
    for source, (lookup, table, _) in plan._onehot.items():
        if len(lookup) <= JOIN_AT or d.name == "sqlite":
            # SQLite joins a VALUES table by scanning it per row: it gets a search tree.
            continue
        feature = plan.features[source]
        alias = d.identifier(f"lookup_{source}")
        names = ["key", *(f"part_{k}" for k in range(table.shape[1]))]
        rows = ",\n  ".join(
            "(" + ", ".join([d.literal(value, feature.type), *map(d.number, table[row])]) + ")"
            for (_, value), row in lookup.items()
        )
        if d.name == "sqlite":  # SQLite names VALUES columns column1, column2, ...
            listed = ", ".join(f"column{i + 1} AS {d.identifier(n)}" for i, n in enumerate(names))
            derived = f"(SELECT {listed} FROM (VALUES\n  {rows})) AS {alias}"
        else:
            listed = ", ".join(d.identifier(n) for n in names)
            derived = f"(VALUES\n  {rows}) AS {alias}({listed})"
        joins[source] = f"{derived} ON {_column(feature, d)} = {alias}.{d.identifier('key')}"
    return joins


def _column(feature: Feature, d: Dialect) -> str:
    return f"source.{d.identifier(feature.name)}"


def _score_expressions(plan: Plan, d: Dialect, joins: dict[int, str]) -> list[str]:
    """Return each output's linear score: intercept + value columns + categorical parts."""
    outputs = plan.coef.shape[0]
    terms: list[list[str]] = [[d.number(plan.intercept[k])] for k in range(outputs)]
    for k, term in _value_terms(plan, d):
        terms[k].append(term)
    for source, (lookup, table, _) in plan._onehot.items():
        feature = plan.features[source]
        joined = d.identifier(f"lookup_{source}") if source in joins else None
        for k in range(outputs):
            terms[k].append(_category_part(feature, lookup, table[:, k], d, joined, k))
    return ["(" + "\n      + ".join(parts) + ")" for parts in terms]


def _value_terms(plan: Plan, d: Dialect) -> list[tuple[int, str]]:
    raw_columns = plan.raw["columns"]
    value_columns = [c for c in raw_columns if "category" not in c and "lookup" not in c]
    out = []
    for k_col, (column, source) in enumerate(zip(value_columns, plan._value_src, strict=True)):
        feature = plan.features[source]
        x = _read_value(feature, d)
        for op in column.get("ops", []):
            x = op_sql(op, x, d)
        center, mul = plan._value_center[k_col], plan._value_mul[k_col]
        z = affine(x, center, mul, plan._value_add[k_col], d)
        missing = plan._value_missing[k_col]
        if feature.nullable and not np.isnan(missing):
            column_name = _column(feature, d)
            z = f"(CASE WHEN {column_name} IS NULL THEN {d.number(missing)} ELSE {z} END)"
        z = _within_enum(feature, z, d)
        for k, coef in enumerate(plan._value_coef[k_col]):
            out.append((k, f"{z} * {d.number(coef)}"))
    return out


def _read_value(feature: Feature, d: Dialect) -> str:
    column = _column(feature, d)
    if feature.type == "boolean":
        # A boolean reaches the model as 1.0 or 0.0; NULL stays NULL.
        return (
            f"(CASE WHEN {column} THEN {d.number(1.0)} WHEN NOT {column} THEN {d.number(0.0)} END)"
        )
    return d.as_float(column)


def _within_enum(feature: Feature, z: str, d: Dialect) -> str:
    """NULL for a value outside a value feature's enum: the service refuses such a row."""
    if feature.enum is None or feature.accepts_unknown:
        return z
    column = _column(feature, d)
    allowed = ", ".join(d.literal(v, feature.type) for v in feature.enum)
    nullable = f"{column} IS NULL OR " if feature.nullable else ""
    return f"(CASE WHEN {nullable}{column} IN ({allowed}) THEN {z} END)"


def _category_part(
    feature: Feature,
    lookup: dict[tuple[type, Any], int],
    parts: np.ndarray,
    d: Dialect,
    joined: str | None = None,
    output: int = 0,
) -> str:
    """Return one categorical feature's part of one output, read from the plan's table.

    The table (registry.plans.compiled) holds the part of each known value, then of an
    unknown value, then of a missing one.
    """
    column = _column(feature, d)
    unknown_row, missing_row = len(parts) - 2, len(parts) - 1
    branches = []
    if feature.nullable:
        branches.append(f"WHEN {column} IS NULL THEN {d.number(parts[missing_row])}")
    if joined is None and len(lookup) > JOIN_AT:
        # Known values by binary search over their sorted literals (SQLite compares text
        # byte by byte by default, which is Python's order of str): log2(n) tests per row.
        keys = sorted(lookup.items(), key=lambda item: item[0][1])
        otherwise = d.number(parts[unknown_row]) if feature.accepts_unknown else "NULL"
        found = _search(column, keys, parts, otherwise, d, feature.type)
        branches.append(f"WHEN {column} IS NOT NULL THEN {found}")
        return "(CASE " + " ".join(branches) + " END)"
    if joined is not None:
        part = f"{joined}.{d.identifier(f'part_{output}')}"
        branches.append(f"WHEN {joined}.{d.identifier('key')} IS NOT NULL THEN {part}")
    for (_, value), row in lookup.items() if joined is None else ():
        branches.append(
            f"WHEN {column} = {d.literal(value, feature.type)} THEN {d.number(parts[row])}"
        )
    if feature.accepts_unknown:
        branches.append(f"WHEN {column} IS NOT NULL THEN {d.number(parts[unknown_row])}")
    # What no branch matches (a refused missing or unknown value) is NULL.
    return "(CASE " + " ".join(branches) + " END)"


def _search(
    column: str,
    keys: list[tuple[tuple[type, Any], int]],
    parts: np.ndarray,
    otherwise: str,
    d: Dialect,
    type_: str,
) -> str:
    """Return a CASE tree that finds ``column`` among the sorted ``keys`` (else ``otherwise``).

    Sixteen ranges a level keep the tree shallow: SQLite's parser has a small stack.
    """
    if len(keys) <= JOIN_AT:
        branches = " ".join(
            f"WHEN {column} = {d.literal(value, type_)} THEN {d.number(parts[row])}"
            for (_, value), row in keys
        )
        return f"(CASE {branches} ELSE {otherwise} END)"
    size = -(-len(keys) // 16)
    groups = [keys[i : i + size] for i in range(0, len(keys), size)]
    branches = " ".join(
        f"WHEN {column} < {d.literal(after[0][0][1], type_)} "
        f"THEN {_search(column, group, parts, otherwise, d, type_)}"
        for group, after in zip(groups, groups[1:], strict=False)
    )
    last = _search(column, groups[-1], parts, otherwise, d, type_)
    return f"(CASE {branches} ELSE {last} END)"


def _outputs(plan: Plan, s: list[str], d: Dialect) -> list[list[tuple[str, str]]]:
    """Return the levels of (name, expression) computed from the score columns ``s``."""
    if plan.kind == "linear":
        y = f"EXP({s[0]})" if plan.link == "log" else s[0]
        for function, center, mul, add in plan.target:
            y = target_sql(function, center, mul, add, y, d)
        return [[("prediction", y)]]
    labels = [class_label(c) for c in plan.classes or []]
    if plan.link == "logistic":
        positive = _sigmoid(s[0], d)
        probabilities = [f"({d.number(1.0)} - {positive})", positive]
    else:
        if plan.link == "ovr":
            weights = [_sigmoid(v, d) for v in s]
        else:
            top = _greatest(s, d)
            weights = [d.exp_of_nonpositive(f"({v} - {top})") for v in s]
        total = "(" + " + ".join(weights) + ")"
        probabilities = [f"({w} / {total})" for w in weights]
    names = [f"probability_{label}" for label in labels]
    if plan.link == "logistic":
        # The plan picks by the score's sign, not by the rounded probabilities.
        zero, score = d.number(0.0), s[0].replace("scored.", "weighed.", 1)
        pick = (
            f"(CASE WHEN {score} > {zero} THEN {_label(plan, 1, d)} "
            f"WHEN {score} <= {zero} THEN {_label(plan, 0, d)} END)"
        )
    else:
        pick = _argmax(plan, [f"weighed.{d.identifier(n)}" for n in names], d)
    return [list(zip(names, probabilities, strict=True)), [("prediction", pick)]]


def _sigmoid(x: str, d: Dialect) -> str:
    # Split by sign so that exp never overflows, as the plan (and scipy's expit) does.
    zero, one = d.number(0.0), d.number(1.0)
    down, up = d.exp_of_nonpositive(f"(-{x})"), d.exp_of_nonpositive(x)
    return f"(CASE WHEN {x} >= {zero} THEN {one} / ({one} + {down}) ELSE {up} / ({one} + {up}) END)"


def _greatest(values: list[str], d: Dialect) -> str:
    top = values[0]
    for v in values[1:]:
        top = f"(CASE WHEN {v} > {top} THEN {v} ELSE {top} END)"
    return top


def _argmax(plan: Plan, scores: list[str], d: Dialect) -> str:
    """Return the first class with the highest probability, as numpy's argmax picks it.

    Probabilities, not scores: two scores far apart can round to the same probability.
    """
    branches = []
    for i, v in enumerate(scores):
        beats = [f"{v} >= {w}" for w in scores[i + 1 :]] + [f"{v} > {w}" for w in scores[:i]]
        branches.append(f"WHEN {' AND '.join(beats)} THEN {_label(plan, i, d)}")
    return "(CASE " + " ".join(branches) + " END)"


def _label(plan: Plan, index: int, d: Dialect) -> str:
    value = (plan.classes or [])[index]
    type_ = "number" if isinstance(value, float) else "integer"
    return d.literal(value, type_)
