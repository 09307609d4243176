"""Exporting a version's plan to run where the data lives: as SQL, or as the plan's own JSON."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from registry.export.dialects import DIALECTS, check_table_name
from registry.export.elementwise import SQL_OPS
from registry.export.sql import plan_sql
from registry.export.support import check_exportable
from registry.plans import Plan

FORMATS = ("sql", "json")
SQL_MEDIA_TYPE = "application/sql; charset=utf-8"
DEFAULT_TABLE = "features"


@dataclass(frozen=True)
class Exported:
    """An exported plan: its bytes and their media type."""

    body: bytes
    media_type: str


def export_plan(
    raw: Mapping[str, Any], format: str, dialect: str | None = None, table: str = DEFAULT_TABLE
) -> Exported:
    """Return the plan JSON ``raw`` in ``format``; raises NotExportable for a step it lacks.

    The caller checks ``format``, ``dialect`` and ``table`` first (check_request).
    """
    if format == "json":
        # The plan itself: its own documented format, whatever steps it holds.
        return Exported(orjson.dumps(dict(raw)), "application/json")
    check_exportable(raw, SQL_OPS)
    assert dialect is not None
    text = plan_sql(Plan(raw), DIALECTS[dialect], table)
    return Exported(text.encode(), SQL_MEDIA_TYPE)


def check_request(format: str | None, dialect: str | None, table: str | None) -> dict[str, list]:
    """Return what is wrong with an export request, field by field (empty when nothing is)."""
    errors: dict[str, list] = {}
    if format not in FORMATS:
        errors["format"] = [f"Use one of {', '.join(FORMATS)}."]
    if format == "sql" and dialect not in DIALECTS:
        errors["dialect"] = [f"format=sql needs a dialect: one of {', '.join(DIALECTS)}."]
    elif format in FORMATS and format != "sql" and dialect is not None:
        errors["dialect"] = ["Only format=sql takes a dialect."]
    if table is not None and format in FORMATS:
        why = check_table_name(table) if format == "sql" else "Only format=sql takes a table."
        if why:
            errors["table"] = [why]
    return errors
