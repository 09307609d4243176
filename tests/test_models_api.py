"""The model resources over HTTP: create, list, search, edit, delete, and their errors."""

from __future__ import annotations

import pytest

from registry.services.models import create_model


def create(client, tokens, name="house-prices", **extra):
    return client.post("/api/v1/models", json={"name": name, **extra}, headers=tokens["publisher"])


def test_create_and_get_model(client, tokens):
    response = create(client, tokens, description="Prices", tags={"team": "pricing"})
    assert response.status_code == 201
    body = response.get_json()
    assert body["name"] == "house-prices"
    assert body["kind"] is None
    assert body["tags"] == {"team": "pricing"}
    assert body["active_version"] is None and body["latest_version"] is None
    assert body["aliases"] == {}
    assert body["created_at"].endswith("+00:00")
    got = client.get("/api/v1/models/house-prices").get_json()
    assert got == body


def test_duplicate_name_is_409(client, tokens):
    assert create(client, tokens).status_code == 201
    response = create(client, tokens)
    assert response.status_code == 409
    assert response.get_json()["code"] == "model_exists"


@pytest.mark.parametrize("name", ["", "A", "-x", "a" * 65, "has space", "ünï"])
def test_bad_name_is_422_invalid_name(client, tokens, name):
    response = create(client, tokens, name=name)
    assert response.status_code == 422
    assert response.get_json()["code"] == "invalid_name"


@pytest.mark.parametrize(
    "body",
    [
        [],
        "x",
        {"name": 5},
        {"name": "ok", "tags": ["a"]},
        {"name": "ok", "tags": {"a": 1}},
        {"name": "ok", "description": 3},
        {"name": "ok", "bogus": 1},
    ],
)
def test_wrong_shape_is_400(client, tokens, body):
    response = client.post("/api/v1/models", json=body, headers=tokens["publisher"])
    assert response.status_code == 400
    assert response.get_json()["code"] == "bad_request"


def test_bad_kind_is_422(client, tokens):
    response = create(client, tokens, kind="forest")
    assert response.status_code == 422
    assert "kind" in response.get_json()["errors"]


@pytest.mark.parametrize("raw", [b"{", b'{"name": NaN}', b'{"name": 1e999}', b"[" * 40 + b"]" * 40])
def test_invalid_json_is_400(client, tokens, raw):
    response = client.post(
        "/api/v1/models", data=raw, headers=tokens["publisher"], content_type="application/json"
    )
    assert response.status_code == 400
    assert response.get_json()["code"] == "invalid_json"


def test_form_body_is_415(client, tokens):
    response = client.post("/api/v1/models", data={"name": "x"}, headers=tokens["publisher"])
    assert response.status_code == 415


def test_list_search_and_paging(client, tokens):
    for name, kind, team in [
        ("alpha", "linear", "a"),
        ("beta", "logistic", "b"),
        ("alphabet", "linear", "b"),
    ]:
        assert create(client, tokens, name=name, kind=kind, tags={"team": team}).status_code == 201
    page = client.get("/api/v1/models?per_page=2").get_json()
    assert page["total"] == 3 and page["per_page"] == 2
    assert [m["name"] for m in page["items"]] == ["alpha", "alphabet"]
    assert [m["name"] for m in client.get("/api/v1/models?q=bet").get_json()["items"]] == [
        "alphabet",
        "beta",
    ]
    assert [m["name"] for m in client.get("/api/v1/models?tag=team:b").get_json()["items"]] == [
        "alphabet",
        "beta",
    ]
    assert [m["name"] for m in client.get("/api/v1/models?kind=logistic").get_json()["items"]] == [
        "beta"
    ]
    assert client.get("/api/v1/models?q=%25").get_json()["total"] == 0
    assert client.get("/api/v1/models?per_page=9999").get_json()["per_page"] == 500


@pytest.mark.parametrize("query", ["page=0", "per_page=0", "page=x", "per_page=1.5"])
def test_bad_paging_is_400(client, query):
    response = client.get(f"/api/v1/models?{query}")
    assert response.status_code == 400


def test_patch_replaces_tags(client, tokens):
    create(client, tokens, tags={"a": "1", "b": "2"})
    response = client.patch(
        "/api/v1/models/house-prices", json={"tags": {"c": "3"}}, headers=tokens["publisher"]
    )
    assert response.status_code == 200
    assert response.get_json()["tags"] == {"c": "3"}


def test_delete_needs_admin_and_frees_the_name(client, tokens):
    create(client, tokens)
    assert (
        client.delete("/api/v1/models/house-prices", headers=tokens["publisher"]).status_code == 403
    )
    assert client.delete("/api/v1/models/house-prices", headers=tokens["admin"]).status_code == 204
    assert client.get("/api/v1/models/house-prices").status_code == 404
    assert create(client, tokens).status_code == 201


def test_unknown_model_is_404_json(client):
    for path in ["/api/v1/models/nope", "/api/v1/models/NOT_VALID", "/api/v1/models/nope/events"]:
        response = client.get(path)
        assert response.status_code == 404
        assert response.get_json()["code"] == "model_not_found"


def test_unknown_url_and_405_are_json(client):
    response = client.get("/api/v1/nothing-here")
    assert response.status_code == 404 and response.get_json()["code"] == "not_found"
    response = client.get("/elsewhere")
    assert response.status_code == 404 and response.is_json
    response = client.put("/api/v1/models")
    assert response.status_code == 405 and response.get_json()["code"] == "method_not_allowed"


def test_events_record_creation(client, tokens):
    create(client, tokens)
    events = client.get("/api/v1/models/house-prices/events").get_json()
    assert events["total"] == 1
    assert events["items"][0]["action"] == "model_created"
    assert events["items"][0]["actor"] == "test-publisher"


def test_paged_search_over_hundreds_of_models(app, client):
    """Every page of a listing, filtered or not, is the right slice with the right total."""
    registry = app.extensions["registry"]
    names = [f"{'ab'[i % 2]}-model-{i:03d}" for i in range(300)]
    with registry.db.write() as session:
        for i, name in enumerate(names):
            create_model(session, name, actor="test", kind=["linear", "logistic"][i % 3 == 0])
    cases = {
        "": sorted(names),
        "q=model-1": sorted(n for n in names if "model-1" in n),
        "q=b-": sorted(n for n in names if "b-" in n),
        "kind=logistic": sorted(n for i, n in enumerate(names) if i % 3 == 0),
        "q=a-&kind=logistic": sorted(n for i, n in enumerate(names) if i % 3 == 0 and "a-" in n),
    }
    for query, expected in cases.items():
        for per_page in (7, 50):
            got = []
            for page in range(1, len(expected) // per_page + 3):
                body = client.get(f"/api/v1/models?{query}&page={page}&per_page={per_page}")
                body = body.get_json()
                assert body["total"] == len(expected) and body["page"] == page
                got += [m["name"] for m in body["items"]]
                assert all(m["latest_version"] is None for m in body["items"])
            assert got == expected, query
