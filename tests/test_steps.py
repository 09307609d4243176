"""More preparation steps: infrequent categories, clipping, binarizing, functions, encoders."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
import skops.io
from sklearn.compose import ColumnTransformer, make_column_selector, make_column_transformer
from sklearn.datasets import load_diabetes
from sklearn.impute import MissingIndicator, SimpleImputer
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import (
    Binarizer,
    FunctionTransformer,
    KBinsDiscretizer,
    MinMaxScaler,
    OneHotEncoder,
    OrdinalEncoder,
    PolynomialFeatures,
    PowerTransformer,
    QuantileTransformer,
    SplineTransformer,
    StandardScaler,
    TargetEncoder,
)

from registry.errors import UnsupportedEstimator
from registry.intake.extract import extract
from registry.intake.probes import probe_rows, sklearn_outputs
from registry.intake.verify import check_probes
from registry.plans import Plan, PlanError
from tests.factories import dump
from tests.uploading import post_artifact


def _fit(estimator, X, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # convergence warnings of small fits
        return estimator.fit(X, y)


def _predict(estimator, X, proba: bool) -> np.ndarray:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # handle_unknown='warn' warns about unseen categories
        return estimator.predict_proba(X) if proba else estimator.predict(X)


def _rows(frame: pd.DataFrame, names) -> dict[str, list]:
    return {n: [None if pd.isna(v) else v for v in frame[n].tolist()] for n in names}


def assert_exact(estimator, X: pd.DataFrame) -> Plan:
    """Check the plan against scikit-learn on X and on probe rows; contributions must sum."""
    extraction = extract(estimator)
    plan = Plan(extraction.plan)
    output = plan.predict(_rows(X, [f.name for f in plan.features]), explain=True)
    if plan.kind == "linear":
        expected = _predict(estimator, X, proba=False)
        got = np.array(output.predictions)
        sums = [sum(c.values()) for c in output.contributions]
        assert np.allclose(sums, got, rtol=1e-9, atol=1e-9)
    else:
        expected = _predict(estimator, X, proba=True)
        got = output.probabilities
    scale = np.maximum(np.abs(expected), 1.0)
    assert np.max(np.abs(got - expected) / scale) <= 1e-9
    probes = probe_rows(extraction)
    check_probes(plan, probes, sklearn_outputs(estimator, extraction, probes))
    return plan


def upload_and_predict(client, tokens, estimator, X: pd.DataFrame, name: str = "steps") -> dict:
    """Publish the estimator over HTTP and require its first rows' answers from scikit-learn."""
    client.post("/api/v1/models", json={"name": name}, headers=tokens["publisher"])
    response = post_artifact(client, name, dump(estimator), tokens["publisher"], activate="true")
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    used = [f["name"] for f in body["features"]]
    rows = [
        {n: None if pd.isna(v) else v for n, v in row.items()}
        for row in X.iloc[:5][used].to_dict("records")
    ]
    answer = client.post(f"/api/v1/models/{name}/predict?explain=true", json={"instances": rows})
    assert answer.status_code == 200, answer.get_json()
    predictions = answer.get_json()["predictions"]
    expected = _predict(estimator, X.iloc[:5], proba=False)
    if isinstance(predictions[0], float):
        assert predictions == pytest.approx(expected.tolist(), rel=1e-9)
    else:
        assert predictions == expected.tolist()
    return body


def _shops(rows: int = 300) -> tuple[pd.DataFrame, np.ndarray]:
    """A mixed frame: a skewed city category with rare values and gaps, and numbers with gaps."""
    rng = np.random.default_rng(7)
    cities = ["paris"] * 50 + ["lyon"] * 25 + ["nice"] * 15 + ["brest", "metz", "pau"] * 3
    frame = pd.DataFrame(
        {
            "city": pd.Series(rng.choice(cities, rows), dtype=object),
            "area": rng.gamma(4.0, 20.0, rows),
            "rooms": rng.integers(1, 7, rows).astype(float),
        }
    )
    frame.loc[::13, "city"] = np.nan
    frame.loc[::11, "area"] = np.nan
    y = (
        3 * frame["area"].fillna(80)
        + 7 * frame["rooms"]
        + frame["city"]
        .map({"paris": 90, "lyon": 40, "nice": 60, "brest": -5, "metz": 3, "pau": 11})
        .fillna(0)
    )
    return frame, y.to_numpy() + rng.normal(0, 5, rows)


