"""gunicorn's access log: off unless REGISTRY_ACCESS_LOG names one; lines end with request IDs."""

from __future__ import annotations

from typing import Any

from config import Config

# Ends with the X-Request-ID of the answer (the client's, or the one the app made).
ACCESS_LOG_FORMAT = '%(h)s %(t)s "%(r)s" %(s)s %(b)s %(M)sms %({x-request-id}o)s'


def access_log_options() -> dict[str, Any]:
    """Return gunicorn's access log settings: REGISTRY_ACCESS_LOG ("-" is stderr), or none."""
    target = Config.from_env().access_log
    return {"accesslog": target or None, "access_log_format": ACCESS_LOG_FORMAT}
