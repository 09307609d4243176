"""Operator commands: schema upgrades, tokens, serving."""

from __future__ import annotations

import socket
from collections.abc import Callable
from typing import Any, TypeVar

import click

from config import Config
from registry.cli.text_options import token_name_rule
from registry.db import connect
from registry.migrate import upgrade
from registry.services.tokens import ROLES, create_token

F = TypeVar("F", bound=Callable[..., Any])


def upgrade_database(config: Config) -> None:
    """Bring the configured database's schema up to date."""
    database = connect(config.database_url)
    try:
        upgrade(database.engine)
    finally:
        database.dispose()


@click.group("db", help="Manage the registry database schema.")
def db_group() -> None:
    pass


@db_group.command("upgrade", help="Apply every pending migration to REGISTRY_DATABASE_URL.")
def db_upgrade() -> None:
    upgrade_database(Config.from_env())
    click.echo("The database schema is up to date.")


@click.command("create-token", help="Create a bearer token and print it on the last line.")
@click.option("--role", type=click.Choice(ROLES), required=True, help="What the token may do.")
@click.option(
    "--name",
    required=True,
    callback=token_name_rule,
    help="Who or what the token is for (shown in events).",
)
def create_token_command(role: str, name: str) -> None:
    config = Config.from_env()
    upgrade_database(config)
    database = connect(config.database_url)
    try:
        with database.write() as session:
            token = create_token(session, role, name)
    finally:
        database.dispose()
    click.echo(f"Created a {role} token for {name}. It is shown once; keep it safe:")
    click.echo(token)


def server_options(command: F) -> F:
    """Add the --host, --port and --workers options of the commands that serve."""
    options = [
        click.option(
            "--host", default="127.0.0.1", show_default=True, help="Address to listen on."
        ),
        click.option(
            "--port", default=8000, show_default=True, type=int, help="Port to listen on."
        ),
        click.option(
            "--workers",
            default=2,
            show_default=True,
            type=click.IntRange(1, 64),
            help="Number of worker processes.",
        ),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def check_port_free(host: str, port: int) -> None:
    """Refuse, before any work or output, a port another program is listening on."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as error:
            raise click.ClickException(
                f"port {port} on {host} is in use ({error.strerror}); pass --port with a free one."
            ) from None


def serving_line(host: str, port: int) -> str:
    """Return the line that says where the server listens."""
    return f"Serving on http://{host}:{port}  (docs at http://{host}:{port}/docs)"


@click.command("serve", help="Upgrade the schema, then serve the API with gunicorn.")
@server_options
# demo says where it serves itself, so that its token stays on the last line.
@click.option("--banner/--no-banner", default=True, hidden=True)
def serve_command(host: str, port: int, workers: int, banner: bool) -> None:
    from registry.server import serve

    check_port_free(host, port)

    upgrade_database(Config.from_env())
    if banner:
        click.echo(serving_line(host, port))
    serve(host, port, workers)
