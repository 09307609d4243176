"""A plan scores one row (plain Python) exactly as it scores the same row in a batch (numpy)."""

from __future__ import annotations

import math

import pytest

from registry.api.features import RowValidator
from registry.errors import ValidationFailed
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


def area_plan() -> dict:
    """The house plan cut to its one feature: each row's columns hold a single value."""
    plan = house_plan()
    plan.update(features=plan["features"][:1], columns=plan["columns"][:1], coef=[[120_000.0]])
    return plan


ROWS["area"] = [{"area": 1500}, {"area": 2000.5}, {"area": 800.0}]
PLANS = {"house": house_plan, "churn": churn_plan, "iris": iris_plan, "area": area_plan}


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


def _listed(columns) -> dict:
    return {
        name: [None if isinstance(v, float) and math.isnan(v) else v for v in list(values)]
        for name, values in columns.items()
    }


@pytest.mark.parametrize("name", sorted(PLANS))
def test_the_column_path_reads_rows_as_marshmallow_does(name):
    # from_rows reads columns straight from the rows; _slow loads each row with the schema.
    validator = RowValidator(Plan(PLANS[name]()))
    rows = ROWS[name]
    fast, slow = validator.from_rows(rows), validator._slow(rows)
    assert _listed(fast) == _listed(slow)
    assert fast.gaps == slow.gaps


@pytest.mark.parametrize(
    "bad",
    [
        {"area": 1500, "bedrooms": 3, "bathrooms": 2},  # one missing
        {"area": 1500, "bedrooms": 3, "bathrooms": 2, "age": 1, "pool": True},  # one extra
        {"area": 1500, "bedrooms": 3, "bathrooms": 2, "Age": 1},  # a name in another case
        {"area": "1500", "bedrooms": 3, "bathrooms": 2, "age": 1},  # a string for a number
        [1500, 3, 2, 1],  # not an object
    ],
)
def test_a_bad_row_among_good_ones_is_named(bad):
    validator = RowValidator(Plan(house_plan()))
    rows = [*ROWS["house"], bad]
    with pytest.raises(ValidationFailed) as refused:
        validator.from_rows(rows)
    assert list(refused.value.errors) == ["2"]
