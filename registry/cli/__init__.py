"""Command-line commands over the same services as the API."""

from __future__ import annotations

import click

from registry.cli.admin import create_token_command, db_group, serve_command


def commands() -> list[click.Command]:
    """Return every top-level command of manage.py."""
    return [db_group, create_token_command, serve_command]
