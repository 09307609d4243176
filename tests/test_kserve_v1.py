"""KServe v1 / TF-Serving REST: the protocol's own request examples, answered and refused."""

from __future__ import annotations

import pytest

from tests.factories import add_plan_version, churn_plan, house_plan, house_price

SEED = {"area": 1500, "bedrooms": 3, "bathrooms": 2, "age": 10}
PRICE = house_price(1500, 3, 2, 10)


@pytest.fixture
def house(app):
    add_plan_version(app, "house-prices", house_plan(), activate=True)
    add_plan_version(app, "house-prices", house_plan())
    registry = app.extensions["registry"]
    with registry.db.write() as session:
        from registry.services.aliases import set_alias

        set_alias(session, "house-prices", "staging", 2, "tests")
    return "/v1/models/house-prices"


@pytest.mark.parametrize(
    "body",
    [
        {"instances": [SEED]},
        # TF-Serving's row format: lists in feature order, with a signature name.
        {"signature_name": "serving_default", "instances": [[1500, 3, 2, 10]]},
        {"inputs": [[1500, 3, 2, 10]]},
        # TF-Serving's columnar format.
        {"inputs": {"area": [1500], "bedrooms": [3], "bathrooms": [2], "age": [10]}},
        {"inputs": SEED},
    ],
)
def test_every_body_form_answers_predictions(client, house, body):
    response = client.post(f"{house}:predict", json=body)
    assert response.status_code == 200, response.get_json()
    answer = response.get_json()
    assert answer["predictions"] == [pytest.approx(PRICE, rel=1e-12)]
    assert answer["model"] == "house-prices" and answer["version"] == 1


def test_versions_and_labels_select_the_version(client, house):
    body = {"instances": [SEED, {**SEED, "age": 0}]}
    by_version = client.post(f"{house}/versions/2:predict", json=body).get_json()
    by_label = client.post(f"{house}/labels/staging:predict", json=body).get_json()
    assert by_version["version"] == by_label["version"] == 2
    assert by_version["predictions"] == [
        pytest.approx(PRICE),
        pytest.approx(house_price(1500, 3, 2, 0)),
    ]


def test_logistic_answers_labels_and_probabilities(client, app):
    add_plan_version(app, "churn", churn_plan(), activate=True)
    answer = client.post(
        "/v1/models/churn:predict", json={"instances": [[None, 2, "basic"]]}
    ).get_json()
    assert answer["predictions"][0] in (0, 1)
    assert set(answer["probabilities"][0]) == {"0", "1"}


def test_status_names_the_serving_version(client, house):
    status = client.get(house).get_json()
    assert status["ready"] is True
    assert status["model_version_status"][0]["version"] == "1"
    assert status["model_version_status"][0]["state"] == "AVAILABLE"
    assert client.get(f"{house}/versions/2").get_json()["model_version_status"][0]["version"] == "2"
    assert client.get("/v1/models/nope").status_code == 404


def test_bad_values_are_named_field_by_field_in_the_error_shape(client, house):
    response = client.post(f"{house}:predict", json={"instances": [SEED, {**SEED, "area": "big"}]})
    assert response.status_code == 422
    body = response.get_json()
    assert body["error"] == "1 row has invalid values."
    assert body["errors"] == {"1": {"area": ["Must be a number."]}}


@pytest.mark.parametrize(
    "body, status",
    [
        ({"instances": [[1500, 3, 2]]}, 400),
        ({"instances": []}, 400),
        ({"instances": [SEED], "inputs": [SEED]}, 400),
        ({"rows": [SEED]}, 400),
        ([SEED], 400),
        ({"inputs": {"area": [1, 2], "bedrooms": [3]}}, 400),
    ],
)
def test_malformed_bodies_are_400(client, house, body, status):
    response = client.post(f"{house}:predict", json=body)
    assert response.status_code == status
    assert "error" in response.get_json()


def test_unknown_model_version_and_label_are_404(client, house):
    assert client.post("/v1/models/nope:predict", json={"instances": [SEED]}).status_code == 404
    assert client.post(f"{house}/versions/9:predict", json={"instances": [SEED]}).status_code == 404
    response = client.post(f"{house}/labels/prod:predict", json={"instances": [SEED]})
    assert response.status_code == 404
    assert response.get_json()["code"] == "alias_not_found"


