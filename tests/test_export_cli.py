"""`manage.py versions export`: the same SQL and JSON as the HTTP route, to stdout or a file."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from click.testing import CliRunner

from manage import build_cli
from registry.intake.extract import extract
from tests.export_data import database_table
from tests.factories import add_plan_version, churn_frame, churn_model


def _invoke(database_url: str, tmp_path: Path, *args: str):
    runner = CliRunner(
        env={"REGISTRY_DATABASE_URL": database_url, "REGISTRY_ARTIFACT_ROOT": str(tmp_path)}
    )
    return runner.invoke(build_cli(), ["versions", "export", *args], catch_exceptions=False)


def test_versions_export_writes_sql_that_scores_like_scikit_learn(make_app, database_url, tmp_path):
    estimator, (frame, _) = churn_model(), churn_frame()
    plan = extract(estimator).plan
    add_plan_version(make_app(), "churn", plan)
    target = tmp_path / "score.sql"
    args = ("churn", "1", "--dialect", "sqlite", "--table", "t", "-o", str(target))
    result = _invoke(database_url, tmp_path, *args)
    assert result.exit_code == 0, result.output
    with database_table("sqlite", frame, None) as (run, _):
        out = run(target.read_text())
    np.testing.assert_allclose(out["probability_1"], estimator.predict_proba(frame)[:, 1])
    shown = _invoke(database_url, tmp_path, "churn", "1", "--format", "json")
    assert json.loads(shown.output) == plan


def test_versions_export_names_what_is_wrong(make_app, database_url, tmp_path):
    add_plan_version(make_app(), "churn", extract(churn_model()).plan)
    result = _invoke(database_url, tmp_path, "churn", "1", "--table", "a b")
    assert result.exit_code == 1
    assert "--table: Use a letter" in result.output
    missing = _invoke(database_url, tmp_path, "churn", "9", "--format", "json")
    assert missing.exit_code == 1
    assert "version" in missing.output.lower()
