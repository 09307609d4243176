"""Bearer tokens: create, resolve, list and revoke them; store only their hash."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from registry.errors import AmbiguousToken, BadRequest, TokenNotFound
from registry.models import MAX_ID, ApiToken, utcnow
from registry.services.paging import fetch_page
from registry.services.results import Page
from registry.services.state import NO_MODEL, bump_generation

ROLES = ("reader", "publisher", "admin")
# last_used_at is a hint for people ("unused since March"), so a minute of slack is fine.
USE_RESOLUTION = timedelta(minutes=1)


@dataclass(frozen=True)
class Identity:
    """Who made a request, and what they may do."""

    name: str
    role: str
    token_id: int | None = None

    def has(self, role: str) -> bool:
        """Tell whether this identity's role is at least ``role``."""
        return ROLES.index(self.role) >= ROLES.index(role)


@dataclass(frozen=True)
class TokenInfo:
    """A token as operators see it: never its secret, nor its hash."""

    id: int
    name: str
    role: str
    created_at: datetime
    last_used_at: datetime | None
    revoked: bool
    revoked_at: datetime | None


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
    return None if row is None else Identity(name=row.name, role=row.role, token_id=row.id)


def record_use(session: Session, token_id: int) -> None:
    """Set a token's last_used_at to now, unless another worker did within the resolution."""
    now = utcnow()
    session.execute(
        update(ApiToken)
        .where(
            ApiToken.id == token_id,
            or_(ApiToken.last_used_at.is_(None), ApiToken.last_used_at < now - USE_RESOLUTION),
        )
        .values(last_used_at=now)
    )


def _info(row: ApiToken) -> TokenInfo:
    return TokenInfo(
        id=row.id,
        name=row.name,
        role=row.role,
        created_at=row.created_at,
        last_used_at=row.last_used_at,
        revoked=row.is_revoked,
        revoked_at=row.revoked_at,
    )


def list_tokens(session: Session, page: int, per_page: int) -> Page[TokenInfo]:
    """Return a page of tokens, oldest first, revoked ones included."""
    rows, total = fetch_page(session, select(ApiToken).order_by(ApiToken.id), page, per_page)
    return Page(tuple(_info(row) for row in rows), page, per_page, total)


def find_token(session: Session, reference: str) -> ApiToken:
    """Return the token an id (all digits) or a name names.

    A name is looked up among live tokens first. Raises TokenNotFound, AmbiguousToken.
    """
    if reference.isascii() and reference.isdigit():
        number = int(reference)
        row = session.get(ApiToken, number) if 0 < number <= MAX_ID else None
        if row is None:
            raise TokenNotFound(f"There is no token with id {reference}.")
        return row
    if "\x00" in reference:  # no name holds NUL; PostgreSQL refuses a query with one
        raise TokenNotFound(f"There is no token named {reference!r}.")
    rows = session.scalars(
        select(ApiToken).where(ApiToken.name == reference).order_by(ApiToken.id)
    ).all()
    live = [row for row in rows if not row.is_revoked]
    if len(live) > 1:
        ids = ", ".join(str(row.id) for row in live)
        raise AmbiguousToken(
            f"{len(live)} live tokens are named {reference!r} (ids {ids}); name one by its id."
        )
    if live:
        return live[0]
    if rows:
        return rows[-1]
    raise TokenNotFound(f"There is no token named {reference!r}.")


def revoke_token(session: Session, reference: str) -> TokenInfo:
    """Revoke a token by id or name; every worker refuses it from the next request on.

    Revoking a revoked token changes nothing. Raises TokenNotFound, AmbiguousToken.
    """
    row = find_token(session, reference)
    if not row.is_revoked:
        row.is_revoked = True
        row.revoked_at = utcnow()
        # Workers cache resolved tokens until the generation moves: this ends those entries.
        bump_generation(session, NO_MODEL)
        session.flush()
    return _info(row)
