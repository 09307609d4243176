"""The preparation steps of the release fixtures: realistic pipelines, several steps in each.

Imported by generate.py (never by the registry). Each fixture is named step_*; a step a release
does not have (TargetEncoder before 1.3) or an option it does not have is left out of that
release's files, and its JSON's "estimator" says what the file holds.
"""

from __future__ import annotations

import inspect

import numpy as np
import pandas as pd
import sklearn
from sklearn.compose import ColumnTransformer, make_column_selector
from sklearn.feature_selection import (
    SelectFromModel,
    SelectKBest,
    SelectPercentile,
    VarianceThreshold,
    f_classif,
    f_regression,
)
from sklearn.impute import MissingIndicator, SimpleImputer
from sklearn.linear_model import Lasso, LogisticRegression, Ridge
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
)

MAJOR_MINOR = tuple(int(part) for part in sklearn.__version__.split(".")[:2])


def has_option(cls, name: str) -> bool:
    return name in inspect.signature(cls).parameters


def numeric_columns(frame: pd.DataFrame) -> list[str]:
    """A callable column selector, as a notebook defines one: the float columns."""
    return [c for c in frame.columns if frame[c].dtype.kind == "f"]


def text_columns(frame: pd.DataFrame) -> list[str]:
    return [c for c in frame.columns if frame[c].dtype == object]


def with_unknowns(test: pd.DataFrame) -> pd.DataFrame:
    """Held-out rows with unseen categories and values beyond the training range."""
    test = test.copy()
    test.loc[5, "city"] = "marseille"
    test.loc[6, "color"] = "purple"
    test.loc[7, "rooms"] = 9
    test.loc[8, ["age", "income", "tenure"]] = [97.0, 900000.0, 35.0]
    test.loc[9, ["age", "income", "tenure"]] = [1.0, 50.0, 0.0]
    return test


def imputed_scaled():
    return make_pipeline(SimpleImputer(strategy="median"), StandardScaler())


def imputed_one_hot(**options):
    options.setdefault("handle_unknown", "ignore")
    return make_pipeline(SimpleImputer(strategy="most_frequent"), OneHotEncoder(**options))


def infrequent_columns() -> ColumnTransformer:
    """One-hot encoders grouping rare categories, imputers with indicators, clipping scaler."""
    unknown = "warn" if MAJOR_MINOR >= (1, 6) else "infrequent_if_exist"
    return ColumnTransformer(
        [
            (
                "num",
                make_pipeline(
                    SimpleImputer(strategy="median", add_indicator=True), MinMaxScaler(clip=True)
                ),
                ["age", "income"],
            ),
            ("city", imputed_one_hot(min_frequency=0.25, handle_unknown=unknown), ["city"]),
            (
                "color",
                OneHotEncoder(max_categories=3, handle_unknown="infrequent_if_exist"),
                ["color"],
            ),
            (
                "rooms",
                OneHotEncoder(min_frequency=45, handle_unknown="infrequent_if_exist"),
                ["rooms"],
            ),
        ]
    )


def mixed_steps(add, train, targets, test) -> None:
    """Steps on the mixed frame (missing values, strings, ints, bools), with unseen rows."""
    value, label, tier = targets["value"], targets["label"], targets["tier"]
    unseen = with_unknowns(test)
    add(
        "step_onehot_infrequent_ridge",
        make_pipeline(infrequent_columns(), Ridge()),
        (train, value, unseen),
    )
    add(
        "step_onehot_infrequent_logistic_3class",
        make_pipeline(infrequent_columns(), LogisticRegression(max_iter=3000)),
        (train, tier, unseen),
    )
    ordinal = OrdinalEncoder(
        handle_unknown="use_encoded_value", unknown_value=-1, encoded_missing_value=-2
    )
    add(
        "step_ordinal_function_ridge",
        make_pipeline(
            ColumnTransformer(
                [
                    ("ordinal", ordinal, ["city", "color"]),
                    (
                        "log",
                        make_pipeline(
                            SimpleImputer(strategy="median"),
                            FunctionTransformer(np.log1p),
                            StandardScaler(),
                        ),
                        ["income"],
                    ),
                    ("sqrt", FunctionTransformer(np.sqrt), ["tenure"]),
                    ("long", Binarizer(threshold=10.0), ["tenure"]),
                    ("missing", MissingIndicator(), ["age", "income"]),
                    (
                        "square",
                        make_pipeline(SimpleImputer(), FunctionTransformer(np.square)),
                        ["age"],
                    ),
                ],
                remainder="passthrough",
            ),
            Ridge(),
        ),
        (train, value, unseen),
    )
    power_parts = [
        (
            "box_cox",
            make_pipeline(SimpleImputer(strategy="median"), PowerTransformer(method="box-cox")),
            ["income"],
        ),
        (
            "yeo_johnson",
            make_pipeline(SimpleImputer(), PowerTransformer(standardize=False)),
            ["age"],
        ),
        ("normal", QuantileTransformer(n_quantiles=50, output_distribution="normal"), ["tenure"]),
        ("uniform", QuantileTransformer(n_quantiles=40), ["rooms"]),
        ("city", imputed_one_hot(), ["city"]),
    ]
    if has_option(SplineTransformer, "handle_missing"):
        power_parts.append(
            ("spline", SplineTransformer(n_knots=4, handle_missing="zeros"), ["age"])
        )
    add(
        "step_power_quantile_ridge",
        make_pipeline(ColumnTransformer(power_parts), Ridge()),
        (train, value, test),
    )
    column_steps(add, train, value, label, test)
    if MAJOR_MINOR >= (1, 3):
        target_steps(add, train, targets, unseen)


