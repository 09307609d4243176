"""Command-line commands over the same services as the API."""

from __future__ import annotations

import click

from registry.cli.admin import create_token_command, db_group, serve_command
from registry.cli.artifacts import gc_command, verify_command
from registry.cli.bench import bench_command
from registry.cli.demo import demo_command
from registry.cli.export import export_command
from registry.cli.history import compare_command, events_command
from registry.cli.models import models_group
from registry.cli.predict import predict_command
from registry.cli.retire import (
    archive_command,
    delete_model_command,
    delete_version_command,
    unarchive_command,
)
from registry.cli.tokens import tokens_group
from registry.cli.train import train_command
from registry.cli.versions import aliases_group, versions_group


def commands() -> list[click.Command]:
    """Return every top-level command of manage.py."""
    for command in (
        compare_command,
        archive_command,
        unarchive_command,
        delete_version_command,
        export_command,
    ):
        versions_group.add_command(command)
    for command in (events_command, delete_model_command):
        models_group.add_command(command)
    return [
        db_group,
        create_token_command,
        tokens_group,
        serve_command,
        models_group,
        versions_group,
        aliases_group,
        predict_command,
        train_command,
        demo_command,
        bench_command,
        verify_command,
        gc_command,
    ]
