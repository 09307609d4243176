"""Operator commands for the artifact store: verify every file, collect unreferenced ones."""

from __future__ import annotations

import click

from registry.cli.common import workspace
from registry.services.integrity import unreferenced_items, verify_artifacts


@click.command("verify", help="Hash every version's artifact; exit 1 if any is missing or damaged.")
def verify_command() -> None:
    with workspace() as ws, ws.db.read() as session:
        result = verify_artifacts(session, ws.store)
    for damage in result.damaged:
        click.echo(f"{damage.model} v{damage.version}  {damage.state}  {damage.sha256}")
    if not result.damaged:
        click.echo(f"{result.checked} artifacts checked, all intact.")
        return
    click.echo(
        f"{result.checked} artifacts checked, {len(result.damaged)} damaged. "
        "Uploading the same file again repairs it."
    )
    raise SystemExit(1)


@click.command("gc", help="List artifact files no version refers to and stale temporary files.")
@click.option("--delete", "remove", is_flag=True, help="Remove what is listed.")
@click.option(
    "--min-age",
    default=3600,
    show_default=True,
    type=click.IntRange(0),
    help="Leave files younger than this many seconds (an upload may be about to use them).",
)
def gc_command(remove: bool, min_age: int) -> None:
    with workspace() as ws:
        with ws.db.read() as session:
            items = unreferenced_items(session, ws.store, min_age)
        if not items:
            click.echo("Nothing to collect.")
            return
        for item in items:
            click.echo(f"{'temporary' if item.temporary else 'unreferenced'}  {item.name}")
        if not remove:
            click.echo(f"{len(items)} files to collect; run again with --delete to remove them.")
            return
        with ws.db.write() as session:
            for item in items:
                ws.store.remove(session, item)
        click.echo(f"Removed {len(items)} files.")