INFREQUENT = [
    {"min_frequency": 20, "handle_unknown": "infrequent_if_exist"},
    {"min_frequency": 0.05, "handle_unknown": "warn"},
    {"max_categories": 3, "handle_unknown": "infrequent_if_exist"},
    {"max_categories": 3, "handle_unknown": "ignore"},
    {"min_frequency": 20, "handle_unknown": "error"},
    {"min_frequency": 20, "handle_unknown": "infrequent_if_exist", "drop": "first"},
    # No category is rare enough: the encoder is plain, and was refused all the same.
    {"min_frequency": 1, "handle_unknown": "infrequent_if_exist"},
]


@pytest.mark.parametrize("settings", INFREQUENT, ids=lambda s: "-".join(map(str, s.values())))
def test_infrequent_categories_share_their_column(settings):
    frame, y = _shops()
    columns = make_column_transformer(
        (OneHotEncoder(**settings), ["city"]),
        (make_pipeline(SimpleImputer(), StandardScaler()), ["area", "rooms"]),
    )
    estimator = _fit(make_pipeline(columns, Ridge()), frame, y)
    plan = assert_exact(estimator, frame)
    city = next(f for f in plan.features if f.name == "city")
    assert set(city.enum) == {"paris", "lyon", "nice", "brest", "metz", "pau"}
    assert city.accepts_unknown == (settings["handle_unknown"] != "error")
    assert city.nullable


def test_infrequent_categories_after_an_imputer_in_a_classifier(client, tokens):
    frame, y = _shops()
    target = np.where(y > np.median(y), "dear", "cheap")
    columns = make_column_transformer(
        (
            make_pipeline(
                SimpleImputer(strategy="constant", fill_value="unknown-city"),
                OneHotEncoder(max_categories=4, handle_unknown="infrequent_if_exist"),
            ),
            ["city"],
        ),
        (make_pipeline(SimpleImputer(), StandardScaler()), ["area", "rooms"]),
    )
    estimator = _fit(make_pipeline(columns, LogisticRegression()), frame, target)
    assert_exact(estimator, frame)
    body = upload_and_predict(client, tokens, estimator, frame, "shops")
    assert body["estimator"] == (
        "Pipeline(ColumnTransformer(Pipeline(SimpleImputer, OneHotEncoder), "
        "Pipeline(SimpleImputer, StandardScaler)), LogisticRegression)"
    )


def test_infrequent_numeric_categories_on_bundled_data():
    X, y = load_diabetes(return_X_y=True, as_frame=True, scaled=False)
    columns = make_column_transformer(
        (OneHotEncoder(min_frequency=30, handle_unknown="infrequent_if_exist"), ["age"]),
        remainder=StandardScaler(),
    )
    estimator = _fit(make_pipeline(columns, Ridge()), X, y)
    assert_exact(estimator, X)


def _lookup_plan(column: dict) -> dict:
    return {
        "format": 1,
        "kind": "linear",
        "link": "identity",
        "features": [{"name": "city", "type": "string", "enum": ["a", "b"], "nullable": False}],
        "columns": [{"feature": "city", "mul": 1.0, "add": 0.0, "missing": None, **column}],
        "coef": [[2.0]],
        "intercept": [0.5],
        "classes": None,
    }


@pytest.mark.parametrize(
    ("column", "message"),
    [
        ({"lookup": [["a", 1.0], [3, 1.0]]}, "pairs of type string"),
        ({"lookup": [["a", 1.0], ["a", 2.0]]}, "names a category twice"),
        ({"lookup": [["a", "x"]]}, "must be a number"),
        ({"lookup": [["a", 1.0]], "unknown": float("inf")}, "unknown must be finite"),
        ({"lookup": [["a", 1.0]], "category": "a"}, "both a category and a lookup"),
    ],
)
def test_lookup_columns_are_checked_on_load(column, message):
    with pytest.raises(PlanError, match=message):
        Plan(_lookup_plan(column))


def test_a_lookup_column_scores_each_category_and_the_unknown_one():
    raw = _lookup_plan({"lookup": [["b", 3.0]], "unknown": 1.0})
    raw["features"][0]["accepts_unknown"] = True
    assert Plan(raw).predict({"city": ["a", "b", "zz"]}).predictions == [0.5, 6.5, 2.5]


