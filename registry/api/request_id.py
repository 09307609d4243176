"""Request IDs: a sane one the client sent, else a fresh one, on every answer and in the log."""

from __future__ import annotations

import os
import re
from typing import Any

HEADER = "X-Request-ID"
# Characters that cannot break a log line or a header: tokens, UUIDs, base64, trace IDs.
_SANE = re.compile(r"[A-Za-z0-9._:=+/-]{1,128}")


def request_id(environ: dict[str, Any]) -> str:
    """Return the request's ID: the client's X-Request-ID when it is sane, else a new one."""
    sent = environ.get("HTTP_X_REQUEST_ID")
    if sent is not None and _SANE.fullmatch(sent):
        return sent
    return os.urandom(16).hex()
