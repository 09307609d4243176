"""Fit small models with the installed scikit-learn and save them with that release's own outputs.

Run by make_fixtures.py inside a throwaway virtual environment, one per scikit-learn release:
    python generate.py OUTPUT_DIR [steps]
With "steps" only the preparation-step fixtures of step_models.py are written again, with "heads"
only those of head_models.py.
It imports only scikit-learn, numpy, pandas, joblib and skops (never the registry), so it runs on
every release from 1.2 on. Each model gets NAME.joblib, NAME.skops and NAME.json (the release,
the estimator, its features, held-out rows as JSON records and the release's outputs on them).
"""

from __future__ import annotations

import inspect
import json
import math
import sys
import warnings
import zipfile
from pathlib import Path

import head_models
import joblib
import numpy as np
import pandas as pd
import sklearn
import skops.io
import step_models
from sklearn.compose import ColumnTransformer
from sklearn.datasets import load_breast_cancer, load_diabetes, load_iris
from sklearn.impute import SimpleImputer
from sklearn.linear_model import ElasticNet, Lasso, LinearRegression, LogisticRegression, Ridge
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import (
    MaxAbsScaler,
    MinMaxScaler,
    OneHotEncoder,
    RobustScaler,
    StandardScaler,
)

RELEASE = sklearn.__version__
MAJOR_MINOR = tuple(int(part) for part in RELEASE.split(".")[:2])
# multi_class was deprecated in 1.5 and removed in 1.8.
HAS_MULTI_CLASS = MAJOR_MINOR <= (1, 7)
HELD_OUT = 30


def split(frame: pd.DataFrame, target: pd.Series, train: int, seed: int):
    """A deterministic train / held-out split of a subsample."""
    order = np.random.RandomState(seed).permutation(len(frame))
    fit_rows, test_rows = order[:train], order[train : train + HELD_OUT]
    return (
        frame.iloc[fit_rows].reset_index(drop=True),
        target.iloc[fit_rows].reset_index(drop=True),
        frame.iloc[test_rows].reset_index(drop=True),
    )


def diabetes():
    data = load_diabetes(as_frame=True)
    return split(data.data, data.target, 200, 1)


def cancer():
    data = load_breast_cancer(as_frame=True)
    # Eight columns keep the files small; spaces in the names are part of the dataset.
    columns = list(data.data.columns[:8])
    return split(data.data[columns], data.target, 200, 2)


def iris():
    data = load_iris(as_frame=True)
    frame = data.data.rename(columns=lambda name: name.replace(" (cm)", "").replace(" ", "_"))
    return split(frame, data.target, 110, 3)


def mixed_frame(rows: int = 260, seed: int = 7) -> pd.DataFrame:
    """Numeric, string, int and bool columns, NaN in some, and a string column holding None."""
    rng = np.random.RandomState(seed)
    age = rng.uniform(18, 80, rows).round(1)
    age[rng.rand(rows) < 0.12] = np.nan
    income = rng.lognormal(10, 0.5, rows).round(2)
    income[rng.rand(rows) < 0.08] = np.nan
    city = rng.choice(["paris", "lyon", "nice"], rows, p=[0.5, 0.3, 0.2]).astype(object)
    city[rng.rand(rows) < 0.1] = np.nan
    # The None (not NaN) column: pandas builds this from records, SQL or JSON.
    color = rng.choice(["red", "green", "blue"], rows, p=[0.5, 0.3, 0.2]).astype(object)
    color[rng.rand(rows) < 0.15] = None
    return pd.DataFrame(
        {
            "id": np.arange(1000, 1000 + rows, dtype=np.int64),
            "age": age,
            "income": income,
            "city": pd.Series(city, dtype=object),
            "color": pd.Series(color, dtype=object),
            "rooms": rng.randint(1, 6, rows).astype(np.int64),
            "has_garden": rng.rand(rows) < 0.4,
            "tenure": rng.uniform(0, 20, rows).round(2),
        }
    )


