"""Adapters for the protocols existing clients speak: each turns its body into the same rows.

Every protocol goes through ``scoring.score``: the same auth, version resolution, field-by-field
validation, plan and metrics as the native routes; only the body and answer shapes differ.
"""

from __future__ import annotations

from flask import Flask


def register_protocols(app: Flask) -> None:
    """Add every protocol's routes to the app."""
    from registry.protocols.error_key import add_error_key
    from registry.protocols.kserve_v1 import blueprint as kserve_v1
    from registry.protocols.mlflow import blueprint as mlflow
    from registry.protocols.open_inference import blueprint as open_inference

    app.register_blueprint(kserve_v1)
    app.register_blueprint(mlflow)
    app.register_blueprint(open_inference)
    add_error_key(app)