def column_steps(add, train, value, label, test) -> None:
    """ColumnTransformers choosing columns by selector, position, mask and callable."""
    nested = ColumnTransformer(
        [("age", SimpleImputer(), ["age"]), ("tenure", "passthrough", ["tenure"])]
    )
    add(
        "step_columns_selector_ridge",
        make_pipeline(
            ColumnTransformer(
                [
                    ("num", imputed_scaled(), make_column_selector(pattern="^(?:age|income)$")),
                    ("cat", imputed_one_hot(), make_column_selector(dtype_include=object)),
                    (
                        "nested",
                        make_pipeline(
                            nested, make_pipeline(StandardScaler(), PolynomialFeatures(2))
                        ),
                        ["age", "tenure"],
                    ),
                ],
                remainder="passthrough",
            ),
            Ridge(),
        ),
        (train, value, test),
    )
    columns = list(train.columns)
    mask = [c in ("city", "color") for c in columns]
    add(
        "step_columns_positions_logistic",
        make_pipeline(
            ColumnTransformer(
                [
                    ("num", imputed_scaled(), [columns.index("age"), columns.index("income")]),
                    ("cat", imputed_one_hot(), mask),
                    (
                        "flags",
                        OneHotEncoder(),
                        slice(columns.index("rooms"), columns.index("tenure")),
                    ),
                ],
                remainder=StandardScaler(),
            ),
            LogisticRegression(max_iter=3000),
        ),
        (train, label, test),
    )
    add(
        "step_columns_callable_ridge",
        make_pipeline(
            ColumnTransformer(
                [
                    ("num", imputed_scaled(), numeric_columns),
                    ("cat", imputed_one_hot(), text_columns),
                ],
                remainder="drop",
            ),
            Ridge(),
        ),
        (train, value, test),
    )


def target_steps(add, train, targets, test) -> None:
    """TargetEncoder (1.3 on; multiclass targets from 1.4) and OrdinalEncoder's rare codes."""
    num = ("num", imputed_scaled(), ["age", "income"])
    ordinal = OrdinalEncoder(min_frequency=40, handle_unknown="use_encoded_value", unknown_value=-1)
    from sklearn.preprocessing import TargetEncoder

    add(
        "step_target_encoder_ridge",
        make_pipeline(
            ColumnTransformer(
                [
                    ("target", TargetEncoder(random_state=0), ["city", "color"]),
                    num,
                    ("ordinal", ordinal, ["rooms"]),
                ]
            ),
            Ridge(),
        ),
        (train, targets["value"], test),
    )
    label = "tier" if MAJOR_MINOR >= (1, 4) else "label"
    add(
        f"step_target_encoder_logistic_{'3class' if label == 'tier' else 'binary'}",
        make_pipeline(
            ColumnTransformer(
                [("target", TargetEncoder(random_state=0), ["city", "color", "rooms"]), num]
            ),
            LogisticRegression(max_iter=3000),
        ),
        (train, targets[label], test),
    )


def numeric_steps(add, reg, clf, flowers) -> None:
    """Steps on the bundled data sets: bins, powers, products, splines and selection."""
    add(
        "step_kbins_ridge",
        make_pipeline(
            ColumnTransformer(
                [
                    (
                        "quantile",
                        KBinsDiscretizer(n_bins=4, encode="onehot", strategy="quantile"),
                        ["age", "bmi"],
                    ),
                    (
                        "uniform",
                        KBinsDiscretizer(n_bins=5, encode="ordinal", strategy="uniform"),
                        ["bp", "s1"],
                    ),
                    (
                        "kmeans",
                        KBinsDiscretizer(n_bins=3, encode="onehot-dense", strategy="kmeans"),
                        ["s5", "s6"],
                    ),
                ],
                remainder="passthrough",
            ),
            Ridge(),
        ),
        reg,
    )
    add(
        "step_poly_spline_ridge",
        make_pipeline(
            ColumnTransformer(
                [
                    ("poly", make_pipeline(StandardScaler(), PolynomialFeatures(2)), ["bmi", "bp"]),
                    (
                        "interactions",
                        PolynomialFeatures(2, interaction_only=True, include_bias=False),
                        ["s1", "s2", "s3"],
                    ),
                    ("spline", SplineTransformer(n_knots=4, extrapolation="continue"), ["age"]),
                    (
                        "spline_constant",
                        SplineTransformer(
                            n_knots=5, degree=2, extrapolation="constant", include_bias=False
                        ),
                        ["s5"],
                    ),
                ]
            ),
            Ridge(alpha=0.1),
        ),
        reg,
    )
    add(
        "step_poly_logistic_3class",
        make_pipeline(StandardScaler(), PolynomialFeatures(2), LogisticRegression(max_iter=5000)),
        flowers,
    )
    add(
        "step_power_select_logistic",
        make_pipeline(
            PowerTransformer(), SelectKBest(f_classif, k=5), LogisticRegression(max_iter=2000)
        ),
        clf,
    )
    add(
        "step_select_ridge",
        make_pipeline(
            SelectPercentile(f_regression, percentile=70),
            StandardScaler(),
            SelectFromModel(Lasso(alpha=1.0), max_features=5),
            Ridge(),
        ),
        reg,
    )
    add(
        "step_variance_select_logistic",
        make_pipeline(
            VarianceThreshold(threshold=1.0),
            StandardScaler(),
            SelectFromModel(LogisticRegression(C=0.1, penalty="l1", solver="liblinear")),
            LogisticRegression(max_iter=2000),
        ),
        clf,
    )
