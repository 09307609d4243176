"""What the server shows: request IDs instead of worker IDs, and the access log naming them."""

from __future__ import annotations

import re

import pytest
import requests

from tests.factories import add_plan_version, churn_plan, house_plan
from tests.live import server_env, start_server

ROW = {"area": 1500, "bedrooms": 3, "bathrooms": 2, "age": 10}
GENERATED = re.compile(r"[0-9a-f]{32}")


# The fast lane answers the first; the others go through Flask.
ANSWERS = [
    ("post", "/predict", ROW, 200),
    ("post", "/predict?explain=false", ROW, 200),
    ("post", "/predict", {"area": 1}, 422),
    ("get", "", None, 200),
    ("get", "/nothing-here", None, 404),
]


@pytest.mark.parametrize(("method", "path", "body", "status"), ANSWERS)
def test_every_answer_carries_a_request_id_and_no_worker_id(
    client, house, method, path, body, status
):
    sent = "7f3a-abc_DEF.42:x"
    echoed = getattr(client, method)(f"{house}{path}", json=body, headers={"X-Request-ID": sent})
    assert echoed.status_code == status
    assert echoed.headers["X-Request-ID"] == sent
    assert "X-Worker" not in echoed.headers
    fresh = [getattr(client, method)(f"{house}{path}", json=body) for _ in range(2)]
    ids = [answer.headers["X-Request-ID"] for answer in fresh]
    assert all(GENERATED.fullmatch(i) for i in ids) and ids[0] != ids[1]


@pytest.mark.parametrize("sent", ["x" * 129, "has space", "new\tline", "", 'quote"d', "é"])
def test_an_unusable_request_id_is_replaced(client, house, sent):
    answer = client.post(f"{house}/predict", json=ROW, headers={"X-Request-ID": sent})
    assert GENERATED.fullmatch(answer.headers["X-Request-ID"])


def test_the_worker_header_is_a_debug_setting(make_app):
    app = make_app(worker_header=True)
    add_plan_version(app, "house-prices", house_plan(), activate=True)
    client = app.test_client()
    fast = client.post("/api/v1/models/house-prices/predict", json=ROW)
    full = client.post("/api/v1/models/house-prices/predict?explain=false", json=ROW)
    assert (
        fast.headers["X-Worker"] == full.headers["X-Worker"] and fast.headers["X-Worker"].isdigit()
    )


def test_the_access_log_names_each_request_id(database_url, tmp_path):
    env = server_env(database_url, tmp_path / "artifacts", REGISTRY_ACCESS_LOG="-")
    server = start_server(env, tmp_path / "server.log", workers=1)
    try:
        url = f"{server.url}/api/v1/models/nothing/predict"
        sent = requests.post(url, json=ROW, headers={"X-Request-ID": "trace-0451"}, timeout=10)
        fresh = requests.get(f"{server.url}/health/live", timeout=10)
    finally:
        server.stop()
    assert sent.status_code == 404 and sent.headers["X-Request-ID"] == "trace-0451"
    generated = fresh.headers["X-Request-ID"]
    lines = server.log.read_text().splitlines()
    assert any(
        '"POST /api/v1/models/nothing/predict HTTP/1.1" 404' in line
        and line.endswith(" trace-0451")
        for line in lines
    )
    assert any(
        '"GET /health/live HTTP/1.1" 200' in line and line.endswith(f" {generated}")
        for line in lines
    )


# --- the spec, the docs and /metrics under REGISTRY_AUTH_READS -------------------------------

SPEC = "/api/v1/swagger.json"
HOSTILE = (
    'Fast <img src="http://tracker.example/pixel.png"> model.\n\n'
    "[Log in again](http://phish.example/login) or www.phish.example, mail a@phish.example\n"
    "    \r\n```\n</code></pre><img src=x>\u2028# Heading"
)


def secret_model(app, client, tokens) -> None:
    created = client.post(
        "/api/v1/models",
        json={"name": "secret-model", "description": HOSTILE},
        headers=tokens["publisher"],
    )
    assert created.status_code == 201
    plan = house_plan()
    plan["kind"], plan["link"] = "logistic", "logistic"
    plan["classes"] = ["<img src=http://x.example/c.png>", "[c](http://x.example)"]
    add_plan_version(app, "secret-model", plan, activate=True)


