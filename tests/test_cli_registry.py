"""The CLI's registry commands beyond push and activate: compare, events, archive, delete, and
how every command reports (errors once, flags as the CLI spells them, no progress off a tty)."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from manage import build_cli
from tests.factories import add_plan_version, house_plan

ROWS = [
    {"area": 1500, "bedrooms": 3, "bathrooms": 2, "age": 10},
    {"area": 900.5, "bedrooms": 1, "bathrooms": 1, "age": 40},
]
GARAGE = {"name": "garage", "type": "number", "nullable": False}


@pytest.fixture
def run(make_app, database_url: str, tmp_path: Path):
    """houses: v1 active (r2 0.9), v2 with a required garage (r2 0.95); run manage.py."""
    app = make_app()
    add_plan_version(app, "houses", house_plan(), activate=True, metrics={"r2": 0.9})
    add_plan_version(app, "houses", house_plan(GARAGE), metrics={"r2": 0.95, "mae": 3.0})
    runner = CliRunner(
        env={"REGISTRY_DATABASE_URL": database_url, "REGISTRY_ARTIFACT_ROOT": str(tmp_path / "a")}
    )

    def invoke(*args: object, code: int = 0, input: str | None = None):
        result = runner.invoke(build_cli(), [str(a) for a in args], input=input)
        assert result.exit_code == code, result.output
        return result

    return invoke


def test_versions_compare_shows_metric_deltas_schema_and_compatibility(run):
    text = run("versions", "compare", "houses", 1, 2).stdout
    assert "r2" in text and "0.9" in text and "0.95" in text and "0.05" in text
    assert "added: garage" in text
    assert "Compatible: no" in text and "garage" in text
    data = json.loads(run("versions", "compare", "houses", 1, 2, "--json").stdout)
    assert data["metrics"]["r2"]["diff"] == pytest.approx(0.05)
    assert data["metrics"]["mae"] == {"a": None, "b": 3.0, "diff": None}
    assert data["schema"]["added"] == ["garage"] and data["compatible"] is False
    assert "no version 7" in run("versions", "compare", "houses", 1, 7, code=1).output


def test_models_events_lists_the_history_newest_first(run):
    run("versions", "activate", "houses", 2, "--force")
    text = run("models", "events", "houses").stdout
    lines = text.splitlines()
    assert lines[0].split()[:4] == ["AT", "ACTION", "VERSION", "ACTOR"]
    assert "activated" in lines[1] and "from 1" in lines[1]
    events = json.loads(run("models", "events", "houses", "--json").stdout)
    actions = [e["action"] for e in events]
    assert actions[0] == "activated" and actions[-1] == "model_created"
    assert len(json.loads(run("models", "events", "houses", "--json", "--limit", 2).stdout)) == 2


def test_versions_archive_unarchive_and_delete(run):
    assert "Archived houses version 2." in run("versions", "archive", "houses", 2).stdout
    listed = json.loads(run("versions", "list", "houses", "--json").stdout)
    assert [v["archived"] for v in listed] == [True, False]
    run("versions", "unarchive", "houses", 2)
    assert not json.loads(run("versions", "list", "houses", "--json").stdout)[0]["archived"]

    refused = run("versions", "delete", "houses", 1, "--yes", code=1).output
    assert refused.count("is active") == 1
    assert "Aborted" in run("versions", "delete", "houses", 2, input="n\n", code=1).output
    assert "Deleted houses version 2." in run("versions", "delete", "houses", 2, "--yes").stdout
    listed = json.loads(run("versions", "list", "houses", "--json").stdout)
    assert [v["version"] for v in listed] == [1]


def test_models_delete_asks_first(run):
    assert "Aborted" in run("models", "delete", "houses", input="n\n", code=1).output
    assert "Deleted model houses" in run("models", "delete", "houses", "--yes").stdout
    assert "no model called 'houses'" in run("models", "show", "houses", code=1).output


def test_predict_writes_json_or_csv(run, tmp_path):
    rows = tmp_path / "rows.csv"
    pd.DataFrame(ROWS).assign(id=["a", "b"]).to_csv(rows, index=False)
    as_json = json.loads(
        run("predict", "houses", "--csv", rows, "--format", "json", "--keep", "id").stdout
    )
    assert [r["id"] for r in as_json] == ["a", "b"] and set(as_json[0]) == {"id", "prediction"}
    out = tmp_path / "answers.json"
    run("predict", "houses", "--csv", rows, "--version", 1, "--output", out)
    assert len(json.loads(out.read_text())) == 2  # the format follows the file's suffix
    as_csv = pd.read_csv(io.StringIO(run("predict", "houses", "--csv", rows).stdout))
    assert as_csv["prediction"].tolist() == pytest.approx([r["prediction"] for r in as_json])


def test_errors_are_printed_once_and_name_the_cli_flags(run):
    refused = run("versions", "activate", "houses", 2, code=1).output
    assert "--force" in refused and "force=true" not in refused
    assert refused.count("would reject requests") == 1


def test_training_errors_are_printed_once_and_progress_stays_off_a_pipe(run, tmp_path):
    tiny = tmp_path / "tiny.csv"
    tiny.write_text("a,b\n1,2\n2,3\n")
    result = run("train", tiny, "--target", "b", "--model", "tiny", code=1)
    assert result.output.count("training needs at least 10 rows") == 1
    assert "Reading" not in result.output and "Fitting" not in result.output


def test_a_first_version_pushed_without_activate_says_how_to_activate_it(run, tmp_path):
    from tests.factories import dump, house_model

    fitted = tmp_path / "model.joblib"
    fitted.write_bytes(dump(house_model()))
    run("models", "create", "fresh")
    pushed = run("versions", "push", "fresh", fitted).stdout
    assert "not active" in pushed and "manage.py versions activate fresh 1" in pushed
    # A model with an active version keeps it; nothing to say.
    again = run("versions", "push", "houses", fitted).stdout
    assert "Pushed houses version 3." in again and "not active" not in again


def test_field_messages_use_the_cli_names_and_say_nothing_twice(run, tmp_path):
    rows = tmp_path / "rows.csv"
    pd.DataFrame(ROWS).assign(price=1.0).to_csv(rows, index=False)
    refused = run(
        "train", rows, "--target", "price", "--model", "houses", "--kind", "logistic", code=1
    )
    assert refused.output.count("is linear") == 1
    named = run("models", "create", "Bad Name", code=1).output
    assert "  NAME: " in named and "  name: " not in named
