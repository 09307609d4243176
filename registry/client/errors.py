"""The client's exceptions: one per HTTP status class, all under RegistryClientError."""

from __future__ import annotations

import json
from typing import Any

import requests

from registry.suggestions import name_absent

SHOWN_ERRORS = 3
MAX_DETAIL = 1_000


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
        if not self.errors:
            return text
        # A few entries, then how many more: a batch's errors can name thousands of rows.
        shown = dict(list(self.errors.items())[:SHOWN_ERRORS])
        more = len(self.errors) - len(shown)
        detail = json.dumps(shown)
        if len(detail) > MAX_DETAIL:
            detail = detail[: MAX_DETAIL - 3] + "..."
        return f"{text}: {detail}" + (f" and {more} more" if more > 0 else "")


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


class MissingFeatures(ValueError):
    """A DataFrame lacks features the model needs; nothing was sent."""

    def __init__(self, model: str, version: int, absent: list[str], spare: list[str]) -> None:
        named = name_absent(absent, spare)
        super().__init__(
            f"The frame has no column for {named}, which {model} v{version} takes; rename the "
            "column, or pass allow_missing=True to have them filled in as the model was "
            "trained to."
        )
        self.absent = absent
