"""The command line given an output path it cannot write: one message, never a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from manage import build_cli


@pytest.mark.parametrize(
    "args",
    [
        ("versions", "download", "house-prices", "1", "--output"),
        ("versions", "export", "house-prices", "1", "--format", "json", "-o"),
        ("predict", "house-prices", "--csv", "{csv}", "--output"),
    ],
)
def test_an_output_in_a_missing_folder_is_one_message(
    house, database_url: str, tmp_path: Path, args: tuple[str, ...]
):
    csv = tmp_path / "houses.csv"
    csv.write_text("area,bedrooms,bathrooms,age\n1500,3,2,10\n")
    target = tmp_path / "missing" / "out.file"
    runner = CliRunner(
        env={
            "REGISTRY_DATABASE_URL": database_url,
            "REGISTRY_ARTIFACT_ROOT": str(tmp_path / "artifacts"),
        }
    )
    argv = [a.format(csv=csv) for a in args] + [str(target)]
    result = runner.invoke(build_cli(), argv)
    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit), result.exception
    assert f"Could not write {target}: No such file or directory." in result.output
