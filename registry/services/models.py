"""Model use cases: create, find, list, edit, delete."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import (
    ColumnElement,
    Select,
    Text,
    and_,
    case,
    cast,
    delete,
    false,
    func,
    null,
    select,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from registry.errors import ModelExists
from registry.models import Alias, ModelVersion, RegisteredModel, utcnow
from registry.services.events import record_event
from registry.services.lookup import find_model
from registry.services.names import check_model_name
from registry.services.paging import fetch_page
from registry.services.results import ModelInfo, Page
from registry.services.state import bump_generation

# An escaped NUL in JSON text: \u0000 after an even number of backslashes (PostgreSQL regex).
NUL_ESCAPE = r"(^|[^\\])(\\\\)*\\u0000"


def describe_models(session: Session, models: Sequence[RegisteredModel]) -> list[ModelInfo]:
    """Turn model rows into ModelInfo, with their latest versions and aliases."""
    ids = [m.id for m in models]
    if not ids:
        return []
    latest = dict(
        session.execute(
            select(ModelVersion.model_id, func.max(ModelVersion.version))
            .where(ModelVersion.model_id.in_(ids))
            .group_by(ModelVersion.model_id)
        ).all()
    )
    aliases: dict[int, dict[str, int]] = {i: {} for i in ids}
    for alias in session.scalars(select(Alias).where(Alias.model_id.in_(ids)).order_by(Alias.name)):
        aliases[alias.model_id][alias.name] = alias.version
    return [
        ModelInfo(
            name=m.name,
            kind=m.kind,
            description=m.description,
            tags=dict(m.tags),
            active_version=m.active_version,
            latest_version=latest.get(m.id),
            aliases=aliases[m.id],
            created_at=m.created_at,
            updated_at=m.updated_at,
        )
        for m in models
    ]


def describe_model(session: Session, model: RegisteredModel) -> ModelInfo:
    """Turn one model row into ModelInfo."""
    return describe_models(session, [model])[0]


def create_model(
    session: Session,
    name: str,
    actor: str,
    kind: str | None = None,
    description: str = "",
    tags: dict[str, str] | None = None,
) -> ModelInfo:
    """Register a new model. Raises InvalidName, ModelExists."""
    check_model_name(name)
    if session.scalar(select(RegisteredModel.id).where(RegisteredModel.name == name)):
        raise ModelExists(f"A model called {name!r} already exists.")
    now = utcnow()
    model = RegisteredModel(
        name=name,
        kind=kind,
        description=description,
        tags=tags or {},
        last_version=0,
        created_at=now,
        updated_at=now,
    )
    session.add(model)
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError:
        raise ModelExists(f"A model called {name!r} already exists.") from None
    record_event(session, model, "model_created", actor, kind=kind)
    bump_generation(session, model.id)
    return describe_model(session, model)


def get_model(session: Session, name: str) -> ModelInfo:
    """Return one model. Raises ModelNotFound."""
    return describe_model(session, find_model(session, name))


def _tag_equals(key: str, value: str, dialect: str) -> ColumnElement[bool]:
    found = RegisteredModel.tags[key].as_string()
    if dialect != "postgresql":
        return found == value
    # PostgreSQL keeps json as text and unescapes all of it to answer ->>: tags holding an
    # escaped NUL (stored before the API refused it) failed every tag search, for every caller.
    # Such a row matches no tag search instead; the substring test spares the regex elsewhere.
    raw = cast(RegisteredModel.tags, Text)
    holds_nul = and_(func.strpos(raw, "\\u0000") > 0, raw.regexp_match(NUL_ESCAPE))
    return case((holds_nul, null()), else_=found) == value


def _filtered(q: str | None, tag: tuple[str, str] | None, kind: str | None, dialect: str) -> Select:
    query = select(RegisteredModel)
    if "\x00" in (q or "") + (kind or "") + "".join(tag or ()):
        # No name, kind or tag holds NUL; PostgreSQL refuses it, SQLite's LIKE stops at it and
        # its JSON path cannot hold it.
        return query.where(false())
    if q:
        escaped = q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        query = query.where(RegisteredModel.name.like(f"%{escaped}%", escape="\\"))
    if tag is not None:
        query = query.where(_tag_equals(*tag, dialect))
    if kind:
        query = query.where(RegisteredModel.kind == kind)
    return query


def list_models(
    session: Session,
    page: int,
    per_page: int,
    q: str | None = None,
    tag: tuple[str, str] | None = None,
    kind: str | None = None,
) -> Page[ModelInfo]:
    """Return a page of models, by name, filtered by name substring, tag and kind."""
    dialect = session.get_bind().dialect.name
    query = _filtered(q, tag, kind, dialect).order_by(RegisteredModel.name)
    rows, total = fetch_page(session, query, page, per_page)
    return Page(tuple(describe_models(session, rows)), page, per_page, total)


def update_model(
    session: Session,
    name: str,
    actor: str,
    description: str | None = None,
    tags: dict[str, str] | None = None,
) -> ModelInfo:
    """Edit a model's description and replace its tags. Raises ModelNotFound."""
    model = find_model(session, name, lock=True)
    changed = {}
    if description is not None:
        model.description = description
        changed["description"] = description
    if tags is not None:
        model.tags = dict(tags)
        changed["tags"] = tags
    model.updated_at = utcnow()
    record_event(session, model, "model_updated", actor, **changed)
    bump_generation(session, model.id)
    session.flush()
    return describe_model(session, model)


def delete_model(session: Session, name: str, actor: str) -> None:
    """Delete a model with its versions, aliases and events. Raises ModelNotFound."""
    model = find_model(session, name, lock=True)
    # Break the model -> active version reference before the versions go.
    model.active_version = None
    session.flush()
    session.execute(delete(Alias).where(Alias.model_id == model.id))
    session.execute(delete(RegisteredModel).where(RegisteredModel.id == model.id))
    session.expunge(model)
    bump_generation(session, model.id)
