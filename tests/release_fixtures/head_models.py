"""The heads beyond the first ones, and the steps added after step_models.py, for generate.py.

Run by `generate.py DIR heads`, which writes only these (head_* and the step_* named here), so
the other fixtures stay as their release wrote them. Like generate.py it imports only
scikit-learn, numpy and pandas.
"""

from __future__ import annotations

import numpy as np
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import (
    ARDRegression,
    BayesianRidge,
    ElasticNetCV,
    HuberRegressor,
    Lars,
    LarsCV,
    LassoCV,
    LassoLars,
    LassoLarsCV,
    LogisticRegressionCV,
    OrthogonalMatchingPursuit,
    QuantileRegressor,
    Ridge,
    RidgeCV,
    SGDClassifier,
    SGDRegressor,
)
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import (
    Normalizer,
    OneHotEncoder,
    OrdinalEncoder,
    SplineTransformer,
    StandardScaler,
)

# Written by this module: generate.py removes exactly these before writing them again.
NAMES = (
    "head_ridge_cv",
    "head_lasso_cv",
    "head_elastic_net_cv",
    "head_lars",
    "head_lars_cv",
    "head_lasso_lars",
    "head_lasso_lars_cv",
    "head_omp",
    "head_huber",
    "head_quantile",
    "head_bayesian_ridge",
    "head_ard",
    "head_sgd_regressor",
    "head_logistic_cv",
    "head_sgd_log_loss_3class",
    "step_normalizer_ridge",
    "step_spline_linear_periodic_ridge",
    "step_ordinal_nan_imputed_ridge",
)


def scaled(head):
    return make_pipeline(StandardScaler(), head)


def heads(add, reg, clf, flowers) -> None:
    """Every further regressor on diabetes, the classifiers on cancer and iris."""
    add("head_ridge_cv", scaled(RidgeCV(alphas=(0.1, 1.0, 10.0))), reg)
    add("head_lasso_cv", scaled(LassoCV(cv=3, random_state=0)), reg)
    add("head_elastic_net_cv", scaled(ElasticNetCV(l1_ratio=[0.2, 0.8], cv=3)), reg)
    add("head_lars", scaled(Lars(n_nonzero_coefs=6)), reg)
    add("head_lars_cv", scaled(LarsCV(cv=3)), reg)
    add("head_lasso_lars", scaled(LassoLars(alpha=0.05)), reg)
    add("head_lasso_lars_cv", scaled(LassoLarsCV(cv=3)), reg)
    add("head_omp", scaled(OrthogonalMatchingPursuit(n_nonzero_coefs=5)), reg)
    add("head_huber", scaled(HuberRegressor(max_iter=1000)), reg)
    # 'highs' by name: the default solver of the oldest releases needs a scipy they predate.
    add("head_quantile", scaled(QuantileRegressor(quantile=0.8, alpha=0.01, solver="highs")), reg)
    add("head_bayesian_ridge", scaled(BayesianRidge()), reg)
    add("head_ard", scaled(ARDRegression()), reg)
    add("head_sgd_regressor", scaled(SGDRegressor(random_state=0)), reg)
    add("head_logistic_cv", scaled(LogisticRegressionCV(cv=3, max_iter=2000)), clf)
    add(
        "head_sgd_log_loss_3class",
        scaled(SGDClassifier(loss="log_loss", random_state=0)),
        flowers,
    )


def later_steps(add, reg, mixed_data) -> None:
    """Normalizer, the linear and periodic splines, OrdinalEncoder's NaN for unseen categories."""
    train, targets, test = mixed_data
    add("step_normalizer_ridge", make_pipeline(StandardScaler(), Normalizer(), Ridge()), reg)
    add(
        "step_spline_linear_periodic_ridge",
        make_pipeline(
            ColumnTransformer(
                [
                    ("linear", SplineTransformer(n_knots=5, extrapolation="linear"), ["bmi"]),
                    ("periodic", SplineTransformer(n_knots=4, extrapolation="periodic"), ["bp"]),
                ],
                remainder=StandardScaler(),
            ),
            Ridge(),
        ),
        reg,
    )
    unseen = test.copy()
    unseen.loc[unseen.index[0], "city"] = "marseille"
    ordinal = make_pipeline(
        SimpleImputer(strategy="most_frequent"),
        OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=np.nan),
        SimpleImputer(strategy="mean"),
        StandardScaler(),
    )
    add(
        "step_ordinal_nan_imputed_ridge",
        make_pipeline(
            ColumnTransformer(
                [
                    ("ordinal", ordinal, ["city"]),
                    ("color", OneHotEncoder(handle_unknown="ignore"), ["color"]),
                    ("num", make_pipeline(SimpleImputer(), StandardScaler()), ["age", "tenure"]),
                ]
            ),
            Ridge(),
        ),
        (train, targets["value"], unseen),
    )
