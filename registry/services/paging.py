"""One page of a query, with the total count of its rows."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session


def fetch_page(
    session: Session, query: Select[Any], page: int, per_page: int
) -> tuple[Sequence[Any], int]:
    """Return the rows of page ``page`` (from 1) of an ordered query, and its total rows."""
    total = session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
    rows = session.scalars(query.offset((page - 1) * per_page).limit(per_page)).all()
    return rows, total or 0
