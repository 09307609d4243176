"""What turns a linear plan's score into its prediction: the GLM link and target transforms.

A linear plan's ``link`` is "identity" or "log" (the prediction is exp of the score, as a GLM
with a log link). Its optional ``target`` lists the inverse transforms of a
TransformedTargetRegressor, applied in order after the link: ``{"function": NAME}`` for a numpy
ufunc of ``TARGET_FUNCTIONS``, or ``{"function": "affine", "center"?, "mul", "add"}`` for
``(y - center) * mul + add`` (the inverse of a fitted scaler).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from registry.plans.spec import _finite_number, _require

LINEAR_LINKS = ("identity", "log")
# The ufuncs a target transform may apply, by numpy's own name.
TARGET_FUNCTIONS = {
    "exp": np.exp,
    "expm1": np.expm1,
    "square": np.square,
    "log": np.log,
    "log1p": np.log1p,
    "sqrt": np.sqrt,
    "absolute": np.absolute,
}
_AFFINE_KEYS = {"function", "center", "mul", "add"}


def parse_target(raw: Any) -> tuple[tuple[str, float, float, float], ...]:
    """Return the target steps as (function, center, mul, add). Raises PlanError."""
    _require(isinstance(raw, list), "target must be a list of transforms.")
    steps = []
    for i, step in enumerate(raw):
        _require(isinstance(step, dict), f"target[{i}] must be an object.")
        function = step.get("function")
        names = (*TARGET_FUNCTIONS, "affine")
        _require(function in names, f"target[{i}].function must be one of {', '.join(names)}.")
        if function != "affine":
            _require(set(step) == {"function"}, f"target[{i}] has unknown keys.")
            steps.append((function, 0.0, 1.0, 0.0))
            continue
        _require(set(step) <= _AFFINE_KEYS, f"target[{i}] has unknown keys.")
        center = _finite_number(step.get("center", 0.0), f"target[{i}].center")
        mul = _finite_number(step.get("mul"), f"target[{i}].mul")
        add = _finite_number(step.get("add"), f"target[{i}].add")
        steps.append((function, center, mul, add))
    return tuple(steps)


def predictions(
    link: str, target: tuple[tuple[str, float, float, float], ...], scores: np.ndarray
) -> np.ndarray:
    """Return a linear plan's predictions from its (rows,) scores."""
    out = np.exp(scores) if link == "log" else scores
    for function, center, mul, add in target:
        if function == "affine":
            # In scikit-learn's order: StandardScaler's inverse is y * scale + mean.
            out = (out - center) * mul + add
        else:
            out = TARGET_FUNCTIONS[function](out)
    return out


def contributions_space(link: str, target: tuple[Any, ...]) -> str | None:
    """Name the space where explain's parts add up, when it is not the prediction's own."""
    if link == "log":
        return "linear_predictor"
    if target:
        return "transformed_target"
    return None
