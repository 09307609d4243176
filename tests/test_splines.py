"""SplineTransformer's linear and periodic extrapolation, and one basis evaluation per input."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import make_column_transformer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, SplineTransformer, StandardScaler

from registry.errors import NotExportable
from registry.export import export_plan
from registry.intake.extract import extract
from registry.plans import Plan
from tests.test_steps import _diabetes, _fit, _rows, _shops, assert_exact, upload_and_predict

STEPS = [
    SplineTransformer(extrapolation="linear"),
    SplineTransformer(n_knots=4, degree=2, extrapolation="linear", include_bias=False),
    SplineTransformer(degree=1, knots="quantile", extrapolation="linear"),
    SplineTransformer(degree=0, extrapolation="linear"),
    SplineTransformer(extrapolation="periodic"),
    SplineTransformer(n_knots=6, degree=2, extrapolation="periodic", include_bias=False),
    SplineTransformer(degree=1, knots="quantile", extrapolation="periodic"),
    SplineTransformer(extrapolation="linear", sparse_output=True),
    SplineTransformer(extrapolation="periodic", sparse_output=True),
]


def _wider(X: pd.DataFrame) -> pd.DataFrame:
    """The data, and rows far outside the fitted range on both sides."""
    return pd.concat([X, X * 1.3, X * 4.0 - 0.2, -X * 2.5], ignore_index=True)


@pytest.mark.parametrize("step", STEPS, ids=str)
def test_linear_and_periodic_extrapolation_as_scikit_learn(step):
    X, y = _diabetes(scaled=True)
    X = X[["age", "bmi", "bp", "s5"]]
    scaler = StandardScaler(with_mean=not step.sparse_output)  # a sparse output is not centered
    estimator = _fit(make_pipeline(step, scaler, Ridge(alpha=1e-3)), X, y)
    plan = assert_exact(estimator, _wider(X))
    # One row at a time answers the same as the batch.
    rows = _rows(_wider(X).iloc[::97], X.columns)
    batch = plan.predict(rows).predictions
    one = [plan.predict({k: [v[i]] for k, v in rows.items()}).predictions[0] for i in range(5)]
    assert one == pytest.approx(batch[:5], rel=1e-12)


def test_periodic_and_linear_splines_with_gaps_in_a_classifier_over_http(client, tokens):
    frame, y = _shops()
    frame["month"] = (np.arange(len(frame)) % 12 + 1).astype(float)
    target = np.where(y > np.median(y), "dear", "cheap")
    columns = make_column_transformer(
        (SplineTransformer(n_knots=5, extrapolation="periodic", handle_missing="zeros"), ["month"]),
        (make_pipeline(SimpleImputer(), SplineTransformer(extrapolation="linear")), ["area"]),
        (OneHotEncoder(handle_unknown="ignore"), ["city"]),
    )
    estimator = _fit(make_pipeline(columns, LogisticRegression(max_iter=2000)), frame, target)
    wider = frame.assign(month=frame["month"] * 3 - 20, area=frame["area"] * 4)
    assert_exact(estimator, pd.concat([frame, wider], ignore_index=True))
    upload_and_predict(client, tokens, estimator, wider, "seasons")


def test_a_linear_spline_is_not_exportable_and_says_spline_transformer():
    X, y = _diabetes()
    estimator = _fit(make_pipeline(SplineTransformer(extrapolation="linear"), Ridge()), X, y)
    plan = extract(estimator).plan
    for format in ("sql", "onnx"):
        with pytest.raises(NotExportable, match="SplineTransformer"):
            export_plan(plan, format, "sqlite")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"extrapolate": "cubic"}, "extrapolate must be"),
        ({"extrapolate": "linear"}, "needs exactly"),
        ({"extrapolate": "linear", "below": [1.0], "above": [0.0, 0.0, 0.0]}, "below must be"),
        ({"extrapolate": "periodic", "index": 3}, "index must name a basis function"),
    ],
)
def test_spline_ops_are_checked_on_load(change, message):
    from registry.plans import PlanError
    from tests.test_steps import _ops_plan

    op = {"op": "bspline", "knots": [0.0, 1, 2, 3, 4, 5], "degree": 2, "index": 0}
    with pytest.raises(PlanError, match=message):
        Plan(_ops_plan([{**op, "extrapolate": True, **change}]))
