"""The commands that store text refuse what the API refuses: a usage error naming the option.

Before, the CLI stored a NUL in tags and metric names, over-long tags and descriptions and
non-finite metrics (values the API answers 422 for), and on PostgreSQL a NUL description, a
non-finite metric or a long token name was a DataError traceback.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from marshmallow import ValidationError
from sklearn.linear_model import LinearRegression

from registry.api import schemas
from registry.text_rules import (
    DESCRIPTION_MAX,
    FEATURE_NAME_MAX,
    TAG_KEY_MAX,
    TAG_VALUE_MAX,
    text_problem,
)
from tests.factories import dump, house_model

NUL = "a\x00b"
# What Python makes of a byte that is not UTF-8 in argv (surrogateescape).
NOT_UTF8 = "a\udcffb"
NAME_RULE = "characters long; the most is"


@pytest.fixture
def model_file(tmp_path: Path) -> Path:
    path = tmp_path / "model.joblib"
    path.write_bytes(dump(house_model()))
    return path


TEXT_CASES = [
    ("--description", NUL, "holds the NUL character (U+0000)"),
    ("--description", "d" * 10_001, "10001 characters long; the most is 10000"),
    ("--description", NOT_UTF8, "is not UTF-8 text"),
    ("--tag", f"{NUL}=v", "holds the NUL character (U+0000)"),
    ("--tag", f"k={NUL}", "holds the NUL character (U+0000)"),
    ("--tag", f"{'k' * 129}=v", "129 characters long; the most is 128"),
    ("--tag", f"k={'v' * 1001}", "1001 characters long; the most is 1000"),
    ("--tag", f"k={NOT_UTF8}", "is not UTF-8 text"),
]
METRIC_CASES = [
    json.dumps({NUL: 1}),
    json.dumps({"m" * 129: 1}),
    json.dumps({"": 1}),
    json.dumps({NOT_UTF8: 1}),
    '{"r2": NaN}',
    '{"r2": Infinity}',
    '{"r2": -Infinity}',
    '{"r2": 1e999}',
    '{"r2": 1' + "0" * 400 + "}",
]


def _refused(result, option: str, fragment: str) -> None:
    assert f"Invalid value for '{option}'" in result.output, result.output
    assert fragment in result.output, result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize("option, value, fragment", TEXT_CASES)
def test_models_create_refuses_what_the_api_refuses(run, option, value, fragment):
    _refused(run("models", "create", "m", option, value, code=2), option, fragment)
    assert json.loads(run("models", "list", "--json").stdout) == []


@pytest.mark.parametrize("option, value, fragment", TEXT_CASES)
def test_versions_push_refuses_text_the_api_refuses(run, model_file, option, value, fragment):
    run("models", "create", "h")
    _refused(run("versions", "push", "h", model_file, option, value, code=2), option, fragment)
    assert json.loads(run("versions", "list", "h", "--json").stdout) == []


@pytest.mark.parametrize("metrics", METRIC_CASES)
def test_versions_push_refuses_metrics_the_api_refuses(run, model_file, metrics):
    run("models", "create", "h")
    result = run("versions", "push", "h", model_file, "--metrics", metrics, code=2)
    assert "Invalid value for '--metrics'" in result.output, result.output
    assert "The metric" in result.output and "Traceback" not in result.output
    assert json.loads(run("versions", "list", "h", "--json").stdout) == []


def test_train_refuses_a_description_the_api_refuses(run, tmp_path):
    csv = tmp_path / "xy.csv"
    csv.write_text("x,y\n" + "".join(f"{i},{2 * i}\n" for i in range(30)))
    result = run("train", csv, "--target", "y", "--model", "m", "--description", NUL, code=2)
    _refused(result, "--description", "holds the NUL character (U+0000)")
    assert json.loads(run("models", "list", "--json").stdout) == []


@pytest.mark.parametrize(
    "value, fragment",
    [(NUL, "holds the NUL character (U+0000)"), ("n" * 129, "129 characters long")],
)
def test_create_token_refuses_a_name_the_database_cannot_hold(run, value, fragment):
    _refused(run("create-token", "--role", "reader", "--name", value, code=2), "--name", fragment)
    assert json.loads(run("tokens", "list", "--json").stdout) == []


def test_text_at_the_limits_is_stored(run, model_file):
    tag = f"{'k' * 128}={'v' * 1000}"
    run("models", "create", "m", "--description", "d" * 10_000, "--tag", tag)
    model = json.loads(run("models", "show", "m", "--json").stdout)["model"]
    assert model["tags"] == {"k" * 128: "v" * 1000} and len(model["description"]) == 10_000
    metrics = json.dumps({"m" * 128: 1e308, "r2": 10**20, "é": -0.5})
    run(
        "versions",
        "push",
        "m",
        model_file,
        "--metrics",
        metrics,
        "--tag",
        "k=",
        "--description",
        "é",
    )
    (version,) = json.loads(run("versions", "list", "m", "--json").stdout)
    assert version["metrics"] == {"m" * 128: 1e308, "r2": 1e20, "é": -0.5}
    assert version["tags"] == {"k": ""} and version["description"] == "é"
    run("create-token", "--role", "reader", "--name", "n" * 128)
    assert [t["name"] for t in json.loads(run("tokens", "list", "--json").stdout)] == ["n" * 128]


@pytest.mark.parametrize(
    "validator, max_chars, required, allow_nul",
    [
        (schemas.DESCRIPTION, DESCRIPTION_MAX, False, False),
        (schemas.TAG_KEY, TAG_KEY_MAX, True, False),
        (schemas.TAG_VALUE, TAG_VALUE_MAX, False, False),
        (schemas.FEATURE_NAME, FEATURE_NAME_MAX, True, True),
    ],
)
def test_the_cli_refuses_exactly_what_the_api_schemas_refuse(
    validator, max_chars, required, allow_nul
):
    for value in (
        "",
        "é",
        NUL,
        "x" * max_chars,
        "x" * (max_chars + 1),
        "x" * (max_chars - 1) + NUL,
    ):
        try:
            validator(value)
            api_refuses = False
        except ValidationError:
            api_refuses = True
        problem = text_problem("It", value, max_chars, required, allow_nul)
        assert (problem is not None) == api_refuses, value


@pytest.fixture
def unnamed_file(tmp_path: Path) -> Path:
    """A regression fitted on an array: its inputs are named by --features."""
    x = np.random.default_rng(0).normal(size=(30, 2))
    path = tmp_path / "unnamed.joblib"
    path.write_bytes(dump(LinearRegression().fit(x, x @ [1.0, 2.0])))
    return path


@pytest.mark.parametrize(
    "features, fragment",
    [
        (f"{'a' * 257},b", "257 characters long; the most is 256"),
        (f"a{NOT_UTF8},b", "is not UTF-8 text"),
        ("a,", "The feature name is empty"),
    ],
)
def test_versions_push_refuses_feature_names_the_api_refuses(run, unnamed_file, features, fragment):
    run("models", "create", "h")
    result = run("versions", "push", "h", unnamed_file, "--features", features, code=2)
    _refused(result, "--features", fragment)
    assert json.loads(run("versions", "list", "h", "--json").stdout) == []
    run("versions", "push", "h", unnamed_file, "--features", f"{'a' * 256}, b")
    (version,) = json.loads(run("versions", "list", "h", "--json").stdout)
    assert [f["name"] for f in version["features"]] == ["a" * 256, "b"]
