"""Tokens and roles: writes always need a token, reads only when configured."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from registry.app import create_app


def test_write_without_token_is_401(client):
    response = client.post("/api/v1/models", json={"name": "x"})
    assert response.status_code == 401
    assert response.get_json()["code"] == "unauthorized"


def test_reader_cannot_write(client, tokens):
    response = client.post("/api/v1/models", json={"name": "x"}, headers=tokens["reader"])
    assert response.status_code == 403


@pytest.mark.parametrize("header", ["Bearer nope", "Basic abc", "Bearer"])
def test_invalid_token_is_401_even_on_open_reads(client, header):
    response = client.get("/api/v1/models", headers={"Authorization": header})
    assert response.status_code == 401


def test_reads_are_open_by_default(client):
    assert client.get("/api/v1/models").status_code == 200


def test_auth_reads_requires_a_reader_token(database_url, tmp_path, tokens):
    app = create_app(
        {"database_url": database_url, "artifact_root": tmp_path / "a", "auth_reads": True}
    )
    client = app.test_client()
    assert client.get("/api/v1/models").status_code == 401
    assert client.get("/api/v1/models", headers=tokens["reader"]).status_code == 200
    app.extensions["registry"].db.dispose()


def test_tokens_are_stored_hashed(app, tokens):
    from sqlalchemy import select

    from registry.models import ApiToken

    token = tokens["admin"]["Authorization"].split()[1]
    with app.extensions["registry"].db.read() as session:
        hashes = session.scalars(select(ApiToken.token_hash)).all()
    assert token not in hashes and len(hashes) == 3


def test_create_token_command_on_a_fresh_database(tmp_path: Path):
    root = Path(__file__).resolve().parent.parent
    env = {"REGISTRY_DATABASE_URL": f"sqlite:///{tmp_path / 'fresh.db'}", "PATH": "/usr/bin"}
    result = subprocess.run(
        [sys.executable, "manage.py", "create-token", "--role", "publisher", "--name", "ci"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    token = result.stdout.strip().splitlines()[-1]
    assert token.startswith("reg_") and " " not in token
    app = create_app(
        {"database_url": env["REGISTRY_DATABASE_URL"], "artifact_root": tmp_path / "a"}
    )
    response = app.test_client().post(
        "/api/v1/models", json={"name": "via-cli"}, headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 201
    app.extensions["registry"].db.dispose()