def _diabetes(scaled: bool = False) -> tuple[pd.DataFrame, np.ndarray]:
    return load_diabetes(return_X_y=True, as_frame=True, scaled=scaled)


def test_min_max_scaler_clips_values_outside_the_fitted_range():
    X, y = _diabetes()
    # Fitted on the younger half: older rows fall outside the range and are clipped.
    young = X["age"] < X["age"].median()
    estimator = make_pipeline(MinMaxScaler(feature_range=(-1, 2), clip=True), Ridge())
    estimator.fit(X[young], y[young])
    assert (estimator[0].transform(X).max(axis=0) == 2).all()
    plan = assert_exact(estimator, X)
    assert any("ops" in c for c in plan.to_json()["columns"])


def test_binarizer_and_missing_indicator_inside_a_column_transformer(client, tokens):
    frame, y = _shops()
    columns = make_column_transformer(
        (make_pipeline(SimpleImputer(), Binarizer(threshold=3.5)), ["rooms"]),
        (SimpleImputer(strategy="median"), ["area", "rooms"]),
        (MissingIndicator(), ["area", "rooms"]),
        (MissingIndicator(features="all"), ["area"]),
        (OneHotEncoder(handle_unknown="ignore"), ["city"]),
    )
    estimator = _fit(make_pipeline(columns, StandardScaler(), Ridge()), frame, y)
    plan = assert_exact(estimator, frame)
    assert {f.name: f.nullable for f in plan.features}["area"]
    upload_and_predict(client, tokens, estimator, frame, "indicated")


def test_binarizer_on_bundled_data():
    X, y = _diabetes(scaled=True)
    estimator = _fit(make_pipeline(Binarizer(threshold=0.01), LogisticRegression()), X, y > 140)
    assert_exact(estimator, X)


UFUNCS = [np.log, np.log1p, np.sqrt, np.square, np.abs, np.exp, np.expm1]


@pytest.mark.parametrize("function", UFUNCS, ids=lambda f: f.__name__)
def test_function_transformer_with_an_allowed_numpy_function(function):
    X, y = _diabetes(scaled=function in (np.exp, np.expm1, np.square, np.abs))
    estimator = _fit(make_pipeline(FunctionTransformer(function), StandardScaler(), Ridge()), X, y)
    assert_exact(estimator, X)


def test_log_of_a_gappy_column_imputed_after_the_log(client, tokens):
    frame, y = _shops()
    columns = make_column_transformer(
        (
            make_pipeline(FunctionTransformer(np.log1p), SimpleImputer(), StandardScaler()),
            ["area", "rooms"],
        ),
        (OneHotEncoder(min_frequency=20, handle_unknown="infrequent_if_exist"), ["city"]),
    )
    estimator = _fit(make_pipeline(columns, Ridge()), frame, np.log(np.abs(y) + 1))
    assert_exact(estimator, frame)
    body = upload_and_predict(client, tokens, estimator, frame, "logged")
    assert "FunctionTransformer" in body["estimator"]


def double(x):
    """A function of the uploader's own: never run by the registry."""
    return 2 * x


@pytest.mark.parametrize(
    ("function", "named"), [(double, "tests.test_steps.double"), (np.log10, "numpy.log10")]
)
def test_function_transformer_with_another_function_is_refused_naming_it(
    client, tokens, function, named
):
    X, y = _diabetes()
    estimator = _fit(make_pipeline(FunctionTransformer(function), Ridge()), X, y)
    client.post("/api/v1/models", json={"name": "fn"}, headers=tokens["publisher"])
    response = post_artifact(client, "fn", dump(estimator), tokens["publisher"])
    assert response.status_code == 422
    body = response.get_json()
    assert body["code"] == "unsupported_estimator", body
    assert named in body["message"] and "log1p" in body["message"]


def test_function_transformer_with_keyword_arguments_is_refused():
    X, y = _diabetes()
    step = FunctionTransformer(np.log1p, kw_args={"dtype": "float32"})
    with pytest.raises(UnsupportedEstimator, match="kw_args"):
        extract(_fit(make_pipeline(step, Ridge()), X, y))


@pytest.mark.parametrize("function", [np.log1p, double], ids=lambda f: f.__name__)
def test_function_transformer_in_a_skops_file(client, tokens, function):
    X, y = _diabetes()
    estimator = _fit(make_pipeline(FunctionTransformer(function), Ridge()), X, y)
    client.post("/api/v1/models", json={"name": "fn"}, headers=tokens["publisher"])
    response = post_artifact(
        client, "fn", skops.io.dumps(estimator), tokens["publisher"], filename="m.skops"
    )
    if function is double:
        assert response.status_code == 422
        assert response.get_json()["code"] == "unsupported_estimator"
        assert "tests.test_steps.double" in response.get_json()["message"]
    else:
        assert response.status_code == 201, response.get_json()


