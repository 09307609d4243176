"""The ceiling: a textbook Flask app whose route only parses the JSON body, under gunicorn."""

from __future__ import annotations

import argparse
from typing import Any

from flask import Flask, request

from registry.server import RegistryServer

# Shaped like a real single-row answer, so both servers write bodies of similar size.
ANSWER = {"model": "house", "version": 1, "prediction": 412345.678}
PARSER = "flask request.get_json() (the standard library json module)"


def create_ceiling_app() -> Flask:
    """Return the bare app: POST /predict parses the body and answers a constant."""
    app = Flask(__name__)

    @app.post("/predict")
    def predict() -> dict[str, Any]:
        request.get_json()
        return ANSWER

    @app.get("/ready")
    def ready() -> dict[str, Any]:
        return {"status": "ok"}

    return app


class CeilingServer(RegistryServer):
    """gunicorn running the bare app in each worker."""

    def load(self) -> Any:
        return create_ceiling_app()


def serve_ceiling(host: str, port: int, workers: int) -> None:
    """Run the bare app with the same gunicorn settings as registry.server.serve."""
    options = {
        "bind": f"{host}:{port}",
        "workers": workers,
        "worker_class": "sync",
        "timeout": 120,
        "accesslog": None,
        "errorlog": "-",
        "loglevel": "warning",
    }
    CeilingServer(options).run()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="Serve the benchmark's ceiling app.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--workers", type=int, default=2)
    arguments = parser.parse_args()
    serve_ceiling(arguments.host, arguments.port, arguments.workers)
