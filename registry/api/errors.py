"""One error shape everywhere: RegistryError, HTTP errors and crashes become JSON."""

from __future__ import annotations

import logging

from flask import Flask, Response
from werkzeug.exceptions import HTTPException

from registry.api.context import registry
from registry.api.error_caps import cap_fields
from registry.api.jsonio import json_response
from registry.db import UNAVAILABLE, is_outage
from registry.errors import RegistryError

log = logging.getLogger(__name__)

_HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_failed",
    429: "too_many_requests",
}

_HTTP_MESSAGES = {
    404: "There is nothing at this URL.",
    405: "This URL does not accept that method.",
    413: "The request is larger than the limit.",
}


def registry_error_response(error: RegistryError) -> Response:
    """Return the JSON answer for a RegistryError."""
    body = error.to_body()
    if isinstance(body.get("errors"), dict):
        body["errors"] = cap_fields(body["errors"])
    response = json_response(body, error.status)
    retry_after = getattr(error, "retry_after", None)
    if retry_after is not None:
        response.headers["Retry-After"] = str(retry_after)
    return response


def _database_error(error: Exception) -> Response:
    # A database error that escaped Database.read()/write(): the same 503, counted the same way.
    return registry_error_response(registry().db.health.failed(error, is_outage(error)))


def _http_error(error: HTTPException) -> Response:
    status = error.code or 500
    message = _HTTP_MESSAGES.get(status) or (error.description or error.name).split("\n")[0]
    code = _HTTP_CODES.get(status, "http_error")
    response = json_response({"message": message, "code": code}, status)
    if status == 405 and error.valid_methods:
        response.headers["Allow"] = ", ".join(error.valid_methods)
    return response


UNREADABLE_BODY = "The request body could not be read."


def unreadable_body(error: Exception) -> bool:
    """Whether gunicorn raised this while the app read a malformed (e.g. chunked) body.

    Inside the app, gunicorn.http raises only while reading the request: NoMoreData (an
    OSError), InvalidChunkSize and ChunkMissingTerminator (ParseExceptions), and the like.
    """
    return type(error).__module__.startswith("gunicorn.http")


def _crash(error: Exception) -> Response:
    if unreadable_body(error):
        return json_response({"message": UNREADABLE_BODY, "code": "bad_request"}, 400)
    log.exception("Unhandled error", exc_info=error)
    return json_response(
        {"message": "The server failed to answer; the error was logged.", "code": "internal"},
        500,
    )


def register_error_handlers(app: Flask) -> None:
    """Make every error anywhere in the app answer with the JSON error shape."""
    app.register_error_handler(RegistryError, registry_error_response)
    for family in UNAVAILABLE:
        app.register_error_handler(family, _database_error)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(Exception, _crash)
