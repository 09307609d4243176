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
    being present), which is what the weight means in the input's own units.
    """

    label: str
    coefficient: float
    per_unit: float


@dataclass(frozen=True)
class Head:
    """One output of the head: what it scores, its intercept and its terms by |coefficient|."""

    title: str
    intercept: float
    terms: tuple[Term, ...]


def _column_label(column: dict[str, Any]) -> str:
    if "category" not in column:
        return str(column["feature"])
    category = column["category"]
    shown = "(missing)" if category is None else class_label(category)
    return f"{column['feature']} = {shown}"


def _titles(plan: dict[str, Any]) -> list[str]:
    classes = plan.get("classes")
    if plan.get("kind") == "linear" or not classes:
        return ["prediction"]
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
        terms = [
            Term(_column_label(column), float(weight), float(weight) * float(column["mul"]))
            for column, weight in zip(columns, row, strict=True)
        ]
        terms.sort(key=lambda t: abs(t.coefficient), reverse=True)
        found.append(Head(title, float(intercept), tuple(terms)))
    return found
