"""A plan scores one row (plain Python) exactly as it scores the same row in a batch (numpy)."""

from __future__ import annotations

import pytest

from registry.api.features import RowValidator
from registry.plans import Plan
from tests.factories import churn_plan, house_plan, iris_plan

ROWS = {
    "house": [
        {"area": 1500, "bedrooms": 3, "bathrooms": 2, "age": 10},
        {"area": 2000.5, "bedrooms": 4, "bathrooms": 3, "age": 0},
    ],
    "churn": [
        {"tenure": None, "seats": 2, "plan": "pro"},
        {"tenure": 12.5, "seats": 1, "plan": "basic"},
    ],
    "iris": [{"petal_length": 1.4, "petal_width": 0.2}, {"petal_length": 5.0, "petal_width": 2.0}],
}
PLANS = {"house": house_plan, "churn": churn_plan, "iris": iris_plan}


@pytest.mark.parametrize("name", sorted(PLANS))
def test_single_rows_match_the_batch(name):
    plan = Plan(PLANS[name]())
    validator = RowValidator(plan)
    batch = plan.predict(validator.from_rows(ROWS[name]), explain=True)
    for index, row in enumerate(ROWS[name]):
        one = plan.predict(validator.from_rows([row]))
        if plan.kind == "linear":
            assert one.predictions[0] == pytest.approx(batch.predictions[index], rel=1e-12)
        else:
            assert one.predictions[0] == batch.predictions[index]
            assert one.probabilities[0] == pytest.approx(batch.probabilities[index], rel=1e-12)
