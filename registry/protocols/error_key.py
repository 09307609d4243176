"""Errors under /v1 and /v2 carry "error", the key KServe, Triton and TF-Serving clients read.

The protocols' own routes answer that shape; this covers what the app answers for them:
unknown URLs, wrong methods, crashes.
"""

from __future__ import annotations

import orjson
from flask import Flask, Response, request

from registry.api.jsonio import dump_json

_PREFIXES = ("/v1/", "/v2/")


def _with_error_key(response: Response) -> Response:
    path = request.path
    if response.status_code < 400 or not (path == "/v2" or path.startswith(_PREFIXES)):
        return response
    if response.mimetype != "application/json":
        return response
    try:
        body = orjson.loads(response.get_data())
    except orjson.JSONDecodeError:
        return response
    if isinstance(body, dict) and "error" not in body and isinstance(body.get("message"), str):
        response.set_data(dump_json({"error": body["message"], **body}))
    return response


def add_error_key(app: Flask) -> None:
    """Give every error answer under /v1 and /v2 an "error" key beside the registry's shape."""
    app.after_request(_with_error_key)
