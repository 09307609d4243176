"""Checking a plan against scikit-learn: predictions, explain sums, and the intake probes."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from registry.intake.extract import extract
from registry.intake.probes import probe_rows, sklearn_outputs
from registry.intake.verify import check_probes
from registry.plans import Plan
from registry.plans.target import predictions


def fit(estimator: Any, X: Any, y: Any) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # convergence warnings of small fits
        return estimator.fit(X, y)


def assert_exact(estimator: Any, X: Any) -> Plan:
    """Require the plan of ``estimator`` to predict X as scikit-learn does, to 1e-9 relative.

    Explain's parts must sum to the plan's score, and the score through the plan's link and
    target transforms must give the prediction.
    """
    extraction = extract(estimator)
    plan = Plan(extraction.plan)
    rows = {f.name: [None if v != v else v for v in X[f.name].tolist()] for f in plan.features}
    output = plan.predict(rows, explain=True)
    if plan.kind == "linear":
        expected = estimator.predict(X)
        got = np.array(output.predictions)
        sums = np.array([sum(c.values()) for c in output.contributions])
        again = predictions(plan.link, plan.target, sums)
        assert np.allclose(again, got, rtol=1e-9, atol=1e-9)
    else:
        expected = estimator.predict_proba(X)
        got = output.probabilities
        assert output.predictions == estimator.predict(X).tolist()
    scale = np.maximum(np.abs(expected), 1.0)
    assert np.max(np.abs(got - expected) / scale) <= 1e-9
    probes = probe_rows(extraction)
    check_probes(plan, probes, sklearn_outputs(estimator, extraction, probes))
    return plan
