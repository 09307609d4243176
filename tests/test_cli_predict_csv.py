"""`manage.py predict` writes CSV that spreadsheets cannot run: labels that look like formulas."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from click.testing import CliRunner

from manage import build_cli
from registry.app import create_app
from tests.factories import add_plan_version, house_plan

CLASSES = ["=1+2", "-1.5", "@SUM(A1)", "\tTAB", "+3", "safe", "\rCR", 7]


def nearest_class_plan() -> dict:
    """A multinomial plan over x whose class k wins for x = k (score k*x - k*k/2)."""
    count = len(CLASSES)
    return {
        "format": 1,
        "kind": "logistic",
        "link": "softmax",
        "features": [{"name": "x", "type": "number", "nullable": False}],
        "columns": [{"feature": "x", "mul": 1.0, "add": 0.0, "missing": None}],
        "coef": [[float(k)] for k in range(count)],
        "intercept": [-k * k / 2 for k in range(count)],
        "classes": CLASSES,
    }


@pytest.fixture
def run(database_url: str, tmp_path: Path):
    """Store the test's plans, then run manage.py commands on that database."""
    app = create_app({"database_url": database_url, "artifact_root": tmp_path / "artifacts"})
    add_plan_version(app, "labels", nearest_class_plan(), activate=True)
    add_plan_version(app, "houses", house_plan(), activate=True)
    app.extensions["registry"].db.dispose()
    runner = CliRunner(
        env={
            "REGISTRY_DATABASE_URL": database_url,
            "REGISTRY_ARTIFACT_ROOT": str(tmp_path / "artifacts"),
        }
    )

    def invoke(*args: str) -> str:
        result = runner.invoke(build_cli(), [str(a) for a in args], catch_exceptions=False)
        assert result.exit_code == 0, result.output
        return result.stdout

    return invoke


def test_labels_that_start_a_formula_are_escaped(run, tmp_path):
    rows = tmp_path / "rows.csv"
    rows.write_text("x\n" + "\n".join(str(k) for k in range(len(CLASSES))) + "\n")
    out = run("predict", "labels", "--csv", rows)
    cells = list(csv.reader(io.StringIO(out, newline="")))
    predictions = [row[0] for row in cells[1:]]
    assert predictions == ["'=1+2", "'-1.5", "'@SUM(A1)", "'\tTAB", "'+3", "safe", "'\rCR", "7"]
    assert all(not cell or cell[0] not in "=+-@\t\r" for row in cells for cell in row)


def test_negative_numbers_stay_numbers(run, tmp_path):
    rows = tmp_path / "rows.csv"
    rows.write_text("area,bedrooms,bathrooms,age\n-5000,1,1,10\n")
    (header, (value,)) = list(csv.reader(io.StringIO(run("predict", "houses", "--csv", rows))))
    assert header == ["prediction"] and float(value) < 0 and value.startswith("-")
