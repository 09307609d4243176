"""The application factory: settings, the per-app services object, the API and the CLI."""

from __future__ import annotations

from typing import Any

from flask import Flask

from config import Config
from registry.artifacts import make_store
from registry.db import connect
from registry.metrics import Metrics
from registry.services.token_cache import TokenCache
from registry.serving import Serving
from registry.state import EXTENSION, Registry


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Build an app from config.py, the environment and ``test_config`` overrides."""
    config = Config.from_env(test_config)
    app = Flask(__name__)
    app.config.update(
        MAX_CONTENT_LENGTH=max(config.max_upload_bytes, config.max_csv_bytes) + 1024 * 1024,
        RESTX_ERROR_404_HELP=False,
        RESTX_MASK_SWAGGER=False,
        TESTING=config.testing,
    )
    db = connect(config.database_url, config)
    registry = Registry(
        config=config,
        db=db,
        store=make_store(config.artifact_store, config.artifact_root),
        serving=Serving(db, config.plan_cache_size),
        metrics=Metrics(config.metrics_dir),
        tokens=TokenCache(),
    )
    app.extensions[EXTENSION] = registry

    from registry.api import init_api
    from registry.protocols import register_protocols
    from registry.web import init_web

    init_api(app, registry)
    register_protocols(app)
    init_web(app)
    return app
