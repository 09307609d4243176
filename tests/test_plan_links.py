"""Plans whose prediction is a function of the linear score: GLM links and target transforms."""

from __future__ import annotations

import math

import numpy as np
import pytest

from registry.plans import INTERCEPT, NonFiniteScore, Plan, PlanError


def _plan(**changes) -> dict:
    raw = {
        "format": 1,
        "kind": "linear",
        "link": "identity",
        "features": [{"name": "x", "type": "number", "nullable": False}],
        "columns": [{"feature": "x", "mul": 2.0, "add": 0.0, "missing": None}],
        "coef": [[0.5]],
        "intercept": [0.25],
        "classes": None,
    }
    raw.update(changes)
    return raw


def test_log_link_predicts_the_exponential_and_explains_the_linear_predictor():
    plan = Plan(_plan(link="log"))
    rows = {"x": [1.0, -2.0]}
    output = plan.predict(rows, explain=True)
    assert output.predictions == pytest.approx([math.exp(1.25), math.exp(-1.75)], rel=1e-15)
    sums = [c["x"] + c[INTERCEPT] for c in output.contributions]
    assert sums == pytest.approx([1.25, -1.75], rel=1e-15)
    assert plan.contributions_space == "linear_predictor"
    assert Plan(_plan()).contributions_space is None


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ([{"function": "expm1"}], np.expm1(1.25)),
        ([{"function": "exp"}], math.exp(1.25)),
        ([{"function": "square"}], 1.25**2),
        ([{"function": "affine", "center": 1.0, "mul": 4.0, "add": 10.0}], 11.0),
        (
            [{"function": "expm1"}, {"function": "affine", "mul": 2.0, "add": 0.0}],
            2 * np.expm1(1.25),
        ),
    ],
)
def test_target_transforms_apply_in_order_after_the_link(target, expected):
    plan = Plan(_plan(target=target))
    output = plan.predict({"x": [1.0]}, explain=True)
    assert output.predictions[0] == pytest.approx(expected, rel=1e-15)
    assert sum(output.contributions[0].values()) == pytest.approx(1.25, rel=1e-15)
    assert plan.contributions_space == "transformed_target"
    assert plan.predict({"x": [1.0, 1.0]}).predictions == pytest.approx([expected] * 2)


def test_a_log_link_inside_a_target_transform_explains_the_linear_predictor():
    plan = Plan(_plan(link="log", target=[{"function": "square"}]))
    assert plan.predict({"x": [1.0]}).predictions[0] == pytest.approx(math.exp(1.25) ** 2)
    assert plan.contributions_space == "linear_predictor"


def test_an_overflowing_link_names_the_row():
    plan = Plan(_plan(link="log"))
    with pytest.raises(NonFiniteScore) as caught:
        plan.predict({"x": [1.0, 1e4]})
    assert caught.value.rows == [1]


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"link": "logistic"}, "does not fit the kind"),
        ({"target": {"function": "exp"}}, "target must be a list"),
        ({"target": [{"function": "system"}]}, "target[0].function must be one of"),
        ({"target": [{"function": "affine", "mul": "2"}]}, "target[0].mul must be a number"),
        ({"target": [{"function": "exp", "mul": 2.0}]}, "target[0] has unknown keys"),
    ],
)
def test_invalid_links_and_targets_are_refused(changes, message):
    with pytest.raises(PlanError, match=message.replace("[", r"\[").replace("]", r"\]")):
        Plan(_plan(**changes))


def test_a_logistic_plan_has_no_target():
    raw = _plan(kind="logistic", link="logistic", classes=[0, 1], target=[{"function": "exp"}])
    with pytest.raises(PlanError, match="Only a linear plan"):
        Plan(raw)
