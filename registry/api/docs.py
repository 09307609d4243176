"""The documented API: the Flask-RESTX Api with its registry namespaces."""

from __future__ import annotations

from flask_restx import Api

AUTHORIZATIONS = {
    "bearer": {
        "type": "apiKey",
        "in": "header",
        "name": "Authorization",
        "description": "Bearer <token>, from `python manage.py create-token`",
    }
}


class RegistryApi(Api):
    """The registry's Api; errors go to the app's JSON handlers, not Flask-RESTX's."""

    def handle_error(self, e: Exception):  # type: ignore[override]
        raise e


def make_api() -> RegistryApi:
    """Return the Api, not yet bound to an app."""
    return RegistryApi(
        title="Model registry",
        version="1.0",
        description="Registry and prediction service for scikit-learn linear and logistic models.",
        prefix="/api/v1",
        doc="/docs",
        authorizations=AUTHORIZATIONS,
        security="bearer",
    )
