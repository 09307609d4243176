"""Adapters for the protocols existing clients speak: each turns its body into the same rows.

Every protocol goes through ``scoring.score``: the same auth, version resolution, field-by-field
validation, plan and metrics as the native routes; only the body and answer shapes differ.
"""

from __future__ import annotations

from flask import Flask


def register_protocols(app: Flask) -> None:
    """Add every protocol's routes to the app."""
    from registry.protocols.kserve_v1 import blueprint as kserve_v1
    from registry.protocols.mlflow import blueprint as mlflow

    app.register_blueprint(kserve_v1)
    app.register_blueprint(mlflow)
