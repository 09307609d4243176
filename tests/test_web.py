"""The dashboard's pages over the Flask test client: content, escaping, headers, closed reads."""

from __future__ import annotations

import re

import pytest

from registry.app import create_app
from tests.factories import add_plan_version, churn_plan, house_plan, iris_plan

HOSTILE = '<img src=x onerror="window.pwned=1"><script>window.pwned=2</script>'


@pytest.fixture
def houses(app):
    add_plan_version(app, "house-prices", house_plan(), activate=True, metrics={"r2": 0.8})
    add_plan_version(app, "house-prices", house_plan(), metrics={"r2": 0.9})
    return app


def test_home_lists_models_with_their_state(client, houses, tokens):
    client.put(
        "/api/v1/models/house-prices/aliases/champion", json={"version": 2}, headers=tokens["admin"]
    )
    page = client.get("/")
    assert page.status_code == 200
    assert page.mimetype == "text/html"
    html = page.get_data(as_text=True)
    assert 'href="/ui/models/house-prices"' in html
    assert "champion → v2" in html
    assert "r2 0.9" in html  # the latest version's metrics


def test_home_filters_like_the_api(client, houses, tokens):
    add_plan_version(houses, "churn", churn_plan())
    client.patch("/api/v1/models/churn", json={"tags": {"team": "growth"}}, headers=tokens["admin"])
    by_name = client.get("/?q=chur").get_data(as_text=True)
    assert "/ui/models/churn" in by_name and "/ui/models/house-prices" not in by_name
    by_tag = client.get("/?tag=team:growth").get_data(as_text=True)
    assert "/ui/models/churn" in by_tag and "/ui/models/house-prices" not in by_tag
    by_kind = client.get("/?kind=linear").get_data(as_text=True)
    assert "/ui/models/house-prices" in by_kind and "/ui/models/churn" not in by_kind
    bad = client.get("/?tag=nocolon")
    assert bad.status_code == 200 and "key:value" in bad.get_data(as_text=True)


def test_model_page_shows_versions_charts_history_and_traffic(client, houses, tokens):
    client.post("/api/v1/models/house-prices/versions/2/activate", headers=tokens["admin"])
    row = {"area": 1500, "bedrooms": 3, "bathrooms": 2, "age": 10}
    for _ in range(3):
        assert client.post("/api/v1/models/house-prices/predict", json=row).status_code == 200
    html = client.get("/ui/models/house-prices").get_data(as_text=True)
    assert html.count('<circle cx="') == 2  # r2 of v1 and v2
    timeline = re.search(r'<ol class="timeline">(.*?)</ol>', html, re.S).group(1)
    assert "v1 → v2" in timeline and "none → v1" in timeline
    assert "test-admin" in timeline
    traffic = re.search(r'<table class="traffic">(.*?)</table>', html, re.S).group(1)
    assert re.search(r"<td>v2</td><td>3</td><td>0</td><td>3</td>", traffic)
    part = client.get("/ui/models/house-prices/traffic").get_data(as_text=True)
    assert re.search(r"<td>v2</td><td>3</td><td>0</td><td>3</td>", part)
    assert "<html" not in part


def test_version_page_shows_features_coefficients_and_the_try_form(client, app):
    add_plan_version(app, "churn", churn_plan())
    html = client.get("/ui/models/churn/versions/1").get_data(as_text=True)
    assert "log-odds of class 1" in html
    # Sorted by |coefficient|: tenure (-0.8) before plan = pro (0.3) before seats (0.05).
    terms = re.findall(r"<tr><td>([^<]+)</td><td class=\"num\">", html)
    assert terms[:3] == ["tenure", "plan = basic", "plan = pro"]
    assert 'name="f:plan"' in html and '<option value="&#34;plus&#34;">plus</option>' in html
    assert "Uploaded, not trained here" in html and "roc-curve" not in html


def test_multinomial_coefficients_are_shown_per_class(client, app):
    add_plan_version(app, "iris", iris_plan())
    html = client.get("/ui/models/iris/versions/1").get_data(as_text=True)
    for label in ("setosa", "versicolor", "virginica"):
        assert f"class {label}" in html
    assert html.count('<svg class="bar-chart"') == 3


