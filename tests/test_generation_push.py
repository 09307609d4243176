"""The registry generation pushed by PostgreSQL, and the X-Registry-Generation header.

Two apps on one database stand for two servers: "a" is told of changes, "b" answers.
"""

from __future__ import annotations

import time

import pytest
from sqlalchemy import create_engine, event, text

from tests.conftest import POSTGRES_URL
from tests.factories import add_plan_version, house_plan

BASE = "/api/v1/models/house-prices"
ROW = {"area": 1500, "bedrooms": 3, "bathrooms": 2, "age": 10}
HEADER = "X-Registry-Generation"

postgres_only = pytest.mark.skipif(
    POSTGRES_URL is None, reason="push is PostgreSQL's: set REGISTRY_TEST_POSTGRES_URL"
)


def _two_servers(make_app):
    a, b = make_app(), make_app()
    add_plan_version(a, "house-prices", house_plan(), activate=True)
    add_plan_version(a, "house-prices", house_plan())
    return a, b


def _settled(app) -> None:
    """Wait until the app's listener hears pushes (it starts on the first request)."""
    watch = app.extensions["registry"].serving._watch
    app.test_client().post(f"{BASE}/predict", json=ROW)
    deadline = time.monotonic() + 30
    while watch._listener.generation() is None:
        assert time.monotonic() < deadline, "the listener never settled"
        time.sleep(0.01)


def _listening_servers(make_app):
    """Two servers whose listeners both hear pushes, and an admin's headers for the first."""
    a, b = _two_servers(make_app)
    admin = _admin(a)
    _settled(a)
    _settled(b)
    return a, b, admin


class _Statements:
    """Counts every statement an app sends: its engine's and its generation reads."""

    def __init__(self, app) -> None:
        registry = app.extensions["registry"]
        self._watch = registry.serving._watch
        self._engine_statements = 0
        self._reads_before = self._watch.queries
        event.listen(registry.db.engine, "before_cursor_execute", self._count)

    def _count(self, *_args) -> None:
        self._engine_statements += 1

    def generation_reads(self) -> int:
        return self._watch.queries - self._reads_before

    def total(self) -> int:
        return self._engine_statements + self.generation_reads()


def _activate(app, version: int, headers: dict[str, str]):
    return app.test_client().post(f"{BASE}/versions/{version}/activate", headers=headers)


def _admin(app) -> dict[str, str]:
    from registry.services.tokens import create_token

    with app.extensions["registry"].db.write() as session:
        return {"Authorization": f"Bearer {create_token(session, 'admin', 'push')}"}


@postgres_only
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_predictions_ask_postgresql_nothing_in_steady_state(make_app):
    a, b, admin = _listening_servers(make_app)
    statements = _Statements(b)
    client = b.test_client()
    for _ in range(50):
        assert client.post(f"{BASE}/predict", json=ROW).get_json()["version"] == 1
    assert statements.total() == 0
    # Read-your-writes still: b's first answer after each activation names the new version.
    for version in (2, 1, 2, 1):
        assert _activate(a, version, admin).status_code == 200
        assert client.post(f"{BASE}/predict", json=ROW).get_json()["version"] == version
    assert statements.generation_reads() == 0


@postgres_only
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_a_killed_listener_falls_back_to_queries_and_recovers(make_app):
    a, b, admin = _listening_servers(make_app)
    listener = b.extensions["registry"].serving._watch._listener
    statements = _Statements(b)
    killer = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with killer.connect() as connection:
        assert connection.scalar(
            text("SELECT pg_terminate_backend(:pid, 10000)"), {"pid": listener.backend_pid}
        )
    killer.dispose()
    # Changed while b's listener is gone: b asks the database, and answers the new version.
    assert _activate(a, 2, admin).status_code == 200
    client = b.test_client()
    assert client.post(f"{BASE}/predict", json=ROW).get_json()["version"] == 2
    deadline = time.monotonic() + 30
    while listener.connections < 2 or listener.generation() is None:
        assert time.monotonic() < deadline, "the listener never came back"
        time.sleep(0.01)
    before = statements.total()
    for _ in range(20):
        assert client.post(f"{BASE}/predict", json=ROW).get_json()["version"] == 2
    assert statements.total() == before
    assert _activate(a, 1, admin).status_code == 200
    assert client.post(f"{BASE}/predict", json=ROW).get_json()["version"] == 1


def test_answers_name_the_generation_they_were_made_at(make_app):
    a, b = _two_servers(make_app)
    admin = _admin(a)
    activated = _activate(a, 2, admin)
    generation = int(activated.headers[HEADER])
    answer = b.test_client().post(f"{BASE}/predict", json=ROW)
    assert answer.get_json()["version"] == 2
    assert int(answer.headers[HEADER]) == generation
    # The fast lane and the Flask routes alike, errors too.
    assert int(b.test_client().get(f"{BASE}").headers[HEADER]) == generation
    assert int(b.test_client().get("/api/v1/models/nothing").headers[HEADER]) == generation


def test_a_demanded_generation_is_honoured(make_app, database_url):
    a, b = _two_servers(make_app)
    client = b.test_client()
    assert client.post(f"{BASE}/predict", json=ROW).get_json()["version"] == 1
    # A change committed behind every server's back, with no wait for listeners: only the
    # header makes b's next answer sure to include it.
    engine = create_engine(database_url)
    with engine.begin() as connection:
        connection.execute(text("UPDATE registered_model SET active_version = 2"))
        generation = connection.scalar(
            text("UPDATE registry_state SET generation = generation + 1 RETURNING generation")
        )
    engine.dispose()
    answer = client.post(f"{BASE}/predict", json=ROW, headers={HEADER: str(generation)})
    assert answer.status_code == 200, answer.get_json()
    assert answer.get_json()["version"] == 2
    assert int(answer.headers[HEADER]) >= generation


@pytest.mark.parametrize("sent", ["x", "-1", "1.5", "9" * 19, ""])
def test_a_malformed_generation_header_is_400(client, sent):
    answer = client.get("/api/v1/models", headers={HEADER: sent})
    assert answer.status_code == 400
    assert HEADER in answer.get_json()["errors"]


def test_a_generation_the_database_never_reached_is_412(make_app):
    _, b = _two_servers(make_app)
    answer = b.test_client().post(f"{BASE}/predict", json=ROW, headers={HEADER: "999999"})
    assert answer.status_code == 412
    assert answer.get_json()["code"] == "generation_not_reached"


def test_the_specs_document_the_header_on_every_answer(client):
    for path, headers_of in (
        ("/api/v1/swagger.json", lambda response: response["headers"]),
        ("/api/v1/openapi.json", lambda response: response["headers"]),
    ):
        spec = client.get(path).get_json()
        operations = [
            operation
            for item in spec["paths"].values()
            for method, operation in item.items()
            if method in ("get", "post", "put", "patch", "delete")
        ]
        assert operations
        for operation in operations:
            for status, response in operation["responses"].items():
                assert HEADER in headers_of(response), (path, status)
