"""Design columns as a plan sees them: each fitted transformer maps columns to columns."""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any

import numpy as np
from sklearn.compose import ColumnTransformer
from sklearn.feature_selection import (
    SelectFromModel,
    SelectKBest,
    SelectPercentile,
    VarianceThreshold,
)
from sklearn.impute import MissingIndicator, SimpleImputer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import (
    FunctionTransformer,
    KBinsDiscretizer,
    MaxAbsScaler,
    MinMaxScaler,
    Normalizer,
    OneHotEncoder,
    OrdinalEncoder,
    PolynomialFeatures,
    PowerTransformer,
    RobustScaler,
    SplineTransformer,
    StandardScaler,
    TargetEncoder,
)

from registry.errors import InvalidArtifact, UnsupportedEstimator
from registry.intake.allowlist import unsupported_message
from registry.intake.design import (
    NO_FILL,
    Categorical,
    Column,
    Normalized,
    Product,
    Raw,
    Value,
    as_number,
    divisor,
    name_of,
    vector,
)
from registry.intake.elementwise import ELEMENTWISE, bins, splines, through_op
from registry.intake.encoders import Encoding, encode_column, python_value
from registry.intake.lookups import ordinal_column, target_columns
from registry.intake.products import polynomial
from registry.intake.rowwise import normalized
from registry.intake.selection import with_saved_threshold


def _is_identity(step: Any) -> bool:
    if step is None or (isinstance(step, str) and step == "passthrough"):
        return True
    return type(step) is FunctionTransformer and step.func is None


class Preparation:
    """Walk fitted transformers over the design columns, remembering what encoders learnt."""

    def __init__(self, release: str | None = None) -> None:
        self.release = release  # the scikit-learn release that saved the steps
        self.encodings: dict[int, Encoding] = {}
        # Inputs a fitted step refuses to see missing (MissingIndicator's error_on_new).
        self.never_missing: set[int] = set()

    def apply(self, step: Any, columns: list[Column]) -> list[Column]:
        """Return the columns that come out of a fitted step given the ones that go in."""
        if _is_identity(step):
            return columns
        kind = type(step)
        if kind is Pipeline:
            for _, inner in _steps(step):
                columns = self.apply(inner, columns)
            return columns
        _check_width(step, len(columns))
        if kind in ELEMENTWISE:
            ops = ELEMENTWISE[kind](step, len(columns))
            columns = [through_op(step, c, op) for c, op in zip(columns, ops, strict=True)]
            if kind is PowerTransformer and step.standardize:
                # standardize=True is the fitted StandardScaler it keeps, after the powers.
                scaler = getattr(step, "_scaler", None)
                if type(scaler) is not StandardScaler:
                    raise InvalidArtifact("The PowerTransformer's scaler is damaged.")
                columns = self.apply(scaler, columns)
            return columns
        if kind is MissingIndicator:
            out = _indicators(step, step, columns)
            if step.error_on_new and step.features == "missing-only":
                flagged = set(step.features_.tolist())
                self.never_missing.update(
                    c.source for j, c in enumerate(columns) if j not in flagged and _may_miss(c)
                )
            return out
        if kind is ColumnTransformer:
            return self._column_transformer(step, columns)
        if kind is SimpleImputer:
            return _impute(step, columns)
        if kind in _SELECTORS:
            return _select(with_saved_threshold(step, self.release), columns)
        if kind is OneHotEncoder:
            return self._one_hot(step, columns)
        if kind in (OrdinalEncoder, TargetEncoder):
            return self._lookups(step, columns)
        if kind is KBinsDiscretizer:
            return bins(step, columns)
        if kind is PolynomialFeatures:
            return polynomial(step, columns)
        if kind is SplineTransformer:
            return splines(step, columns)
        if kind is Normalizer:
            return normalized(step, columns)
        if kind in _SCALERS:
            # Plain floats: the same IEEE arithmetic, without numpy scalar warnings.
            sub, div, times, plus = (v.tolist() for v in _SCALERS[kind](step, len(columns)))
            columns = [
                _affine(step, c, sub[j], div[j], times[j], plus[j]) for j, c in enumerate(columns)
            ]
            if kind is MinMaxScaler and vars(step).get("clip", False):
                low, high = (float(v) for v in step.feature_range)
                clip = {"op": "clip", "low": low, "high": high}
                columns = [through_op(step, c, clip) for c in columns]
            return columns
        raise UnsupportedEstimator(unsupported_message(name_of(step)))

    def _one_hot(self, step: OneHotEncoder, columns: list[Column]) -> list[Column]:
        out: list[Column] = []
        for j, column in enumerate(columns):
            if type(column) is not Raw:
                raise UnsupportedEstimator(
                    "OneHotEncoder must see the input values themselves; scaling before it "
                    "is not supported."
                )
            encoding, cells = encode_column(
                step, j, column.fill is not NO_FILL, column.fill, self.release
            )
            known = self.encodings.get(column.source)
            if known is not None and known.enum != encoding.enum:
                raise UnsupportedEstimator(
                    "One input is one-hot encoded twice with different categories, which is "
                    "not supported."
                )
            self.encodings[column.source] = encoding
            out.extend(
                Categorical(
                    column.source,
                    tuple((c, 1.0) for c in cell.categories),
                    1.0,
                    0.0,
                    cell.missing,
                    cell.unknown,
                )
                for cell in cells
            )
        return out

    def _lookups(self, step: Any, columns: list[Column]) -> list[Column]:
        out: list[Column] = []
        for j, column in enumerate(columns):
            if type(column) is not Raw:
                raise UnsupportedEstimator(
                    f"{name_of(step)} must see the input values themselves; scaling before it "
                    "is not supported."
                )
            has_fill = column.fill is not NO_FILL
            if type(step) is OrdinalEncoder:
                encoding, cell = ordinal_column(step, j, has_fill, column.fill)
                cells = [cell]
            else:
                encoding, cells = target_columns(step, j, has_fill, column.fill)
            self._remember(column.source, encoding)
            out.extend(
                Categorical(column.source, c.values, 1.0, 0.0, c.missing, c.unknown) for c in cells
            )
        return out

    def _remember(self, source: int, encoding: Encoding) -> None:
        known = self.encodings.get(source)
        if known is not None and (known.enum, known.accepts_unknown) != (
            encoding.enum,
            encoding.accepts_unknown,
        ):
            raise UnsupportedEstimator(
                "One input is encoded twice with different categories, which is not supported."
            )
        self.encodings[source] = encoding

    def _column_transformer(self, step: ColumnTransformer, columns: list[Column]) -> list[Column]:
        indices = getattr(step, "_transformer_to_input_indices", None)
        fitted = getattr(step, "transformers_", None)
        outputs = getattr(step, "output_indices_", None)
        if not (type(indices) is dict and type(fitted) is list and type(outputs) is dict):
            raise InvalidArtifact("The ColumnTransformer is not fitted.")
        weights = step.transformer_weights or {}
        out: list[Column] = []
        for entry in fitted:
            name, transformer = _transformer_entry(entry)
            selected = indices.get(name)
            if type(selected) is not list or not all(
                type(i) is int and 0 <= i < len(columns) for i in selected
            ):
                raise InvalidArtifact("The ColumnTransformer's column selection is damaged.")
            if not selected or (isinstance(transformer, str) and transformer == "drop"):
                continue
            produced = self.apply(transformer, [columns[i] for i in selected])
            weight = weights.get(name)
            if weight is not None:
                weight = as_number(python_value(weight), step)
                produced = [_affine(step, c, 0.0, 1.0, weight, 0.0) for c in produced]
            span = outputs.get(name)
            if type(span) is not slice or span.stop - span.start != len(produced):
                raise InvalidArtifact(f"The ColumnTransformer's {name!r} output has a wrong width.")
            out.extend(produced)
        return out


