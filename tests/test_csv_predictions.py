"""CSV in and CSV out on the native prediction routes: typed cells, passthrough, safe cells."""

from __future__ import annotations

import csv
import io

import pytest

from tests.factories import add_plan_version, house_plan, house_price

HOUSES = "area,bedrooms,bathrooms,age\n1500,3,2,10\n2400.5,4,3,2\n"


def post_csv(client, url, text, **headers):
    return client.post(url, data=text.encode(), headers={"Content-Type": "text/csv", **headers})


def read_csv(response) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))


def test_csv_body_answers_predictions_like_the_columns_form(client, house):
    response = post_csv(client, f"{house}/predict", HOUSES)
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["version"] == 1
    assert body["predictions"] == [
        pytest.approx(house_price(1500, 3, 2, 10), rel=1e-12),
        pytest.approx(house_price(2400.5, 4, 3, 2), rel=1e-12),
    ]
    assert "passthrough" not in body


def test_csv_out_has_passthrough_columns_predictions_and_probabilities(client, churn):
    text = 'id,tenure,seats,plan\nA-1,3,2,basic\n"=HYPERLINK(""x"")",,5,pro\n'
    response = post_csv(client, f"{churn}/predict?passthrough=id", text, Accept="text/csv")
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == "text/csv"
    assert response.headers["X-Model-Name"] == "churn"
    assert response.headers["X-Model-Version"] == "1"
    rows = read_csv(response)
    assert list(rows[0]) == ["id", "prediction", "probability_0", "probability_1", "imputed"]
    assert rows[0]["id"] == "A-1"
    # The empty tenure cell is a missing value, filled in as the model was trained to.
    assert [r["imputed"] for r in rows] == ["", "tenure"]
    # A cell a spreadsheet would run as a formula comes back as text.
    assert rows[1]["id"] == '\'=HYPERLINK("x")'
    json_answer = client.post(
        f"{churn}/predict",
        json={
            "instances": [
                {"tenure": 3, "seats": 2, "plan": "basic"},
                {"tenure": None, "seats": 5, "plan": "pro"},
            ]
        },
    ).get_json()
    assert [int(r["prediction"]) for r in rows] == json_answer["predictions"]
    assert [float(r["probability_1"]) for r in rows] == pytest.approx(
        [p["1"] for p in json_answer["probabilities"]], rel=1e-12
    )


def test_csv_body_with_json_answer_echoes_passthrough(client, house):
    text = "id,area,bedrooms,bathrooms,age\nh1,1500,3,2,10\n"
    body = post_csv(client, f"{house}/predict?passthrough=id", text).get_json()
    assert body["passthrough"] == {"id": ["h1"]}
    assert body["predictions"] == [pytest.approx(house_price(1500, 3, 2, 10))]


def test_json_body_with_accept_csv_answers_csv_past_the_fast_lane(client, house):
    row = {"area": 1500, "bedrooms": 3, "bathrooms": 2, "age": 10}
    response = client.post(f"{house}/predict", json=row, headers={"Accept": "text/csv"})
    assert response.mimetype == "text/csv"
    rows = read_csv(response)
    assert list(rows[0]) == ["prediction"]
    assert float(rows[0]["prediction"]) == pytest.approx(house_price(1500, 3, 2, 10))
    plain = client.post(f"{house}/predict", json=row, headers={"Accept": "*/*"})
    assert plain.mimetype == "application/json"


def test_explain_in_csv_gives_a_column_per_part(client, house):
    response = post_csv(client, f"{house}/predict?explain=true", HOUSES, Accept="text/csv")
    rows = read_csv(response)
    parts = [k for k in rows[0] if k.startswith("contribution_")]
    assert parts == [
        "contribution_area",
        "contribution_bedrooms",
        "contribution_bathrooms",
        "contribution_age",
        "contribution__intercept",
    ]
    for row in rows:
        total = sum(float(row[k]) for k in parts)
        assert total == pytest.approx(float(row["prediction"]), rel=1e-9)


def test_bad_cells_are_named_by_row_and_field(client, house):
    text = "area,bedrooms,bathrooms,age\n1500,three,2,10\n1500,3,2,\n"
    response = post_csv(client, f"{house}/predict", text)
    assert response.status_code == 422
    errors = response.get_json()["errors"]
    assert errors["0"] == {"bedrooms": ["Must be a number."]}
    assert "age" in errors["1"]


