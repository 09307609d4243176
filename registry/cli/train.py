"""`manage.py train`: fit a pipeline on a CSV file, score it, and push it as a new version."""

from __future__ import annotations

from pathlib import Path

import click

from registry.cli.common import (
    cli_actor,
    echo_pushed,
    echo_table,
    format_number,
    progress,
    read_file,
    workspace,
)
from registry.cli.text_options import description_rule
from registry.intake.sandbox import IntakeLimits
from registry.trainer import (
    KINDS,
    TrainedModel,
    TrainLimits,
    kind_to_train,
    publish_trained,
    train_in_child,
)


def echo_metrics(trained: TrainedModel) -> None:
    """Print the held-out metrics of a trained model as a table."""
    click.echo(
        f"Held-out metrics of the {trained.kind} model ({trained.test_rows} test rows, "
        f"{trained.train_rows} training rows):"
    )
    echo_table(("METRIC", "VALUE"), ((k, format_number(v)) for k, v in trained.metrics.items()))
    for note in trained.warnings:
        click.echo(f"Note: {note}", err=True)


@click.command(
    "train",
    short_help="Train a model on a CSV file and push it as a new version.",
    help="Train a model on CSV (a file with a header line) and push it as a new version. "
    "Numeric columns are imputed and scaled, text columns one-hot encoded; the metrics come "
    "from a held-out split. The model is created if it does not exist.",
)
@click.argument("csv", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--target", required=True, help="The column to predict.")
@click.option("--model", "name", required=True, help="The registered model to push to.")
@click.option(
    "--kind",
    type=click.Choice(KINDS),
    help="linear or logistic; by default the model's kind, else guessed from the target: "
    "text, booleans, or at most 10 distinct whole numbers mean logistic.",
)
@click.option(
    "--test-size",
    default=0.2,
    show_default=True,
    type=click.FloatRange(0, 1, min_open=True, max_open=True),
    help="Share of the rows held out to compute the metrics.",
)
@click.option("--activate", is_flag=True, help="Make the new version active at once.")
@click.option(
    "--description",
    default="",
    callback=description_rule,
    help="What this version is, for its users.",
)
def train_command(
    csv: Path,
    target: str,
    name: str,
    kind: str | None,
    test_size: float,
    activate: bool,
    description: str,
) -> None:
    with workspace() as ws:
        kind = kind_to_train(ws.db, name, kind)
        data = read_file(csv, "Reading  ")
        # As over HTTP: the CSV checked here against the limits, the fit in a fenced child.
        with progress(1, "Fitting  ") as bar:
            trained = train_in_child(
                data,
                target,
                kind,
                test_size,
                ws.config.train_timeout,
                TrainLimits.from_config(ws.config),
            )
            bar.update(1)
        with progress(1, "Uploading") as bar:
            version = publish_trained(
                ws.db,
                ws.store,
                name,
                trained,
                cli_actor(),
                description=description,
                activate=activate,
                timeout=ws.config.intake_timeout,
                limits=IntakeLimits.from_config(ws.config),
            )
            bar.update(1)
        echo_metrics(trained)
        echo_pushed(ws, name, version)
