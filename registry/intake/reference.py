"""The uploader's side of verification: its own scikit-learn's outputs on the probe rows."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def reference_outputs(
    estimator: Any, features: Sequence[str | dict[str, Any]] | None = None
) -> dict[str, Any]:
    """Return ``{"sklearn_version", "rows", "outputs"}`` for an estimator in memory.

    Runs the same extraction and probe rows as the server, then the estimator's own predict or
    predict_proba: the server checks its plan against these numbers, which are the ones the
    release that fitted the model gives. Raises the intake errors when the estimator is not
    supported, so the caller can leave the check to the server.
    """
    import sklearn

    from registry.intake.extract import extract
    from registry.intake.probes import keep_finite, probe_rows, sklearn_outputs

    names = None if features is None else [f if isinstance(f, str) else f["name"] for f in features]
    types = {
        f["name"]: {k: v for k, v in f.items() if k != "name"}
        for f in features or ()
        if not isinstance(f, str)
    }
    extraction = extract(estimator, names, types or None)
    rows = probe_rows(extraction)
    outputs = sklearn_outputs(estimator, extraction, rows, as_saved=False)
    rows, outputs = keep_finite(rows, outputs)
    return {"sklearn_version": sklearn.__version__, "rows": rows, "outputs": outputs}