def mixed():
    """The mixed frame with a numeric target, a string label and an int 3-class label."""
    frame = mixed_frame()
    age = frame["age"].fillna(45.0)
    income = frame["income"].fillna(22000.0)
    score = (
        0.8 * age
        + income / 1000.0
        + frame["city"].map({"paris": 12.0, "lyon": 4.0, "nice": -6.0}).fillna(1.0)
        + frame["color"].map({"red": 20.0, "green": -5.0, "blue": 3.0}).fillna(-30.0)
        + 3.0 * frame["rooms"]
        + 7.0 * frame["has_garden"]
        + 0.5 * frame["tenure"]
    )
    noise = np.random.RandomState(11).normal(0, 4.0, len(frame))
    value = pd.Series(score + noise, name="value")
    centered = value - value.median()
    label = pd.Series(np.where(centered > 0, "yes", "no").astype(object), name="label")
    tier = pd.Series(np.digitize(centered, [-8.0, 8.0]).astype(np.int64), name="tier")
    order = np.random.RandomState(5).permutation(len(frame))
    fit_rows, test_rows = order[:200], order[200 : 200 + HELD_OUT]
    train = frame.iloc[fit_rows].reset_index(drop=True)
    test = frame.iloc[test_rows].reset_index(drop=True)
    # Held-out rows hold a missing value in each nullable column, whatever the draw gave.
    test.loc[0, "age"] = np.nan
    test.loc[1, "income"] = np.nan
    test.loc[2, "city"] = np.nan
    test.loc[3, "color"] = None
    test.loc[4, ["age", "city", "color"]] = [np.nan, np.nan, None]
    # None stays None in the string column, and NaN stays NaN in the others.
    for part in (train, test):
        assert not part["color"].map(lambda v: isinstance(v, float)).any()
        assert part["color"].map(lambda v: v is None).any()
        assert not part["city"].map(lambda v: v is None).any()
    targets = {
        name: series.iloc[fit_rows].reset_index(drop=True)
        for name, series in (("value", value), ("label", label), ("tier", tier))
    }
    return train, targets, test


def to_json_value(value):
    """A numpy / pandas scalar as its JSON value: NaN and None become null, types are kept."""
    if value is None:
        return None
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        return None if math.isnan(value) else float(value)
    if isinstance(value, str | np.str_):
        return str(value)
    raise TypeError(f"no JSON form for {value!r} ({type(value).__name__})")


def records(frame: pd.DataFrame) -> list[dict]:
    return [
        {column: to_json_value(frame[column].iloc[i]) for column in frame.columns}
        for i in range(len(frame))
    ]


def describe(model) -> str:
    inner = getattr(model, "best_estimator_", None) or getattr(model, "regressor", None)
    if inner is not None and not isinstance(model, Pipeline):
        return f"{type(model).__name__}({describe(inner)})"
    if isinstance(model, Pipeline):
        return "Pipeline(" + ", ".join(describe(step) for _, step in model.steps) + ")"
    if isinstance(model, ColumnTransformer):
        parts = [f"{name}={describe(step)}" for name, step, _ in model.transformers]
        return f"ColumnTransformer({', '.join(parts)}, remainder={describe(model.remainder)})"
    if isinstance(model, str):
        return model
    changed = ", ".join(f"{k}={v!r}" for k, v in sorted(_changed_params(model).items()))
    return f"{type(model).__name__}({changed})"


def _changed_params(model) -> dict:
    # The constructor's own defaults (SelectFromModel has a required estimator).
    defaults = {
        name: parameter.default
        for name, parameter in inspect.signature(type(model)).parameters.items()
        if parameter.default is not inspect.Parameter.empty
    }
    return {
        key: value
        for key, value in model.get_params(deep=False).items()
        if not (key in defaults and _same(defaults[key], value))
    }


