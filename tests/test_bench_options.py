"""`manage.py bench`'s options become the run's settings: --quick fills only what is not given."""

from __future__ import annotations

from click.testing import CliRunner

from registry.cli.bench import OPTIONS, bench_command, bench_settings


def settings_for(*args: str):
    return bench_settings(bench_command.make_context("bench", list(args)))


def test_a_full_run_by_default():
    settings = settings_for()
    assert (settings.duration, settings.rounds, settings.warmup, settings.repeats) == (5, 3, 1, 30)
    assert settings.category_sizes == (1_000, 10_000, 100_000)
    assert (settings.upload_count, settings.upload_rounds) == (10, 2)
    assert (settings.many.models, settings.many.pages, settings.many.untouched) == (
        10_000,
        100,
        200,
    )


def test_quick_shrinks_what_is_not_given():
    settings = settings_for("--quick")
    assert (settings.duration, settings.rounds, settings.warmup, settings.repeats) == (
        0.4,
        1,
        0.2,
        5,
    )
    assert (settings.bumps, settings.generation_calls) == (1, 2_000)
    assert settings.category_sizes == (1_000,)
    assert (settings.upload_count, settings.upload_rounds) == (1, 1)
    assert (settings.many.models, settings.many.pages, settings.many.changes) == (50, 10, 10)


def test_a_given_option_wins_over_quick():
    settings = settings_for(
        "--quick", "--duration", "2", "--rounds", "2", "--categories", "10,20", "--uploads", "3"
    )
    assert (settings.duration, settings.rounds, settings.category_sizes) == (2, 2, (10, 20))
    assert settings.upload_count == 3 and settings.warmup == 0.2
    many = settings_for("--quick", "--many-models", "80", "--upload-rounds", "3")
    assert (many.many.models, many.upload_rounds, many.many.untouched) == (80, 3, 70)
    assert settings_for("--quick", "--many-models", "0").many is None


def test_the_help_names_every_default_and_what_quick_makes_of_it():
    text = CliRunner().invoke(bench_command, ["--help"], terminal_width=200).output
    for option in OPTIONS:
        assert option.decls[0] in text
        if option.quick is not None:
            assert f"{option.help.removesuffix('.')} [--quick: " in text, option.name
    assert "round [--quick: 0.4].  [default: 5.0; x>=0.1]" in text
    assert "comma-separated [--quick: 1000].  [default: 1000,10000,100000]" in text
    assert "(0: no such part) [--quick: 50].  [default: 10000; x>=0]" in text