def _steps(pipeline: Pipeline) -> list[tuple[str, Any]]:
    steps = getattr(pipeline, "steps", None)
    if type(steps) is not list or not all(
        type(s) is tuple and len(s) == 2 and type(s[0]) is str for s in steps
    ):
        raise InvalidArtifact("The Pipeline's steps are damaged.")
    return steps


def _transformer_entry(entry: Any) -> tuple[str, Any]:
    if type(entry) is not tuple or len(entry) != 3 or type(entry[0]) is not str:
        raise InvalidArtifact("The ColumnTransformer's transformers are damaged.")
    return entry[0], entry[1]


def _check_width(step: Any, width: int) -> None:
    expected = getattr(step, "n_features_in_", None)
    if expected is None and type(step) is FunctionTransformer:
        return  # validate=False keeps no width in older releases; the function is elementwise
    if type(expected) is not int:
        raise InvalidArtifact(f"The {name_of(step)} is not fitted.")
    if expected != width:
        raise InvalidArtifact(
            f"{name_of(step)} was fitted on {expected} columns but receives {width}."
        )


def _impute(step: SimpleImputer, columns: list[Column]) -> list[Column]:
    missing = step.missing_values
    if not (type(missing) is float and math.isnan(missing)):
        raise UnsupportedEstimator("SimpleImputer is only supported with missing_values=np.nan.")
    statistics = getattr(step, "statistics_", None)
    if type(statistics) is not np.ndarray or statistics.shape != (len(columns),):
        raise InvalidArtifact("The SimpleImputer is not fitted.")
    out: list[Column] = []
    for column, raw in zip(columns, statistics, strict=True):
        value = python_value(raw)
        if value is None or (type(value) is float and not math.isfinite(value)):
            raise UnsupportedEstimator(
                "SimpleImputer saw a column with no values when it was fitted; this is not "
                "supported."
            )
        if type(column) is Raw and column.fill is NO_FILL:
            column = replace(column, fill=value)
        elif type(column) in (Value, Categorical) and column.missing is None:
            column = replace(column, missing=as_number(value, step))
        if type(column) is Categorical and column.unknown is None:
            # OrdinalEncoder's unknown_value=np.nan: the unseen category's NaN is filled too,
            # a value of the column (mul * L + add), so L is taken back through its affine part.
            if column.mul == 0.0:
                raise UnsupportedEstimator("SimpleImputer fills a column that a scaler zeroed.")
            column = replace(column, unknown=(as_number(value, step) - column.add) / column.mul)
        out.append(column)
    if step.add_indicator:
        out.extend(_indicators(step, getattr(step, "indicator_", None), columns))
    return out