def test_compare_page_shows_deltas_and_schema_differences(client, app):
    add_plan_version(app, "house-prices", house_plan(), metrics={"r2": 0.8})
    garage = {"name": "garage", "type": "number", "nullable": False}
    add_plan_version(app, "house-prices", house_plan(garage), metrics={"r2": 0.85})
    html = client.get("/ui/models/house-prices/compare?a=1&b=2").get_data(as_text=True)
    assert "+0.05" in html
    assert "Not compatible" in html and "<td>added</td><td>garage</td>" in html
    missing = client.get("/ui/models/house-prices/compare?a=1&b=9")
    assert missing.status_code == 404 and missing.mimetype == "text/html"


def test_publisher_text_is_escaped_everywhere(client, app, tokens):
    add_plan_version(app, "house-prices", house_plan())
    client.patch(
        "/api/v1/models/house-prices",
        json={"description": HOSTILE, "tags": {"<b>k</b>": "<i>v</i>"}},
        headers=tokens["admin"],
    )
    client.patch(
        "/api/v1/models/house-prices/versions/1",
        json={"description": HOSTILE, "tags": {"x": "</script><script>alert(1)</script>"}},
        headers=tokens["admin"],
    )
    # Category values are publisher text too, shown in tables, charts and form options.
    hostile_enum = ('" autofocus onfocus="window.pwned=3', "</script><script>window.pwned=4")
    add_plan_version(app, "churn", churn_plan(("basic", *hostile_enum)))
    pages = ("/", "/ui/models/house-prices", "/ui/models/house-prices/versions/1")
    for path in (*pages, "/ui/models/churn/versions/1", "/ui/models/churn/compare"):
        html = client.get(path).get_data(as_text=True)
        assert 'onfocus="window' not in html and "<script>window" not in html, path
        assert "<img src=x" not in html and "<script>window" not in html, path
        assert "<b>k</b>" not in html and "<script>alert" not in html, path
        assert "&lt;img src=x onerror=" in html or "churn" in path, path
        # The only script elements are the page's own file and its JSON data.
        assert re.findall(r"<script[^>]*>", html) == [
            '<script type="application/json" id="page-data">',
            '<script src="/ui/static/web/dashboard.js">',
        ], path


def test_pages_carry_a_strict_content_security_policy(client):
    page = client.get("/")
    policy = page.headers["Content-Security-Policy"]
    assert "default-src 'none'" in policy and "script-src 'self'" in policy
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
    assert page.headers["X-Frame-Options"] == "DENY"
    assert page.headers["Cache-Control"] == "no-store"


def test_ui_errors_are_html_and_the_api_stays_json(client):
    for path in ("/ui/models/nothing", "/ui/no/such/page"):
        answer = client.get(path)
        assert answer.status_code == 404 and answer.mimetype == "text/html", path
    for path in ("/api/v1/nothing", "/health/nothing", "/v2/nothing", "/metrics/x"):
        answer = client.get(path)
        assert answer.status_code == 404 and answer.is_json, path
    assert client.get("/api/v1/models").is_json
    assert client.get("/ui").headers["Location"] == "/"


@pytest.fixture
def closed_app(database_url, tmp_path):
    app = create_app(
        {
            "database_url": database_url,
            "artifact_root": tmp_path / "artifacts",
            "testing": True,
            "auth_reads": True,
        }
    )
    yield app
    app.extensions["registry"].serving.close()
    app.extensions["registry"].db.dispose()


def test_closed_reads_need_a_signed_in_token(closed_app):
    from registry.services.tokens import create_token

    add_plan_version(closed_app, "house-prices", house_plan())
    with closed_app.extensions["registry"].db.write() as session:
        token = create_token(session, "reader", "viewer")
    client = closed_app.test_client()
    for path in ("/", "/ui/models/house-prices", "/ui/models/house-prices/versions/1"):
        refused = client.get(path)
        assert refused.status_code == 401 and refused.mimetype == "text/html", path
        html = refused.get_data(as_text=True)
        assert "house-prices</a>" not in html and 'id="sign-in"' in html
    wrong = client.post("/ui/session", data={"token": "reg_wrong", "next": "/ui/models/x"})
    assert wrong.status_code == 401 and "Set-Cookie" not in wrong.headers
    assert "That token is not valid" in wrong.get_data(as_text=True)
    assert 'name="next" value="/ui/models/x"' in wrong.get_data(as_text=True)
    signed = client.post("/ui/session", data={"token": token, "next": "/ui/models/house-prices"})
    assert signed.status_code == 303
    assert signed.headers["Location"] == "/ui/models/house-prices"
    cookie = signed.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/" in cookie
    assert token not in signed.headers["Location"]
    page = client.get("/ui/models/house-prices")
    assert page.status_code == 200 and "Signed in as <strong>viewer</strong>" in page.get_data(
        as_text=True
    )
    # The cookie opens pages only: the JSON API still wants the Authorization header.
    assert client.get("/api/v1/models").status_code == 401
    client.post("/ui/session/end")
    assert client.get("/").status_code == 401


