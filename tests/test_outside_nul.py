"""The NUL character (U+0000) from outside: refused in stored text, matches nothing in lookups.

PostgreSQL text cannot hold NUL and refuses a query that carries one ("A string literal cannot
contain NUL (0x00) characters"), so each of these was a 500 there while SQLite answered.
"""

from __future__ import annotations

import io

import pytest

NUL = "a\u0000b"
ESCAPED = "a%00b"


@pytest.mark.parametrize(
    "method, path, body",
    [
        ("POST", "/api/v1/models", {"name": "nul-model", "description": NUL}),
        ("PATCH", "/api/v1/models/house-prices", {"description": NUL}),
        ("PATCH", "/api/v1/models/house-prices/versions/1", {"description": NUL}),
    ],
)
def test_a_description_holding_nul_is_refused_by_field(
    client, tokens, house, method: str, path: str, body: dict
):
    answer = client.open(path, method=method, json=body, headers=tokens["publisher"])
    assert answer.status_code == 422, answer.get_data(as_text=True)
    assert answer.get_json()["code"] == "validation_failed"
    assert answer.get_json()["errors"] == {
        "description": ["Must not contain the NUL character (U+0000)."]
    }


def test_training_with_a_nul_description_is_refused_before_any_child(client, tokens):
    csv = "x,y\n" + "".join(f"{i},{2 * i}\n" for i in range(30))
    answer = client.post(
        "/api/v1/models/nul-trained/versions/train",
        data={
            "data": (io.BytesIO(csv.encode()), "d.csv"),
            "target": "y",
            "description": NUL,
        },
        headers=tokens["publisher"],
    )
    assert answer.status_code == 422, answer.get_data(as_text=True)
    assert "description" in answer.get_json()["errors"]


@pytest.mark.parametrize(
    "path",
    [
        f"/api/v1/models/{ESCAPED}",
        f"/api/v1/models/{ESCAPED}/versions",
        f"/api/v1/models/{ESCAPED}/versions/1",
        f"/api/v1/models/{ESCAPED}/events",
        f"/api/v1/models/{ESCAPED}/compare?a=1&b=2",
    ],
)
def test_a_model_name_holding_nul_is_not_found(client, house, path: str):
    answer = client.get(path)
    assert answer.status_code == 404, answer.get_data(as_text=True)
    assert answer.get_json()["code"] == "model_not_found"


@pytest.mark.parametrize("query", [f"q={ESCAPED}", f"kind={ESCAPED}", "q=%00"])
def test_a_search_holding_nul_finds_nothing(client, house, query: str):
    answer = client.get(f"/api/v1/models?{query}")
    assert answer.status_code == 200, answer.get_data(as_text=True)
    assert answer.get_json()["items"] == []


def test_revoking_a_token_name_holding_nul_is_token_not_found(client, tokens):
    answer = client.delete(f"/api/v1/tokens/{ESCAPED}", headers=tokens["admin"])
    assert answer.status_code == 404, answer.get_data(as_text=True)
    assert answer.get_json()["code"] == "token_not_found"


def test_the_dashboard_answers_pages_not_500s(client, house):
    assert client.get("/?q=%00").status_code == 200
    page = client.get(f"/ui/models/{ESCAPED}")
    assert page.status_code == 404
    assert page.mimetype == "text/html"


@pytest.mark.parametrize(
    "method, path, tags",
    [
        ("POST", "/api/v1/models", {"k": NUL}),
        ("POST", "/api/v1/models", {NUL: "v"}),
        ("PATCH", "/api/v1/models/house-prices", {"k": NUL}),
        ("PATCH", "/api/v1/models/house-prices/versions/1", {NUL: "v"}),
    ],
)
def test_tags_holding_nul_are_refused_and_tag_search_keeps_working(
    client, tokens, house, method: str, path: str, tags: dict
):
    # Stored, a NUL tag made every ?tag= search a 500 on PostgreSQL (its JSON text cannot
    # unescape \u0000), for every caller.
    body = {"tags": tags} | ({"name": "nul-tags"} if method == "POST" else {})
    answer = client.open(path, method=method, json=body, headers=tokens["publisher"])
    assert answer.status_code == 422, answer.get_data(as_text=True)
    assert [key.split(".")[0] for key in answer.get_json()["errors"]] == ["tags"]
    assert client.get("/api/v1/models?tag=k:v").status_code == 200
