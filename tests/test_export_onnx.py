"""Exported ONNX graphs, run by onnxruntime, answer as scikit-learn and the plan do."""

from __future__ import annotations

import numpy as np
import onnxruntime
import pandas as pd
import pytest

from registry.errors import NotExportable
from registry.export import export_plan
from registry.intake.extract import extract
from registry.plans import Plan
from tests.export_data import (
    MODELS,
    hostile_plan,
    many_categories_frame,
    many_categories_plan,
    quantile_model,
)
from tests.factories import add_plan_version, churn_model, churn_plan


def _run(plan: dict, frame: pd.DataFrame) -> dict[str, np.ndarray]:
    """Score ``frame`` with the plan's ONNX graph: strings as strings ('' missing), else doubles."""
    session = onnxruntime.InferenceSession(export_plan(plan, "onnx").body)
    feeds = {}
    for feature in plan["features"]:
        column = frame[feature["name"]]
        if feature["type"] == "string":
            feeds[feature["name"]] = column.fillna("").astype(str).to_numpy(dtype=object)
        else:
            feeds[feature["name"]] = column.astype(float).to_numpy(dtype=np.float64)
    names = [output.name for output in session.get_outputs()]
    return dict(zip(names, session.run(None, feeds), strict=True))


@pytest.mark.parametrize("model", [m for m in MODELS if m != "quantiles"])
def test_onnx_export_scores_like_scikit_learn(model):
    make, data = MODELS[model]
    estimator, (frame, _) = make(), data()
    out = _run(extract(estimator).plan, frame)
    if hasattr(estimator, "predict_proba"):
        expected = estimator.predict_proba(frame)
        np.testing.assert_allclose(out["probabilities"], expected, rtol=1e-9, atol=1e-15)
        assert out["prediction"].tolist() == estimator.predict(frame).tolist()
    else:
        np.testing.assert_allclose(out["prediction"], estimator.predict(frame), rtol=1e-9)


def test_onnx_export_quotes_nothing_and_refuses_what_the_service_refuses():
    plan = hostile_plan()
    frame = pd.DataFrame(
        {
            'tenure"; DROP TABLE t; --': [3.0, None, 40.0, 12.0, 5.0],
            "seats": [1, 2, 3, 4, None],
            "plan": ["O'Brien", 'say "hi"; DROP TABLE t; --', "basic", "unheard of", "basic"],
        }
    )
    out = _run(plan, frame)
    rows = frame.head(4).astype(object).where(frame.head(4).notna(), None)
    expected = Plan(plan).predict({c: rows[c].tolist() for c in rows.columns})
    np.testing.assert_allclose(out["probabilities"][:4], expected.probabilities, rtol=1e-9)
    assert out["prediction"][:4].tolist() == expected.predictions
    # seats is required: without it the row has no probabilities, as the service has no answer.
    assert np.isnan(out["probabilities"][4]).all()


def test_many_categories_are_looked_up_as_the_plan_looks_them_up():
    plan, frame = many_categories_plan(), many_categories_frame()
    out = _run(plan, frame)
    known = (frame["floor"] < 40).to_numpy()
    rows = frame[known].astype(object).where(frame[known].notna(), None)
    expected = Plan(plan).predict({c: rows[c].tolist() for c in rows.columns})
    np.testing.assert_allclose(out["probabilities"][known], expected.probabilities, rtol=1e-9)
    assert out["prediction"][known].tolist() == expected.predictions
    assert np.isnan(out["probabilities"][~known]).all()


def test_a_quantile_step_is_not_exportable_to_onnx():
    with pytest.raises(NotExportable, match="'quantile'"):
        export_plan(extract(quantile_model()).plan, "onnx")


def test_the_export_route_returns_onnx(app, client):
    estimator = churn_model()
    add_plan_version(app, "churn", extract(estimator).plan)
    add_plan_version(app, "churn", churn_plan())
    answer = client.get("/api/v1/models/churn/versions/1/export?format=onnx")
    assert answer.status_code == 200
    assert answer.mimetype == "application/octet-stream"
    session = onnxruntime.InferenceSession(answer.data)
    assert {i.name for i in session.get_inputs()} == {"tenure", "seats", "plan"}
