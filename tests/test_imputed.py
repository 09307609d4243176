"""Answers name the features that were filled in because a row left them out or sent null."""

from __future__ import annotations

import pytest

from tests.factories import add_plan_version, house_plan

FULL = {"area": 1500, "bedrooms": 3, "bathrooms": 2, "age": 10}


def _nullable_house() -> dict:
    """The house plan with bedrooms and age nullable (filled in with their means)."""
    plan = house_plan()
    for feature in plan["features"]:
        if feature["name"] in ("bedrooms", "age"):
            feature["nullable"] = True
    for column in plan["columns"]:
        if column["feature"] in ("bedrooms", "age"):
            column["missing"] = 0.0
    return plan


@pytest.fixture
def house(app):
    add_plan_version(app, "house-prices", _nullable_house(), activate=True)
    return "/api/v1/models/house-prices/predict"


@pytest.mark.parametrize("route", ["", "?explain=false"], ids=["fast-lane", "flask-view"])
def test_a_single_row_names_what_was_filled_in(client, house, route):
    row = {"area": 1500, "bedrooms": None, "bathrooms": 2}
    body = client.post(house + route, json=row).get_json()
    assert body["imputed"] == ["bedrooms", "age"]  # in the features' order
    full = client.post(house + route, json=FULL).get_json()
    assert "imputed" not in full


@pytest.mark.parametrize("route", ["", "?explain=false"], ids=["fast-lane", "flask-view"])
def test_a_batch_names_them_row_by_row(client, house, route):
    rows = [FULL, {**FULL, "bedrooms": None}, {"area": 900, "bedrooms": 2, "bathrooms": 1}]
    body = client.post(house + route, json={"instances": rows}).get_json()
    assert body["imputed"] == [[], ["bedrooms"], ["age"]]
    table = {
        "columns": ["area", "bedrooms", "bathrooms", "age"],
        "data": [[1500, 3, 2, 10], [1500, None, 2, None]],
    }
    body = client.post(house + route, json=table).get_json()
    assert body["imputed"] == [[], ["bedrooms", "age"]]


def test_a_batch_that_needed_nothing_has_no_imputed_key(client, house):
    body = client.post(house, json={"instances": [FULL, FULL]}).get_json()
    assert "imputed" not in body and len(body["predictions"]) == 2


@pytest.mark.parametrize(
    "body",
    [
        {"area": 1500, "bathrooms": 2},
        {"instances": [FULL, {"area": 1500, "bedrooms": None, "bathrooms": 2, "age": None}]},
        {"columns": ["area", "bathrooms"], "data": [[1500, 2], [800, 1]]},
    ],
)
def test_fast_lane_and_flask_view_name_the_same(client, house, body):
    fast = client.post(house, json=body)
    full = client.post(house + "?explain=false", json=body)
    assert fast.status_code == full.status_code == 200
    assert fast.get_json() == full.get_json() and "imputed" in fast.get_json()


def test_compare_answers_name_them_per_side(client, house, app):
    add_plan_version(app, "house-prices", house_plan(), activate=False)
    # Version 2 requires every feature, so only version 1 may be asked with a gap.
    add_plan_version(app, "house-prices", _nullable_house(), activate=False)
    body = client.post(
        "/api/v1/models/house-prices/compare?a=1&b=3", json={"area": 1500, "bathrooms": 2}
    ).get_json()
    assert body["a"]["imputed"] == body["b"]["imputed"] == ["bedrooms", "age"]
