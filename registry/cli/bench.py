"""The benchmark command: the real server against a bare Flask ceiling, under load."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from click.core import ParameterSource

if TYPE_CHECKING:
    from registry.bench.run import Settings


def _integers(_ctx: click.Context, _param: click.Parameter, value: str) -> tuple[int, ...]:
    try:
        levels = tuple(int(part) for part in value.split(","))
    except ValueError:
        raise click.BadParameter(f"Give integers separated by commas, not {value!r}.") from None
    if not levels or min(levels) < 1:
        raise click.BadParameter("Every value must be at least 1.")
    return levels


def _shown(value: Any) -> str:
    return ",".join(str(part) for part in value) if isinstance(value, tuple) else str(value)


@dataclass(frozen=True)
class Option:
    """One option of the command; ``quick`` is its value under --quick unless it is given."""

    decls: tuple[str, ...]
    help: str
    default: Any = None
    quick: Any = None
    settings: dict[str, Any] = field(default_factory=dict)

    @property
    def name(self) -> str:
        """Return the parameter's name, as click derives it."""
        named = [decl for decl in self.decls if not decl.startswith("-")]
        return named[0] if named else self.decls[0].lstrip("-").replace("-", "_")

    def add_to(self, command: Callable[..., Any]) -> Callable[..., Any]:
        text = self.help
        if self.quick is not None:
            text = f"{text.removesuffix('.')} [--quick: {_shown(self.quick)}]."
        if self.default is None:
            return click.option(*self.decls, help=text, **self.settings)(command)
        return click.option(
            *self.decls, help=text, default=self.default, show_default=True, **self.settings
        )(command)


_COUNT = {"type": click.IntRange(1)}
_FLAG = {"is_flag": True}
# Every option, in the order --help lists them.
OPTIONS = (
    Option(
        ("--workers",),
        "gunicorn workers of both the server and the ceiling.",
        2,
        settings={"type": click.IntRange(1, 64)},
    ),
    Option(
        ("--duration",),
        "Seconds of load per scenario, target and round.",
        5.0,
        quick=0.4,
        settings={"type": click.FloatRange(0.1)},
    ),
    Option(("--rounds",), "Rounds, alternating server and ceiling.", 3, quick=1, settings=_COUNT),
    Option(
        ("--concurrency",),
        "Requests in flight for the single-row scenarios, comma-separated.",
        "1,16",
        settings={"callback": _integers},
    ),
    Option(
        ("--batch-rows",),
        "Rows per request in the batch scenario (the instances form).",
        1000,
        settings=_COUNT,
    ),
    Option(
        ("--batch-concurrency",), "Requests in flight in the batch scenario.", 16, settings=_COUNT
    ),
    Option(
        ("--models",),
        "Registered models for the swagger.json and memory measurements.",
        1000,
        settings=_COUNT,
    ),
    Option(
        ("--database-url",),
        "Database to benchmark on  [default: a temporary SQLite file]. Its bench models are "
        "deleted afterwards.",
    ),
    Option(
        ("--use-configured-database",),
        "Use REGISTRY_DATABASE_URL and the configured artifact store instead.",
        settings=_FLAG,
    ),
    Option(
        ("--postgres-url",),
        "PostgreSQL server on which to time the generation check, in a scratch database  "
        "[default: REGISTRY_TEST_POSTGRES_URL].",
        settings={"envvar": "REGISTRY_TEST_POSTGRES_URL"},
    ),
    Option(("--scaling",), "Also run the concurrent scenarios on 1 worker.", settings=_FLAG),
    Option(
        ("--client",),
        "Load generator: wrk when installed (auto), or the built-in socket client.",
        "auto",
        settings={"type": click.Choice(["auto", "wrk", "builtin"])},
    ),
    Option(
        ("--json", "json_path"),
        "Also write every figure to this JSON file.",
        settings={"type": click.Path(dir_okay=False, path_type=Path)},
    ),
    Option(
        ("--stalled",),
        "Stalled connections held open in the slow-client scenario (0: no such scenario).",
        100,
        settings={"type": click.IntRange(0)},
    ),
    Option(
        ("--categories",),
        "One-hot category counts of the models whose upload is timed, comma-separated.",
        "1000,10000,100000",
        quick=(1_000,),
        settings={"callback": _integers},
    ),
    Option(
        ("--uploads",),
        "Small-model uploads per intake path and round, one at a time and again 4 at a time "
        "(0: none).",
        10,
        quick=1,
        settings={"type": click.IntRange(0)},
    ),
    Option(
        ("--upload-rounds",),
        "Rounds alternating the fresh-interpreter and zygote intake paths.",
        2,
        quick=1,
        settings=_COUNT,
    ),
    Option(("--uploads-only",), "Run only the small-model upload phase.", settings=_FLAG),
    Option(
        ("--many-models",),
        "Models (one active version each) in the many-models part's fresh databases "
        "(0: no such part).",
        10_000,
        quick=50,
        settings={"type": click.IntRange(0)},
    ),
    Option(
        ("--only-many",),
        "Run only the many-models part (SQLite, and PostgreSQL with --postgres-url).",
        settings=_FLAG,
    ),
    Option(("--quick",), "Tiny durations and repeats: a smoke run, not figures.", settings=_FLAG),
)
# What no option sets: a full run's value and --quick's.
_KNOBS = {
    "warmup": (1.0, 0.2),
    "repeats": (30, 5),
    "bumps": (5, 1),
    "generation_calls": (50_000, 2_000),
    "pages": (100, 10),
}


