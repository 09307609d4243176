"""Plan extraction: parity with scikit-learn, the feature spec, descriptions and refusals."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.datasets import load_breast_cancer, load_diabetes, load_iris
from sklearn.ensemble import RandomForestRegressor
from sklearn.impute import SimpleImputer
from sklearn.linear_model import ElasticNet, Lasso, LinearRegression, LogisticRegression, Ridge
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import (
    FunctionTransformer,
    MaxAbsScaler,
    MinMaxScaler,
    OneHotEncoder,
    RobustScaler,
    StandardScaler,
)

from registry.errors import InvalidArtifact, InvalidFeatures, UnsupportedEstimator
from registry.intake.extract import extract
from registry.intake.probes import probe_rows, sklearn_outputs
from registry.intake.verify import RELATIVE_TOLERANCE, check_probes
from registry.plans import INTERCEPT, Plan


def _columns(X: pd.DataFrame | np.ndarray, names: list[str]) -> dict[str, list]:
    """Return rows as the API would receive them: plain values, None for missing."""
    frame = X if isinstance(X, pd.DataFrame) else pd.DataFrame(X, columns=names)
    out = {}
    for name in names:
        values = frame[name].astype(object).tolist()
        out[name] = [
            None if v is None or (isinstance(v, float) and math.isnan(v)) else _plain(v)
            for v in values
        ]
    return out


def _plain(value):
    return value.item() if isinstance(value, np.generic) else value


def _sklearn(estimator, X) -> np.ndarray:
    if hasattr(estimator, "predict_proba"):
        return estimator.predict_proba(X)
    return np.asarray(estimator.predict(X), dtype=float).reshape(-1, 1)


def _assert_parity(estimator, X, feature_names: list[str] | None = None) -> Plan:
    extraction = extract(estimator, feature_names)
    plan = Plan(extraction.plan)
    rows = _columns(X, list(extraction.input_names))
    rows = {f.name: rows[f.name] for f in plan.features}
    result = plan.predict(rows)
    got = result.probabilities if plan.kind == "logistic" else np.array(result.predictions)[:, None]
    expected = _sklearn(estimator, X)
    scale = np.maximum(np.abs(expected), 1.0)
    assert np.max(np.abs(got - expected) / scale) <= RELATIVE_TOLERANCE
    # The child's own check: probe rows, scikit-learn's outputs on them, the plan's recomputation.
    probes = probe_rows(extraction)
    check_probes(plan, probes, sklearn_outputs(estimator, extraction, probes))
    return plan


@pytest.fixture(scope="module")
def diabetes():
    return load_diabetes(return_X_y=True, as_frame=True)


REGRESSORS = [LinearRegression(), Ridge(alpha=0.5), Lasso(alpha=0.05), ElasticNet(alpha=0.01)]
PREPARATIONS = [
    [],
    [StandardScaler()],
    [StandardScaler(with_mean=False)],
    [StandardScaler(with_std=False)],
    [MinMaxScaler(feature_range=(-1, 2))],
    [MaxAbsScaler()],
    [RobustScaler()],
    [RobustScaler(with_centering=False, unit_variance=True)],
    [RobustScaler(with_scaling=False)],
    [StandardScaler(), SimpleImputer(strategy="median"), MinMaxScaler(), MaxAbsScaler()],
]


@pytest.mark.parametrize("regressor", REGRESSORS, ids=lambda r: type(r).__name__)
@pytest.mark.parametrize("preparation", PREPARATIONS, ids=lambda p: "-".join(map(str, p)) or "bare")
def test_linear_plans_match_sklearn_on_diabetes(diabetes, regressor, preparation):
    X, y = diabetes
    model = make_pipeline(*preparation, regressor) if preparation else regressor
    _assert_parity(model.fit(X, y), X)


def test_linear_plan_on_numpy_input_takes_given_names(diabetes):
    X, y = diabetes
    names = [f"x{i}" for i in range(X.shape[1])]
    model = make_pipeline(SimpleImputer(), StandardScaler(), Ridge()).fit(X.to_numpy(), y)
    plan = _assert_parity(model, X.to_numpy(), names)
    assert [f.name for f in plan.features] == names
    assert all(f.nullable and f.type == "number" for f in plan.features)


@pytest.mark.parametrize(
    "model",
    [
        LogisticRegression(solver="newton-cholesky"),
        make_pipeline(StandardScaler(), LogisticRegression()),
        make_pipeline(StandardScaler(), LogisticRegression(solver="liblinear")),
        make_pipeline(MinMaxScaler(), LogisticRegression(C=0.1, fit_intercept=False)),
    ],
    ids=["bare", "scaled", "liblinear", "no-intercept"],
)
def test_binary_logistic_plans_match_sklearn_on_breast_cancer(model):
    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    plan = _assert_parity(model.fit(X, y), X)
    assert plan.link == "logistic" and plan.classes == [0, 1]


@pytest.mark.parametrize("labels", ["int", "str"])
def test_multinomial_logistic_plans_match_sklearn_on_iris(labels):
    data = load_iris(as_frame=True)
    y = data.target if labels == "int" else data.target_names[data.target]
    model = make_pipeline(RobustScaler(), LogisticRegression(max_iter=1000)).fit(data.data, y)
    plan = _assert_parity(model, data.data)
    assert plan.link == "softmax" and len(plan.classes) == 3


def test_liblinear_logistic_plan_on_iris_numpy():
    # scikit-learn 1.9 refuses liblinear for 3 classes; one class against the rest is binary.
    X, y = load_iris(return_X_y=True)
    model = LogisticRegression(solver="liblinear").fit(X, y == 2)
    plan = _assert_parity(model, X, ["sl", "sw", "pl", "pw"])
    assert plan.classes == [False, True]


@pytest.mark.parametrize(("multi_class", "solver"), [("ovr", "lbfgs"), ("auto", "liblinear")])
def test_one_vs_rest_link_where_scikit_learn_still_has_multi_class(
    monkeypatch, multi_class, solver
):
    # Releases before multi_class was removed score these models one class against the rest,
    # with the normalised sigmoids of _predict_proba_lr.
    X, y = load_iris(return_X_y=True)
    model = LogisticRegression(max_iter=1000).fit(X, y)
    model.multi_class, model.solver = multi_class, solver
    names = LogisticRegression._get_param_names()
    monkeypatch.setattr(
        LogisticRegression, "_get_param_names", classmethod(lambda cls: [*names, "multi_class"])
    )
    plan = Plan(extract(model, ["a", "b", "c", "d"]).plan)
    assert plan.link == "ovr"
    got = plan.predict(dict(zip("abcd", X.T.tolist(), strict=True))).probabilities
    np.testing.assert_allclose(got, model._predict_proba_lr(X), rtol=1e-9, atol=1e-12)


def _mixed_frame(n: int = 300, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "age": rng.normal(40, 12, n),
            "income": rng.lognormal(10, 1, n),
            "city": rng.choice(["paris", "lyon", "nice"], n),
            "rooms": rng.choice([1, 2, 3, 4], n),
            "owner": rng.choice([True, False], n),
            "ignored": rng.normal(size=n),
        }
    )
    frame.loc[::7, "age"] = np.nan
    frame.loc[::11, "city"] = np.nan
    frame["owner"] = frame["owner"].astype(object)
    frame.loc[::13, "owner"] = np.nan
    return frame


def _mixed_preparation(**encoder) -> ColumnTransformer:
    return ColumnTransformer(
        [
            ("num", make_pipeline(SimpleImputer(), StandardScaler()), ["age", "income"]),
            (
                "cat",
                make_pipeline(
                    SimpleImputer(strategy="most_frequent"),
                    OneHotEncoder(**{"handle_unknown": "ignore", **encoder}),
                ),
                ["city", "rooms", "owner"],
            ),
        ]
    )


@pytest.fixture(scope="module")
def mixed():
    frame = _mixed_frame()
    target = (frame["income"] > frame["income"].median()).astype(int)
    return frame, target


def test_mixed_frame_logistic_plan_matches_sklearn(mixed):
    frame, target = mixed
    model = make_pipeline(_mixed_preparation(), LogisticRegression(max_iter=1000))
    plan = _assert_parity(model.fit(frame, target), frame)
    specs = {f.name: f.to_dict() for f in plan.features}
    assert specs == {
        "age": {"name": "age", "type": "number", "nullable": True},
        "income": {"name": "income", "type": "number", "nullable": True},
        "city": {
            "name": "city",
            "type": "string",
            "enum": ["lyon", "nice", "paris"],
            "nullable": True,
            "accepts_unknown": True,  # handle_unknown="ignore"
        },
        "rooms": {
            "name": "rooms",
            "type": "integer",
            "enum": [1, 2, 3, 4],
            "nullable": True,
            "accepts_unknown": True,
        },
        "owner": {
            "name": "owner",
            "type": "boolean",
            "enum": [False, True],
            "nullable": True,
            "accepts_unknown": True,
        },
    }


@pytest.mark.parametrize(
    "encoder",
    [{}, {"drop": "first"}, {"drop": "if_binary"}, {"sparse_output": False}],
    ids=["plain", "drop-first", "drop-if-binary", "dense"],
)
def test_mixed_frame_ridge_plan_matches_sklearn(mixed, encoder):
    frame, _ = mixed
    encoder = {**encoder, "handle_unknown": "error"} if "drop" in encoder else encoder
    y = frame["income"].fillna(0) / 1000 + frame["rooms"]
    model = make_pipeline(_mixed_preparation(**encoder), Ridge()).fit(frame, y)
    _assert_parity(model, frame)


def test_one_hot_missing_categories_without_imputer(mixed):
    frame, target = mixed
    prep = ColumnTransformer(
        [("cat", OneHotEncoder(drop=["nice", True]), ["city", "owner"])], remainder="drop"
    )
    model = make_pipeline(prep, StandardScaler(with_mean=False), LogisticRegression())
    plan = _assert_parity(model.fit(frame, target), frame)
    city = next(
        c for c in plan.to_json()["columns"] if c["feature"] == "city" and c["category"] is None
    )
    assert city["missing"] is not None
    assert [f.name for f in plan.features] == ["city", "owner"]
    assert all(f.nullable for f in plan.features)


def test_none_category_is_read_from_none(mixed):
    frame, target = mixed
    frame = frame.assign(owner=frame["owner"].where(frame["owner"].notna(), None))
    model = make_pipeline(OneHotEncoder(handle_unknown="ignore"), LogisticRegression())
    _assert_parity(model.fit(frame[["owner"]], target), frame[["owner"]])


def test_passthrough_and_drop_columns(mixed):
    frame, target = mixed
    frame = frame[["income", "rooms", "city", "ignored", "age"]].fillna({"age": 0.0})
    prep = ColumnTransformer(
        [
            ("scaled", StandardScaler(), ["income"]),
            ("kept", "passthrough", ["rooms"]),
            ("gone", "drop", ["ignored"]),
            ("city", OneHotEncoder(handle_unknown="ignore"), ["city"]),
        ],
        remainder="passthrough",
    )
    model = make_pipeline(prep, LogisticRegression(max_iter=5000)).fit(frame, target)
    plan = _assert_parity(model, frame)
    features = {f.name: f for f in plan.features}
    assert list(features) == ["income", "rooms", "city", "age"]
    assert features["rooms"].type == "number" and not features["rooms"].nullable
    assert features["city"].nullable  # NaN is one of the fitted categories


def test_unused_inputs_are_left_out(mixed):
    frame, target = mixed
    prep = ColumnTransformer([("scaled", StandardScaler(), ["income"])], remainder="drop")
    plan = _assert_parity(make_pipeline(prep, LogisticRegression()).fit(frame, target), frame)
    assert [f.name for f in plan.features] == ["income"]


def test_explain_parts_sum_to_the_raw_scores(mixed, diabetes):
    X, y = diabetes
    linear = Plan(extract(make_pipeline(StandardScaler(), Ridge()).fit(X, y)).plan)
    rows = _columns(X.head(5), list(X.columns))
    explained = linear.predict(rows, explain=True)
    for parts, prediction in zip(explained.contributions, explained.predictions, strict=True):
        assert math.isclose(sum(parts.values()), prediction, rel_tol=1e-12)
        assert type(parts[INTERCEPT]) is float

    frame, target = mixed
    binary = make_pipeline(_mixed_preparation(), LogisticRegression()).fit(frame, target)
    plan = Plan(extract(binary).plan)
    rows = _columns(frame.head(5), list(frame.columns))
    explained = plan.predict({f.name: rows[f.name] for f in plan.features}, explain=True)
    log_odds = binary.decision_function(frame.head(5))
    for parts, expected in zip(explained.contributions, log_odds, strict=True):
        assert math.isclose(sum(parts.values()), expected, rel_tol=1e-9, abs_tol=1e-9)

    data = load_iris(as_frame=True)
    multi = make_pipeline(StandardScaler(), LogisticRegression()).fit(data.data, data.target)
    plan = Plan(extract(multi).plan)
    explained = plan.predict(_columns(data.data.head(3), list(data.data.columns)), explain=True)
    scores = multi.decision_function(data.data.head(3))
    for parts, expected in zip(explained.contributions, scores, strict=True):
        for k, label in enumerate(["0", "1", "2"]):
            assert math.isclose(sum(parts[label].values()), expected[k], rel_tol=1e-9, abs_tol=1e-9)


DESCRIBED = [
    (lambda: Ridge(), ["income"], "Ridge"),
    (
        lambda: make_pipeline(StandardScaler(), LogisticRegression()),
        ["income", "rooms"],
        "Pipeline(StandardScaler, LogisticRegression)",
    ),
    (
        lambda: make_pipeline(
            ColumnTransformer(
                [("n", StandardScaler(), ["income"]), ("c", OneHotEncoder(), ["rooms"])]
            ),
            LogisticRegression(),
        ),
        ["income", "rooms"],
        "Pipeline(ColumnTransformer(StandardScaler, OneHotEncoder), LogisticRegression)",
    ),
    (
        lambda: make_pipeline(_mixed_preparation(), LogisticRegression()),
        ["age", "income", "city", "rooms", "owner"],
        "Pipeline(ColumnTransformer(Pipeline(SimpleImputer, StandardScaler), "
        "Pipeline(SimpleImputer, OneHotEncoder)), LogisticRegression)",
    ),
]


@pytest.mark.parametrize(("make", "inputs", "expected"), DESCRIBED, ids=[d[2] for d in DESCRIBED])
def test_estimator_description_nests(mixed, make, inputs, expected):
    frame, target = mixed
    assert extract(make().fit(frame[inputs], target)).estimator == expected


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: RandomForestRegressor(n_estimators=2), "RandomForestRegressor is not supported"),
        (lambda: KNeighborsClassifier(), "KNeighborsClassifier is not supported"),
        (
            lambda: make_pipeline(StandardScaler(), RandomForestRegressor(n_estimators=2)),
            "RandomForestRegressor",
        ),
        (lambda: StandardScaler(), "holds a StandardScaler, not a model"),
        (lambda: make_pipeline(FunctionTransformer(np.log10), Ridge()), "func=log10"),
        (lambda: make_pipeline(StandardScaler(), OneHotEncoder(), Ridge()), "OneHotEncoder must"),
    ],
)
def test_unsupported_estimators_are_named(make, message):
    X = pd.DataFrame({"a": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0], "b": [1.0, 1.0, 2.0, 2.0, 3.0, 3.0]})
    with pytest.raises(UnsupportedEstimator, match=message) as caught:
        extract(make().fit(X, [0, 1, 0, 1, 0, 1]))
    assert caught.value.message.endswith(".")


def test_multi_output_regression_is_refused(diabetes):
    X, y = diabetes
    with pytest.raises(UnsupportedEstimator, match="multi-output"):
        extract(Ridge().fit(X, np.column_stack([y, y])))


def test_input_used_as_number_and_category_is_refused(mixed):
    frame, target = mixed
    prep = ColumnTransformer(
        [("n", StandardScaler(), ["rooms"]), ("c", OneHotEncoder(), ["rooms"])]
    )
    with pytest.raises(UnsupportedEstimator, match="both as a number and one-hot"):
        extract(make_pipeline(prep, LogisticRegression()).fit(frame, target))


def test_numpy_model_needs_feature_names(diabetes):
    X, y = diabetes
    model = Ridge().fit(X.to_numpy(), y)
    with pytest.raises(InvalidFeatures, match="without feature names"):
        extract(model)
    with pytest.raises(InvalidFeatures, match="10 names"):
        extract(model, ["a", "b"])
    with pytest.raises(InvalidFeatures, match="unique"):
        extract(model, ["a"] * 10)


def test_given_names_must_match_the_model_names(diabetes):
    X, y = diabetes
    model = Ridge().fit(X, y)
    assert extract(model, list(X.columns)).input_names == tuple(X.columns)
    with pytest.raises(InvalidFeatures, match="same names in the same order"):
        extract(model, list(X.columns)[::-1])


def test_damaged_scaler_is_invalid(diabetes):
    X, y = diabetes
    model = make_pipeline(StandardScaler(), Ridge()).fit(X, y)
    model[0].scale_[3] = 0.0
    with pytest.raises(InvalidArtifact, match="zero scale"):
        extract(model)
