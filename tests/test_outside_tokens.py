"""Token ids past the id column's range, as an outsider sends them: not found, never a 500.

An all-digits reference is a token id; PostgreSQL refuses to compare its int4 column with 2**31
and SQLite's driver cannot bind 10**20 at all.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from manage import build_cli

NUMBERS = [2**31, 10**20]


@pytest.mark.parametrize("number", NUMBERS)
def test_revoking_an_id_beyond_the_column_is_token_not_found(client, tokens, number: int):
    answer = client.delete(f"/api/v1/tokens/{number}", headers=tokens["admin"])
    assert answer.status_code == 404, answer.get_data(as_text=True)
    assert answer.get_json() == {
        "message": f"There is no token with id {number}.",
        "code": "token_not_found",
    }


@pytest.mark.parametrize("number", NUMBERS)
def test_the_cli_names_the_missing_token(app, database_url: str, tmp_path: Path, number: int):
    runner = CliRunner(
        env={
            "REGISTRY_DATABASE_URL": database_url,
            "REGISTRY_ARTIFACT_ROOT": str(tmp_path / "artifacts"),
        }
    )
    result = runner.invoke(build_cli(), ["tokens", "revoke", str(number)])
    assert result.exit_code == 1, result.output
    assert f"There is no token with id {number}." in result.output
    assert isinstance(result.exception, SystemExit), result.exception