def _same(a, b) -> bool:
    try:
        return bool(a == b) or (a is b)
    except Exception:
        return a is b


def save(out: Path, name: str, model, train, target, test: pd.DataFrame, numpy_fit: bool = False):
    """Fit, then write the joblib file, the .skops file and the JSON with the outputs."""
    declared = None
    if numpy_fit:
        declared = list(train.columns)
        model.fit(train.to_numpy(), target.to_numpy())
        inputs = test.to_numpy()
    else:
        model.fit(train, target)
        inputs = test
    estimator = model.steps[-1][1] if isinstance(model, Pipeline) else model
    names = getattr(model, "feature_names_in_", None)
    document = {
        "release": RELEASE,
        "numpy": np.__version__,
        "pandas": pd.__version__,
        "skops": skops.__version__,
        "name": name,
        "estimator": describe(model),
        "kind": "logistic" if hasattr(estimator, "predict_proba") else "linear",
        "feature_names": None if names is None else [str(n) for n in names],
        "declared_features": declared,
        "rows": records(test),
        "predictions": [to_json_value(v) for v in model.predict(inputs)],
    }
    if hasattr(model, "best_score_"):
        document["best_score"] = float(model.best_score_)
    if hasattr(model, "predict_proba"):
        document["classes"] = [to_json_value(c) for c in model.classes_]
        document["probabilities"] = [[float(p) for p in row] for row in model.predict_proba(inputs)]
    joblib.dump(model, out / f"{name}.joblib")
    dump_skops(model, out / f"{name}.skops")
    (out / f"{name}.json").write_text(json.dumps(document) + "\n")


def dump_skops(model, path: Path) -> None:
    """skops.io.dump, deflated where this skops can (its schema.json is large uncompressed)."""
    if "compression" in inspect.signature(skops.io.dump).parameters:
        skops.io.dump(model, path, compression=zipfile.ZIP_DEFLATED)
    else:
        skops.io.dump(model, path)