def _values(ctx: click.Context) -> dict[str, Any]:
    """Return the options' values, with --quick's where an option was not given."""
    values = dict(ctx.params)
    for option in OPTIONS:
        given = ctx.get_parameter_source(option.name) is not ParameterSource.DEFAULT
        if values["quick"] and option.quick is not None and not given:
            values[option.name] = option.quick
    values["postgres_url"] = values["postgres_url"] or None
    values.update({knob: pair[values["quick"]] for knob, pair in _KNOBS.items()})
    return values


def bench_settings(ctx: click.Context) -> Settings:
    """Return what a parsed ``bench`` command line asks for."""
    from registry.bench.many import ManySettings
    from registry.bench.run import Settings

    values = _values(ctx)
    many_count = values["many_models"]
    many = None
    if many_count:
        many = ManySettings(
            models=many_count,
            workers=values["workers"],
            postgres_url=values["postgres_url"],
            changes=min(10, many_count),
            untouched=min(200, max(1, many_count - 10)),
            pages=values["pages"],
        )
    return Settings(
        **{name: values[name] for name in Settings.__dataclass_fields__ if name in values},
        category_sizes=values["categories"],
        upload_count=values["uploads"],
        many=many,
    )


def _progress(line: str) -> None:
    click.echo(line, err=True)


def _with_options(command: Callable[..., Any]) -> Callable[..., Any]:
    for option in reversed(OPTIONS):
        command = option.add_to(command)
    return command


@click.command("bench", help="Benchmark predictions against a bare Flask route; print a table.")
@_with_options
@click.pass_context
def bench_command(ctx: click.Context, **_options: Any) -> None:
    from registry.bench.report import render, render_uploads, uploads_json, write_json
    from registry.bench.run import run_bench, run_uploads
    from registry.errors import RegistryError

    options = ctx.params
    if options["database_url"] and options["use_configured_database"]:
        raise click.UsageError("Give --database-url or --use-configured-database, not both.")
    settings = bench_settings(ctx)
    json_path: Path | None = options["json_path"]
    if options["only_many"]:
        _only_many(settings, json_path)
        return
    if options["uploads_only"]:
        try:
            figures = run_uploads(settings, _progress)
        except (RuntimeError, RegistryError) as error:
            raise click.ClickException(f"The benchmark stopped: {error}") from None
        click.echo("\n".join(render_uploads(figures)).strip())
        if json_path is not None:
            json_path.write_text(json.dumps(uploads_json(figures), indent=2) + "\n")
        return
    try:
        results = run_bench(settings, _progress)
    except (RuntimeError, RegistryError) as error:
        raise click.ClickException(f"The benchmark stopped: {error}") from None
    click.echo(render(results))
    if json_path is not None:
        write_json(results, json_path)
        click.echo(f"Wrote {json_path}.")


def _only_many(settings: Settings, json_path: Path | None) -> None:
    import tempfile

    from registry.bench.many import as_json, describe, run_many

    if settings.many is None:
        raise click.UsageError("--only-many needs --many-models of at least 1.")
    with tempfile.TemporaryDirectory(prefix="registry-bench-") as folder:
        try:
            figures = run_many(settings.many, Path(folder), _progress)
        except RuntimeError as error:
            raise click.ClickException(f"The benchmark stopped: {error}") from None
    for part in figures:
        click.echo("\n".join(describe(part)))
    if json_path is not None:
        json_path.write_text(json.dumps({"many": [as_json(f) for f in figures]}, indent=2) + "\n")
        click.echo(f"Wrote {json_path}.")
