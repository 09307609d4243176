"""The served model: a plan of plain numbers, its feature spec, and numpy predict and explain.

A plan is JSON (format 1):

    {"format": 1, "kind": "linear" | "logistic",
     "link": "identity" | "log" | "logistic" | "softmax" | "ovr",
     "features": [{"name", "type", "enum"?, "nullable", "accepts_unknown"?}],
     "columns": [{"feature", "center"?, "mul", "add", "missing", "ops"?,
                  "category"? | ("lookup", "unknown"?)}
                 | {"product": [value columns], "mul", "add"}
                 | {"normalize": [value columns], "norm", "index", "mul", "add"}],
     "ignored": [names]?,
     "coef": [[...], ...], "intercept": [...], "classes": [...] | null,
     "target": [{"function", "center"?, "mul"?, "add"?}]?}

Each column of the design matrix comes from one input feature. A value column is
``(ops(x) - center) * mul + add`` (center 0 when absent; ops, when present, is a list of
elementwise operations such as clip, numpy functions and step lookups, registry.plans.ops);
a one-hot column (it has a ``category``
key) is ``mul * (x == category) + add``
(``category: null`` is the missing-value category, never equal to a present value). A lookup
column (``lookup: [[category, v], ...]``) is ``mul * L(x) + add`` where L(x) is the v paired with
x, 0 for a known category not listed, and ``unknown`` (default 0) for a value outside the enum:
OneHotEncoder's infrequent column pairs 1 with each rare category. A missing
input gives the column's ``missing`` value, or is refused when that is null. A product column
(PolynomialFeatures) is ``mul * f1 * f2 * ... + add`` over two or more value columns (the
factors, each computed as a value column is, missing value included); it has no coefficient of
its own factors. Explain gives each input its columns' parts; a product of one input's powers
goes to that input, a product of several inputs gets its own part, named "a*b" (the expanded
feature space): the parts still sum to the raw score. A normalized column (Normalizer,
registry.plans.groups) is ``mul * f_index / norm(f1, f2, ...) + add``, the norm ("l1", "l2" or
"max") taken over its value columns in the row; explain gives its part to the input it divides
(additive in the normalized features, not in the raw inputs). The head is
``coef @ z + intercept`` followed by the link; a linear plan's ``log`` link and ``target``
transforms are described in registry.plans.target. ``ignored`` names inputs the fitted model
receives but does not use; a feature with ``accepts_unknown`` scores values outside its enum
as the fitted encoder scores an unseen category.
"""

from registry.plans.plan import Columns, NonFiniteScore, Output, Plan
from registry.plans.spec import (
    FEATURE_TYPES,
    INTERCEPT,
    LINKS,
    PLAN_FORMAT,
    Feature,
    PlanError,
    class_label,
)

__all__ = [
    "Columns",
    "FEATURE_TYPES",
    "INTERCEPT",
    "LINKS",
    "PLAN_FORMAT",
    "Feature",
    "NonFiniteScore",
    "Output",
    "Plan",
    "PlanError",
    "class_label",
]
