"""The HTTP layer: documented registry resources, prediction routes, operations, errors."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

import orjson
from flask import Flask, Response, request

from registry.api.converters import VersionConverter
from registry.api.docs import make_api
from registry.api.errors import register_error_handlers
from registry.api.exposure import guard_metrics
from registry.api.fastlane import PredictionFastLane
from registry.api.generation_header import register_generation_header
from registry.api.health import register_operations
from registry.api.predict import register_prediction_routes
from registry.api.request_id import HEADER, request_id

if TYPE_CHECKING:
    from registry.state import Registry

PREFIX = "/api/v1"


def init_api(app: Flask, registry: Registry) -> None:
    """Wire every route and error handler of the HTTP layer onto the app."""
    from registry.api.export_ns import ns as export_ns
    from registry.api.models_ns import ns as models_ns
    from registry.api.tokens_ns import ns as tokens_ns
    from registry.api.versions_ns import ns as versions_ns
    from registry.api.workflow_ns import ns as workflow_ns

    # Before any rule is added: every <int:...> in a path is a strict version number.
    app.url_map.converters["int"] = VersionConverter
    # A doubled slash is not a redirect to another resource: it is no route at all.
    app.url_map.merge_slashes = False
    api = make_api()
    api.add_namespace(models_ns)
    api.add_namespace(versions_ns)
    api.add_namespace(workflow_ns)
    api.add_namespace(export_ns)
    api.add_namespace(tokens_ns)
    api.init_app(app)
    app.extensions["registry_api"] = api
    register_prediction_routes(app, PREFIX)
    app.wsgi_app = PredictionFastLane(app.wsgi_app, registry)  # type: ignore[method-assign]
    register_operations(app)
    guard_metrics(app)
    register_error_handlers(app)
    register_generation_header(app, registry)

    worker = str(os.getpid()) if registry.config.worker_header else None

    @app.after_request
    def _count(response: Response) -> Response:
        registry.metrics.count_http(request.method, response.status_code)
        if request.method == "OPTIONS" and response.status_code == 200:
            response.set_data(orjson.dumps({"allow": sorted(response.allow)}))
            response.mimetype = "application/json"
        response.headers[HEADER] = request_id(request.environ)
        if worker is not None:
            # A debug setting: it tells workers apart, and tells clients the process IDs.
            response.headers["X-Worker"] = worker
        return response
