"""What a worker holds of the registry to serve it: one entry per model, read whole or in part."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Select, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from registry.models import Alias, ModelVersion, RegisteredModel


@dataclass(frozen=True)
class ModelEntry:
    """What serving (and the docs) need to know about one model."""

    id: int
    name: str
    kind: str | None
    active_version: int | None
    aliases: dict[str, int]
    versions: frozenset[int]
    description: str
    # Which model this id names now: SQLite gives a deleted last row's id to the next model,
    # and that model's version numbers start again at 1.
    created_at: datetime


@dataclass(frozen=True)
class Snapshot:
    """The models a worker serves, as of ``generation`` (or newer), by name.

    An entry that is the same object as in the worker's previous snapshot is unchanged.
    """

    generation: int
    models: dict[str, ModelEntry]
    # Each model's name by id: what a change (which names the id) replaces or removes.
    names: dict[int, str] = field(default_factory=dict, repr=False)
    # The nonce of the change row of ``generation`` when read (None without one): the next
    # reload finds it again only if the database's history since is the one this came from.
    nonce: int | None = None

    def is_live(self, model_id: int, created_at: datetime, version: int) -> bool:
        """Tell whether a model of this snapshot, created then, has that version."""
        name = self.names.get(model_id)
        if name is None:
            return False
        entry = self.models[name]
        return entry.created_at == created_at and version in entry.versions


def read_entries(session: Session, ids: Iterable[int] | None) -> list[ModelEntry]:
    """Read the entries of the models with these ids (all models for None); absent ids give none."""
    wanted = None if ids is None else sorted(ids)
    if wanted == []:
        return []

    def only(query: Select, column: InstrumentedAttribute[int]) -> Select:
        return query if wanted is None else query.where(column.in_(wanted))

    models = session.execute(
        only(
            select(
                RegisteredModel.id,
                RegisteredModel.name,
                RegisteredModel.kind,
                RegisteredModel.active_version,
                RegisteredModel.description,
                RegisteredModel.created_at,
            ),
            RegisteredModel.id,
        )
    ).all()
    aliases: dict[int, dict[str, int]] = {}
    for model_id, name, version in session.execute(
        only(select(Alias.model_id, Alias.name, Alias.version), Alias.model_id)
    ):
        aliases.setdefault(model_id, {})[name] = version
    versions: dict[int, set[int]] = {}
    for model_id, version in session.execute(
        only(select(ModelVersion.model_id, ModelVersion.version), ModelVersion.model_id)
    ):
        versions.setdefault(model_id, set()).add(version)
    return [
        ModelEntry(
            id=model_id,
            name=name,
            kind=kind,
            active_version=active,
            aliases=aliases.get(model_id, {}),
            versions=frozenset(versions.get(model_id, ())),
            description=description,
            created_at=created_at,
        )
        for model_id, name, kind, active, description, created_at in models
    ]


def updated(
    previous: Snapshot,
    generation: int,
    nonce: int | None,
    changed: frozenset[int],
    entries: list[ModelEntry],
) -> Snapshot:
    """Return ``previous`` with the ``changed`` models' entries replaced by ``entries``.

    A changed id without an entry is a deleted model; every other entry is carried over.
    """
    if not changed:
        return Snapshot(generation, previous.models, previous.names, nonce)
    models, names = dict(previous.models), dict(previous.names)
    for model_id in changed:
        name = names.pop(model_id, None)
        if name is not None:
            del models[name]
    for entry in entries:
        models[entry.name], names[entry.id] = entry, entry.name
    return Snapshot(generation, models, names, nonce)


def replaced(
    previous: Snapshot, generation: int, nonce: int | None, entries: list[ModelEntry]
) -> Snapshot:
    """Return a snapshot of ``entries`` that keeps ``previous``'s objects for equal ones."""
    models, names = {}, {}
    for entry in entries:
        same = previous.models.get(entry.name)
        # Unchanged stays the same object, as after a partial reload (the docs rely on it).
        models[entry.name] = same if same == entry else entry
        names[entry.id] = entry.name
    return Snapshot(generation, models, names, nonce)
