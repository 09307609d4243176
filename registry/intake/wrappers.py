"""Estimators that wrap a supported model: TransformedTargetRegressor and fitted searches.

A TransformedTargetRegressor predicts the inverse target transform of its regressor's output;
the inverse becomes the plan's ``target`` steps. A fitted GridSearchCV or RandomizedSearchCV
predicts with its ``best_estimator_``; its summary becomes the version's metrics and tags
(registry.intake.searches).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.compose import TransformedTargetRegressor
from sklearn.model_selection import GridSearchCV, RandomizedSearchCV
from sklearn.preprocessing import (
    FunctionTransformer,
    MaxAbsScaler,
    MinMaxScaler,
    RobustScaler,
    StandardScaler,
)

from registry.errors import InvalidArtifact, UnsupportedEstimator
from registry.intake.allowlist import FUNCTIONS, function_sentence, printable
from registry.intake.searches import search_summary

SEARCHES = (GridSearchCV, RandomizedSearchCV)
WRAPPERS = (TransformedTargetRegressor, *SEARCHES)
_TARGET_SCALERS = (StandardScaler, MinMaxScaler, MaxAbsScaler, RobustScaler)


@dataclass(frozen=True)
class Unwrapped:
    """What one wrapper holds: the estimator inside, and what the wrapper adds around it."""

    inner: Any
    target: list[dict[str, Any]]  # inverse target steps, applied after the inner prediction
    search: dict[str, Any] | None  # a search's best score and parameters


def inner_estimator(wrapper: Any) -> Any:
    """Return the fitted estimator a wrapper predicts with. Raises UnsupportedEstimator."""
    name = type(wrapper).__name__
    attribute = "regressor_" if type(wrapper) is TransformedTargetRegressor else "best_estimator_"
    inner = vars(wrapper).get(attribute)
    if inner is None:
        if type(wrapper) in SEARCHES and vars(wrapper).get("refit") is False:
            raise UnsupportedEstimator(
                f"The {name} was fitted with refit=False and holds no fitted model to serve."
            )
        raise InvalidArtifact(f"The {name} is not fitted.")
    return inner


def unwrap(wrapper: Any) -> Unwrapped:
    """Return what a wrapper of WRAPPERS holds. Raises UnsupportedEstimator, InvalidArtifact."""
    inner = inner_estimator(wrapper)
    if type(wrapper) is TransformedTargetRegressor:
        return Unwrapped(inner, inverse_target(wrapper), None)
    return Unwrapped(inner, [], search_summary(wrapper))


def inverse_target(model: TransformedTargetRegressor) -> list[dict[str, Any]]:
    """Return the plan steps of a fitted TransformedTargetRegressor's inverse transform."""
    transformer = vars(model).get("transformer_")
    if type(transformer) is FunctionTransformer:
        function = vars(transformer).get("inverse_func")
        if vars(transformer).get("inv_kw_args"):
            raise UnsupportedEstimator(
                "TransformedTargetRegressor with inv_kw_args is not supported; "
                f"{function_sentence()}."
            )
        if function is None:
            return []
        if type(function) is np.ufunc and function.__name__ in FUNCTIONS:
            return [{"function": function.__name__}]
        shown = _function_name(function)
        raise UnsupportedEstimator(
            f"TransformedTargetRegressor with inverse_func {shown} is not supported; "
            f"{function_sentence()}."
        )
    if type(transformer) in _TARGET_SCALERS:
        return [_inverse_scaling(transformer)]
    name = type(transformer).__name__ if transformer is not None else "no fitted transformer"
    raise UnsupportedEstimator(
        f"TransformedTargetRegressor with {printable(name)} on the target is not supported; "
        "the target may be transformed by StandardScaler, MinMaxScaler, MaxAbsScaler, "
        f"RobustScaler or a function pair ({function_sentence()})."
    )


def _function_name(function: Any) -> str:
    """Name a function as the file does: numpy.exp2, or module.name."""
    if type(function) is np.ufunc:
        return f"numpy.{printable(function.__name__)}"
    module = getattr(function, "__module__", None)
    name = getattr(function, "__qualname__", None) or type(function).__name__
    return printable(f"{module}.{name}" if isinstance(module, str) else str(name))


def _number(scaler: Any, attribute: str, *, used: bool = True, scale: bool = False) -> float:
    """Return a fitted scaler's one number, or its neutral value when the scaler skips it."""
    if not used:
        return 1.0 if scale else 0.0
    value = vars(scaler).get(attribute)
    if type(value) is not np.ndarray or value.shape != (1,) or value.dtype.kind != "f":
        raise InvalidArtifact(f"The target's {type(scaler).__name__} is damaged.")
    number = float(value[0])
    if not math.isfinite(number) or (scale and number == 0.0):
        raise InvalidArtifact(f"The target's {type(scaler).__name__} is damaged.")
    return number


def _inverse_scaling(scaler: Any) -> dict[str, Any]:
    """The scaler's inverse_transform as (y - center) * mul + add, in scikit-learn's order."""
    state = vars(scaler)
    if type(scaler) is StandardScaler:
        mul = _number(scaler, "scale_", used=state.get("with_std", True), scale=True)
        add = _number(scaler, "mean_", used=state.get("with_mean", True))
        return {"function": "affine", "mul": mul, "add": add}
    if type(scaler) is MinMaxScaler:
        # inverse_transform: (y - min_) / scale_
        center, scale = _number(scaler, "min_"), _number(scaler, "scale_", scale=True)
        return {"function": "affine", "center": center, "mul": 1.0 / scale, "add": 0.0}
    if type(scaler) is MaxAbsScaler:
        return {"function": "affine", "mul": _number(scaler, "scale_", scale=True), "add": 0.0}
    mul = _number(scaler, "scale_", used=state.get("with_scaling", True), scale=True)
    add = _number(scaler, "center_", used=state.get("with_centering", True))
    return {"function": "affine", "mul": mul, "add": add}
