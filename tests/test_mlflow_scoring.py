"""MLflow's scoring protocol: every body form, and MLflow's own scoring client on a live server."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
import requests

from tests.factories import add_plan_version, churn_plan, house_plan, house_price

SEED = {"area": 1500, "bedrooms": 3, "bathrooms": 2, "age": 10}
PRICE = house_price(1500, 3, 2, 10)
FEATURES = ["area", "bedrooms", "bathrooms", "age"]


@pytest.fixture
def house(app):
    add_plan_version(app, "house-prices", house_plan(), activate=True)
    add_plan_version(app, "house-prices", house_plan())
    return "/api/v1/models/house-prices"


@pytest.mark.parametrize(
    "body",
    [
        {"dataframe_split": {"columns": FEATURES, "data": [[1500, 3, 2, 10]]}},
        # pandas' to_dict(orient="split") adds the index, which carries nothing here.
        {"dataframe_split": {"index": [7], "columns": FEATURES, "data": [[1500, 3, 2, 10]]}},
        {"dataframe_records": [SEED]},
        {"instances": [SEED]},
        {"instances": [[1500, 3, 2, 10]]},
        {"inputs": [[1500, 3, 2, 10]], "params": {"anything": 1}},
        {"inputs": {"area": [1500], "bedrooms": [3], "bathrooms": [2], "age": [10]}},
    ],
)
def test_every_mlflow_body_form_answers_predictions(client, house, body):
    response = client.post(f"{house}/invocations", json=body)
    assert response.status_code == 200, response.get_json()
    answer = response.get_json()
    assert answer["predictions"] == [pytest.approx(PRICE, rel=1e-12)]
    assert answer["model"] == "house-prices" and answer["version"] == 1


def test_csv_body_and_version_and_alias_routes(client, app, house):
    registry = app.extensions["registry"]
    with registry.db.write() as session:
        from registry.services.aliases import set_alias

        set_alias(session, "house-prices", "staging", 2, "tests")
    csv = "area,bedrooms,bathrooms,age\n1500,3,2,10\n"
    for url in (f"{house}/versions/2/invocations", f"{house}/aliases/staging/invocations"):
        response = client.post(url, data=csv, headers={"Content-Type": "text/csv"})
        assert response.status_code == 200, response.get_json()
        assert response.get_json()["version"] == 2
        assert response.get_json()["predictions"] == [pytest.approx(PRICE)]


def test_bad_values_are_named_field_by_field(client, house):
    body = {"dataframe_records": [SEED, {**SEED, "bedrooms": None, "size": 3}]}
    response = client.post(f"{house}/invocations", json=body)
    assert response.status_code == 422
    errors = response.get_json()["errors"]["1"]
    assert set(errors) == {"bedrooms", "size"}


@pytest.mark.parametrize(
    "body",
    [
        {"dataframe_split": {"columns": FEATURES}},
        {"dataframe_split": {"columns": FEATURES, "data": [[1, 2]]}},
        {"dataframe_records": [[1500, 3, 2, 10]]},
        {"instances": [SEED], "inputs": [SEED]},
        {"data": [SEED]},
        [SEED],
    ],
)
def test_malformed_bodies_are_400_in_the_registry_shape(client, house, body):
    response = client.post(f"{house}/invocations", json=body)
    assert response.status_code == 400
    assert response.get_json()["code"] == "bad_request"


def test_ping_answers_and_names_the_serving_version(client, house):
    assert client.get("/ping").get_json() == {"status": "ok"}
    assert client.get(f"{house}/ping").get_json()["version"] == 1
    assert client.get(f"{house}/versions/2/ping").get_json()["version"] == 2
    assert client.get("/api/v1/models/nope/ping").status_code == 404


def test_refusals_count_in_the_same_metrics(client, house):
    client.post(f"{house}/invocations", json={"instances": [SEED, SEED]})
    client.post(f"{house}/invocations", data=b"{", content_type="application/json")
    metrics = client.get("/metrics").get_data(as_text=True)
    assert 'registry_prediction_rows_total{model="house-prices",version="1"} 2.0' in metrics
    assert (
        'registry_prediction_errors_total{code="invalid_json",model="house-prices",version="1"}'
        in metrics
    )


def test_closed_reads_need_a_token_before_the_body_is_read(make_app):
    app = make_app(auth_reads=True)
    add_plan_version(app, "house-prices", house_plan(), activate=True)
    client = app.test_client()
    url = "/api/v1/models/house-prices/invocations"
    # Even a malformed body is refused for the missing token first.
    response = client.post(url, data=b"{", content_type="application/json")
    assert response.status_code == 401
    assert client.get("/api/v1/models/house-prices/ping").status_code == 401
    assert client.get("/ping").status_code == 200


def scoring_client(url: str):
    """MLflow's own scoring-server client, pointed at one model's URL."""
    with warnings.catch_warnings():
        # mlflow infers a type hint while importing and warns about it; nothing of ours.
        warnings.filterwarnings(
            "ignore", message=".*Any type hint is inferred", category=UserWarning
        )
        from mlflow.pyfunc.scoring_server.client import ScoringServerClient

    client = ScoringServerClient("127.0.0.1", 0)
    # The client speaks to {prefix}/ping and {prefix}/invocations: the prefix is the model.
    client.url_prefix = url
    return client


def test_mlflow_scoring_client_scores_frames_and_arrays_on_a_live_server(make_app, live_server):
    app = make_app()
    add_plan_version(app, "house-prices", house_plan(), activate=True)
    add_plan_version(app, "churn", churn_plan(), activate=True)

    houses = scoring_client(f"{live_server.url}/api/v1/models/house-prices")
    houses.wait_server_ready(timeout=10)
    frame = pd.DataFrame([SEED, {**SEED, "area": 2400, "age": 2}])
    answer = houses.invoke(frame)
    expected = [PRICE, house_price(2400, 3, 2, 2)]
    assert answer.get_predictions(predictions_format="ndarray").tolist() == pytest.approx(expected)
    assert answer["version"] == 1
    as_array = houses.invoke(frame[FEATURES].to_numpy(), params={"ignored": True})
    assert as_array.get_predictions().iloc[:, 0].tolist() == pytest.approx(expected)

    churn = scoring_client(f"{live_server.url}/api/v1/models/churn")
    labels = churn.invoke(
        pd.DataFrame({"tenure": [3.0, 40.0], "seats": [2, 9], "plan": ["basic", "pro"]})
    )
    assert set(labels.get_predictions(predictions_format="ndarray").tolist()) <= {0, 1}

    with pytest.raises(Exception, match="error code 422"):
        houses.invoke(pd.DataFrame([{**SEED, "area": "big"}]))
    # The client writes a missing value as NaN, which JSON has not: the error says what to send.
    with pytest.raises(Exception, match="error code 400.*send null for a missing value"):
        houses.invoke(pd.DataFrame([{**SEED, "area": np.nan}]))
    # MLflow's CSV form, as `curl --data-binary @file.csv -H 'Content-Type: text/csv'` sends it.
    response = requests.post(
        f"{live_server.url}/api/v1/models/house-prices/invocations",
        data=frame.to_csv(index=False),
        headers={"Content-Type": "text/csv"},
        timeout=10,
    )
    assert response.json()["predictions"] == pytest.approx(expected)
    assert np.isfinite(response.json()["predictions"]).all()


def test_bodies_nested_past_the_limit_are_invalid_json(client, house):
    deep: list = [1]
    for _ in range(40):
        deep = [deep]
    for body in ({"instances": [{**SEED, "area": deep}]}, {"instances": [SEED], "params": deep}):
        response = client.post(f"{house}/invocations", json=body)
        assert response.status_code == 400
        assert response.get_json()["code"] == "invalid_json"


@pytest.mark.parametrize("word", ["NaN", "Infinity", "-Infinity"])
def test_nan_in_a_json_body_is_invalid_json_that_says_to_send_null(client, house, word):
    body = '{"dataframe_split": {"columns": ["area"], "data": [[WORD]]}}'.replace("WORD", word)
    response = client.post(
        f"{house}/invocations", data=body, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400
    assert response.get_json()["code"] == "invalid_json"
    assert "send null for a missing value" in response.get_json()["message"]
