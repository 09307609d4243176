"""Tokens: listed without secrets, revoked everywhere at once, last use recorded cheaply."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import requests
from click.testing import CliRunner
from sqlalchemy import event, select

from manage import build_cli
from registry.models import ApiToken
from registry.services.tokens import create_token

TOKENS = "/api/v1/tokens"


def secrets_of(app) -> list[str]:
    with app.extensions["registry"].db.read() as session:
        return list(session.scalars(select(ApiToken.token_hash)))


def test_admins_list_tokens_without_their_secrets(app, client, tokens):
    response = client.get(TOKENS, headers=tokens["admin"])
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["total"] == 3 and body["page"] == 1
    assert [(t["name"], t["role"]) for t in body["items"]] == [
        ("test-reader", "reader"),
        ("test-publisher", "publisher"),
        ("test-admin", "admin"),
    ]
    for item in body["items"]:
        assert set(item) == {
            "id",
            "name",
            "role",
            "created_at",
            "last_used_at",
            "revoked",
            "revoked_at",
        }
        assert item["created_at"] and item["revoked"] is False
    text = response.get_data(as_text=True)
    for header in tokens.values():
        assert header["Authorization"].split()[1] not in text
    for stored in secrets_of(app):
        assert stored not in text


@pytest.mark.parametrize("role,status", [("reader", 403), ("publisher", 403), (None, 401)])
def test_only_admins_see_or_revoke_tokens(client, tokens, role, status):
    headers = tokens[role] if role else {}
    assert client.get(TOKENS, headers=headers).status_code == status
    assert client.delete(f"{TOKENS}/test-reader", headers=headers).status_code == status
    assert client.get("/api/v1/models", headers=tokens["reader"]).status_code == 200


def test_a_revoked_token_is_refused_at_once(client, tokens):
    # Known and cached by this app first.
    assert client.get("/api/v1/models", headers=tokens["publisher"]).status_code == 200
    listed = client.get(TOKENS, headers=tokens["admin"]).get_json()["items"]
    publisher = next(t for t in listed if t["name"] == "test-publisher")
    response = client.delete(f"{TOKENS}/{publisher['id']}", headers=tokens["admin"])
    assert response.status_code == 204 and response.data == b""
    refused = client.get("/api/v1/models", headers=tokens["publisher"])
    assert refused.status_code == 401 and refused.get_json()["code"] == "unauthorized"
    after = client.get(TOKENS, headers=tokens["admin"]).get_json()["items"]
    revoked = next(t for t in after if t["name"] == "test-publisher")
    assert revoked["revoked"] is True and revoked["revoked_at"]
    # Revoking again changes nothing; the others still work.
    assert client.delete(f"{TOKENS}/{publisher['id']}", headers=tokens["admin"]).status_code == 204
    assert client.get("/api/v1/models", headers=tokens["reader"]).status_code == 200


def test_revoking_by_name_needs_one_live_token_of_that_name(app, client, tokens):
    with app.extensions["registry"].db.write() as session:
        create_token(session, "reader", "ci")
        create_token(session, "reader", "ci")
    ambiguous = client.delete(f"{TOKENS}/ci", headers=tokens["admin"])
    assert ambiguous.status_code == 409
    assert ambiguous.get_json()["code"] == "ambiguous_token"
    assert "id" in ambiguous.get_json()["message"]
    missing = client.delete(f"{TOKENS}/nobody", headers=tokens["admin"])
    assert missing.status_code == 404 and missing.get_json()["code"] == "token_not_found"
    assert client.delete(f"{TOKENS}/999", headers=tokens["admin"]).status_code == 404
    assert client.delete(f"{TOKENS}/test-reader", headers=tokens["admin"]).status_code == 204
    assert client.get("/api/v1/models", headers=tokens["reader"]).status_code == 401


def test_last_use_is_recorded_once_not_per_request(app, client, tokens):
    engine = app.extensions["registry"].db.engine
    writes = []

    def count(_conn, _cursor, statement, *_args) -> None:
        if statement.lstrip().upper().startswith("UPDATE API_TOKEN"):
            writes.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        for _ in range(20):
            assert client.get("/api/v1/models", headers=tokens["reader"]).status_code == 200
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert len(writes) == 1
    items = client.get(TOKENS, headers=tokens["admin"]).get_json()["items"]
    used = {t["name"]: t["last_used_at"] for t in items}
    assert used["test-reader"] and used["test-admin"]
    assert used["test-publisher"] is None


def test_the_cli_lists_and_revokes(app, client, tokens, database_url, tmp_path: Path):
    runner = CliRunner(
        env={
            "REGISTRY_DATABASE_URL": database_url,
            "REGISTRY_ARTIFACT_ROOT": str(tmp_path / "artifacts"),
        }
    )
    cli = build_cli()
    assert client.get("/api/v1/models", headers=tokens["reader"]).status_code == 200
    listed = runner.invoke(cli, ["tokens", "list"], catch_exceptions=False)
    assert listed.exit_code == 0, listed.output
    lines = listed.output.splitlines()
    assert lines[0].split() == ["ID", "NAME", "ROLE", "CREATED", "LAST", "USED", "STATUS"]
    assert [line.split()[1:3] for line in lines[1:]] == [
        ["test-reader", "reader"],
        ["test-publisher", "publisher"],
        ["test-admin", "admin"],
    ]
    for stored in secrets_of(app):
        assert stored not in listed.output
    revoked = runner.invoke(cli, ["tokens", "revoke", "test-reader"], catch_exceptions=False)
    assert revoked.exit_code == 0, revoked.output
    assert "Revoked token 1 (test-reader, reader)" in revoked.output
    # This app resolved the token before; the revocation by another process still holds at once.
    assert client.get("/api/v1/models", headers=tokens["reader"]).status_code == 401
    as_json = json.loads(runner.invoke(cli, ["tokens", "list", "--json"]).output)
    assert as_json[0]["revoked"] is True and as_json[0]["last_used_at"]
    unknown = runner.invoke(cli, ["tokens", "revoke", "nobody"])
    assert unknown.exit_code == 1 and "no token named 'nobody'" in unknown.output


def test_revocation_holds_on_every_worker_of_a_live_server(live_server, live_token):
    made = live_server.manage("create-token", "--role", "reader", "--name", "doomed")
    assert made.returncode == 0, made.stderr
    doomed = {"Authorization": f"Bearer {made.stdout.strip().splitlines()[-1]}"}
    models = f"{live_server.url}/api/v1/models"

    def workers_answering(status: int) -> set[str]:
        """Send requests on fresh connections until both workers answered, all with status."""
        seen: set[str] = set()
        for _ in range(200):
            response = requests.get(models, headers=doomed, timeout=30)
            assert response.status_code == status, response.text
            seen.add(response.headers["X-Worker"])
            if len(seen) == 2:
                break
        return seen

    # Both workers know the token (and have it cached) before the revocation.
    assert len(workers_answering(200)) == 2
    response = requests.delete(
        f"{live_server.url}/api/v1/tokens/doomed", headers=live_token, timeout=30
    )
    assert response.status_code == 204, response.text
    assert len(workers_answering(401)) == 2
    listed = requests.get(f"{live_server.url}/api/v1/tokens", headers=live_token, timeout=30)
    doomed_row = next(t for t in listed.json()["items"] if t["name"] == "doomed")
    assert doomed_row["revoked"] is True and doomed_row["last_used_at"]
