"""Strict JSON at the edge: orjson in and out, no NaN or Infinity, bounded size and depth."""

from __future__ import annotations

from typing import Any

import orjson
from flask import Response, request

from registry.errors import InvalidJson, PayloadTooLarge, UnsupportedMediaType

MAX_DEPTH = 32


def _depth_ok(value: Any, limit: int) -> bool:
    # Iterative, so that a hostile body cannot exhaust the stack.
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth > limit:
            return False
        for child in children:
            if isinstance(child, (dict, list)):
                stack.append((child, depth + 1))
    return True


def check_depth(value: Any) -> None:
    """Refuse a parsed value that nests deeper than MAX_DEPTH. Raises InvalidJson."""
    if not _depth_ok(value, MAX_DEPTH):
        raise InvalidJson(f"The body nests deeper than {MAX_DEPTH} levels.")


def _hint(error: orjson.JSONDecodeError) -> str:
    # pandas (MLflow's client) and tritonclient write a missing value as NaN, which JSON has not.
    at = error.doc[error.pos : error.pos + 8] if isinstance(error.doc, str) else ""
    if at.startswith(("NaN", "Infinity")):
        return " NaN and Infinity are not JSON: send null for a missing value."
    return ""


def parse_json(data: bytes, depth: bool = True) -> Any:
    """Parse strict JSON; ``depth=False`` leaves the nesting check to the caller.

    Raises InvalidJson.
    """
    try:
        value = orjson.loads(data)
    except orjson.JSONDecodeError as error:
        raise InvalidJson(f"The body is not valid JSON: {error.msg}.{_hint(error)}") from None
    if depth:
        check_depth(value)
    return value


def read_json_body(max_bytes: int, depth: bool = True) -> Any:
    """Return the request's JSON body, refusing other content types and oversized bodies.

    ``depth=False`` leaves the nesting check to the caller (see parse_json).
    Raises UnsupportedMediaType, PayloadTooLarge, InvalidJson.
    """
    environ = request.environ
    mimetype, _, options = environ.get("CONTENT_TYPE", "").partition(";")
    mimetype = mimetype.strip().lower()
    if mimetype != "application/json" and not mimetype.endswith("+json"):
        raise UnsupportedMediaType("Send the body as application/json.")
    check_utf8(options)
    return parse_json(read_body(max_bytes), depth)


def check_utf8(options: str) -> None:
    """Refuse a Content-Type whose charset is not UTF-8. Raises UnsupportedMediaType."""
    charset = options.lower().partition("charset=")[2].split(";")[0].strip(" \"'")
    if charset and charset not in ("utf-8", "utf8"):
        raise UnsupportedMediaType("Send the body in UTF-8; no other charset is read.")


def read_body(max_bytes: int) -> bytes:
    """Return the request's body bytes, at most ``max_bytes``. Raises PayloadTooLarge."""
    environ = request.environ
    length = request.content_length
    if length is not None and length > max_bytes:
        raise PayloadTooLarge(f"The body is over the limit of {max_bytes} bytes.")
    if length is not None:
        # Read once per request: the server bounds wsgi.input by Content-Length, and reading
        # it directly skips werkzeug's stream wrappers, a measurable part of a small request.
        data = environ["wsgi.input"].read(length)
    else:
        data = request.get_data(cache=True)
    if len(data) > max_bytes:
        raise PayloadTooLarge(f"The body is over the limit of {max_bytes} bytes.")
    return data


def dump_json(body: Any) -> bytes:
    """Return a body as JSON bytes, written by orjson."""
    return orjson.dumps(body, option=orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS)


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """Return a JSON response written by orjson."""
    return Response(
        dump_json(body),
        status=status,
        headers=headers,
        mimetype="application/json",
    )