def test_the_spec_needs_a_reader_token_when_reads_do(make_app, tokens):
    app = make_app(auth_reads=True)
    client = app.test_client()
    secret_model(app, client, tokens)
    refused = client.get(SPEC)
    assert refused.status_code == 401 and refused.get_json()["code"] == "unauthorized"
    assert b"secret-model" not in refused.data
    bad = client.get(SPEC, headers={"Authorization": "Bearer nope"})
    assert bad.status_code == 401
    answered = client.get(SPEC, headers=tokens["reader"])
    assert answered.status_code == 200 and "/models/secret-model/predict" in answered.json["paths"]
    again = client.get(
        SPEC, headers={**tokens["reader"], "If-None-Match": answered.headers["ETag"]}
    )
    assert again.status_code == 304


def test_the_docs_page_holds_no_registry_data_and_sends_the_token(make_app, tokens):
    app = make_app(auth_reads=True)
    client = app.test_client()
    secret_model(app, client, tokens)
    page = client.get("/docs")
    assert page.status_code == 200 and page.mimetype == "text/html"
    html = page.get_data(as_text=True)
    assert "secret-model" not in html
    # The page asks for the token, keeps it for the tab, and adds it to its own requests.
    assert 'id="registry-token"' in html and "sessionStorage" in html
    assert "requestInterceptor" in html and '"Bearer " + token' in html
    assert client.get("/docs", headers={"Authorization": "Bearer nope"}).status_code == 401


def test_open_reads_keep_the_spec_and_docs_open(client):
    assert client.get(SPEC).status_code == 200
    html = client.get("/docs").get_data(as_text=True)
    assert "requestInterceptor" in html and 'id="registry-token"' not in html
    assert client.get("/metrics").status_code == 200


def test_metrics_need_a_reader_or_the_scraper_token(make_app, tokens):
    app = make_app(auth_reads=True, metrics_token="scrape-" + "s" * 30)
    client = app.test_client()
    refused = client.get("/metrics")
    assert refused.status_code == 401 and refused.get_json()["code"] == "unauthorized"
    assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
    scraper = {"Authorization": "Bearer scrape-" + "s" * 30}
    assert client.get("/metrics", headers=scraper).status_code == 200
    assert client.get("/metrics", headers=tokens["reader"]).status_code == 200


def test_a_metrics_token_closes_metrics_even_with_open_reads(make_app, tokens):
    app = make_app(metrics_token="scrape-" + "s" * 30)
    client = app.test_client()
    assert client.get("/metrics").status_code == 401
    assert (
        client.get("/metrics", headers={"Authorization": "Bearer scrape-" + "s" * 30}).status_code
        == 200
    )
    assert client.get("/api/v1/models").status_code == 200


def _markdown_fields(document: dict) -> list[str]:
    """Every text Swagger UI renders as Markdown: descriptions anywhere in the document."""
    found = []

    def walk(value):
        if isinstance(value, dict):
            for key, item in value.items():
                if key == "description" and isinstance(item, str):
                    found.append(item)
                else:
                    walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    walk(document)
    return found


def test_publisher_text_reaches_the_docs_as_a_code_block(app, client, tokens):
    secret_model(app, client, tokens)
    document = client.get(SPEC).get_json()
    tag = next(t for t in document["tags"] if t["name"] == "secret-model")
    lines = tag["description"].split("\n")
    # An indented code block: Swagger UI shows it as text, with no HTML, links or images.
    block = lines[: lines.index("")] if "" in lines else lines
    assert len(block) >= 7 and all(line.startswith("    ") for line in block)
    assert "\r" not in tag["description"] and "\u2028" not in tag["description"]
    assert block[0] == '    Fast <img src="http://tracker.example/pixel.png"> model.'
    # Outside code blocks, no description carries publisher text.
    for text in _markdown_fields(document):
        outside = [line for line in text.split("\n") if not line.startswith("    ")]
        assert not any("example" in line or "<img" in line for line in outside), text


def test_category_values_reach_the_docs_as_a_code_block(app, client):
    plan = churn_plan(("basic", "<img src=http://x.example/p.png>", "[c](http://x.example)"))
    plan["features"][2]["accepts_unknown"] = True
    add_plan_version(app, "open-plans", plan, activate=True)
    document = client.get(SPEC).get_json()
    row = document["definitions"]["open-plans.Row"]["properties"]["plan"]
    lines = row["description"].split("\n")
    assert "    basic, <img src=http://x.example/p.png>, [c](http://x.example)" in lines
    for text in _markdown_fields(document):
        outside = [line for line in text.split("\n") if not line.startswith("    ")]
        assert not any("x.example" in line for line in outside), text
