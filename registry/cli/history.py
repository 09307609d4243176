"""`manage.py versions compare` and `manage.py models events`: what changed, and when."""

from __future__ import annotations

import json
from typing import Any

import click

from registry.cli.common import echo_json, echo_table, format_number, workspace
from registry.services.compare import compare_versions
from registry.services.events import list_events

MAX_EVENTS = 500


@click.command("compare", help="Compare two versions: metrics (b - a), inputs, compatibility.")
@click.argument("name")
@click.argument("a", type=click.IntRange(min=1))
@click.argument("b", type=click.IntRange(min=1))
@click.option("--json", "as_json", is_flag=True, help="Print JSON (as the HTTP API) instead.")
def compare_command(name: str, a: int, b: int, as_json: bool) -> None:
    with workspace() as ws, ws.db.read() as session:
        result = compare_versions(session, name, a, b)
    if as_json:
        echo_json(
            {
                "a": a,
                "b": b,
                "metrics": result.metrics,
                "schema": result.schema,
                "compatible": result.compatible,
                "incompatibilities": result.incompatibilities,
            }
        )
        return
    click.echo(f"{name}: version {a} -> version {b}")
    if result.metrics:
        echo_table(
            ("METRIC", f"V{a}", f"V{b}", "DIFF (B - A)"),
            (
                (key, format_number(d.a), format_number(d.b), format_number(d.diff))
                for key, d in result.metrics.items()
            ),
        )
    else:
        click.echo("Neither version has metrics.")
    schema = result.schema
    click.echo("Inputs:")
    click.echo(f"  added: {', '.join(schema['added']) or '-'}")
    click.echo(f"  removed: {', '.join(schema['removed']) or '-'}")
    for change in schema["changed"]:
        click.echo(
            f"  changed: {change['name']} {_fields(change['from'])} -> {_fields(change['to'])}"
        )
    if result.compatible:
        click.echo(f"Compatible: yes (version {b} accepts every request version {a} accepts)")
    else:
        click.echo(f"Compatible: no (activating {b} after {a} needs --force)")
        for problem in result.incompatibilities:
            click.echo(f"  {problem}")


def _fields(values: dict[str, Any]) -> str:
    return " ".join(f"{k}={json.dumps(v)}" for k, v in values.items())


@click.command("events", help="Show a model's history, newest first: who did what, when.")
@click.argument("name")
@click.option(
    "--limit",
    type=click.IntRange(1, MAX_EVENTS),
    default=50,
    show_default=True,
    help="How many events.",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def events_command(name: str, limit: int, as_json: bool) -> None:
    with workspace() as ws, ws.db.read() as session:
        events = list_events(session, name, 1, limit).items
    if as_json:
        echo_json(list(events))
        return
    echo_table(
        ("AT", "ACTION", "VERSION", "ACTOR", "DETAIL"),
        (
            (
                e.at.strftime("%Y-%m-%d %H:%M:%S"),
                e.action,
                "-" if e.version is None else e.version,
                e.actor,
                " ".join(f"{k} {v}" for k, v in e.detail.items() if v is not None),
            )
            for e in events
        ),
    )
