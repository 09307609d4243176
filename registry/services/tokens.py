"""Bearer tokens: create them, store only their hash, and resolve them to a role."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from registry.errors import BadRequest
from registry.models import ApiToken

ROLES = ("reader", "publisher", "admin")


@dataclass(frozen=True)
class Identity:
    """Who made a request, and what they may do."""

    name: str
    role: str

    def has(self, role: str) -> bool:
        """Tell whether this identity's role is at least ``role``."""
        return ROLES.index(self.role) >= ROLES.index(role)


def hash_token(token: str) -> str:
    """Return the stored form of a token."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def create_token(session: Session, role: str, name: str) -> str:
    """Create a token and return it; only its hash is kept. Raises BadRequest."""
    if role not in ROLES:
        raise BadRequest(f"The role must be one of {', '.join(ROLES)}, not {role!r}.")
    token = f"reg_{secrets.token_urlsafe(32)}"
    session.add(ApiToken(name=name, role=role, token_hash=hash_token(token)))
    session.flush()
    return token


def resolve_token(session: Session, token: str) -> Identity | None:
    """Return the identity a token stands for, or None when it is unknown or revoked."""
    row = session.scalar(
        select(ApiToken).where(
            ApiToken.token_hash == hash_token(token), ApiToken.is_revoked.is_(False)
        )
    )
    return None if row is None else Identity(name=row.name, role=row.role)
