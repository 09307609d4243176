"""Archiving and deleting: `versions archive|unarchive|delete` and `models delete`."""

from __future__ import annotations

import click

from registry.cli.common import cli_actor, workspace
from registry.services.models import delete_model
from registry.services.versions import delete_version, update_version


def _archive(name: str, version: int, archived: bool) -> None:
    with workspace() as ws, ws.db.write() as session:
        update_version(session, name, version, cli_actor(), archived=archived)


@click.command(
    "archive", help="Mark a version archived (kept, downloadable and predictable; listed as such)."
)
@click.argument("name")
@click.argument("version", type=click.IntRange(min=1))
def archive_command(name: str, version: int) -> None:
    _archive(name, version, True)
    click.echo(f"Archived {name} version {version}.")


@click.command("unarchive", help="Clear a version's archived mark.")
@click.argument("name")
@click.argument("version", type=click.IntRange(min=1))
def unarchive_command(name: str, version: int) -> None:
    _archive(name, version, False)
    click.echo(f"{name} version {version} is no longer archived.")


@click.command(
    "delete", help="Delete a version that is neither active nor aliased (its number is not reused)."
)
@click.argument("name")
@click.argument("version", type=click.IntRange(min=1))
@click.confirmation_option(prompt="Delete this version for good?", help="Do not ask first.")
def delete_version_command(name: str, version: int) -> None:
    with workspace() as ws, ws.db.write() as session:
        delete_version(session, name, version, cli_actor())
    click.echo(f"Deleted {name} version {version}.")


@click.command("delete", help="Delete a model with all its versions, aliases and history.")
@click.argument("name")
@click.confirmation_option(
    prompt="Delete this model, its versions and its history for good?", help="Do not ask first."
)
def delete_model_command(name: str) -> None:
    with workspace() as ws, ws.db.write() as session:
        delete_model(session, name, cli_actor())
    click.echo(f"Deleted model {name} with its versions, aliases and history.")
