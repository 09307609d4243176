"""Version numbers past the column's range, as an outsider sends them: not found, never a 500.

The version column is a 32-bit integer. Paths refuse larger numbers in their converter, but
query parameters (compare's ?a= and ?b=) and the command line pass any integer on, and
PostgreSQL refuses to compare an int4 column with 2**31 ("integer out of range").
"""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from manage import build_cli

TOO_BIG = 2**31
HOUSE = {"area": 1500, "bedrooms": 3, "bathrooms": 2, "age": 10}


@pytest.mark.parametrize("a, b", [(1, TOO_BIG), (TOO_BIG, 1), (1, 10**17)])
def test_compare_beyond_the_column_is_version_not_found(client, house, a: int, b: int):
    query = f"a={a}&b={b}"
    for answer in (
        client.get(f"{house}/compare?{query}"),
        client.post(f"{house}/compare?{query}", json=HOUSE),
    ):
        assert answer.status_code == 404, answer.get_data(as_text=True)
        assert answer.get_json()["code"] == "version_not_found"
        assert f"has no version {max(a, b)}" in answer.get_json()["message"]


@pytest.mark.parametrize(
    "args",
    [
        ("versions", "compare", "house-prices", "1", str(TOO_BIG)),
        ("versions", "activate", "house-prices", str(TOO_BIG)),
        ("versions", "archive", "house-prices", str(TOO_BIG)),
        ("versions", "export", "house-prices", str(TOO_BIG)),
        ("aliases", "set", "house-prices", "staging", str(TOO_BIG)),
    ],
)
def test_cli_beyond_the_column_names_the_missing_version(
    house, database_url: str, tmp_path: Path, args: tuple[str, ...]
):
    runner = CliRunner(
        env={
            "REGISTRY_DATABASE_URL": database_url,
            "REGISTRY_ARTIFACT_ROOT": str(tmp_path / "artifacts"),
        }
    )
    result = runner.invoke(build_cli(), list(args))
    assert result.exit_code == 1, result.output
    assert f"has no version {TOO_BIG}" in result.output
    assert isinstance(result.exception, SystemExit), result.exception
