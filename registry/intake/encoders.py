"""What a fitted OneHotEncoder learnt about one input: its categories, type and missing value."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from registry.errors import InvalidArtifact, UnsupportedEstimator

_HANDLE_UNKNOWN = ("error", "ignore", "infrequent_if_exist", "warn")


@dataclass(frozen=True)
class Encoding:
    """One input's fitted categories as a feature spec sees them."""

    type: str
    enum: tuple[Any, ...]
    kind: str  # numpy dtype kind of the fitted categories
    missing_input: Any  # what scikit-learn must be given for a missing input: NaN or None
    accepts_unknown: bool  # the encoder answers an unseen category instead of raising


def python_value(value: Any) -> Any:
    """Return a category or statistic as a plain Python value."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, str):
        return str(value)
    if value is None or isinstance(value, (bool, int, float)):
        return value
    raise UnsupportedEstimator(
        f"A fitted value of type {type(value).__name__} is not supported; categories and "
        "imputed values must be strings, numbers or booleans."
    )


def is_missing(value: Any) -> bool:
    """Return whether scikit-learn treats a category as the missing value."""
    return value is None or (type(value) is float and math.isnan(value))


def _same(a: Any, b: Any) -> bool:
    if is_missing(a) or is_missing(b):
        return False
    return (type(a) is bool) == (type(b) is bool) and a == b


def _feature_type(values: tuple[Any, ...]) -> str:
    if all(type(v) is str for v in values):
        return "string"
    if all(type(v) is bool for v in values):
        return "boolean"
    if all(type(v) is int for v in values):
        return "integer"
    if all(type(v) in (int, float) and math.isfinite(v) for v in values):
        return "number"
    raise UnsupportedEstimator(
        "OneHotEncoder categories that mix types are not supported; each input's categories "
        "must all be strings, all integers, all numbers or all booleans."
    )


def _check_encoder(step: Any) -> None:
    if step.handle_unknown not in _HANDLE_UNKNOWN:
        raise UnsupportedEstimator("OneHotEncoder's handle_unknown setting is not supported.")


def _grouping(step: Any, j: int, count: int) -> tuple[list[int], int | None]:
    """Return each category's output group and the infrequent group (None if there is none).

    Without infrequent categories each category is its own group. With them, scikit-learn maps
    the rare categories to one group after the frequent ones (``_default_to_infrequent_mappings``).
    """
    if not vars(step).get("_infrequent_enabled", False):
        return list(range(count)), None
    mappings = vars(step).get("_default_to_infrequent_mappings")
    if type(mappings) is not list or j >= len(mappings):
        raise InvalidArtifact("The OneHotEncoder's infrequent categories are damaged.")
    mapping = mappings[j]
    if mapping is None:
        return list(range(count)), None
    if type(mapping) is not np.ndarray or mapping.dtype.kind not in "iu" or mapping.ndim != 1:
        raise InvalidArtifact("The OneHotEncoder's infrequent categories are damaged.")
    groups = [int(g) for g in mapping.tolist()]
    if len(groups) != count or set(groups) != set(range(max(groups) + 1)):
        raise UnsupportedEstimator(
            "This OneHotEncoder's grouping of infrequent categories is not supported."
        )
    return groups, max(groups)


def _dropped(step: Any, j: int) -> int | None:
    """Return the output group the encoder drops for input j, if any."""
    state = vars(step)
    # From 1.2 on, drop_idx_ names a category and _drop_idx_after_grouping the dropped group;
    # they differ only when infrequent categories are grouped.
    drop = state.get("_drop_idx_after_grouping", state.get("drop_idx_"))
    if drop is None:
        return None
    if state.get("_infrequent_enabled", False) and "_drop_idx_after_grouping" not in state:
        raise UnsupportedEstimator(
            "OneHotEncoder with drop and infrequent categories is not supported from this release."
        )
        return None
    if type(drop) is not np.ndarray or drop.ndim != 1 or j >= len(drop):
        raise InvalidArtifact("The OneHotEncoder's drop_idx_ is damaged.")
    index = python_value(drop[j])
    if index is not None and type(index) is not int:
        raise InvalidArtifact("The OneHotEncoder's drop_idx_ is damaged.")
    return index


@dataclass(frozen=True)
class Cell:
    """One output column of an encoded input: 1 for its categories, 0 for the others.

    ``unknown`` is its value for a category the encoder never saw; ``missing`` its value for a
    missing input (None: a missing input is refused).
    """

    categories: tuple[Any, ...]
    unknown: float
    missing: float | None


@dataclass(frozen=True)
class Fitted:
    """One input's fitted categories, with the missing-value category apart."""

    values: list[Any]  # as categories_ lists them
    marker: int | None  # the index of the missing-value category (None or NaN), if any
    spelt_none: bool  # that category is None, which JSON null stands for (NaN is not filled)

    def encoding(self, kind: str, accepts_unknown: bool) -> Encoding:
        """Return the feature's encoding."""
        enum = tuple(v for k, v in enumerate(self.values) if k != self.marker)
        return Encoding(
            type=_feature_type(enum),
            enum=enum,
            kind=kind,
            missing_input=None if self.spelt_none else math.nan,
            accepts_unknown=accepts_unknown,
        )

    def hit(self, fill: Any) -> int | None:
        """Return the index of the category an imputer's fill value is, if it is one."""
        return next((k for k, v in enumerate(self.values) if _same(v, fill)), None)