def build(out: Path, only: str | None) -> list[str]:
    made: list[str] = []

    def add(name, model, data, numpy_fit=False):
        train, target, test = data
        save(out, name, model, train, target, test, numpy_fit)
        made.append(name)

    reg, clf, flowers = diabetes(), cancer(), iris()
    train, targets, test = mixed()
    if only in (None, "heads"):
        head_models.heads(add, reg, clf, flowers)
        head_models.later_steps(add, reg, (train, targets, test))
    if only == "heads":
        return made
    step_models.mixed_steps(add, train, targets, test)
    step_models.numeric_steps(add, reg, clf, flowers)
    if only == "steps":
        return made
    value, label, tier = targets["value"], targets["label"], targets["tier"]

    # Bare estimators on named frames, and one fitted on a numpy array.
    add("linear_regression", LinearRegression(), reg)
    add("ridge", Ridge(alpha=0.5), reg)
    add("lasso", Lasso(alpha=0.05), reg)
    add("elastic_net", ElasticNet(alpha=0.01, l1_ratio=0.3), reg)
    add("ridge_numpy", Ridge(alpha=1.0), reg, numpy_fit=True)
    add("logistic_binary", make_pipeline(StandardScaler(), LogisticRegression()), clf)
    add("logistic_binary_bare", LogisticRegression(max_iter=5000), clf)
    add("logistic_3class", LogisticRegression(max_iter=1000), flowers)
    add("logistic_3class_numpy", LogisticRegression(max_iter=1000), flowers, numpy_fit=True)
    if HAS_MULTI_CLASS:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)
            add("logistic_ovr_3class", LogisticRegression(multi_class="ovr"), flowers)
            add(
                "logistic_multinomial_binary",
                make_pipeline(StandardScaler(), LogisticRegression(multi_class="multinomial")),
                clf,
            )
            add("logistic_liblinear_3class", LogisticRegression(solver="liblinear"), flowers)

    # Scalers, each in a Pipeline.
    add("standard_ridge", make_pipeline(StandardScaler(), Ridge()), reg)
    add("minmax_lasso", make_pipeline(MinMaxScaler(), Lasso(alpha=0.05)), reg)
    add("maxabs_ridge", make_pipeline(MaxAbsScaler(), Ridge()), reg)
    add("robust_elastic_net", make_pipeline(RobustScaler(), ElasticNet(alpha=0.01)), reg)
    add("maxabs_logistic_3class", make_pipeline(MaxAbsScaler(), LogisticRegression()), flowers)

    # Imputers on the numeric columns of the mixed frame (NaN in age and income).
    nums = ["age", "income", "tenure"]
    for strategy in ("mean", "median", "most_frequent", "constant"):
        imputer = SimpleImputer(strategy=strategy)
        if strategy == "constant":
            imputer = SimpleImputer(strategy="constant", fill_value=0.0)
        add(
            f"imputer_{strategy}_ridge",
            make_pipeline(imputer, StandardScaler(), Ridge()),
            (train[nums], value, test[nums]),
        )
    add(
        "imputer_median_logistic",
        make_pipeline(SimpleImputer(strategy="median"), StandardScaler(), LogisticRegression()),
        (train[nums], label, test[nums]),
    )

    # One-hot encoders on string, int and bool columns (no missing values).
    cats = ["city", "rooms", "has_garden"]
    cat_train = train[cats].assign(city=train["city"].fillna("paris"))
    cat_test = test[cats].assign(city=test["city"].fillna("paris"))
    encoders = {
        "onehot_ignore": OneHotEncoder(handle_unknown="ignore"),
        "onehot_error": OneHotEncoder(handle_unknown="error"),
        "onehot_first": OneHotEncoder(drop="first"),
        "onehot_if_binary": OneHotEncoder(drop="if_binary"),
        "onehot_first_ignore": OneHotEncoder(drop="first", handle_unknown="ignore"),
    }
    for name, encoder in encoders.items():
        add(f"{name}_ridge", make_pipeline(encoder, Ridge()), (cat_train, value, cat_test))
    add(
        "onehot_if_binary_logistic",
        make_pipeline(OneHotEncoder(drop="if_binary"), LogisticRegression()),
        (cat_train, label, cat_test),
    )

    # ColumnTransformers on the whole mixed frame: nested pipelines, a dropped column,
    # remainder drop and passthrough.
    def columns(remainder: str, drop_id: bool) -> ColumnTransformer:
        parts = [
            ("num", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()), nums[:2]),
            (
                "cat",
                make_pipeline(
                    SimpleImputer(strategy="most_frequent"),
                    OneHotEncoder(handle_unknown="ignore"),
                ),
                ["city", "color"],
            ),
            ("flags", OneHotEncoder(drop="if_binary"), ["has_garden", "rooms"]),
        ]
        if drop_id:
            parts.append(("ignored", "drop", ["id"]))
        return ColumnTransformer(parts, remainder=remainder)

    everything = list(train.columns)
    no_id = [c for c in everything if c != "id"]
    add(
        "columns_drop_ridge",
        make_pipeline(columns("drop", True), Ridge()),
        (train, value, test),
    )
    add(
        "columns_drop_logistic",
        make_pipeline(columns("drop", True), LogisticRegression(max_iter=1000)),
        (train, label, test),
    )
    add(
        "columns_passthrough_ridge",
        make_pipeline(columns("passthrough", True), Ridge()),
        (train, value, test),
    )
    add(
        "columns_passthrough_logistic_3class",
        make_pipeline(columns("passthrough", False), LogisticRegression(max_iter=2000)),
        (train[no_id], tier, test[no_id]),
    )

    # None (not NaN) in a string column: SimpleImputer(missing_values=np.nan) leaves it alone
    # and the encoder learns None as a category of its own.
    none_cols = ["color", "rooms"]

    def none_pipeline(final):
        return make_pipeline(
            ColumnTransformer(
                [
                    (
                        "color",
                        make_pipeline(
                            SimpleImputer(missing_values=np.nan, strategy="most_frequent"),
                            OneHotEncoder(handle_unknown="ignore"),
                        ),
                        ["color"],
                    ),
                ],
                remainder="passthrough",
            ),
            final,
        )

    add("none_category_ridge", none_pipeline(Ridge()), (train[none_cols], value, test[none_cols]))
    add(
        "none_category_logistic",
        none_pipeline(LogisticRegression(max_iter=1000)),
        (train[none_cols], label, test[none_cols]),
    )
    add(
        "none_category_bare_ridge",
        make_pipeline(
            SimpleImputer(missing_values=np.nan, strategy="most_frequent"),
            OneHotEncoder(handle_unknown="ignore"),
            Ridge(),
        ),
        (train[["color"]], value, test[["color"]]),
    )
    wrapped_heads(add, reg, (train, targets, test), columns)
    return made


