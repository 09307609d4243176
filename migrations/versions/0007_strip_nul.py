"""Remove the NUL characters (U+0000) that releases before the API refused them stored.

Those releases stored NUL in model and version tags (keys and values), metric names and, on
SQLite, descriptions. PostgreSQL keeps JSON as text with the escape \\u0000 that it cannot
unescape, so one such model tag failed every ?tag= search there; and an edit sending back what
a read gave is now refused (422). This revision removes the NUL characters from those values and
nothing else. Where a tag or metric name without its NUL becomes one the row already has, the
one already there (the name clients could use) stays and the other is dropped. Every row changed
gets a ``nul_removed`` event: ``fields`` names its changed columns, ``dropped_tags`` and
``dropped_metrics`` list what was dropped as [name, value] pairs. The generation advances
(announced on PostgreSQL) so that running servers read the rows again.
Event payloads stay as written: they are the history of what was sent, and nothing searches
inside them. On data without NUL it writes nothing.

Revision ID: 0007_strip_nul
Revises: 0006_version_intake
Create Date: 2026-11-30
"""

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0007_strip_nul"
down_revision = "0006_version_intake"
branch_labels = None
depends_on = None

ACTOR = "migration 0007_strip_nul"
NUL = "\x00"
# A JSON column holding a NUL holds this escape in its text (json.dumps writes it so); the
# test is wider than a NUL (an escaped backslash before u0000 passes too), Python decides.
ESCAPE = "\\u0000"

model = sa.table(
    "registered_model",
    sa.column("id", sa.Integer()),
    sa.column("description", sa.Text()),
    sa.column("tags", sa.JSON()),
)
version = sa.table(
    "model_version",
    sa.column("id", sa.Integer()),
    sa.column("model_id", sa.Integer()),
    sa.column("version", sa.Integer()),
    sa.column("description", sa.Text()),
    sa.column("tags", sa.JSON()),
    sa.column("metrics", sa.JSON()),
)
event = sa.table(
    "event",
    sa.column("model_id", sa.Integer()),
    sa.column("version", sa.Integer()),
    sa.column("action", sa.String()),
    sa.column("actor", sa.String()),
    sa.column("at", sa.DateTime(timezone=True)),
    sa.column("detail", sa.JSON()),
)


def _clean_mapping(mapping: Any) -> tuple[Any, list[list[Any]]]:
    """Return the mapping without NUL in its keys and text values, and the entries dropped."""
    if not isinstance(mapping, dict):
        return mapping, []
    # A key already clean wins over one that becomes it: it is the one clients could use.
    clean_keys = {key for key in mapping if NUL not in key}
    kept: dict[str, Any] = {}
    dropped: list[list[Any]] = []
    for key, value in mapping.items():
        new_key = key.replace(NUL, "")
        new_value = value.replace(NUL, "") if isinstance(value, str) else value
        if new_key in kept or (NUL in key and new_key in clean_keys):
            dropped.append([new_key, new_value])
        else:
            kept[new_key] = new_value
    return kept, dropped


def _changes(row: Any, columns: tuple[str, ...]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Return the cleaned values of the row's changed columns, and what its event says."""
    values: dict[str, Any] = {}
    detail: dict[str, Any] = {}
    for column in columns:
        stored = getattr(row, column)
        if isinstance(stored, str):
            cleaned, dropped = stored.replace(NUL, ""), []
        else:
            cleaned, dropped = _clean_mapping(stored)
        if cleaned != stored or dropped:
            values[column] = cleaned
            if dropped:
                detail[f"dropped_{column}"] = dropped
    if values:
        detail["fields"] = sorted(values)
    return values, detail


def _suspects(table: sa.TableClause, columns: tuple[str, ...]) -> sa.ColumnElement[bool]:
    """Return a condition true of every row that may hold a NUL (and of a few that do not)."""
    bind = op.get_bind()
    conditions = []
    for column in columns:
        stored = table.c[column]
        if isinstance(stored.type, sa.JSON):
            conditions.append(sa.cast(stored, sa.Text).contains(ESCAPE, autoescape=True))
        elif bind.dialect.name == "sqlite":
            # PostgreSQL text cannot hold NUL; SQLite's text functions stop at it, bytes do not.
            conditions.append(sa.func.instr(sa.cast(stored, sa.LargeBinary), b"\x00") > 0)
    return sa.or_(*conditions)


def upgrade() -> None:
    bind = op.get_bind()
    events = []
    now = datetime.now(UTC)
    for table, columns in (
        (model, ("description", "tags")),
        (version, ("description", "tags", "metrics")),
    ):
        rows = bind.execute(sa.select(table).where(_suspects(table, columns))).all()
        for row in rows:
            values, detail = _changes(row, columns)
            if not values:
                continue
            bind.execute(sa.update(table).where(table.c.id == row.id).values(**values))
            is_model = table is model
            events.append(
                {
                    "model_id": row.id if is_model else row.model_id,
                    "version": None if is_model else row.version,
                    "action": "nul_removed",
                    "actor": ACTOR,
                    "at": now,
                    "detail": detail,
                }
            )
    if not events:
        return
    op.bulk_insert(event, events)
    bind.execute(sa.text("UPDATE registry_state SET generation = generation + 1 WHERE id = 1"))
    if bind.dialect.name == "postgresql":
        # Running servers that listen for the generation hear it when this commits.
        bind.execute(
            sa.text(
                "SELECT pg_notify('registry_generation', CAST(generation AS TEXT)) "
                "FROM registry_state WHERE id = 1"
            )
        )


def downgrade() -> None:
    # The NUL characters are gone for good; the rows are valid at the previous revision as they are.
    pass
