"""NUL characters (U+0000) stored before the API refused them: every read still answers.

Releases before 42194f8 and b3ee49e stored NUL in tags, metric names, event payloads and (on
SQLite, whose text can hold it) descriptions. PostgreSQL keeps a JSON column as text with the
escape \\u0000 and cannot unescape it to text, so one such model tag made every ?tag= search a
500 there, for every caller. The values are written here with SQL, as those releases left them.
"""

from __future__ import annotations

import json

import pytest
from sqlalchemy import text

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
    from tests.factories import add_plan_version, house_plan

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
