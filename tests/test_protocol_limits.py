"""Every protocol meets the native routes' limits (rows, answer values, body bytes) and labels."""

from __future__ import annotations

import pytest

from tests.factories import add_plan_version, churn_plan

ROW = {"tenure": 3.0, "seats": 2, "plan": "basic"}
NAMES = list(ROW)


def requests_for(model: str, rows: int, row: dict | None = None) -> list[tuple[str, dict]]:
    """(url, request keywords) of each protocol's body for ``rows`` copies of ``row`` (ROW)."""
    row = row or ROW
    values = list(row.values())
    csv = ",".join(NAMES) + "\n" + (",".join(map(str, values)) + "\n") * rows
    return [
        (
            f"/v2/models/{model}/infer",
            {
                "json": {
                    "inputs": [
                        {"name": n, "datatype": "BYTES", "shape": [rows], "data": [v] * rows}
                        for n, v in row.items()
                    ]
                }
            },
        ),
        (f"/v1/models/{model}:predict", {"json": {"instances": [values] * rows}}),
        (
            f"/v1/models/{model}:predict",
            {"json": {"inputs": {n: [v] * rows for n, v in row.items()}}},
        ),
        (
            f"/api/v1/models/{model}/invocations",
            {"json": {"dataframe_split": {"columns": NAMES, "data": [values] * rows}}},
        ),
        (f"/api/v1/models/{model}/invocations", {"json": {"dataframe_records": [row] * rows}}),
        (
            f"/api/v1/models/{model}/invocations",
            {"data": csv, "headers": {"Content-Type": "text/csv"}},
        ),
        (
            f"/api/v1/models/{model}/predict",
            {"data": csv, "headers": {"Content-Type": "text/csv"}},
        ),
    ]


@pytest.fixture
def limited(make_app):
    # A churn answer row holds 3 values (a label, two probabilities): 3 rows are 9 values.
    app = make_app(testing=True, max_batch_rows=4, max_answer_cells=8)
    add_plan_version(app, "churn", churn_plan(), activate=True)
    return app.test_client()


@pytest.mark.parametrize("index", range(7))
def test_each_protocol_answers_within_the_limits(limited, index):
    url, keywords = requests_for("churn", 2)[index]
    response = limited.post(url, **keywords)
    assert response.status_code == 200, response.get_json()


@pytest.mark.parametrize("index", range(7))
def test_too_many_rows_are_413(limited, index):
    url, keywords = requests_for("churn", 5)[index]
    response = limited.post(url, **keywords)
    assert response.status_code == 413
    assert response.get_json()["code"] == "payload_too_large"


@pytest.mark.parametrize("index", range(7))
def test_an_answer_over_the_value_limit_is_413(limited, index):
    url, keywords = requests_for("churn", 3)[index]
    response = limited.post(url, **keywords)
    assert response.status_code == 413
    assert "REGISTRY_MAX_ANSWER_CELLS" in response.get_json()["code"] + str(response.get_json())


@pytest.mark.parametrize("index", range(7))
def test_a_body_over_the_byte_limit_is_413(make_app, index):
    app = make_app(testing=True, max_body_bytes=64)
    add_plan_version(app, "churn", churn_plan(), activate=True)
    url, keywords = requests_for("churn", 4)[index]
    response = app.test_client().post(url, **keywords)
    assert response.status_code == 413


def test_unknown_model_names_add_no_metrics_labels(limited):
    for index in range(7):
        url, keywords = requests_for("no-such-model-" + str(index), 1)[index]
        assert limited.post(url, **keywords).status_code == 404
    metrics = limited.get("/metrics").get_data(as_text=True)
    assert "no-such-model" not in metrics


@pytest.mark.parametrize("model", ["churn", "no-such-model"])
def test_closed_reads_refuse_a_missing_or_invalid_token_on_every_protocol(make_app, model):
    app = make_app(testing=True, auth_reads=True)
    add_plan_version(app, "churn", churn_plan(), activate=True)
    client = app.test_client()
    bogus = {"Authorization": "Bearer reg_not-a-token"}
    for url, keywords in requests_for(model, 1):
        assert client.post(url, **keywords).status_code == 401, url
        headers = {**keywords.get("headers", {}), **bogus}
        assert client.post(url, **{**keywords, "headers": headers}).status_code == 401, url
    for url in (f"/v2/models/{model}", f"/v2/models/{model}/ready", f"/v1/models/{model}"):
        assert client.get(url).status_code == 401, url
        assert client.get(url, headers=bogus).status_code == 401, url
    assert client.get(f"/api/v1/models/{model}/ping", headers=bogus).status_code == 401


@pytest.mark.parametrize("index", range(7))
def test_every_protocol_counts_answers_refusals_and_auth_as_the_native_route(make_app, index):
    # The last form is the native route: every protocol must leave the very same series.
    from registry.services.tokens import create_token

    app = make_app(testing=True, auth_reads=True)
    add_plan_version(app, "churn", churn_plan(), activate=True)
    with app.extensions["registry"].db.write() as session:
        reader = {"Authorization": f"Bearer {create_token(session, 'reader', 'counted')}"}
    client = app.test_client()
    url, keywords = requests_for("churn", 2)[index]
    with_token = {**keywords, "headers": {**keywords.get("headers", {}), **reader}}
    assert client.post(url, **keywords).status_code == 401
    assert client.post(url, **with_token).status_code == 200
    bad_url, bad = requests_for("churn", 1, {**ROW, "seats": "many"})[index]
    bad = {**bad, "headers": {**bad.get("headers", {}), **reader}}
    refused = client.post(bad_url, **bad)
    assert refused.status_code == 422, refused.get_json()
    metrics = client.get("/metrics", headers=reader).get_data(as_text=True)
    for line in (
        'registry_prediction_requests_total{model="churn",status="401",version="-"} 1.0',
        'registry_prediction_requests_total{model="churn",status="200",version="1"} 1.0',
        'registry_prediction_rows_total{model="churn",version="1"} 2.0',
        'registry_prediction_latency_seconds_count{model="churn",version="1"} 1.0',
        'registry_prediction_requests_total{model="churn",status="422",version="1"} 1.0',
        'registry_prediction_errors_total{code="validation_failed",model="churn",version="1"} 1.0',
    ):
        assert line in metrics, (url, line)
