"""NUL characters (U+0000) stored before the API refused them: every read still answers.

Releases before 42194f8 and b3ee49e stored NUL in tags, metric names, event payloads and (on
SQLite, whose text can hold it) descriptions. PostgreSQL keeps a JSON column as text with the
escape \\u0000 and cannot unescape it to text, so one such model tag made every ?tag= search a
500 there, for every caller. The values are written here with SQL, as those releases left them.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select, text

from registry.app import create_app
from registry.bench.generation import scratch_postgres
from registry.db import connect
from registry.migrate import upgrade
from registry.models import Event, RegisteredModel, RegistryState
from tests.conftest import BACKENDS, POSTGRES_URL
from tests.factories import add_plan_version, house_plan

NUL = "a\u0000b"

# Where an older release could leave a NUL: (table, column, value) written to every row.
STORED = {
    "model tag value": ("registered_model", "tags", {"team": NUL}),
    "model tag key": ("registered_model", "tags", {NUL: "v", "team": "y"}),
    "version tag": ("model_version", "tags", {NUL: NUL}),
    "metric name": ("model_version", "metrics", {NUL: 1.0, "rmse": 2.0}),
    "event payload": ("event", "detail", {"tags": {NUL: NUL}, "description": NUL}),
    "model description": ("registered_model", "description", NUL),
    "version description": ("model_version", "description", NUL),
}

READS = [
    "/api/v1/models",
    "/api/v1/models?tag=team:x",
    "/api/v1/models?tag=team:y",
    "/api/v1/models?q=house",
    "/api/v1/models?q=house&tag=team:x&kind=regression",
    "/api/v1/models/house-prices",
    "/api/v1/models/house-prices/versions",
    "/api/v1/models/house-prices/versions/1",
    "/api/v1/models/house-prices/events",
    "/api/v1/models/house-prices/compare?a=1&b=1",
    "/",
    "/?tag=team:x",
    "/?q=house&tag=team:y",
    "/ui/models/house-prices",
    "/ui/models/house-prices/compare?a=1&b=1",
]


def store(app, table: str, column: str, value: object, where: str = "") -> None:
    """Write ``value`` into a column with SQL, past the API's checks, as older releases did."""
    is_json = not isinstance(value, str)
    engine = app.extensions["registry"].db.engine
    if not is_json and engine.dialect.name == "postgresql":
        pytest.skip("PostgreSQL text cannot hold NUL: no release could store it there.")
    with engine.begin() as connection:
        connection.execute(
            text(f"UPDATE {table} SET {column} = :value {where}"),
            {"value": json.dumps(value) if is_json else value},
        )


@pytest.mark.parametrize("where", STORED)
def test_no_read_answers_500_over_a_stored_nul(app, client, house, where: str):
    add_plan_version(app, "other", house_plan(), activate=True)
    store(app, "registered_model", "tags", {"team": "x"}, "WHERE name = 'other'")
    table, column, value = STORED[where]
    where_clause = "WHERE name = 'house-prices'" if table == "registered_model" else ""
    store(app, table, column, value, where_clause)
    for path in READS:
        answer = client.get(path)
        assert answer.status_code == 200, (path, answer.get_data(as_text=True)[:300])
    # A tag search still finds the other models; the row holding NUL breaks no one's search.
    found = client.get("/api/v1/models?tag=team:x").get_json()["items"]
    assert [item["name"] for item in found] == ["other"]


def test_a_dashboard_tag_filter_holding_nul_finds_nothing(client, house):
    # The API refuses such a filter (400); the dashboard passed it on, a 500 on PostgreSQL.
    for query in ("tag=a:b%00", "tag=a%00:b"):
        page = client.get(f"/?{query}")
        assert page.status_code == 200, page.get_data(as_text=True)[:300]
        assert "house-prices" not in page.get_data(as_text=True)


def test_a_tag_holding_the_text_of_an_escape_is_still_found(client, tokens):
    # Six characters, backslash u 0 0 0 0: JSON text writes them \\u0000, which is no NUL.
    body = {"name": "escaped", "tags": {"path": "C:\\u0000"}}
    created = client.post("/api/v1/models", json=body, headers=tokens["publisher"])
    assert created.status_code == 201, created.get_data(as_text=True)
    found = client.get("/api/v1/models?tag=path:C:%5Cu0000").get_json()["items"]
    assert [item["name"] for item in found] == ["escaped"]