def test_unknown_column_is_refused_unless_passed_through(client, house):
    text = "id,area,bedrooms,bathrooms,age\nh1,1500,3,2,10\n"
    response = post_csv(client, f"{house}/predict", text)
    assert response.status_code == 422
    assert "id" in response.get_json()["errors"]["0"]


@pytest.mark.parametrize(
    "text, fragment",
    [
        ("", "empty"),
        ("area,bedrooms,bathrooms,age\n", "no rows"),
        ("area,bedrooms,bathrooms,age\n1,2,3\n", "Line 2"),
        ("area,area\n1,2\n", "twice"),
    ],
)
def test_malformed_csv_is_a_400(client, house, text, fragment):
    response = post_csv(client, f"{house}/predict", text)
    assert response.status_code == 400
    assert fragment in response.get_json()["message"]


def test_passthrough_of_a_missing_column_is_a_400(client, house):
    response = post_csv(client, f"{house}/predict?passthrough=id", HOUSES)
    assert response.status_code == 400
    assert response.get_json()["errors"] == {"passthrough": ["No column 'id' in the CSV's header."]}


def test_csv_rows_count_against_the_batch_limit(make_app):
    app = make_app(testing=True, max_batch_rows=1)
    add_plan_version(app, "house-prices", house_plan(), activate=True)
    response = post_csv(app.test_client(), "/api/v1/models/house-prices/predict", HOUSES)
    assert response.status_code == 413


def test_csv_predictions_obey_auth_and_count_in_metrics(make_app):
    from registry.services.tokens import create_token

    app = make_app(testing=True, auth_reads=True)
    add_plan_version(app, "house-prices", house_plan(), activate=True)
    with app.extensions["registry"].db.write() as session:
        reader = {"Authorization": f"Bearer {create_token(session, 'reader', 'csv-reader')}"}
    client = app.test_client()
    url = "/api/v1/models/house-prices/predict"
    assert post_csv(client, url, HOUSES).status_code == 401
    assert post_csv(client, url, HOUSES, **reader).status_code == 200
    metrics = client.get("/metrics", headers=reader).get_data(as_text=True)
    assert 'registry_prediction_rows_total{model="house-prices",version="1"} 2.0' in metrics
    assert (
        'registry_prediction_requests_total{model="house-prices",status="401",version="-"} 1.0'
        in metrics
    )


@pytest.mark.parametrize(
    "cell, message",
    [
        ("NaN", "Must be a number."),
        ("inf", "Must be a number."),
        ("1_0", "Must be a number."),
        ("\u0661\u0660", "Must be a number."),  # Arabic-Indic digits: int() reads them, JSON not
        ("1e400", "Must be a finite number."),
    ],
)
def test_cells_json_could_not_carry_are_named_not_read_as_numbers(client, house, cell, message):
    # Python's int() and float() read these; a JSON body could not say them, nor can a CSV.
    text = f"area,bedrooms,bathrooms,age\n1500,3,2,10\n1500,3,2,{cell}\n"
    response = post_csv(client, f"{house}/predict", text)
    assert response.status_code == 422, response.get_json()
    assert response.get_json()["errors"] == {"1": {"age": [message]}}


def test_padded_and_decimal_cells_still_read_as_numbers(client, house):
    text = "area,bedrooms,bathrooms,age\n 1500 ,3.0,2,1e1\n"
    response = post_csv(client, f"{house}/predict", text)
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["predictions"] == [pytest.approx(house_price(1500, 3, 2, 10))]


@pytest.mark.parametrize("column", ["prediction", "imputed", "probability_x", "contribution_x"])
def test_passthrough_named_as_an_answer_column_is_refused_in_csv(client, house, column):
    text = f"{column},area,bedrooms,bathrooms,age\nold,1500,3,2,10\n"
    url = f"{house}/predict?passthrough={column}"
    response = post_csv(client, url, text, Accept="text/csv")
    assert response.status_code == 400
    assert list(response.get_json()["errors"]) == ["passthrough"]
    # A JSON answer keeps passthrough columns apart: nothing clashes there.
    assert post_csv(client, url, text).get_json()["passthrough"] == {column: ["old"]}


def test_a_header_naming_a_column_twice_says_which(client, house):
    response = post_csv(client, f"{house}/predict", "area,bedrooms, area,age\n1,2,3,4\n")
    assert response.status_code == 400
    assert "'area'" in response.get_json()["message"]
