"""The plan format: validation, one-hot and value columns, links, missing values and explain."""

from __future__ import annotations

import copy
import json
import math

import numpy as np
import pytest

from registry.plans import INTERCEPT, Feature, Plan, PlanError


def _plan(**changes) -> dict:
    raw = {
        "format": 1,
        "kind": "linear",
        "link": "identity",
        "features": [
            {"name": "x", "type": "number", "nullable": True},
            {"name": "color", "type": "string", "enum": ["red", "blue"], "nullable": False},
        ],
        "columns": [
            {"feature": "x", "mul": 2.0, "add": -1.0, "missing": 0.5},
            {"feature": "color", "mul": 1.0, "add": 0.0, "missing": None, "category": "red"},
            {"feature": "color", "mul": 3.0, "add": 1.0, "missing": None, "category": "blue"},
        ],
        "coef": [[1.5, 10.0, -2.0]],
        "intercept": [0.25],
        "classes": None,
    }
    raw.update(changes)
    return raw


def _by_hand(x: float | None, color: str) -> float:
    z0 = 0.5 if x is None else 2.0 * x - 1.0
    z1 = 1.0 * (color == "red")
    z2 = 3.0 * (color == "blue") + 1.0
    return 1.5 * z0 + 10.0 * z1 - 2.0 * z2 + 0.25


def test_linear_plan_predicts_value_and_one_hot_columns():
    plan = Plan(_plan())
    rows = {"x": [1.0, -2.5, None, 4], "color": ["red", "blue", "red", "green"]}
    expected = [_by_hand(1.0, "red"), _by_hand(-2.5, "blue"), _by_hand(None, "red")]
    unknown = 1.5 * (2.0 * 4 - 1.0) - 2.0 * 1.0 + 0.25  # an unknown category keeps only `add`
    assert plan.predict(rows).predictions == pytest.approx(expected + [unknown], rel=1e-15)
    assert plan.features[1] == Feature("color", "string", ("red", "blue"), False)
    assert plan.classes is None


def test_plan_json_survives_a_round_trip():
    raw = _plan()
    assert Plan(json.loads(json.dumps(Plan(raw).to_json()))).to_json() == raw


def test_explain_parts_and_intercept_sum_to_the_prediction():
    plan = Plan(_plan())
    result = plan.predict({"x": [0.5, None], "color": ["blue", "red"]}, explain=True)
    for parts, prediction in zip(result.contributions, result.predictions, strict=True):
        assert set(parts) == {"x", "color", INTERCEPT}
        assert all(type(v) is float for v in parts.values())
        assert sum(parts.values()) == pytest.approx(prediction, rel=1e-15)


def _categorical(type_: str, enum: list, category) -> dict:
    return _plan(
        features=[{"name": "v", "type": type_, "enum": enum, "nullable": True}],
        columns=[{"feature": "v", "mul": 1.0, "add": 0.0, "missing": 5.0, "category": category}],
        coef=[[1.0]],
        intercept=[0.0],
    )


def test_one_hot_matching_respects_types():
    booleans = Plan(_categorical("boolean", [True, False], True))
    assert booleans.predict({"v": [True, 1, False, None]}).predictions == [1.0, 0.0, 0.0, 5.0]
    numbers = Plan(_categorical("number", [1.5, 2], 2))
    assert numbers.predict({"v": [2.0, 2, 1.5]}).predictions == [1.0, 1.0, 0.0]


def test_missing_value_category_is_never_a_present_value():
    plan = Plan(_categorical("string", ["a"], None))
    assert plan.predict({"v": ["a", None]}).predictions == [0.0, 5.0]


def _logistic(link: str, classes: list, coef: list, intercept: list) -> dict:
    return _plan(
        kind="logistic",
        link=link,
        features=[{"name": "x", "type": "number", "nullable": False}],
        columns=[{"feature": "x", "mul": 1.0, "add": 0.0, "missing": None}],
        coef=coef,
        intercept=intercept,
        classes=classes,
    )


def test_logistic_link_picks_the_second_class_on_positive_scores():
    plan = Plan(_logistic("logistic", ["no", "yes"], [[2.0]], [-1.0]))
    result = plan.predict({"x": [0.0, 1.0, 800.0, -800.0]})
    assert result.predictions == ["no", "yes", "yes", "no"]
    expected = 1 / (1 + math.exp(-1.0))
    assert result.probabilities[1] == pytest.approx([1 - expected, expected], rel=1e-15)
    assert np.all(np.isfinite(result.probabilities))