def test_predictions_are_counted_in_the_same_metrics(client, house):
    client.post(f"{house}:predict", json={"instances": [SEED, SEED, SEED]})
    client.post(f"{house}:predict", json={"instances": [{"area": "x"}]})
    metrics = client.get("/metrics").get_data(as_text=True)
    assert 'registry_prediction_rows_total{model="house-prices",version="1"} 3.0' in metrics
    assert (
        'registry_prediction_errors_total{code="validation_failed",model="house-prices",'
        'version="1"} 1.0' in metrics
    )


def test_reads_closed_need_a_reader_token(make_app):
    from registry.services.tokens import create_token

    app = make_app(testing=True, auth_reads=True)
    add_plan_version(app, "house-prices", house_plan(), activate=True)
    with app.extensions["registry"].db.write() as session:
        token = create_token(session, "reader", "v1-reader")
    client = app.test_client()
    url = "/v1/models/house-prices:predict"
    refused = client.post(url, json={"instances": [SEED]})
    assert refused.status_code == 401 and "error" in refused.get_json()
    assert client.get("/v1/models/house-prices").status_code == 401
    headers = {"Authorization": f"Bearer {token}"}
    assert client.post(url, json={"instances": [SEED]}, headers=headers).status_code == 200


def test_tf_serving_requests_on_a_live_server(make_app, live_server):
    import requests

    app = make_app()
    add_plan_version(app, "house-prices", house_plan(), activate=True)
    url = f"{live_server.url}/v1/models/house-prices"
    # The REST examples of TF-Serving's documentation, as any HTTP client sends them.
    status = requests.get(url, timeout=10).json()
    assert status["model_version_status"][0]["state"] == "AVAILABLE"
    rows = {"signature_name": "serving_default", "instances": [[1500, 3, 2, 10], [2400, 4, 3, 2]]}
    answer = requests.post(f"{url}:predict", json=rows, timeout=10).json()
    assert answer["predictions"] == [
        pytest.approx(PRICE),
        pytest.approx(house_price(2400, 4, 3, 2)),
    ]
    columns = {"inputs": {"area": [1500], "bedrooms": [3], "bathrooms": [2], "age": [10]}}
    answer = requests.post(f"{url}/versions/1:predict", json=columns, timeout=10).json()
    assert answer["predictions"] == [pytest.approx(PRICE)]
    refused = requests.post(f"{url}:predict", json={"instances": [[1500, 3]]}, timeout=10)
    assert refused.status_code == 400 and "feature order" in refused.json()["error"]


def nested(levels: int) -> list:
    deep: list = [1]
    for _ in range(levels):
        deep = [deep]
    return deep


@pytest.mark.parametrize(
    "body",
    [
        {"instances": [{**SEED, "area": nested(40)}]},
        {"instances": [SEED], "signature_name": nested(40)},
    ],
)
def test_bodies_nested_past_the_limit_are_invalid_json(client, house, body):
    response = client.post(f"{house}:predict", json=body)
    assert response.status_code == 400
    assert response.get_json()["code"] == "invalid_json"


@pytest.mark.parametrize(
    "headers",
    [{}, {"Content-Type": "application/x-www-form-urlencoded"}, {"Content-Type": "text/plain"}],
)
def test_the_body_is_json_whatever_its_content_type_says(client, house, headers):
    # TF-Serving's and KServe's own examples are `curl -d '{"instances": ...}'`, which sends
    # application/x-www-form-urlencoded; TF-Serving reads the body as JSON all the same.
    body = b'{"instances": [[1500, 3, 2, 10]]}'
    response = client.post(f"{house}:predict", data=body, headers=headers)
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["predictions"] == [pytest.approx(PRICE)]


def test_a_charset_other_than_utf8_is_still_refused(client, house):
    headers = {"Content-Type": "application/json; charset=latin-1"}
    response = client.post(
        f"{house}:predict", data=b'{"instances": [[1, 2, 3, 4]]}', headers=headers
    )
    assert response.status_code == 415