def wrapped_heads(add, reg, mixed_data, columns) -> None:
    """GLMs, transformed targets and fitted searches, on diabetes and the mixed frame."""
    from sklearn.compose import TransformedTargetRegressor
    from sklearn.linear_model import GammaRegressor, PoissonRegressor, TweedieRegressor
    from sklearn.model_selection import GridSearchCV, RandomizedSearchCV

    train, targets, test = mixed_data
    add("glm_poisson", make_pipeline(StandardScaler(), PoissonRegressor(alpha=0.01)), reg)
    add("glm_gamma", make_pipeline(StandardScaler(), GammaRegressor(alpha=0.01)), reg)
    add("glm_tweedie_identity", TweedieRegressor(power=0.0, alpha=0.01), reg)
    add(
        "target_log1p_ridge",
        TransformedTargetRegressor(
            make_pipeline(StandardScaler(), Ridge()), func=np.log1p, inverse_func=np.expm1
        ),
        reg,
    )
    add(
        "target_scaled_columns_ridge",
        make_pipeline(
            columns("drop", True),
            TransformedTargetRegressor(Ridge(), transformer=StandardScaler()),
        ),
        (train, targets["value"], test),
    )
    add(
        "grid_ridge",
        GridSearchCV(
            make_pipeline(StandardScaler(), Ridge()), {"ridge__alpha": [0.1, 1.0, 10.0]}, cv=3
        ),
        reg,
    )
    add(
        "random_columns_logistic",
        RandomizedSearchCV(
            make_pipeline(columns("drop", True), LogisticRegression(max_iter=1000)),
            {"logisticregression__C": [0.01, 0.1, 1.0, 10.0]},
            n_iter=3,
            cv=3,
            random_state=0,
            scoring="neg_log_loss",
        ),
        (train, targets["label"], test),
    )


def rewritten(stem: str, only: str | None) -> bool:
    """Tell whether a run limited to ``only`` writes the fixture ``stem`` again."""
    if only == "heads":
        return stem in head_models.NAMES
    if only == "steps":
        return stem.startswith("step_") and stem not in head_models.NAMES
    return True


def main() -> None:
    out = Path(sys.argv[1])
    # "steps": only step_models' fixtures; "heads": only head_models'; nothing: all of them.
    only = sys.argv[2] if len(sys.argv) > 2 else None
    out.mkdir(parents=True, exist_ok=True)
    for stale in out.iterdir():
        if rewritten(stale.name.split(".")[0], only):
            stale.unlink()
    with warnings.catch_warnings():
        # Old releases warn about newer numpy / pandas idioms, newer ones about coming changes
        # of defaults; the outputs are what matter.
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", FutureWarning)
        made = build(out, only)
    print(f"scikit-learn {RELEASE}: {len(made)} models in {out}")


if __name__ == "__main__":
    main()
