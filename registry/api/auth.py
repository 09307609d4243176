"""Bearer-token authentication and role checks, with a short per-worker cache."""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import current_app, g, request

from registry.errors import Forbidden, Unauthorized
from registry.services.tokens import Identity, hash_token, resolve_token

F = TypeVar("F", bound=Callable[..., Any])
ANONYMOUS = Identity(name="anonymous", role="")
_CACHE_SECONDS = 5.0


class TokenCache:
    """Remembers resolved tokens for a few seconds, so auth costs microseconds."""

    def __init__(self) -> None:
        self._entries: dict[str, tuple[float, Identity | None]] = {}

    def resolve(self, token: str, lookup: Callable[[str], Identity | None]) -> Identity | None:
        key = hash_token(token)
        now = time.monotonic()
        hit = self._entries.get(key)
        if hit is not None and hit[0] > now:
            return hit[1]
        identity = lookup(token)
        if len(self._entries) > 10_000:
            self._entries.clear()
        self._entries[key] = (now + _CACHE_SECONDS, identity)
        return identity


def current_identity() -> Identity:
    """Return who is calling; a present but invalid token is refused with 401."""
    cached = g.get("identity")
    if cached is not None:
        return cached
    identity = identify(
        current_app.extensions["registry"], request.environ.get("HTTP_AUTHORIZATION")
    )
    g.identity = identity
    return identity


def identify(registry: Any, header: str | None) -> Identity:
    """Return the identity an Authorization header names. Raises Unauthorized."""
    if header is None:
        return ANONYMOUS
    scheme, _, token = header.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise Unauthorized("Send the token as 'Authorization: Bearer <token>'.")
    found = registry.tokens.resolve(token, lambda t: _lookup(registry, t))
    if found is None:
        raise Unauthorized("The token is not valid.")
    return found


def actor_name() -> str:
    """Return the name events record for the caller: the token's name."""
    return current_identity().name


def _lookup(registry: Any, token: str) -> Identity | None:
    with registry.db.read() as session:
        return resolve_token(session, token)


def check_role(role: str) -> Identity:
    """Return the caller's identity if it holds ``role``. Raises Unauthorized, Forbidden."""
    return authorize(current_app.extensions["registry"], current_identity(), role)


def authorize(registry: Any, identity: Identity, role: str) -> Identity:
    """Return ``identity`` if it may act with ``role``. Raises Unauthorized, Forbidden."""
    if identity is ANONYMOUS:
        if role == "reader" and not registry.config.auth_reads:
            return identity
        raise Unauthorized("This needs a token: send 'Authorization: Bearer <token>'.")
    if role and not identity.has(role):
        raise Forbidden(f"This needs the {role} role; the token has {identity.role}.")
    return identity


def requires(role: str) -> Callable[[F], F]:
    """Decorate a view so that it runs only for callers holding ``role``."""

    def decorate(view: F) -> F:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            check_role(role)
            return view(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorate
