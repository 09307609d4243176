"""Exporting a version's plan to run where the data lives: as SQL, or as the plan's own JSON."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from registry.export.dialects import DIALECTS, TABLE_PATTERN, check_table_name
from registry.export.elementwise import SQL_OPS
from registry.export.sql import plan_sql
from registry.export.support import check_exportable
from registry.plans import Plan

__all__ = [
    "DEFAULT_TABLE",
    "DIALECTS",
    "FORMATS",
    "TABLE_PATTERN",
    "Exported",
    "check_request",
    "export_plan",
]

FORMATS = ("sql", "json", "onnx")
# Steps the ONNX graph builds: a quantile's interpolation table is left to SQL.
ONNX_OPS = {"affine", "clip", "ufunc", "step", "yeo_johnson", "box_cox"}
SQL_MEDIA_TYPE = "application/sql; charset=utf-8"
DEFAULT_TABLE = "features"


@dataclass(frozen=True)
class Exported:
    """An exported plan: its bytes and their media type."""

    body: bytes
    media_type: str


def export_plan(
    raw: Mapping[str, Any], format: str, dialect: str = "ansi", table: str = DEFAULT_TABLE
) -> Exported:
    """Return the plan JSON ``raw`` in ``format``; raises NotExportable for a step it lacks.

    The caller checks ``format``, ``dialect`` and ``table`` first (check_request).
    """
    if format == "json":
        # The plan itself: its own documented format, whatever steps it holds.
        return Exported(orjson.dumps(dict(raw)), "application/json")
    if format == "onnx":
        from registry.export.onnx_graph import plan_onnx  # onnx loads only when asked for

        check_exportable(raw, ONNX_OPS)
        return Exported(plan_onnx(Plan(raw)), "application/octet-stream")
    check_exportable(raw, SQL_OPS)
    text = plan_sql(Plan(raw), DIALECTS[dialect], table)
    return Exported(text.encode(), SQL_MEDIA_TYPE)


def check_request(format: str | None, dialect: str | None, table: str | None) -> dict[str, list]:
    """Return what is wrong with an export request, field by field (empty when nothing is).

    The dialect and table are checked with any format, though only SQL uses them: one
    request's fields are valid or not on their own.
    """
    errors: dict[str, list] = {}
    if format not in FORMATS:
        errors["format"] = [f"Use one of {', '.join(FORMATS)}."]
    if dialect not in DIALECTS:
        errors["dialect"] = [f"Use one of {', '.join(DIALECTS)}."]
    why = None if table is None else check_table_name(table)
    if why:
        errors["table"] = [why]
    return errors
