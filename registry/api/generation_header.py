"""X-Registry-Generation: every answer names the registry generation it was made at, and a
request naming one is answered from that generation or a newer one."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from flask import Flask, Response, request

from registry.errors import BadRequest, DatabaseUnavailable
from registry.serving import GENERATION_HEADER

if TYPE_CHECKING:
    from registry.state import Registry

_WHOLE = re.compile(r"[0-9]{1,18}")


def demanded_generation(sent: str) -> int:
    """Return the generation a request header names. Raises BadRequest."""
    if not _WHOLE.fullmatch(sent.strip()):
        raise BadRequest(
            f"{GENERATION_HEADER} must be a whole number from an earlier answer.",
            {GENERATION_HEADER: ["Not a whole number of at most 18 digits."]},
        )
    return int(sent)


def answered_generation(registry: Registry) -> int:
    """Return the generation an answer names: this worker's snapshot, or its own write's."""
    committed = registry.db.take_committed_generation()
    held = registry.serving.generation
    if held < 0:  # this worker's first request, which needed no snapshot: take one now
        try:
            held = registry.serving.snapshot().generation
        except DatabaseUnavailable:
            pass
    return max(held, -1 if committed is None else committed)


def register_generation_header(app: Flask, registry: Registry) -> None:
    """Honour the request header before any route runs, and set the answer's."""

    @app.before_request
    def _demand() -> None:
        sent = request.headers.get(GENERATION_HEADER)
        if sent is not None:
            registry.serving.snapshot_at_least(demanded_generation(sent))

    @app.after_request
    def _tell(response: Response) -> Response:
        generation = answered_generation(registry)
        if generation >= 0:
            response.headers[GENERATION_HEADER] = str(generation)
        return response