def _ops_plan(ops) -> dict:
    return {
        "format": 1,
        "kind": "linear",
        "link": "identity",
        "features": [{"name": "x", "type": "number", "nullable": False}],
        "columns": [{"feature": "x", "mul": 1.0, "add": 0.0, "missing": None, "ops": ops}],
        "coef": [[1.0]],
        "intercept": [0.0],
        "classes": None,
    }


@pytest.mark.parametrize(
    ("ops", "message"),
    [
        ({"op": "clip"}, "ops must be a list"),
        ([{"op": "eval", "code": "1"}], r"ops\[0\].op must be one of"),
        ([{"op": "ufunc", "name": "log10"}], "name must be one of"),
        ([{"op": "ufunc", "name": "log", "where": 1}], "needs exactly"),
        ([{"op": "clip", "low": 2.0, "high": 1.0}], "must not exceed"),
        ([{"op": "clip", "low": 0.0, "high": float("inf")}], "high must be finite"),
        ([{"op": "step", "edges": [2.0, 1.0], "side": "left", "values": [0, 1, 2]}], "ascending"),
        ([{"op": "step", "edges": [1.0], "side": "left", "values": [0]}], "one more than edges"),
        ([{"op": "step", "edges": [1.0], "side": "up", "values": [0, 1]}], "side must be"),
        ([{"op": "box_cox", "lambda": "1"}], "lambda must be a number"),
        (
            [{"op": "quantile", "quantiles": [2, 1], "references": [0, 1], "output": "normal"}],
            "quantiles must be ascending",
        ),
        (
            [{"op": "quantile", "quantiles": [1, 2], "references": [0], "output": "normal"}],
            "must match quantiles",
        ),
    ],
)
def test_ops_are_checked_on_load(ops, message):
    with pytest.raises(PlanError, match=message):
        Plan(_ops_plan(ops))


def test_ops_apply_in_order_one_row_and_many():
    ops = [
        {"op": "affine", "center": 1.0, "mul": 2.0, "add": 0.0},
        {"op": "clip", "low": -1.0, "high": 4.0},
        {"op": "step", "edges": [0.0, 2.0], "side": "right", "values": [10.0, 20.0, 30.0]},
    ]
    plan = Plan(_ops_plan(ops))
    xs = [-5.0, 1.0, 1.5, 2.0, 9.0]
    assert plan.predict({"x": xs}).predictions == [10.0, 20.0, 20.0, 30.0, 30.0]
    assert [plan.predict({"x": [x]}).predictions[0] for x in xs] == [10.0, 20.0, 20.0, 30.0, 30.0]


ORDINAL = [
    {},
    {"handle_unknown": "use_encoded_value", "unknown_value": -1, "encoded_missing_value": -2},
    {"handle_unknown": "use_encoded_value", "unknown_value": 9, "min_frequency": 20},
    {"max_categories": 3, "encoded_missing_value": -1},
]


@pytest.mark.parametrize("settings", ORDINAL, ids=lambda s: "-".join(map(str, s.values())) or "0")
def test_ordinal_encoder_codes_each_category(settings):
    frame, y = _shops()
    columns = make_column_transformer(
        (make_pipeline(OrdinalEncoder(**settings), SimpleImputer(), StandardScaler()), ["city"]),
        (make_pipeline(SimpleImputer(), StandardScaler()), ["area", "rooms"]),
    )
    estimator = _fit(make_pipeline(columns, Ridge()), frame, y)
    plan = assert_exact(estimator, frame)
    city = next(f for f in plan.features if f.name == "city")
    assert city.nullable and city.accepts_unknown == ("unknown_value" in settings)


def test_ordinal_encoder_of_numbers_over_http(client, tokens):
    X, y = _diabetes()
    columns = make_column_transformer(
        (OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1), ["sex"]),
        remainder=StandardScaler(),
    )
    estimator = _fit(make_pipeline(columns, Ridge()), X, y)
    assert_exact(estimator, X)
    body = upload_and_predict(client, tokens, estimator, X, "ordinal")
    sex = next(f for f in body["features"] if f["name"] == "sex")
    assert sex["enum"] == [1.0, 2.0] and sex["accepts_unknown"]