@pytest.fixture(params=BACKENDS)
def old_registry(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The URL of an empty registry database at the revision before NUL was removed."""
    with ExitStack() as stack:
        if request.param == "sqlite":
            url = f"sqlite:///{tmp_path / 'old.db'}"
        else:
            assert POSTGRES_URL
            url = stack.enter_context(scratch_postgres(POSTGRES_URL, "registry_old"))
        database = connect(url)
        upgrade(database.engine, "0006_version_intake")
        database.dispose()
        yield url


def insert_model(url: str, name: str, tags: dict, description: str, version: dict) -> None:
    """Insert a model with one version and one event as a release at revision 0006 could."""
    engine = create_engine(url)
    with engine.begin() as connection:
        model_id = connection.execute(
            text(
                "INSERT INTO registered_model (name, description, tags, last_version, "
                "created_at, updated_at) VALUES (:name, :description, :tags, 1, "
                "'2026-01-01', '2026-01-01') RETURNING id"
            ),
            {"name": name, "description": description, "tags": json.dumps(tags)},
        ).scalar_one()
        connection.execute(
            text(
                "INSERT INTO model_version (model_id, version, kind, estimator, features, plan, "
                "sha256, size_bytes, artifact_format, metrics, description, tags, is_archived, "
                "created_at, created_by) VALUES (:model_id, 1, 'regression', 'LinearRegression', "
                "'[]', '{}', :sha, 1, 'joblib', :metrics, :description, :tags, :archived, "
                "'2026-01-01', 'tests')"
            ),
            {
                "model_id": model_id,
                "sha": "0" * 64,
                "metrics": json.dumps(version["metrics"]),
                "description": version["description"],
                "tags": json.dumps(version["tags"]),
                "archived": False,
            },
        )
        connection.execute(
            text(
                "INSERT INTO event (model_id, action, actor, at, detail) "
                "VALUES (:model_id, 'model_updated', 'tests', '2026-01-01', :detail)"
            ),
            {"model_id": model_id, "detail": json.dumps({"tags": tags})},
        )
    engine.dispose()


def stored(url: str) -> tuple[dict, list[tuple], int]:
    """Return each model's and version's values, the events and the generation, by ORM."""
    database = connect(url)
    with database.read() as session:
        values = {}
        for model in session.scalars(select(RegisteredModel).order_by(RegisteredModel.id)):
            values[model.name] = (model.description, model.tags)
            for row in model.versions:
                values[f"{model.name}/{row.version}"] = (row.description, row.tags, row.metrics)
        events = [
            (e.model_id, e.version, e.action, e.actor, e.detail)
            for e in session.scalars(select(Event).order_by(Event.id))
        ]
        generation = session.scalar(select(RegistryState.generation))
    database.dispose()
    return values, events, generation


def test_the_migration_removes_stored_nul_and_says_what_it_changed(old_registry, tmp_path):
    on_sqlite = old_registry.startswith("sqlite")
    text_nul = NUL if on_sqlite else "ab"  # PostgreSQL text could never hold one
    # Without its NUL the key a\0b is "ab", which the model has: the tag set as "ab" stays.
    tags = {"team": NUL, NUL: "1", "ab": "2", "k\u0000": "v"}
    version = {"tags": {"n\u0000": NUL}, "metrics": {"r\u0000mse": 1.5}, "description": text_nul}
    insert_model(old_registry, "house-prices", tags, text_nul, version)
    clean = {"tags": {"n": "v"}, "metrics": {"rmse": 1.0}, "description": "clean"}
    insert_model(old_registry, "other", {"team": "x"}, "", clean)
    database = connect(old_registry)
    upgrade(database.engine)
    database.dispose()

    values, events, generation = stored(old_registry)
    assert values == {
        "house-prices": ("ab", {"team": "ab", "ab": "2", "k": "v"}),
        "house-prices/1": ("ab", {"n": "ab"}, {"rmse": 1.5}),
        "other": ("", {"team": "x"}),
        "other/1": ("clean", {"n": "v"}, {"rmse": 1.0}),
    }
    model_fields = ["description", "tags"] if on_sqlite else ["tags"]
    version_fields = ["description", "metrics", "tags"] if on_sqlite else ["metrics", "tags"]
    actor = "migration 0007_strip_nul"
    assert events == [
        (1, None, "model_updated", "tests", {"tags": tags}),  # history stays as it was sent
        (2, None, "model_updated", "tests", {"tags": {"team": "x"}}),
        (1, None, "nul_removed", actor, {"fields": model_fields, "dropped_tags": [["ab", "1"]]}),
        (1, 1, "nul_removed", actor, {"fields": version_fields}),
    ]
    assert generation == 1  # running servers read the rows again

    app = create_app({"database_url": old_registry, "artifact_root": tmp_path / "a"})
    client = app.test_client()
    for tag, names in [
        ("team:ab", ["house-prices"]),
        ("team:x", ["other"]),
        ("k:v", ["house-prices"]),
    ]:
        answer = client.get(f"/api/v1/models?tag={tag}")
        assert answer.status_code == 200, answer.get_data(as_text=True)
        assert [item["name"] for item in answer.get_json()["items"]] == names
    app.extensions["registry"].serving.close()
    app.extensions["registry"].db.dispose()


def test_the_migration_writes_nothing_on_clean_data(old_registry):
    tags = {"team": "x", "path": "C:\\u0000"}  # the text of an escape is no NUL
    version = {"tags": tags, "metrics": {"rmse": 1.0}, "description": "C:\\u0000"}
    insert_model(old_registry, "house-prices", tags, "C:\\u0000", version)
    before = stored(old_registry)
    database = connect(old_registry)
    upgrade(database.engine)
    database.dispose()
    assert stored(old_registry) == before
