"""A per-process view of the database's health: fail fast for a moment, log once per incident."""

from __future__ import annotations

import logging
import math
import time

from registry.errors import DatabaseUnavailable

log = logging.getLogger("registry.database")

# While an incident lasts, at most one "still unavailable" line this often.
LOG_EVERY = 60.0


def _reason(error: BaseException) -> str:
    original = getattr(error, "orig", None) or error
    first = (str(original).strip().splitlines() or [""])[0]
    return f"{type(original).__name__}: {first}"[:300]


class Health:
    """Counts failures into incidents and, after an outage, answers 503 without waiting.

    After an error that says the database is unreachable, this process does not try it again
    for ``retry_after`` seconds: requests get their 503 at once instead of each waiting out a
    timeout, and the workers stay free for liveness checks and predictions from memory.
    """

    def __init__(self, retry_after: float = 2.0) -> None:
        self.retry_after = retry_after
        self._retry_at = 0.0
        self._since: float | None = None
        self._failures = 0
        self._logged = 0.0

    def check(self) -> None:
        """Raise DatabaseUnavailable while the back-off after an outage lasts."""
        if self._retry_at and time.monotonic() < self._retry_at:
            self._failures += 1
            raise self._error()

    def failed(self, error: BaseException, outage: bool) -> DatabaseUnavailable:
        """Record a failure; return the error to raise. ``outage`` starts the back-off."""
        now = time.monotonic()
        self._failures += 1
        if self._since is None:
            self._since, self._logged = now, now
            log.warning(
                "The database is unavailable (%s); answering 503 until it is back.", _reason(error)
            )
        elif now - self._logged >= LOG_EVERY:
            self._logged = now
            log.warning(
                "The database is still unavailable after %.0f s, %d failed requests (%s).",
                now - self._since,
                self._failures,
                _reason(error),
            )
        if outage:
            self._retry_at = now + self.retry_after
        return self._error()

    def ok(self) -> None:
        """Record a success: ends an incident (with one line) and the back-off."""
        if self._since is not None:
            log.warning(
                "The database is available again after %.1f s, %d failed requests.",
                time.monotonic() - self._since,
                self._failures,
            )
            self._since, self._failures, self._retry_at = None, 0, 0.0

    def _error(self) -> DatabaseUnavailable:
        return DatabaseUnavailable(
            "The database is unavailable; try again shortly.",
            retry_after=max(1, math.ceil(self.retry_after)),
        )
