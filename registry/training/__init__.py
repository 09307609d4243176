"""Training from a table: pick the pipeline from the column types, fit, and score a held-out split.

The kind, when not given: a target of text, booleans or categories is a class label
(logistic); a numeric target whose values are all whole numbers, with at most
``MAX_GUESSED_CLASSES`` distinct values, is a class label too (0/1, grades 1 to 5); any
other numeric target is a quantity (linear).

The version pushed is the pipeline fitted on the training split, so that its metrics, computed
on the held-out split it never saw, describe exactly the model that serves.
"""

from registry.training.child import child_main
from registry.training.data import (
    MAX_CATEGORIES,
    MAX_CLASSES,
    MAX_GUESSED_CLASSES,
    guess_kind,
    read_csv,
)
from registry.training.data import _features as _features
from registry.training.data import _labels as _labels
from registry.training.evaluation import LINEAR_METRICS, LOGISTIC_METRICS, evaluate
from registry.training.fit import (
    MIN_ROWS,
    MIN_SPLIT_ROWS,
    RANDOM_STATE,
    STAGES,
    Progress,
    train,
)
from registry.training.fit import _split as _split
from registry.training.pipeline import build_pipeline, column_groups

__all__ = [
    "LINEAR_METRICS",
    "LOGISTIC_METRICS",
    "MAX_CATEGORIES",
    "MAX_CLASSES",
    "MAX_GUESSED_CLASSES",
    "MIN_ROWS",
    "MIN_SPLIT_ROWS",
    "RANDOM_STATE",
    "STAGES",
    "Progress",
    "build_pipeline",
    "child_main",
    "column_groups",
    "evaluate",
    "guess_kind",
    "read_csv",
    "train",
]