def _indicators(step: Any, indicator: Any, columns: list[Column]) -> list[Column]:
    """A missing indicator's columns: 1 where the input is missing, 0 where it is present."""
    if type(indicator) is MissingIndicator:
        missing_values = indicator.missing_values
        if not (type(missing_values) is float and math.isnan(missing_values)):
            raise UnsupportedEstimator(
                "MissingIndicator is only supported with missing_values=np.nan."
            )
    features = getattr(indicator, "features_", None)
    if type(features) is not np.ndarray or features.dtype.kind not in "iu":
        raise InvalidArtifact(f"The {name_of(step)}'s missing indicator is not fitted.")
    out: list[Column] = []
    for index in features.tolist():
        if not 0 <= index < len(columns):
            raise InvalidArtifact(f"The {name_of(step)}'s missing indicator is damaged.")
        column = columns[index]
        if type(column) is Raw:
            # A value an earlier imputer filled in never reaches this one as missing.
            missing: float | None = 1.0 if column.fill is NO_FILL else 0.0
        elif type(column) is Value:
            missing = None if column.missing is None else 0.0
        else:
            raise UnsupportedEstimator(
                f"A missing indicator ({name_of(step)}) after OneHotEncoder is not supported."
            )
        out.append(Value(column.source, mul=0.0, add=0.0, missing=missing))
    return out


def _select(step: Any, columns: list[Column]) -> list[Column]:
    """Keep the columns a fitted feature selector keeps."""
    try:
        mask = step._get_support_mask()
    except (AttributeError, TypeError, ValueError, KeyError, IndexError) as exc:
        raise InvalidArtifact(f"The {name_of(step)} is not fitted.") from exc
    mask = np.asarray(mask)
    if mask.dtype != bool or mask.shape != (len(columns),):
        raise InvalidArtifact(f"The {name_of(step)}'s selection does not fit its input.")
    return [column for column, keep in zip(columns, mask.tolist(), strict=True) if keep]


def _affine(step: Any, column: Column, sub: float, div: float, times: float, plus: float) -> Column:
    """Follow ``((x - sub) / div) * times + plus`` through a column, in scikit-learn's order."""

    def through(x: float) -> float:
        return ((x - sub) / div) * times + plus

    if type(column) is Raw:
        fill = None if column.fill is NO_FILL else through(as_number(column.fill, step))
        return Value(column.source, times / div, plus, fill, center=sub)
    if type(column) in (Product, Normalized):
        return replace(column, mul=column.mul / div * times, add=through(column.add))
    missing = None if column.missing is None else through(column.missing)
    return replace(column, mul=column.mul / div * times, add=through(column.add), missing=missing)


def _standard(step: StandardScaler, width: int) -> tuple[np.ndarray, ...]:
    zeros, ones = np.zeros(width), np.ones(width)
    mean = vector(step, "mean_", width) if step.with_mean else zeros
    scale = divisor(step, "scale_", width) if step.with_std else ones
    return mean, scale, ones, zeros


def _min_max(step: MinMaxScaler, width: int) -> tuple[np.ndarray, ...]:
    zeros, ones = np.zeros(width), np.ones(width)
    return zeros, ones, vector(step, "scale_", width), vector(step, "min_", width)


def _max_abs(step: MaxAbsScaler, width: int) -> tuple[np.ndarray, ...]:
    zeros, ones = np.zeros(width), np.ones(width)
    return zeros, divisor(step, "scale_", width), ones, zeros


def _robust(step: RobustScaler, width: int) -> tuple[np.ndarray, ...]:
    zeros, ones = np.zeros(width), np.ones(width)
    center = vector(step, "center_", width) if step.with_centering else zeros
    scale = divisor(step, "scale_", width) if step.with_scaling else ones
    return center, scale, ones, zeros


_SELECTORS = (VarianceThreshold, SelectKBest, SelectPercentile, SelectFromModel)
_SCALERS = {
    StandardScaler: _standard,
    MinMaxScaler: _min_max,
    MaxAbsScaler: _max_abs,
    RobustScaler: _robust,
}


def _may_miss(column: Column) -> bool:
    """Tell whether a missing input still reaches this column as missing."""
    if type(column) is Raw:
        return column.fill is NO_FILL
    if type(column) in (Product, Normalized):
        return any(_may_miss(f) for f in column.factors)
    return column.missing is None or type(column) is Categorical
