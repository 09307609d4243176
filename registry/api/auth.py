"""Bearer-token authentication and role checks, with a per-worker cache revocation ends."""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import current_app, g, request

from registry.errors import Forbidden, Unauthorized
from registry.services.tokens import (
    Identity,
    record_use,
    resolve_token,
)

F = TypeVar("F", bound=Callable[..., Any])
log = logging.getLogger(__name__)
ANONYMOUS = Identity(name="anonymous", role="")


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
    # Read before the lookup: a revocation committed in between is seen by the next request.
    generation = registry.serving.snapshot().generation
    found = registry.tokens.resolve(token, generation, lambda t: _lookup(registry, t))
    if found is None:
        raise Unauthorized("The token is not valid.")
    if found.token_id is not None and registry.tokens.use_is_due(found.token_id):
        _record_use(registry, found.token_id)
    return found


def actor_name() -> str:
    """Return the name events record for the caller: the token's name."""
    return current_identity().name


def _lookup(registry: Any, token: str) -> Identity | None:
    with registry.db.read() as session:
        return resolve_token(session, token)


def _record_use(registry: Any, token_id: int) -> None:
    try:
        with registry.db.write() as session:
            record_use(session, token_id)
    except Exception as error:  # noqa: BLE001 - a usage hint never fails the request
        log.warning("Could not record the use of token %d: %s", token_id, error)


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

        # The spec reads it: reader operations are declared open unless reads are closed.
        wrapper.required_role = role  # type: ignore[attr-defined]
        return wrapper  # type: ignore[return-value]

    return decorate
