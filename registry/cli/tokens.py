"""Token commands: list them (never their secrets) and revoke one."""

from __future__ import annotations

from datetime import datetime

import click

from registry.cli.common import echo_json, echo_table, workspace
from registry.services.tokens import list_tokens, revoke_token

MAX_TOKENS = 100_000


@click.group("tokens", help="List and revoke bearer tokens (create them with create-token).")
def tokens_group() -> None:
    pass


def _when(value: datetime | None) -> str:
    return "-" if value is None else value.strftime("%Y-%m-%d %H:%M")


@tokens_group.command("list", help="List tokens: id, name, role, created, last used, status.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def list_command(as_json: bool) -> None:
    with workspace() as ws, ws.db.read() as session:
        page = list_tokens(session, 1, MAX_TOKENS)
    if as_json:
        echo_json(page.items)
        return
    if not page.items:
        click.echo("No tokens yet; create one with `manage.py create-token`.")
        return
    echo_table(
        ("ID", "NAME", "ROLE", "CREATED", "LAST USED", "STATUS"),
        (
            (
                t.id,
                t.name,
                t.role,
                _when(t.created_at),
                _when(t.last_used_at),
                f"revoked {_when(t.revoked_at)}" if t.revoked else "live",
            )
            for t in page.items
        ),
    )


@tokens_group.command("revoke", help="Revoke a token by id, or by name if one live token has it.")
@click.argument("reference")
def revoke_command(reference: str) -> None:
    with workspace() as ws, ws.db.write() as session:
        token = revoke_token(session, reference)
    click.echo(
        f"Revoked token {token.id} ({token.name}, {token.role}); "
        "every server refuses it from its next request on."
    )