@pytest.mark.parametrize("target", ["continuous", "binary", "multiclass"])
def test_target_encoder_uses_its_fitted_encodings(target, client, tokens):
    frame, y = _shops()
    if target == "binary":
        y, head = np.where(y > np.median(y), "dear", "cheap"), LogisticRegression()
    elif target == "multiclass":
        y, head = np.digitize(y, np.quantile(y, [0.33, 0.66])), LogisticRegression()
    else:
        head = Ridge()
    columns = make_column_transformer(
        (TargetEncoder(random_state=0), ["city"]),
        (make_pipeline(SimpleImputer(), StandardScaler()), ["area", "rooms"]),
    )
    estimator = _fit(make_pipeline(columns, head), frame, y)
    assert estimator[0].named_transformers_["targetencoder"].target_type_ == target
    plan = assert_exact(estimator, frame)
    city = next(f for f in plan.features if f.name == "city")
    assert city.nullable and city.accepts_unknown
    if target == "multiclass":
        upload_and_predict(client, tokens, estimator, frame, "targeted")


@pytest.mark.parametrize("encode", ["ordinal", "onehot", "onehot-dense"])
@pytest.mark.parametrize("strategy", ["uniform", "quantile", "kmeans"])
def test_kbins_discretizer_bins_as_scikit_learn(encode, strategy):
    X, y = _diabetes()
    step = KBinsDiscretizer(n_bins=4, encode=encode, strategy=strategy, subsample=None)
    estimator = _fit(make_pipeline(step, Ridge()), X, y)
    plan = assert_exact(estimator, X)
    assert all(c.get("ops") for c in plan.to_json()["columns"])


def test_kbins_discretizer_after_an_imputer_in_a_column_transformer(client, tokens):
    frame, y = _shops()
    columns = make_column_transformer(
        (make_pipeline(SimpleImputer(), KBinsDiscretizer(n_bins=5)), ["area"]),
        (SimpleImputer(), ["rooms"]),
        (OneHotEncoder(handle_unknown="ignore"), ["city"]),
    )
    estimator = _fit(make_pipeline(columns, Ridge()), frame, y)
    assert_exact(estimator, frame)
    upload_and_predict(client, tokens, estimator, frame, "binned")


@pytest.mark.parametrize(
    "step",
    [
        PowerTransformer(),
        PowerTransformer(standardize=False),
        PowerTransformer(method="box-cox"),
        QuantileTransformer(n_quantiles=50),
        QuantileTransformer(n_quantiles=200, output_distribution="normal"),
    ],
    ids=lambda s: str(s),
)
def test_power_and_quantile_transformers_as_scikit_learn(step):
    X, y = _diabetes()
    estimator = _fit(make_pipeline(step, Ridge()), X, y)
    # Rows past the fitted range too: quantiles clip there, powers keep going.
    wider = pd.concat([X, X * 1.5 + 0.5])
    assert_exact(estimator, wider)


def test_power_transformer_with_gaps_in_a_classifier(client, tokens):
    frame, y = _shops()
    target = np.where(y > np.median(y), "dear", "cheap")
    columns = make_column_transformer(
        (make_pipeline(SimpleImputer(), PowerTransformer()), ["area"]),
        (make_pipeline(QuantileTransformer(n_quantiles=30), SimpleImputer()), ["rooms"]),
        (OneHotEncoder(handle_unknown="ignore"), ["city"]),
    )
    estimator = _fit(make_pipeline(columns, LogisticRegression()), frame, target)
    assert_exact(estimator, frame)
    upload_and_predict(client, tokens, estimator, frame, "powered")


def _numeric_names(frame: pd.DataFrame) -> list[str]:
    return [c for c in frame.columns if c in ("area", "rooms")]


def _city_names(frame: pd.DataFrame) -> list[str]:
    return ["city"]


SELECTIONS = {
    "selector": lambda: (
        make_column_selector(dtype_include=np.floating),
        make_column_selector(dtype_include=object),
    ),
    "pattern": lambda: (make_column_selector(pattern="^(area|rooms)$"), ["city"]),
    "callable": lambda: (_numeric_names, _city_names),
    "mask": lambda: ([False, True, True], [True, False, False]),
    "positions": lambda: ([1, 2], [0]),
    "slice": lambda: (slice(1, 3), slice(0, 1)),
}


