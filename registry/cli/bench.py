"""The benchmark command: the real server against a bare Flask ceiling, under load."""

from __future__ import annotations

import json
from pathlib import Path

import click


def _concurrency(_ctx: click.Context, _param: click.Parameter, value: str) -> tuple[int, ...]:
    try:
        levels = tuple(int(part) for part in value.split(","))
    except ValueError:
        raise click.BadParameter(f"Give integers separated by commas, not {value!r}.") from None
    if not levels or min(levels) < 1:
        raise click.BadParameter("Every value must be at least 1.")
    return levels


@click.command("bench", help="Benchmark predictions against a bare Flask route; print a table.")
@click.option(
    "--workers",
    default=2,
    show_default=True,
    type=click.IntRange(1, 64),
    help="gunicorn workers of both the server and the ceiling.",
)
@click.option(
    "--duration",
    type=click.FloatRange(0.1),
    default=None,
    help="Seconds of load per scenario, target and round  [default: 5, or 0.4 with --quick].",
)
@click.option(
    "--rounds",
    type=click.IntRange(1),
    default=None,
    help="Rounds, alternating server and ceiling  [default: 3, or 1 with --quick].",
)
@click.option(
    "--concurrency",
    default="1,16",
    show_default=True,
    callback=_concurrency,
    help="Requests in flight for the single-row scenarios, comma-separated.",
)
@click.option(
    "--batch-rows",
    default=1000,
    show_default=True,
    type=click.IntRange(1),
    help="Rows per request in the batch scenario (the instances form).",
)
@click.option(
    "--batch-concurrency",
    default=16,
    show_default=True,
    type=click.IntRange(1),
    help="Requests in flight in the batch scenario.",
)
@click.option(
    "--models",
    default=1000,
    show_default=True,
    type=click.IntRange(1),
    help="Registered models for the swagger.json and memory measurements.",
)
@click.option(
    "--database-url",
    default=None,
    help="Database to benchmark on  [default: a temporary SQLite file]. Its bench models are "
    "deleted afterwards.",
)
@click.option(
    "--use-configured-database",
    is_flag=True,
    help="Use REGISTRY_DATABASE_URL and the configured artifact store instead.",
)
@click.option(
    "--postgres-url",
    envvar="REGISTRY_TEST_POSTGRES_URL",
    help="PostgreSQL server on which to time the generation check, in a scratch database  "
    "[default: REGISTRY_TEST_POSTGRES_URL].",
)
@click.option("--scaling", is_flag=True, help="Also run the concurrent scenarios on 1 worker.")
@click.option(
    "--client",
    type=click.Choice(["auto", "wrk", "builtin"]),
    default="auto",
    show_default=True,
    help="Load generator: wrk when installed (auto), or the built-in socket client.",
)
@click.option(
    "--json",
    "json_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Also write every figure to this JSON file.",
)
@click.option(
    "--stalled",
    default=100,
    show_default=True,
    type=click.IntRange(0),
    help="Stalled connections held open in the slow-client scenario (0: no such scenario).",
)
@click.option(
    "--categories",
    default="1000,10000,100000",
    show_default=True,
    callback=_concurrency,
    help="One-hot category counts of the models whose upload is timed, comma-separated "
    "[--quick: 1000].",
)
@click.option(
    "--uploads",
    default=10,
    show_default=True,
    type=click.IntRange(0),
    help="Small-model uploads per intake path and round, one at a time and again 4 at a time "
    "(0: none) [--quick: 1].",
)
@click.option(
    "--upload-rounds",
    default=2,
    show_default=True,
    type=click.IntRange(1),
    help="Rounds alternating the fresh-interpreter and zygote intake paths [--quick: 1].",
)
@click.option("--uploads-only", is_flag=True, help="Run only the small-model upload phase.")
@click.option(
    "--many-models",
    default=10_000,
    show_default=True,
    type=click.IntRange(0),
    help="Models (one active version each) in the many-models part's fresh databases "
    "[--quick: 50; 0: no such part].",
)
@click.option(
    "--only-many",
    is_flag=True,
    help="Run only the many-models part (SQLite, and PostgreSQL with --postgres-url).",
)
@click.option("--quick", is_flag=True, help="Tiny durations and repeats: a smoke run, not figures.")
def bench_command(
    workers: int,
    duration: float | None,
    rounds: int | None,
    concurrency: tuple[int, ...],
    batch_rows: int,
    batch_concurrency: int,
    models: int,
    database_url: str | None,
    use_configured_database: bool,
    postgres_url: str | None,
    scaling: bool,
    client: str,
    json_path: Path | None,
    stalled: int,
    categories: tuple[int, ...],
    uploads: int,
    upload_rounds: int,
    uploads_only: bool,
    many_models: int,
    only_many: bool,
    quick: bool,
) -> None:
    from registry.bench.many import ManySettings
    from registry.bench.report import render, render_uploads, uploads_json, write_json
    from registry.bench.run import Settings, run_bench, run_uploads
    from registry.errors import RegistryError

    if database_url and use_configured_database:
        raise click.UsageError("Give --database-url or --use-configured-database, not both.")
    many_count = min(many_models, 50) if quick else many_models
    many = None
    if many_count:
        many = ManySettings(
            models=many_count,
            workers=workers,
            postgres_url=postgres_url or None,
            changes=min(10, many_count),
            untouched=min(200, max(1, many_count - 10)),
            pages=10 if quick else 100,
        )
    if only_many:
        _only_many(many, json_path)
        return
    settings = Settings(
        workers=workers,
        duration=duration or (0.4 if quick else 5.0),
        rounds=rounds or (1 if quick else 3),
        concurrency=concurrency,
        batch_rows=batch_rows,
        batch_concurrency=batch_concurrency,
        models=models,
        database_url=database_url,
        use_configured_database=use_configured_database,
        postgres_url=postgres_url or None,
        scaling=scaling,
        client=client,
        warmup=0.2 if quick else 1.0,
        repeats=5 if quick else 30,
        bumps=1 if quick else 5,
        generation_calls=2_000 if quick else 50_000,
        stalled=stalled,
        category_sizes=(1_000,) if quick else categories,
        upload_count=min(uploads, 1) if quick else uploads,
        upload_rounds=1 if quick else upload_rounds,
        many=many,
    )
    if uploads_only:
        try:
            figures = run_uploads(settings, lambda line: click.echo(line, err=True))
        except (RuntimeError, RegistryError) as error:
            raise click.ClickException(f"The benchmark stopped: {error}") from None
        click.echo("\n".join(render_uploads(figures)).strip())
        if json_path is not None:
            json_path.write_text(json.dumps(uploads_json(figures), indent=2) + "\n")
        return
    try:
        results = run_bench(settings, lambda line: click.echo(line, err=True))
    except (RuntimeError, RegistryError) as error:
        raise click.ClickException(f"The benchmark stopped: {error}") from None
    click.echo(render(results))
    if json_path is not None:
        write_json(results, json_path)
        click.echo(f"Wrote {json_path}.")


def _only_many(many: object, json_path: Path | None) -> None:
    import json
    import tempfile

    from registry.bench.many import ManySettings, as_json, describe, run_many

    if not isinstance(many, ManySettings):
        raise click.UsageError("--only-many needs --many-models of at least 1.")
    with tempfile.TemporaryDirectory(prefix="registry-bench-") as folder:
        try:
            figures = run_many(many, Path(folder), lambda line: click.echo(line, err=True))
        except RuntimeError as error:
            raise click.ClickException(f"The benchmark stopped: {error}") from None
    for part in figures:
        click.echo("\n".join(describe(part)))
    if json_path is not None:
        json_path.write_text(json.dumps({"many": [as_json(f) for f in figures]}, indent=2) + "\n")
        click.echo(f"Wrote {json_path}.")
