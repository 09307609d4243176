"""`manage.py versions` and `manage.py aliases`: push, list, activate, roll back, download."""

from __future__ import annotations

from pathlib import Path

import click

from registry.cli.common import (
    cli_actor,
    echo_json,
    echo_pushed,
    echo_versions,
    progress,
    read_file,
    workspace,
    write_output,
)
from registry.cli.text_options import (
    description_rule,
    features_rule,
    metrics_rule,
    tags_rule,
)
from registry.intake.sandbox import IntakeLimits
from registry.publishing import publish_version
from registry.services.activation import FORCE_HINT, activate_version, rollback
from registry.services.aliases import remove_alias, set_alias
from registry.services.versions import get_artifact, list_versions

MAX_ITEMS = 500


@click.group("versions", help="Push, list, activate, roll back and download versions.")
def versions_group() -> None:
    pass


@versions_group.command("list", help="List a model's versions, newest first.")
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def list_command(name: str, as_json: bool) -> None:
    with workspace() as ws, ws.db.read() as session:
        versions = list_versions(session, name, 1, MAX_ITEMS).items
    if as_json:
        echo_json(versions)
    elif versions:
        echo_versions(versions)
    else:
        click.echo(f"Model {name} has no versions yet.")


@versions_group.command(
    "push", help="Push a fitted estimator file (joblib or .skops) as the model's next version."
)
@click.argument("name")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--description",
    default="",
    callback=description_rule,
    help="What changed in this version.",
)
@click.option(
    "--metrics",
    callback=metrics_rule,
    help='Evaluation metrics as a JSON object, e.g. {"r2": 0.91}.',
)
@click.option(
    "--tag",
    "tags",
    multiple=True,
    metavar="KEY=VALUE",
    callback=tags_rule,
    help="A tag; repeatable.",
)
@click.option(
    "--features",
    callback=features_rule,
    help="Comma-separated input names, for an estimator fitted without column names.",
)
@click.option("--activate", is_flag=True, help="Make the new version active at once.")
def push_command(
    name: str,
    file: Path,
    description: str,
    metrics: dict[str, float],
    tags: dict[str, str],
    features: list[str] | None,
    activate: bool,
) -> None:
    data = read_file(file, "Reading  ")
    with workspace() as ws:
        with progress(1, "Uploading") as bar:
            version = publish_version(
                ws.db,
                ws.store,
                name,
                data,
                cli_actor(),
                feature_names=features,
                description=description,
                metrics=metrics,
                tags=tags,
                activate=activate,
                timeout=ws.config.intake_timeout,
                limits=IntakeLimits.from_config(ws.config),
            )
            bar.update(1)
        echo_pushed(ws, name, version)


@versions_group.command(
    "activate", help="Make a version the one that answers the model's predictions."
)
@click.argument("name")
@click.argument("version", type=click.IntRange(min=1))
@click.option("--force", is_flag=True, help="Skip the input schema compatibility check.")
def activate_command(name: str, version: int, force: bool) -> None:
    try:
        with workspace() as ws, ws.db.write() as session:
            model = activate_version(session, name, version, cli_actor(), force)
    except click.ClickException as error:
        error.message = error.message.replace(FORCE_HINT, "pass --force to activate it anyway")
        raise
    click.echo(f"Version {model.active_version} of {name} is active.")


@versions_group.command("rollback", help="Make the previously active version active again.")
@click.argument("name")
def rollback_command(name: str) -> None:
    with workspace() as ws, ws.db.write() as session:
        model = rollback(session, name, cli_actor())
    click.echo(f"Rolled {name} back; version {model.active_version} is active.")


@versions_group.command("download", help="Download a version's original file.")
@click.argument("name")
@click.argument("version", type=click.IntRange(min=1))
@click.option(
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Where to write it; by default NAME-vVERSION.joblib (or .skops) in this folder.",
)
def download_command(name: str, version: int, output: Path | None) -> None:
    with workspace() as ws, ws.db.read() as session:
        artifact = get_artifact(session, ws.store, name, version)
    path = output or Path(artifact.filename)
    write_output(path, artifact.data)
    click.echo(f"Wrote {path} ({len(artifact.data)} bytes, sha256 {artifact.sha256}).")


@click.group("aliases", help="Point names such as 'staging' at versions.")
def aliases_group() -> None:
    pass


@aliases_group.command("set", help="Point an alias at a version (moving it if it exists).")
@click.argument("name")
@click.argument("alias")
@click.argument("version", type=click.IntRange(min=1))
def alias_set_command(name: str, alias: str, version: int) -> None:
    with workspace() as ws, ws.db.write() as session:
        set_alias(session, name, alias, version, cli_actor())
    click.echo(f"Alias {alias} of {name} points at version {version}.")


@aliases_group.command("remove", help="Remove an alias.")
@click.argument("name")
@click.argument("alias")
def alias_remove_command(name: str, alias: str) -> None:
    with workspace() as ws, ws.db.write() as session:
        remove_alias(session, name, alias, cli_actor())
    click.echo(f"Removed alias {alias} of {name}.")
