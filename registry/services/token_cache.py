"""A worker's memory of resolved tokens, so that most requests need no token lookup."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

from registry.services.tokens import USE_RESOLUTION, Identity, hash_token

# An entry lives until the generation moves (a revocation bumps it) and at most this long, a
# bound for changes made behind the registry's back (an UPDATE typed into the database).
_CACHE_SECONDS = 5.0


@dataclass
class _Entry:
    generation: int
    expires: float
    identity: Identity | None


class TokenCache:
    """Remembers resolved tokens while the registry generation stands still.

    Revoking a token bumps the generation, and every worker reads the generation before
    trusting an entry, so a revocation holds on every worker from the next request on.
    """

    def __init__(self) -> None:
        self._entries: dict[str, _Entry] = {}
        self._recorded: dict[int, float] = {}

    def resolve(
        self, token: str, generation: int, lookup: Callable[[str], Identity | None]
    ) -> Identity | None:
        key = hash_token(token)
        now = time.monotonic()
        hit = self._entries.get(key)
        if hit is not None and hit.generation == generation and hit.expires > now:
            return hit.identity
        identity = lookup(token)
        if len(self._entries) > 10_000:
            self._entries.clear()
        self._entries[key] = _Entry(generation, now + _CACHE_SECONDS, identity)
        return identity

    def use_is_due(self, token_id: int) -> bool:
        """Tell whether this worker should write the token's last_used_at now (once a minute)."""
        now = time.monotonic()
        if now - self._recorded.get(token_id, -math.inf) < USE_RESOLUTION.total_seconds():
            return False
        if len(self._recorded) > 10_000:
            self._recorded.clear()
        self._recorded[token_id] = now
        return True
