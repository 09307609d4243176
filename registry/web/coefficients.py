"""A version's linear head as people read it: one table of terms per output, largest first."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from registry.plans import class_label


@dataclass(frozen=True)
class Term:
    """One column of the design matrix and its weight.

    ``coefficient`` is the fitted weight on the column as the head sees it (after scaling);
    ``per_unit`` is the change in score for one unit of the raw input (or for the category
    being present), which is what the weight means in the input's own units; None where the
    column transforms its input in a way that has no such unit (a log, bins, an encoding).
    """

    label: str
    coefficient: float
    per_unit: float | None


@dataclass(frozen=True)
class Head:
    """One output of the head: what it scores, its intercept and its terms by |coefficient|."""

    title: str
    intercept: float
    terms: tuple[Term, ...]


def _op_name(op: dict[str, Any]) -> str:
    return str(op.get("name") if op.get("op") == "ufunc" else op.get("op"))


def _term(column: dict[str, Any], weight: float) -> Term:
    if "product" in column:
        # PolynomialFeatures: a product of its factors' columns, with no unit of its own.
        factors = [str(f.get("feature")) for f in column["product"]]
        return Term(" × ".join(factors), weight, None)
    if "normalize" in column:
        # Normalizer: one input over the norm of its row of inputs, with no unit of its own.
        feature = str(column["normalize"][column["index"]].get("feature"))
        return Term(f"{feature} ({column['norm']} normalized)", weight, None)
    feature = str(column["feature"])
    effect = weight * float(column["mul"])
    if "category" in column:
        category = column["category"]
        shown = "(missing)" if category is None else class_label(category)
        return Term(f"{feature} = {shown}", weight, effect)
    if "lookup" in column:
        pairs = column["lookup"]
        if all(value == 1 for _, value in pairs):
            # OneHotEncoder's infrequent column: 1 for each rare category.
            names = ", ".join(class_label(c) for c, _ in pairs[:3])
            more = f" and {len(pairs) - 3} more" if len(pairs) > 3 else ""
            return Term(f"{feature} = one of {names}{more}", weight, effect)
        return Term(f"{feature} (encoded)", weight, None)
    ops = column.get("ops") or []
    if any(op.get("op") != "affine" for op in ops):
        return Term(f"{feature} ({', '.join(_op_name(op) for op in ops)})", weight, None)
    for op in ops:
        effect *= float(op["mul"])
    return Term(feature, weight, effect)


def _titles(plan: dict[str, Any]) -> list[str]:
    classes = plan.get("classes")
    if plan.get("kind") == "linear" or not classes:
        title = "log of the prediction" if plan.get("link") == "log" else "prediction"
        return [f"{title}, before the target's transform" if plan.get("target") else title]
    if plan.get("link") == "logistic":
        return [f"log-odds of class {class_label(classes[1])}"]
    return [f"class {class_label(c)}" for c in classes]


def heads(plan: dict[str, Any]) -> list[Head]:
    """Return the plan's outputs, each with its terms sorted by |coefficient|, largest first."""
    columns = plan.get("columns", [])
    found = []
    for title, row, intercept in zip(
        _titles(plan), plan.get("coef", []), plan.get("intercept", []), strict=False
    ):
        terms = [_term(column, float(weight)) for column, weight in zip(columns, row, strict=True)]
        terms.sort(key=lambda t: abs(t.coefficient), reverse=True)
        found.append(Head(title, float(intercept), tuple(terms)))
    return found
