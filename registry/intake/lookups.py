"""OrdinalEncoder and TargetEncoder: each category stands for a fitted number (a lookup column)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from registry.errors import InvalidArtifact, UnsupportedEstimator
from registry.intake.encoders import Encoding, Fitted, fitted_categories, python_value


@dataclass(frozen=True)
class LookupCell:
    """One output column: the number of each known category, of an unknown one, of a missing one.

    ``missing`` None: a missing input is refused (or filled by a later imputer); ``unknown``
    None: an unseen category is NaN too (unknown_value=np.nan), for a later imputer to fill.
    """

    values: tuple[tuple[Any, float], ...]
    unknown: float | None
    missing: float | None


def _number(value: Any, what: str) -> float | None:
    """Return a fitted setting as a float, None for NaN (scikit-learn's 'no number')."""
    value = python_value(value)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise UnsupportedEstimator(f"{what} must be a number.")
    return None if math.isnan(value) else float(value)


def _cell(
    fitted: Fitted,
    codes: list[float],
    unknown: float | None,
    missing_code: float | None,
    has_fill: bool,
    fill: Any,
    unknown_nan: bool = False,
) -> LookupCell:
    """Build a column from each category's code; ``unknown`` None means unseen is refused, or
    with ``unknown_nan`` that it is NaN."""
    pairs = tuple((v, codes[k]) for k, v in enumerate(fitted.values) if k != fitted.marker)
    if has_fill and not fitted.spelt_none:
        hit = fitted.hit(fill)
        missing = unknown if hit is None else codes[hit]
    elif fitted.marker is not None:
        missing = missing_code
    else:
        # A missing value the encoder never saw is an unknown category to it.
        missing = unknown
    if unknown_nan:
        return LookupCell(pairs, None, missing)
    return LookupCell(pairs, 0.0 if unknown is None else unknown, missing)


def _nan_last(fitted: Fitted) -> bool:
    """Tell whether input j has NaN as its missing-value category.

    OrdinalEncoder reads only NaN as missing (is_scalar_nan, in every release from 1.1): None is
    an ordinary category to it, with a code of its own, and encoded_missing_value is not used.
    """
    return fitted.marker is not None and not fitted.spelt_none


def _ordinal_codes(step: Any, j: int, fitted: Fitted) -> list[float]:
    nan_last = _nan_last(fitted)
    count = len(fitted.values) - nan_last
    state = vars(step)
    mapping = None
    if state.get("_infrequent_enabled", False):
        mappings = state.get("_default_to_infrequent_mappings")
        if type(mappings) is not list or j >= len(mappings):
            raise InvalidArtifact("The OrdinalEncoder's infrequent categories are damaged.")
        mapping = mappings[j]
    if mapping is None:
        codes = list(range(count))
    else:
        if type(mapping) is not np.ndarray or mapping.shape != (count,):
            raise InvalidArtifact("The OrdinalEncoder's infrequent categories are damaged.")
        codes = mapping.tolist()
    # The NaN category is always last; its code is encoded_missing_value.
    return [float(c) for c in codes] + [math.nan] * nan_last


def ordinal_column(step: Any, j: int, has_fill: bool, fill: Any) -> tuple[Encoding, LookupCell]:
    """Return input j's encoding and its one column of OrdinalEncoder codes."""
    fitted, kind = fitted_categories(step, j)
    unknown = None
    unknown_nan = False
    if step.handle_unknown == "use_encoded_value":
        unknown = _number(step.unknown_value, "OrdinalEncoder's unknown_value")
        # NaN: an unseen category reaches the next steps as missing (columns.py follows it).
        unknown_nan = unknown is None
    elif step.handle_unknown != "error":
        raise UnsupportedEstimator("OrdinalEncoder's handle_unknown setting is not supported.")
    codes = _ordinal_codes(step, j, fitted)
    if _nan_last(fitted):
        missing_code = _number(
            vars(step).get("encoded_missing_value", math.nan), "encoded_missing_value"
        )
    else:
        missing_code = None if fitted.marker is None else codes[fitted.marker]
    cell = _cell(fitted, codes, unknown, missing_code, has_fill, fill, unknown_nan)
    return fitted.encoding(kind, unknown is not None or unknown_nan), cell


def target_columns(
    step: Any, j: int, has_fill: bool, fill: Any
) -> tuple[Encoding, list[LookupCell]]:
    """Return input j's encoding and its TargetEncoder columns (one per class if multiclass)."""
    fitted, kind = fitted_categories(step, j)
    target_type = vars(step).get("target_type_")
    encodings = vars(step).get("encodings_")
    means = np.atleast_1d(np.asarray(vars(step).get("target_mean_"), dtype=object))
    if target_type not in ("binary", "continuous", "multiclass") or type(encodings) is not list:
        raise InvalidArtifact("The TargetEncoder is not fitted.")
    outputs = len(means) if target_type == "multiclass" else 1
    if len(means) != outputs or len(encodings) != outputs * len(step.categories_):
        raise InvalidArtifact("The TargetEncoder's encodings do not fit its categories.")
    cells = []
    for c in range(outputs):
        encoding = encodings[j * outputs + c]
        if type(encoding) is not np.ndarray or encoding.shape != (len(fitted.values),):
            raise InvalidArtifact("The TargetEncoder's encodings do not fit its categories.")
        codes = [_number(v, "A TargetEncoder encoding") for v in encoding.tolist()]
        mean = _number(means[c], "TargetEncoder's target_mean_")
        if mean is None or any(v is None for v in codes):
            raise InvalidArtifact("The TargetEncoder's encodings are not all numbers.")
        missing_code = None if fitted.marker is None else codes[fitted.marker]
        cells.append(_cell(fitted, codes, mean, missing_code, has_fill, fill))
    return fitted.encoding(kind, True), cells
