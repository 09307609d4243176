"""The event log: every state change, who made it, and from what to what."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from registry.models import Event, RegisteredModel
from registry.services.lookup import find_model
from registry.services.paging import fetch_page
from registry.services.results import EventInfo, Page


def record_event(
    session: Session,
    model: RegisteredModel,
    action: str,
    actor: str,
    version: int | None = None,
    **detail: Any,
) -> None:
    """Add one event to the caller's transaction."""
    session.add(
        Event(model_id=model.id, version=version, action=action, actor=actor, detail=detail)
    )


def list_events(session: Session, name: str, page: int, per_page: int) -> Page[EventInfo]:
    """Return a model's events, newest first. Raises ModelNotFound."""
    model = find_model(session, name)
    query = select(Event).where(Event.model_id == model.id).order_by(Event.id.desc())
    rows, total = fetch_page(session, query, page, per_page)
    items = tuple(
        EventInfo(
            id=e.id,
            model=model.name,
            version=e.version,
            action=e.action,
            actor=e.actor,
            at=e.at,
            detail=e.detail,
        )
        for e in rows
    )
    return Page(items, page, per_page, total)
