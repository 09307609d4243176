"""`manage.py versions export`: a version's plan as SQL to run where the data lives, or JSON."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from registry.cli.common import workspace, write_output
from registry.errors import ValidationFailed
from registry.export import DEFAULT_TABLE, DIALECTS, FORMATS, check_request, export_plan
from registry.services.versions import get_plan


@click.command("export", help="Export a version as a SQL SELECT that scores a table, or as JSON.")
@click.argument("name")
@click.argument("version", type=click.IntRange(min=1))
@click.option(
    "--format",
    "format_",
    type=click.Choice(FORMATS),
    default="sql",
    show_default=True,
    help="sql: a SELECT over the table's feature columns; json: the plan itself; "
    "onnx: an ONNX graph.",
)
@click.option(
    "--dialect",
    type=click.Choice(tuple(DIALECTS)),
    default="ansi",
    show_default=True,
    help="The SQL dialect.",
)
@click.option(
    "--table", help=f"The table (or schema.table) holding the features; default {DEFAULT_TABLE}."
)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write it to this file instead of stdout.",
)
def export_command(
    name: str,
    version: int,
    format_: str,
    dialect: str,
    table: str | None,
    output: Path | None,
) -> None:
    with workspace() as ws:
        errors = check_request(format_, dialect, table)
        if errors:
            raise ValidationFailed("The export request is not valid.", errors)
        with ws.db.read() as session:
            plan = get_plan(session, name, version)
        exported = export_plan(plan, format_, dialect, table or DEFAULT_TABLE)
    if output is None:
        # Bytes as they are: an ONNX graph is binary, SQL and JSON are UTF-8 already.
        sys.stdout.flush()
        sys.stdout.buffer.write(exported.body)
        sys.stdout.buffer.flush()
    else:
        write_output(output, exported.body)
        click.echo(f"Wrote {output} ({len(exported.body)} bytes).", err=True)
