"""The client's exceptions: one per HTTP status class, all under RegistryClientError."""

from __future__ import annotations

import json
from typing import Any

import requests


class RegistryClientError(Exception):
    """An answer that is not a success, with the server's status, code, message and errors."""

    def __init__(
        self,
        status: int | None,
        code: str,
        message: str,
        errors: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.errors = errors

    def __str__(self) -> str:
        text = f"{self.message} ({self.status} {self.code})"
        return f"{text}: {json.dumps(self.errors)}" if self.errors else text


class BadRequest(RegistryClientError):
    """400: the body or a parameter is malformed."""


class Unauthorized(RegistryClientError):
    """401: no token, or an invalid one."""


class Forbidden(RegistryClientError):
    """403: the token's role is too low."""


class NotFound(RegistryClientError):
    """404: no such model, version or alias, or nothing active."""


class Conflict(RegistryClientError):
    """409: a duplicate name, an incompatible activation, nothing to roll back to."""


class PayloadTooLarge(RegistryClientError):
    """413: the body, the upload or the batch is over the server's limit."""


class UnsupportedMediaType(RegistryClientError):
    """415: the wrong content type."""


class Unprocessable(RegistryClientError):
    """422: well-formed but invalid: bad feature values, an unsupported or untrusted model."""


class ServerError(RegistryClientError):
    """5xx: the server failed; it logged the error."""


class ConnectionFailed(RegistryClientError):
    """The server could not be reached, or did not answer in time (status None)."""


class ChecksumMismatch(RegistryClientError):
    """A downloaded artifact's bytes do not hash to the ETag the server sent (status None)."""


_BY_STATUS: dict[int, type[RegistryClientError]] = {
    400: BadRequest,
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    409: Conflict,
    413: PayloadTooLarge,
    415: UnsupportedMediaType,
    422: Unprocessable,
}


def error_from_response(response: requests.Response) -> RegistryClientError:
    """Return the exception for a failed answer, from its JSON error body when it has one."""
    status = response.status_code
    kind = _BY_STATUS.get(status, ServerError if status >= 500 else RegistryClientError)
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and isinstance(body.get("message"), str):
        return kind(
            status, str(body.get("code", "http_error")), body["message"], body.get("errors")
        )
    return kind(status, "http_error", f"HTTP {status} {response.reason}: {response.text[:200]}")
