"""`manage.py predict`: score a CSV file with a stored version's plan, write the answers as CSV."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path
from typing import Any

import click

from registry.cli.common import workspace, write_output
from registry.csv_cells import csv_cell
from registry.db import Database
from registry.errors import ValidationFailed
from registry.plans import Plan, class_label
from registry.services.lookup import selected_version
from registry.services.models import get_model
from registry.services.versions import get_plan
from registry.suggestions import name_absent

MAX_LISTED = 5


def missing_features(plan: Plan, columns: list[str]) -> str | None:
    """Return a sentence naming the features a table lacks, with close matches, or None."""
    absent = [f.name for f in plan.features if f.name not in columns]
    if not absent:
        return None
    spare = [c for c in columns if c not in {f.name for f in plan.features}]
    return f"The CSV has no column for {name_absent(absent, spare)}."


def table_columns(frame: Any, plan: Plan) -> tuple[list[str], list[list[Any]]]:
    """Return the plan's feature columns of a DataFrame as plain Python rows.

    Other columns (an id, the target) are left out; NaN becomes None, a missing value.
    """
    names = [f.name for f in plan.features if f.name in frame.columns]
    columns = []
    for name in names:
        values = frame[name].tolist()
        columns.append([None if isinstance(v, float) and math.isnan(v) else v for v in values])
    return names, [list(row) for row in zip(*columns, strict=True)]


def resolve_plan(
    db: Database, name: str, version: int | None, alias: str | None
) -> tuple[int, Plan]:
    """Return the version number and plan that a version, an alias or else the active one names.

    Raises ModelNotFound, AliasNotFound, NoActiveVersion, VersionNotFound.
    """
    with db.read() as session:
        model = get_model(session, name)
        version = selected_version(name, model.active_version, model.aliases, version, alias)
        return version, Plan(get_plan(session, name, version))


def _problems(error: ValidationFailed) -> str:
    lines = [error.message]
    for index, (row, fields) in enumerate((error.errors or {}).items()):
        if index == MAX_LISTED:
            lines.append("  ...")
            break
        if isinstance(fields, dict):
            detail = "; ".join(f"{f}: {' '.join(m)}" for f, m in fields.items())
        else:
            detail = str(fields)
        lines.append(f"  row {int(row) + 1 if str(row).isdigit() else row}: {detail}")
    return "\n".join(lines)


@click.command(
    "predict",
    short_help="Predict the rows of a CSV file.",
    help="Predict every row of a CSV file and write the answers as CSV: a prediction "
    "column, and for a logistic model one probability_<class> column per class (or as JSON "
    "with --format json: one object per row, with the features filled in as imputed). A feature "
    "the CSV lacks is an error unless --allow-missing; columns that are not features are "
    "named once on standard error and left out, or copied to the output with --keep.",
)
@click.argument("name")
@click.option(
    "--csv",
    "csv_path",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="The rows to score: a CSV file whose header names the model's features.",
)
@click.option("--version", type=click.IntRange(min=1), help="Use this version, not the active one.")
@click.option("--alias", help="Use the version this alias points at, not the active one.")
@click.option(
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the answers here instead of to standard output.",
)
@click.option(
    "--format",
    "output_format",
    type=click.Choice(("csv", "json")),
    help="csv or json; by default json when --output ends in .json, else csv.",
)
@click.option(
    "--allow-missing",
    is_flag=True,
    help="Score rows even when the CSV lacks features: they are filled in as the model was "
    "trained to fill in a missing value (nullable features only).",
)
@click.option(
    "--keep",
    default="",
    metavar="COLUMN,...",
    help="Copy these CSV columns (an id to join on) to the output, before the predictions.",
)
def predict_command(
    name: str,
    csv_path: Path,
    version: int | None,
    alias: str | None,
    output: Path | None,
    output_format: str | None,
    allow_missing: bool,
    keep: str,
) -> None:
    import pandas as pd

    from registry.api.features import RowValidator

    if version is not None and alias is not None:
        raise click.UsageError("Give --version or --alias, not both.")
    try:
        frame = pd.read_csv(csv_path)
    except (ValueError, pd.errors.ParserError) as error:
        raise click.ClickException(f"The CSV could not be read: {error}") from None
    kept = [c.strip() for c in keep.split(",") if c.strip()]
    unknown = [c for c in kept if c not in frame.columns]
    if unknown:
        raise click.BadParameter(f"the CSV has no column {unknown[0]!r}.", param_hint="--keep")
    with workspace() as ws:
        resolved, plan = resolve_plan(ws.db, name, version, alias)
        header = [str(c) for c in frame.columns]
        problem = missing_features(plan, header)
        if problem is not None and not allow_missing:
            raise click.ClickException(
                f"{problem} Rename the column, or pass --allow-missing to fill it in as the "
                "model was trained to."
            )
        used = {f.name for f in plan.features} | set(plan.ignored) | set(kept)
        extra = [c for c in header if c not in used]
        if extra:
            click.echo(
                f"Not features of {name}, left out: {', '.join(extra)} (copy them with --keep).",
                err=True,
            )
        names, rows = table_columns(frame, plan)
        if not rows:
            raise click.ClickException("The CSV has no rows to predict.")
        try:
            columns = RowValidator(plan).from_table(names, rows)
        except ValidationFailed as error:
            raise click.ClickException(_problems(error)) from None
        answer = plan.predict(columns)
    if output_format is None:
        output_format = "json" if output is not None and output.suffix == ".json" else "csv"
    if output_format == "json":
        text = answers_json(frame, kept, plan, answer.predictions, answer.probabilities, columns)
    else:
        text = answers_csv(frame, kept, plan, answer.predictions, answer.probabilities)
    if output is None:
        click.echo(text, nl=False)
    else:
        write_output(output, text.encode("utf-8"))
        click.echo(f"Wrote {len(frame)} predictions of {name} version {resolved} to {output}.")


def answers_csv(
    frame: Any, kept: list[str], plan: Plan, predictions: list[Any], chances: Any
) -> str:
    """Return the answers as CSV: kept columns, prediction, one probability column per class."""
    import pandas as pd

    result = pd.DataFrame({c: [csv_cell(v) for v in frame[c].tolist()] for c in kept})
    result["prediction"] = [csv_cell(p) for p in predictions]
    if chances is not None:
        for index, label in enumerate(plan.classes or []):
            result[f"probability_{label}"] = chances[:, index]
    # Quoting every string keeps a label's line breaks inside its cell.
    return result.to_csv(index=False, quoting=csv.QUOTE_NONNUMERIC)


def answers_json(
    frame: Any,
    kept: list[str],
    plan: Plan,
    predictions: list[Any],
    chances: Any,
    columns: Any,
) -> str:
    """Return the answers as a JSON list, one object per row, as the HTTP answers name them."""
    records: list[dict[str, Any]] = [
        {c: _plain(frame[c].iloc[i]) for c in kept} for i in range(len(predictions))
    ]
    labels = [class_label(c) for c in plan.classes or []]
    imputed = plan.filled_in(columns)
    for i, record in enumerate(records):
        record["prediction"] = predictions[i]
        if chances is not None:
            record["probabilities"] = dict(zip(labels, chances[i].tolist(), strict=True))
        if imputed is not None and imputed[i]:
            record["imputed"] = imputed[i]
    return json.dumps(records, indent=2, allow_nan=False) + "\n"


def _plain(value: Any) -> Any:
    """Return a cell as a JSON value: numpy scalars as Python ones, NaN as null."""
    value = value.item() if hasattr(value, "item") else value
    return None if isinstance(value, float) and math.isnan(value) else value