@pytest.mark.parametrize("link", ["softmax", "ovr"])
def test_multiclass_links_give_distributions(link):
    coef, intercept = [[1.0], [0.0], [-1.0]], [0.0, 0.5, 0.0]
    plan = Plan(_logistic(link, [1, 2, 3], coef, intercept))
    result = plan.predict({"x": [-3.0, 0.0, 3.0]})
    scores = np.array([[-3.0, 0.5, 3.0], [0.0, 0.5, 0.0], [3.0, 0.5, -3.0]])
    if link == "softmax":
        expected = np.exp(scores) / np.exp(scores).sum(axis=1, keepdims=True)
    else:
        odds = 1 / (1 + np.exp(-scores))
        expected = odds / odds.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(result.probabilities, expected, rtol=1e-14)
    assert result.predictions == [3, 2, 1]
    explained = plan.predict({"x": [2.0]}, explain=True).contributions[0]
    assert explained["1"] == {"x": 2.0, INTERCEPT: 0.0}


def _nullable_color(raw: dict) -> None:
    # Its columns have no value for a missing color. (A feature whose columns all have one may
    # still be declared not nullable: the fitted model, or the uploader, refuses it.)
    raw["features"][1]["nullable"] = True


def _edit(path: str, value):
    def apply(raw: dict) -> None:
        *keys, last = path.split(".")
        target = raw
        for key in keys:
            target = target[int(key)] if key.isdigit() else target[key]
        target[int(last) if last.isdigit() else last] = value

    return apply


INVALID = {
    "format": (_edit("format", 2), "format"),
    "kind": (_edit("kind", "tree"), "kind"),
    "link": (_edit("link", "softmax"), "link"),
    "no features": (_edit("features", []), "needs features"),
    "duplicate names": (_edit("features.1.name", "x"), "unique"),
    "feature type": (_edit("features.0.type", "float"), "type must be one of"),
    "enum type": (_edit("features.1.enum", ["red", 3]), "enum values"),
    "nullability": (_nullable_color, "nullable but a column has no missing value"),
    "nan coef": (_edit("coef", [[math.nan, 1.0, 1.0]]), "finite"),
    "ragged coef": (_edit("coef", [[1.0, 1.0, 1.0], [1.0]]), "equal lengths"),
    "bool coef": (_edit("coef", [[True, 1.0, 1.0]]), "must be a number"),
    "intercept": (_edit("intercept", [0.0, 1.0]), "intercept"),
    "linear classes": (_edit("classes", ["a", "b"]), "no classes"),
    "column count": (_edit("coef", [[1.0, 1.0]]), "one value per column"),
    "unknown feature": (_edit("columns.0.feature", "y"), "must name a feature"),
    "category type": (_edit("columns.1.category", 1), "category must be of type string"),
    "string as value": (_edit("columns.1", {"feature": "color", "mul": 1.0, "add": 0.0}), "string"),
    "unused feature": (
        _edit("columns", [{"feature": "x", "mul": 1.0, "add": 0.0, "missing": 1.0}]),
        "one value per column",
    ),
}


@pytest.mark.parametrize("case", sorted(INVALID))
def test_invalid_plans_are_refused_with_a_sentence(case):
    raw = copy.deepcopy(_plan())
    edit, message = INVALID[case]
    edit(raw)
    with pytest.raises(PlanError, match=message) as caught:
        Plan(raw)
    assert str(caught.value).endswith(".")


@pytest.mark.parametrize(
    ("link", "classes", "coef", "message"),
    [
        ("logistic", ["a", "b", "c"], [[1.0]], "binary"),
        ("logistic", ["a", "b"], [[1.0], [1.0]], "coef must have 1 rows"),
        ("softmax", ["a", "a", "b"], [[1.0]] * 3, "unique"),
        ("softmax", ["a"], [[1.0]], "2 or more"),
        ("softmax", ["a", None], [[1.0]] * 2, "strings, numbers or booleans"),
    ],
)
def test_invalid_logistic_heads_are_refused(link, classes, coef, message):
    with pytest.raises(PlanError, match=message):
        Plan(_logistic(link, classes, coef, [0.0] * len(coef)))


def test_true_and_one_are_distinct_classes():
    plan = Plan(_logistic("logistic", [1, True], [[1.0]], [0.0]))
    assert plan.classes == [1, True]


def test_every_feature_must_feed_a_column_and_one_hot_needs_an_enum():
    unused = _plan(
        features=_plan()["features"] + [{"name": "z", "type": "number", "nullable": False}]
    )
    with pytest.raises(PlanError, match="Every feature must feed a column"):
        Plan(unused)
    no_enum = _plan()
    del no_enum["features"][1]["enum"]
    with pytest.raises(PlanError, match="needs an enum"):
        Plan(no_enum)
    mixed = _plan()
    mixed["columns"][0] = {"feature": "x", "mul": 1.0, "add": 0.0, "missing": 1.0, "category": 1}
    mixed["columns"].append({"feature": "x", "mul": 1.0, "add": 0.0, "missing": 1.0})
    mixed["coef"] = [[1.0, 1.0, 1.0, 1.0]]
    mixed["features"][0]["enum"] = [1]
    with pytest.raises(PlanError, match="either one-hot or a value"):
        Plan(mixed)