def fitted_categories(step: Any, j: int) -> tuple[Fitted, str]:
    """Return input j's fitted categories and their numpy dtype kind."""
    name = type(step).__name__
    categories = getattr(step, "categories_", None)
    if type(categories) is not list or j >= len(categories):
        raise InvalidArtifact(f"The {name} is not fitted.")
    fitted = categories[j]
    if type(fitted) is not np.ndarray or fitted.ndim != 1 or len(fitted) == 0:
        raise InvalidArtifact(f"The {name}'s categories are damaged.")
    values = [python_value(v) for v in fitted]
    markers = [k for k, v in enumerate(values) if is_missing(v)]
    if len(markers) > 1:
        raise UnsupportedEstimator(
            f"{name} categories with both None and NaN as missing values are not supported."
        )
    marker = markers[0] if markers else None
    if len(values) == len(markers):
        raise UnsupportedEstimator(f"{name} with only a missing-value category is not supported.")
    # An imputer (missing_values=np.nan) does not replace None; an encoder that learnt None as a
    # category was fitted on missing values spelt None, and JSON null means that category.
    spelt_none = marker is not None and values[marker] is None
    return Fitted(values, marker, spelt_none), fitted.dtype.kind


def unknown_to_infrequent(step: Any, release: str | None) -> bool:
    """Tell whether the encoder's release scores an unseen category as its infrequent group.

    handle_unknown='warn' (from 1.6) means 'infrequent_if_exist' with a warning, but releases
    1.6 and 1.7 left the unseen category out of the infrequent group (all zeros, as 'ignore');
    1.8 put it in.
    """
    if step.handle_unknown == "infrequent_if_exist":
        return True
    if step.handle_unknown != "warn":
        return False
    try:
        saved = tuple(int(part) for part in (release or "").split(".")[:2])
    except ValueError:
        saved = ()
    return not (len(saved) == 2 and saved < (1, 8))


def encode_column(
    step: Any, j: int, has_fill: bool, fill: Any, release: str | None = None
) -> tuple[Encoding, list[Cell]]:
    """Return input j's encoding and its output columns.

    ``fill`` is what an imputer before the encoder puts in place of a missing input; ``release``
    the scikit-learn release that saved the encoder.
    """
    _check_encoder(step)
    fitted, kind = fitted_categories(step, j)
    values, marker, spelt_none = fitted.values, fitted.marker, fitted.spelt_none
    encoding = fitted.encoding(kind, step.handle_unknown != "error")
    groups, infrequent = _grouping(step, j, len(values))
    # Unknown categories go to the infrequent group, when there is one and the encoder says so.
    unknown_group = infrequent if unknown_to_infrequent(step, release) else None
    if has_fill and not spelt_none:
        hit = fitted.hit(fill)
        missing_group = unknown_group if hit is None else groups[hit]
        refused = hit is None and step.handle_unknown == "error"
    else:
        missing_group = None if marker is None else groups[marker]
        refused = marker is None
    dropped = _dropped(step, j)
    # Each group's categories in one pass: tens of thousands of categories are common.
    members: list[list[Any]] = [[] for _ in range(max(groups) + 1)]
    for k, value in enumerate(values):
        if k != marker:
            members[groups[k]].append(value)
    return encoding, [
        Cell(
            tuple(members[g]),
            float(g == unknown_group),
            None if refused else float(g == missing_group),
        )
        for g in range(len(members))
        if g != dropped
    ]
