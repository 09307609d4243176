"""A fast lane for predictions: the happy path without Flask's dispatch, with the same answers.

Flask's request machinery costs about as much as a whole single-row prediction. This WSGI
wrapper answers a well-formed prediction itself, with the same functions the Flask view uses;
anything else, and any request it cannot answer with a 200 (an error of any kind, a query
string, an unusual header, an Accept naming CSV), goes on to the Flask app with its body
intact, so every error is still produced, shaped and counted in one place.
"""

from __future__ import annotations

import io
import os
import re
import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from registry.api.auth import authorize, identify
from registry.api.jsonio import dump_json, parse_json
from registry.api.predict import answer_body
from registry.api.request_id import HEADER, request_id
from registry.serving import GENERATION_HEADER

if TYPE_CHECKING:
    from registry.state import Registry

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]

_NAME = r"[a-z0-9][a-z0-9_-]{0,63}"
_ROUTE = re.compile(
    rf"/api/v1/models/(?P<name>{_NAME})/"
    rf"(?:versions/(?P<version>[1-9][0-9]{{0,8}})/|aliases/(?P<alias>{_NAME})/)?predict"
)
_JSON_TYPES = frozenset({"application/json", "application/json; charset=utf-8"})


class PredictionFastLane:
    """Wraps the Flask app's WSGI callable; answers successful predictions directly."""

    def __init__(self, app: WSGIApp, registry: Registry) -> None:
        self.app = app
        self.registry = registry
        self.worker = [("X-Worker", str(os.getpid()))] if registry.config.worker_header else []

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]):
        if environ.get("REQUEST_METHOD") != "POST" or environ.get("QUERY_STRING"):
            return self.app(environ, start_response)
        match = _ROUTE.fullmatch(environ.get("PATH_INFO", ""))
        length = environ.get("CONTENT_LENGTH", "")
        content_type = environ.get("CONTENT_TYPE", "").lower()
        if match is None or not length.isdigit() or content_type not in _JSON_TYPES:
            return self.app(environ, start_response)
        if "csv" in environ.get("HTTP_ACCEPT", ""):
            return self.app(environ, start_response)  # a CSV answer: Flask negotiates it
        if "HTTP_X_REGISTRY_GENERATION" in environ:
            return self.app(environ, start_response)  # Flask checks and honours it
        if int(length) > self.registry.config.max_body_bytes:
            return self.app(environ, start_response)
        started = time.perf_counter()
        data = environ["wsgi.input"].read(int(length))
        try:
            answer, version, rows = self._answer(environ, match, data)
        except Exception:  # noqa: BLE001 - the full path answers every error, once, properly
            environ["wsgi.input"] = io.BytesIO(data)
            return self.app(environ, start_response)
        body = dump_json(answer)
        start_response(
            "200 OK",
            [
                ("Content-Type", "application/json"),
                ("Content-Length", str(len(body))),
                (HEADER, request_id(environ)),
                (GENERATION_HEADER, str(self.registry.serving.generation)),
                *self.worker,
            ],
        )
        metrics = self.registry.metrics
        metrics.served(match["name"], str(version)).record(rows, time.perf_counter() - started)
        metrics.count_http("POST", 200)
        return [body]

    def _answer(
        self, environ: dict[str, Any], match: re.Match[str], data: bytes
    ) -> tuple[dict[str, Any], int, int]:
        registry = self.registry
        identity = identify(registry, environ.get("HTTP_AUTHORIZATION"))
        authorize(registry, identity, "reader")
        version = int(match["version"]) if match["version"] else None
        name = match["name"]
        _, resolved, plan = registry.serving.resolve(name, version, match["alias"])
        answer, rows = answer_body(
            registry, name, resolved, plan, parse_json(data, depth=False), False
        )
        return answer, resolved, rows
