"""The command line: `python manage.py --help` lists the commands."""

from __future__ import annotations

import click

from config import ConfigError
from registry.cli import commands


def build_cli() -> click.Group:
    """Return the click group of every registry command."""
    group = click.Group(help="Model registry for scikit-learn linear and logistic models.")
    for command in commands():
        group.add_command(command)
    return group


cli = build_cli()

if __name__ == "__main__":
    try:
        cli()
    except ConfigError as error:
        raise SystemExit(f"Error: {error}") from None
