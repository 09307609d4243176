"""Let the installed scikit-learn run a model saved by an older release, as that release would.

Used only to check a plan against scikit-learn's own outputs; the plan itself is read from the
saved state. Releases add settings with defaults that keep the old behaviour, and private fitted
attributes that their own fit would have set: both are filled in here when the file lacks them.
"""

from __future__ import annotations

import inspect
from collections import UserList
from collections.abc import Iterator
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.compose import ColumnTransformer
from sklearn.feature_selection import SelectFromModel
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression, LogisticRegressionCV
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import (
    FunctionTransformer,
    OneHotEncoder,
    OrdinalEncoder,
    SplineTransformer,
)
from sklearn.utils.extmath import softmax

from registry.intake.encoders import unknown_to_infrequent
from registry.intake.extract import GLMS, one_vs_rest, saved_release
from registry.intake.inert import Inert
from registry.intake.selection import with_saved_threshold
from registry.intake.standins import RemainderColumns
from registry.intake.wrappers import WRAPPERS


def _parts(estimator: Any) -> Iterator[Any]:
    """Yield an estimator and every estimator nested in it."""
    stack = [estimator]
    while stack:
        current = stack.pop()
        if not isinstance(current, BaseEstimator):
            continue
        yield current
        if type(current) is Pipeline:
            stack.extend(step for _, step in current.steps)
        elif type(current) is ColumnTransformer:
            stack.extend(entry[1] for entry in getattr(current, "transformers_", ()))
        elif type(current) in WRAPPERS:
            stack.extend(
                vars(current).get(a) for a in ("regressor_", "transformer_", "best_estimator_")
            )


def _fitted_defaults(estimator: Any) -> dict[str, Any]:
    """Private fitted attributes later releases read, as an older release's fit implied them."""
    if type(estimator) is SimpleImputer and hasattr(estimator, "statistics_"):
        return {"_fill_dtype": estimator.statistics_.dtype}
    if type(estimator) is OrdinalEncoder and hasattr(estimator, "categories_"):
        # Releases up to 1.2 group no rare categories in an OrdinalEncoder.
        return {"_infrequent_enabled": False}
    return {}


def _identity(width: int) -> FunctionTransformer:
    return FunctionTransformer(
        accept_sparse=True, check_inverse=False, feature_names_out="one-to-one"
    ).fit(np.zeros((1, width)))


def _plain_transformers(step: ColumnTransformer) -> None:
    """Spell fitted transformers as the installed release does.

    Releases up to 1.3 keep 'passthrough' itself among the fitted transformers; 1.5 and 1.6
    keep the remainder's columns in their own list class (a stand-in here).
    """
    indices = getattr(step, "_transformer_to_input_indices", {})
    fitted = []
    for name, transformer, columns in step.transformers_:
        if isinstance(columns, RemainderColumns):
            columns = list(columns)
        if isinstance(transformer, str) and transformer == "passthrough":
            transformer = _identity(len(indices.get(name, ())))
        fitted.append((name, transformer, columns))
    step.transformers_ = fitted
    remainder = vars(step).get("_remainder")
    if type(remainder) is tuple and len(remainder) == 3 and isinstance(remainder[2], UserList):
        step._remainder = (*remainder[:2], list(remainder[2]))


def _old_splines(splines: list[Any]) -> None:
    """Give BSplines saved by scipy up to 1.14 the array converter later ones call."""
    from scipy.interpolate import BSpline

    for spline in splines:
        if type(spline) is BSpline and "_asarray" not in vars(spline):
            vars(spline)["_asarray"] = np.asarray


def restore_defaults(estimator: Any) -> None:
    """Give every nested estimator the settings and attributes the installed release reads."""
    release = saved_release(estimator)
    for part in _parts(estimator):
        if type(part) is SelectFromModel:
            vars(part)["threshold"] = with_saved_threshold(part, release).threshold
        if type(part) is OneHotEncoder and not unknown_to_infrequent(part, release):
            if vars(part).get("handle_unknown") == "warn":
                # 1.6 and 1.7 scored an unseen category as 'ignore' does, infrequent or not.
                vars(part)["handle_unknown"] = "ignore"
        if type(part) is ColumnTransformer and hasattr(part, "transformers_"):
            _plain_transformers(part)
        state = vars(part)
        signature = inspect.signature(type(part).__init__)
        for name, parameter in signature.parameters.items():
            if name == "self" or name in state:
                continue
            if parameter.default is not inspect.Parameter.empty:
                state[name] = parameter.default
        for name, value in _fitted_defaults(part).items():
            state.setdefault(name, value)
        if type(part) is SplineTransformer and type(state.get("bsplines_")) is list:
            _old_splines(state["bsplines_"])
        if type(part) in GLMS and type(state.get("_base_loss")) is Inert:
            # The saved loss was read as a placeholder; scikit-learn's predict needs its link.
            state["_base_loss"] = part._get_loss()


def _head(estimator: Any) -> Any:
    return estimator.steps[-1][1] if type(estimator) is Pipeline else estimator


def predict_proba(estimator: Any, X: Any) -> np.ndarray:
    """Return class probabilities as the release that saved the estimator computed them.

    A LogisticRegression saved with ``multi_class`` (releases up to 1.7) is scored with that
    release's rule over the installed decision function; the installed release has no such
    setting and would use its own.
    """
    model = _head(estimator)
    state = vars(model)
    if type(model) not in (LogisticRegression, LogisticRegressionCV) or "multi_class" not in state:
        return estimator.predict_proba(X)
    decision = np.asarray(estimator.decision_function(X), dtype=np.float64)
    if one_vs_rest(model, len(model.classes_)):
        positive = 1.0 / (1.0 + np.exp(-decision))
        if positive.ndim == 1:
            return np.column_stack([1.0 - positive, positive])
        return positive / positive.sum(axis=1, keepdims=True)
    if decision.ndim == 1:
        decision = np.column_stack([-decision, decision])
    return softmax(decision, copy=False)