@pytest.mark.parametrize("remainder", ["drop", "passthrough", "scaler"])
@pytest.mark.parametrize("selection", SELECTIONS)
def test_column_transformer_column_choices_and_remainders(selection, remainder):
    frame, y = _shops()
    frame = frame.copy()
    frame["floor"] = np.arange(len(frame)) % 5  # integers, left to the remainder
    numbers, cities = SELECTIONS[selection]()
    if selection in ("mask",):
        numbers, cities = numbers + [False], cities + [False]
    columns = ColumnTransformer(
        [
            ("numbers", make_pipeline(SimpleImputer(), StandardScaler()), numbers),
            ("cities", make_pipeline(OneHotEncoder(handle_unknown="ignore")), cities),
        ],
        remainder=StandardScaler() if remainder == "scaler" else remainder,
    )
    estimator = _fit(make_pipeline(columns, Ridge()), frame, y)
    plan = assert_exact(estimator, frame)
    used = {f.name for f in plan.features}
    assert {"city", "area", "rooms"} <= used
    assert ("floor" in used) == (remainder != "drop")


def test_nested_column_transformers_and_pipelines_over_http(client, tokens):
    frame, y = _shops()
    inner = ColumnTransformer(
        [
            ("log", FunctionTransformer(np.log1p), [0]),
            ("bins", KBinsDiscretizer(n_bins=3, encode="onehot-dense"), [1]),
        ]
    )
    numbers = make_pipeline(SimpleImputer(strategy="median"), inner, StandardScaler())
    columns = ColumnTransformer(
        [
            ("numbers", numbers, make_column_selector(dtype_include=np.number)),
            (
                "cities",
                OrdinalEncoder(
                    handle_unknown="use_encoded_value", unknown_value=-1, encoded_missing_value=-2
                ),
                ["city"],
            ),
        ],
    )
    estimator = _fit(make_pipeline(columns, Ridge()), frame, y)
    assert_exact(estimator, frame)
    upload_and_predict(client, tokens, estimator, frame, "nested")


@pytest.mark.parametrize("selection", ["callable", "selector", "mask"])
def test_column_choices_survive_the_upload(client, tokens, selection):
    frame, y = _shops()
    numbers, cities = SELECTIONS[selection]()
    columns = ColumnTransformer(
        [
            ("numbers", make_pipeline(SimpleImputer(), StandardScaler()), numbers),
            ("cities", OneHotEncoder(handle_unknown="ignore"), cities),
        ],
        remainder="passthrough",
    )
    estimator = _fit(make_pipeline(columns, Ridge()), frame, y)
    upload_and_predict(client, tokens, estimator, frame, f"chosen-{selection}")


def test_a_selector_function_is_never_called_and_a_stray_function_is_still_refused():
    from registry.errors import UntrustedArtifact
    from registry.intake.unpickler import load_pickle

    frame, y = _shops()
    columns = ColumnTransformer([("n", SimpleImputer(), _numeric_names)])
    estimator = _fit(make_pipeline(columns, Ridge()), frame, y)
    loaded = load_pickle(dump(estimator), max_bytes=1 << 24)
    assert type(loaded[0].transformers[0][2]).__name__ == "_Unlisted"
    # The same function anywhere else is a name the file may not hold.
    with pytest.raises(UntrustedArtifact, match="tests.test_steps._numeric_names"):
        load_pickle(dump({"columns": _numeric_names}), max_bytes=1 << 24)


@pytest.mark.parametrize(
    "step",
    [
        PolynomialFeatures(degree=2),
        PolynomialFeatures(degree=3, include_bias=False),
        PolynomialFeatures(degree=2, interaction_only=True),
        PolynomialFeatures(degree=(2, 3)),
    ],
    ids=str,
)
def test_polynomial_features_explain_in_the_expanded_space(step):
    X, y = _diabetes()
    X = X[["age", "bmi", "bp", "s5"]]
    estimator = _fit(make_pipeline(StandardScaler(), step, StandardScaler(), Ridge()), X, y)
    plan = assert_exact(estimator, X)
    parts = plan.predict(_rows(X.iloc[:2], X.columns), explain=True).contributions[0]
    # A product of two inputs is its own part; a power of one input stays with it.
    if step.interaction_only or step.degree == 2:
        assert "age*bmi" in parts
    assert not any("^" in name for name in parts)