def test_sign_in_refuses_other_sites_and_other_sites_addresses(closed_app):
    from registry.services.tokens import create_token

    with closed_app.extensions["registry"].db.write() as session:
        token = create_token(session, "reader", "viewer")
    client = closed_app.test_client()
    forged = client.post(
        "/ui/session", data={"token": token}, headers={"Origin": "https://evil.example"}
    )
    assert forged.status_code == 403 and "Set-Cookie" not in forged.headers
    for target in ("//evil.example/", "https://evil.example/", "/\\evil.example"):
        answer = client.post("/ui/session", data={"token": token, "next": target})
        assert answer.headers["Location"] == "/", target


def test_a_revoked_token_signs_the_viewer_out_of_pages(closed_app):
    from registry.services.tokens import create_token, revoke_token

    with closed_app.extensions["registry"].db.write() as session:
        token = create_token(session, "reader", "leaving")
    client = closed_app.test_client()
    client.post("/ui/session", data={"token": token})
    assert client.get("/").status_code == 200
    with closed_app.extensions["registry"].db.write() as session:
        revoke_token(session, "leaving")
    refused = client.get("/")
    assert refused.status_code == 401
    assert "not valid any more" in refused.get_data(as_text=True)
    assert "registry_ui_token=;" in refused.headers["Set-Cookie"]  # forgotten


def test_coefficients_name_transformed_and_grouped_columns(client, app):
    plan = house_plan()
    plan["features"].append(
        {"name": "zone", "type": "string", "enum": ["a", "b", "c", "d"], "nullable": False}
    )
    plan["columns"][0]["ops"] = [{"op": "ufunc", "name": "log1p"}]
    plan["columns"] += [
        {"feature": "zone", "category": "a", "mul": 1.0, "add": 0.0, "missing": None},
        {
            "feature": "zone",
            "lookup": [["c", 1], ["d", 1]],
            "mul": 1.0,
            "add": 0.0,
            "missing": None,
        },
    ]
    plan["coef"][0] += [700.0, -900.0]
    add_plan_version(app, "house-prices", plan)
    html = client.get("/ui/models/house-prices/versions/1").get_data(as_text=True)
    rows = dict(
        re.findall(
            r"<tr><td>([^<]+)</td><td class=\"num\">[^<]+</td><td class=\"num\">([^<]+)</td>", html
        )
    )
    assert rows["area (log1p)"] == "–"  # no unit of the raw input: the column is log1p(area)
    assert rows["zone = a"] == "700"
    assert rows["zone = one of c, d"] == "-900"
    assert rows["age"] == "-800"  # -8000 a unit of age / 10


def _train(client, tokens, name: str, frame, target: str) -> None:
    import io

    data = (io.BytesIO(frame.to_csv(index=False).encode()), "data.csv")
    answer = client.post(
        f"/api/v1/models/{name}/versions/train",
        data={"data": data, "target": target},
        headers=tokens["publisher"],
        content_type="multipart/form-data",
    )
    assert answer.status_code == 201, answer.get_json()


def test_a_version_trained_here_shows_its_held_out_residuals(client, tokens):
    from tests.factories import house_frame

    frame, price = house_frame(200)
    _train(client, tokens, "houses", frame.assign(price=price), "price")
    html = client.get("/ui/models/houses/versions/1").get_data(as_text=True)
    plot = re.search(r'<svg class="residual-plot".*?</svg>', html, re.S).group(0)
    assert plot.count("<circle") == 40  # the held-out fifth of 200 rows
    assert "held-out split of 40 rows" in html


def test_a_classifier_trained_here_shows_its_roc_curve_and_confusion_matrix(client, tokens):
    from tests.factories import churn_frame

    frame, churned = churn_frame()
    _train(client, tokens, "churn", frame.assign(churned=churned), "churned")
    html = client.get("/ui/models/churn/versions/1").get_data(as_text=True)
    curve = re.search(r'<svg class="roc-curve".*?<polyline points="([^"]+)"', html, re.S)
    assert len(curve.group(1).split()) >= 3
    matrix = re.search(r'<table class="confusion">(.*?)</table>', html, re.S).group(1)
    counts = [int(c) for c in re.findall(r'<td class="num[^"]*">(\d+)</td>', matrix)]
    assert len(counts) == 4 and sum(counts) == 24  # the held-out fifth of 120 rows


