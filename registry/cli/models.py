"""`manage.py models`: list, show and create registered models."""

from __future__ import annotations

import click

from registry.cli.common import (
    cli_actor,
    echo_json,
    echo_table,
    echo_versions,
    workspace,
)
from registry.cli.text_options import description_rule, tags_rule
from registry.services.models import create_model, get_model, list_models
from registry.services.versions import list_versions

KINDS = ("linear", "logistic")
MAX_ITEMS = 500


@click.group("models", help="List, show and create registered models.")
def models_group() -> None:
    pass


@models_group.command("list", help="List the registered models, by name.")
@click.option("--q", "query", help="Only models whose name contains this text.")
@click.option("--kind", type=click.Choice(KINDS), help="Only models of this kind.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def list_command(query: str | None, kind: str | None, as_json: bool) -> None:
    with workspace() as ws, ws.db.read() as session:
        page = list_models(session, 1, MAX_ITEMS, q=query, kind=kind)
    if as_json:
        echo_json(page.items)
        return
    if not page.items:
        click.echo("No models yet; create one with `manage.py models create NAME`.")
        return
    echo_table(
        ("NAME", "KIND", "ACTIVE", "LATEST", "ALIASES", "DESCRIPTION"),
        (
            (
                m.name,
                m.kind or "-",
                m.active_version or "-",
                m.latest_version or "-",
                ",".join(f"{a}={v}" for a, v in m.aliases.items()),
                m.description,
            )
            for m in page.items
        ),
    )


@models_group.command("show", help="Show a model and its versions.")
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
def show_command(name: str, as_json: bool) -> None:
    with workspace() as ws, ws.db.read() as session:
        model = get_model(session, name)
        versions = list_versions(session, name, 1, MAX_ITEMS).items
    if as_json:
        echo_json({"model": model, "versions": list(versions)})
        return
    click.echo(f"Model:       {model.name}")
    click.echo(f"Kind:        {model.kind or '- (set by its first version)'}")
    click.echo(f"Description: {model.description}")
    click.echo(f"Tags:        {', '.join(f'{k}={v}' for k, v in model.tags.items())}")
    click.echo(f"Active:      {model.active_version or '-'}")
    click.echo(f"Aliases:     {', '.join(f'{a}={v}' for a, v in model.aliases.items())}")
    if versions:
        click.echo("")
        echo_versions(versions)


@models_group.command("create", help="Register a new model, with no versions yet.")
@click.argument("name")
@click.option(
    "--kind", type=click.Choice(KINDS), help="Fix the kind now; by default its first version does."
)
@click.option(
    "--description",
    default="",
    callback=description_rule,
    help="What the model predicts, for its users.",
)
@click.option(
    "--tag",
    "tags",
    multiple=True,
    metavar="KEY=VALUE",
    callback=tags_rule,
    help="A tag; repeatable.",
)
def create_command(name: str, kind: str | None, description: str, tags: dict[str, str]) -> None:
    with workspace() as ws, ws.db.write() as session:
        model = create_model(session, name, cli_actor(), kind, description, tags)
    click.echo(f"Created model {model.name}.")
