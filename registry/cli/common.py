"""What the registry commands share: the configured workspace, the actor, errors, output."""

from __future__ import annotations

import getpass
import json
import sys
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import asdict, dataclass, is_dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import click

from config import Config
from registry.artifacts import ArtifactStore, make_store
from registry.cli.admin import upgrade_database
from registry.db import Database, connect
from registry.errors import RegistryError
from registry.services.models import get_model
from registry.services.results import VersionInfo

CHUNK = 1 << 20


@dataclass(frozen=True)
class Workspace:
    """The configured database and artifact store, as the server sees them."""

    config: Config
    db: Database
    store: ArtifactStore


def error_text(error: RegistryError) -> str:
    """Return a RegistryError's message followed by its field messages, one per line."""
    lines = [error.message]
    for field, messages in (error.errors or {}).items():
        label = cli_name(field)
        if isinstance(messages, list):
            lines.extend(f"  {label}: {m}" for m in messages if not _said(m, error.message))
        else:
            lines.append(f"  {label}: {json.dumps(messages, default=str)}")
    return "\n".join(lines)


def _said(message: Any, sentence: str) -> bool:
    """Return whether a field's message only repeats the start of the error's sentence."""
    return isinstance(message, str) and sentence.startswith(message.rstrip("."))


def cli_name(field: str) -> str:
    """Return an API field's name as the running command spells it (--kind, NAME), if it can."""
    context = click.get_current_context(silent=True)
    for param in context.command.params if context is not None else ():
        if param.name == field:
            if isinstance(param, click.Option):
                return param.opts[0]
            return param.human_readable_name
    return field


@contextmanager
def workspace() -> Iterator[Workspace]:
    """Open the database of REGISTRY_DATABASE_URL, its schema brought up to date first.

    A RegistryError raised inside becomes a click.ClickException with the same sentence.
    """
    config = Config.from_env()
    upgrade_database(config)
    db = connect(config.database_url)
    try:
        yield Workspace(config, db, make_store(config.artifact_store, config.artifact_root))
    except RegistryError as error:
        raise click.ClickException(error_text(error)) from None
    finally:
        db.dispose()


def write_output(path: Path, data: bytes) -> None:
    """Write a command's output file; a path it cannot write is one message, not a traceback."""
    try:
        path.write_bytes(data)
    except OSError as error:
        raise click.ClickException(f"Could not write {path}: {error.strerror}.") from None


def cli_actor() -> str:
    """Return who runs the command, as events record it: cli:<login name>."""
    try:
        login = getpass.getuser()
    except (KeyError, OSError):
        login = "unknown"
    return f"cli:{login}"


class _NoBar:
    """Stands in for a progress bar where nobody watches one."""

    def update(self, steps: int) -> None:
        pass


def progress(length: int, label: str) -> Any:
    """Return a progress bar on stderr when it is a terminal, else one that prints nothing.

    stdout keeps only the command's output; a pipe or a log file gets no progress lines.
    """
    if not sys.stderr.isatty():
        return nullcontext(_NoBar())
    return click.progressbar(length=length, label=label, file=sys.stderr, show_eta=False)


def read_file(path: Path, label: str) -> bytes:
    """Read a file with a progress bar over its bytes."""
    size = path.stat().st_size
    chunks = []
    with path.open("rb") as handle, progress(max(size, 1), label) as bar:
        while chunk := handle.read(CHUNK):
            chunks.append(chunk)
            bar.update(len(chunk))
        if size == 0:
            bar.update(1)
    return b"".join(chunks)


def echo_json(value: Any) -> None:
    """Print results (frozen dataclasses, in lists or dicts as well) as JSON."""

    def plain(item: Any) -> Any:
        if is_dataclass(item) and not isinstance(item, type):
            return asdict(item)
        if isinstance(item, datetime):
            return item.isoformat()
        raise TypeError(f"{type(item).__name__} is not JSON serializable")

    click.echo(json.dumps(value, indent=2, default=plain))


def echo_table(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    """Print rows as a plain text table with a header line."""
    cells = [[str(h) for h in headers]] + [["" if v is None else str(v) for v in r] for r in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    for row in cells:
        click.echo("  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip())


def format_number(value: float | None) -> str:
    """Return a metric as a short, readable number."""
    return "-" if value is None else f"{value:.6g}"


def echo_versions(versions: Sequence[VersionInfo]) -> None:
    """Print versions as a table."""
    echo_table(
        ("VERSION", "ACTIVE", "ALIASES", "ESTIMATOR", "METRICS", "CREATED", "BY"),
        (
            (
                v.version,
                "*" if v.active else "",
                ",".join(v.aliases),
                v.estimator,
                " ".join(f"{k}={format_number(m)}" for k, m in sorted(v.metrics.items())),
                v.created_at.strftime("%Y-%m-%d %H:%M"),
                v.created_by,
            )
            for v in versions
        ),
    )


def echo_pushed(ws: Workspace, name: str, version: VersionInfo) -> None:
    """Say which version was pushed, and how to activate it when the model has none active.

    A push never activates unless asked (as over HTTP), so a new model's first version
    answers no predictions yet: say so rather than leave a 404 to find out.
    """
    state = " and activated it" if version.active else ""
    click.echo(f"Pushed {name} version {version.version}{state}.")
    echo_versions([version])
    if version.active:
        return
    with ws.db.read() as session:
        active = get_model(session, name).active_version
    if active is None:
        click.echo(
            f"Version {version.version} is not active, and {name} has no active version: its "
            f"predictions answer 404 until `manage.py versions activate {name} "
            f"{version.version}` (or push with --activate)."
        )