def test_a_multiclass_classifier_trained_here_shows_a_roc_curve_per_class(client, tokens):
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(3)
    x = rng.normal(size=(150, 2))
    label = np.array(["north", "south", "<b>east</b>"])[
        np.argmax(x @ [[2.0, -1.0, 0.0], [0.0, 1.5, -2.0]] + rng.normal(size=(150, 3)), axis=1)
    ]
    _train(client, tokens, "compass", pd.DataFrame(x, columns=["a", "b"]).assign(y=label), "y")
    html = client.get("/ui/models/compass/versions/1").get_data(as_text=True)
    figures = re.findall(r"<figcaption>(ROC curve[^<]*)</figcaption>", html)
    assert len(figures) == 3, figures
    assert any("&lt;b&gt;east&lt;/b&gt; against the rest" in f for f in figures), figures
    assert "<b>east" not in html
    curves = re.findall(r'<svg class="roc-curve".*?<polyline points="([^"]+)"', html, re.S)
    assert len(curves) == 3 and all(len(c.split()) >= 3 for c in curves)
    assert len(re.findall(r"AUC 0\.\d\d", " ".join(figures))) == 3


def test_a_multiclass_view_stored_without_curves_still_shows_its_confusion_matrix(client, app):
    from registry.models import ModelVersion

    add_plan_version(app, "iris", iris_plan())
    with app.extensions["registry"].db.write() as session:
        row = session.query(ModelVersion).one()
        row.evaluation = {
            "type": "classes",
            "rows": 3,
            "labels": ["setosa", "versicolor", "virginica"],
            "confusion": [[1, 0, 0], [0, 1, 0], [0, 0, 1]],
        }
    html = client.get("/ui/models/iris/versions/1").get_data(as_text=True)
    assert '<table class="confusion">' in html and "roc-curve" not in html


@pytest.mark.parametrize(
    "view",
    [
        {"type": "residuals", "rows": 3, "predicted": [1.0, 2.0], "actual": [1.0]},
        {"type": "residuals", "rows": 3, "predicted": [1.0], "actual": [float("nan")]},
        {"type": "classes", "rows": 3, "labels": ["a", "b"], "confusion": [[1, 2]]},
        {"type": "classes", "rows": 3, "labels": ["a"], "confusion": [[1]], "roc": {"fpr": []}},
        {
            "type": "classes",
            "rows": 3,
            "labels": ["a", "b", "c"],
            "confusion": [[1, 0, 0], [0, 1, 0], [0, 0, 1]],
            "roc_per_class": [{"positive": "a", "fpr": [0.0], "tpr": [0.0, 1.0], "auc": 0.5}],
        },
        {
            "type": "classes",
            "rows": 3,
            "labels": ["a", "b", "c"],
            "confusion": [[1, 0, 0], [0, 1, 0], [0, 0, 1]],
            "roc_per_class": [{"positive": "z", "fpr": [0.0], "tpr": [0.0], "auc": 0.5}],
        },
        {"type": "script", "rows": 3},
        "<script>",
    ],
)
def test_a_malformed_held_out_view_from_the_child_is_dropped(view):
    from registry.trainer import held_out_view

    assert held_out_view(view) is None


def test_the_try_form_lets_a_feature_that_accepts_unknown_values_take_any(client, app):
    plan = churn_plan(("basic", "plus", '"pro" <b>'))
    plan["features"][2]["accepts_unknown"] = True
    add_plan_version(app, "churn", plan)
    html = client.get("/ui/models/churn/versions/1").get_data(as_text=True)
    assert '<select name="f:plan"' not in html
    field = re.search(r'<input type="text" name="f:plan"[^>]*>', html).group(0)
    listed = re.search(r'list="([^"]+)"', field).group(1)
    options = re.search(rf'<datalist id="{listed}">(.*?)</datalist>', html, re.S).group(1)
    assert re.findall(r'<option value="([^"]*)">', options) == [
        "basic",
        "plus",
        "&#34;pro&#34; &lt;b&gt;",
    ]
    # A closed enum stays a choice among the known values.
    add_plan_version(app, "closed", churn_plan())
    assert '<select name="f:plan"' in client.get("/ui/models/closed/versions/1").get_data(
        as_text=True
    )