def test_polynomial_features_with_gaps_and_categories_over_http(client, tokens):
    frame, y = _shops()
    columns = make_column_transformer(
        (
            make_pipeline(SimpleImputer(), PolynomialFeatures(2), StandardScaler()),
            ["area", "rooms"],
        ),
        (OneHotEncoder(handle_unknown="ignore"), ["city"]),
    )
    estimator = _fit(make_pipeline(columns, Ridge()), frame, y)
    assert_exact(estimator, frame)
    upload_and_predict(client, tokens, estimator, frame, "poly")
    row = {k: v[0] for k, v in _rows(frame.iloc[1:2], ["area", "rooms", "city"]).items()}
    answer = client.post("/api/v1/models/poly/predict?explain=true", json=row).get_json()
    parts = answer["contributions"]
    assert set(parts) == {"area", "rooms", "city", "area*rooms", "_intercept"}
    assert sum(parts.values()) == pytest.approx(answer["prediction"], rel=1e-9)
    # The docs' example row and the dashboard's coefficients read product columns too.
    assert client.get("/api/v1/swagger.json").status_code == 200
    page = client.get("/ui/models/poly/versions/1", headers=tokens["reader"])
    assert page.status_code == 200 and "area × rooms" in page.get_data(as_text=True)


@pytest.mark.parametrize(
    ("product", "message"),
    [
        ({"product": [{"feature": "x", "mul": 1.0, "add": 0.0, "missing": None}]}, "two or more"),
        ({"product": "x"}, "two or more"),
        ({"product": [{"feature": "x", "category": 1}] * 2}, "must list value columns"),
        (
            {"product": [{"feature": "y", "mul": 1, "add": 0, "missing": None}] * 2},
            "name a feature",
        ),
    ],
)
def test_product_columns_are_checked_on_load(product, message):
    raw = _ops_plan([])
    raw["columns"] = [{"mul": 1.0, "add": 0.0, **product}]
    with pytest.raises(PlanError, match=message):
        Plan(raw)


def test_a_product_column_multiplies_its_factors_and_names_its_part():
    raw = _ops_plan([])
    raw["features"].append({"name": "w", "type": "number", "nullable": True})
    x = {"feature": "x", "mul": 1.0, "add": 0.0, "missing": None}
    w = {"feature": "w", "mul": 1.0, "add": 1.0, "missing": 0.0}
    raw["columns"] = [
        x,
        {"product": [x, w], "mul": 2.0, "add": 0.5},
        {"product": [x, x], "mul": 1.0, "add": 0.0},
    ]
    raw["coef"] = [[1.0, 10.0, 100.0]]
    output = Plan(raw).predict({"x": [2.0, 3.0], "w": [1.0, None]}, explain=True)
    # 2 + 10 * (2 * 2 * 2 + 0.5) + 100 * 4; then w is missing (its factor is 0): 3 + 5 + 900
    assert output.predictions == [487.0, 908.0]
    assert output.contributions[0] == {"x": 402.0, "w": 0.0, "x*w": 85.0, "_intercept": 0.0}


@pytest.mark.parametrize(
    "step",
    [
        SplineTransformer(),
        SplineTransformer(n_knots=4, degree=2, extrapolation="continue", include_bias=False),
        SplineTransformer(degree=1, knots="quantile", extrapolation="constant"),
        SplineTransformer(degree=3, extrapolation="constant", handle_missing="zeros"),
    ],
    ids=str,
)
def test_spline_transformer_as_scikit_learn(step):
    X, y = _diabetes()
    X = X[["age", "bmi", "bp", "s5"]]
    estimator = _fit(make_pipeline(step, Ridge()), X, y)
    wider = pd.concat([X, X * 1.3]) if step.extrapolation != "error" else X
    assert_exact(estimator, wider)


def test_spline_transformer_with_gaps_over_http(client, tokens):
    frame, y = _shops()
    columns = make_column_transformer(
        (SplineTransformer(n_knots=4, handle_missing="zeros"), ["area"]),
        (make_pipeline(SimpleImputer(), SplineTransformer(extrapolation="continue")), ["rooms"]),
        (OneHotEncoder(handle_unknown="ignore"), ["city"]),
    )
    estimator = _fit(make_pipeline(columns, Ridge()), frame, y)
    assert_exact(estimator, frame)
    upload_and_predict(client, tokens, estimator, frame, "splined")
