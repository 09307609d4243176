"""The Open Inference Protocol: the spec's JSON examples, and tritonclient on a live server."""

from __future__ import annotations

import json
import struct

import numpy as np
import pytest

from tests.factories import add_plan_version, churn_plan, house_plan, house_price, iris_plan

PRICE = house_price(1500, 3, 2, 10)
FEATURES = ["area", "bedrooms", "bathrooms", "age"]


@pytest.fixture
def house(app):
    add_plan_version(app, "house-prices", house_plan(), activate=True)
    add_plan_version(app, "house-prices", house_plan())
    return "/v2/models/house-prices"


def tensor(name, datatype, shape, data):
    return {"name": name, "datatype": datatype, "shape": shape, "data": data}


def test_server_metadata_and_health_answer(client):
    metadata = client.get("/v2").get_json()
    assert metadata["name"] == "sklearn-registry"
    assert "binary_tensor_data" in metadata["extensions"]
    assert client.get("/v2/health/live").status_code == 200
    assert client.get("/v2/health/ready").get_json() == {"ready": True}


def test_model_metadata_types_inputs_from_the_feature_spec(client, app):
    add_plan_version(app, "churn", churn_plan(), activate=True)
    metadata = client.get("/v2/models/churn").get_json()
    assert metadata["name"] == "churn" and metadata["versions"] == ["1"]
    assert metadata["inputs"] == [
        {"name": "tenure", "datatype": "FP64", "shape": [-1]},
        {"name": "seats", "datatype": "INT64", "shape": [-1]},
        {"name": "plan", "datatype": "BYTES", "shape": [-1]},
    ]
    assert metadata["outputs"] == [
        {"name": "predict", "datatype": "INT64", "shape": [-1]},
        {"name": "predict_proba", "datatype": "FP64", "shape": [-1, 2]},
        # tenure is nullable: a row that lacks it names it here, as the native answer does.
        {"name": "imputed", "datatype": "BYTES", "shape": [-1]},
    ]
    assert client.get("/v2/models/churn/versions/1/ready").get_json()["ready"] is True
    assert client.get("/v2/models/churn/versions/2/ready").status_code == 404


def test_one_tensor_per_feature_as_in_the_spec_example(client, house):
    # The spec's example request, with this model's inputs: an id, tensors, named outputs.
    body = {
        "id": "42",
        "inputs": [
            tensor("area", "FP64", [2], [1500, 2400.5]),
            tensor("bedrooms", "INT64", [2, 1], [[3], [4]]),
            tensor("bathrooms", "INT32", [2], [2, 3]),
            tensor("age", "FP32", [2], [10, 2]),
        ],
        "outputs": [{"name": "predict"}],
    }
    response = client.post(f"{house}/infer", json=body)
    assert response.status_code == 200, response.get_json()
    answer = response.get_json()
    assert answer["model_name"] == "house-prices" and answer["model_version"] == "1"
    assert answer["id"] == "42"
    [output] = answer["outputs"]
    assert output["name"] == "predict" and output["datatype"] == "FP64"
    assert output["shape"] == [2]
    assert output["data"] == [
        pytest.approx(PRICE, rel=1e-12),
        pytest.approx(house_price(2400.5, 4, 3, 2), rel=1e-12),
    ]


def test_one_2d_tensor_in_feature_order_on_a_version(client, house):
    body = {"inputs": [tensor("input-0", "FP64", [2, 4], [1500, 3, 2, 10, 1500, 3, 2, 0])]}
    answer = client.post(f"{house}/versions/2/infer", json=body).get_json()
    assert answer["model_version"] == "2"
    assert answer["outputs"][0]["data"] == [
        pytest.approx(PRICE),
        pytest.approx(house_price(1500, 3, 2, 0)),
    ]


def test_logistic_answers_labels_and_probabilities_in_class_order(client, app):
    add_plan_version(app, "iris", iris_plan(), activate=True)
    body = {"inputs": [tensor("x", "FP64", [2, 2], [[1.0, 0.2], [6.0, 2.2]])]}
    answer = client.post("/v2/models/iris/infer", json=body).get_json()
    predict, proba = answer["outputs"]
    assert predict == {
        "name": "predict",
        "datatype": "BYTES",
        "shape": [2],
        "data": ["setosa", "virginica"],
    }
    assert proba["shape"] == [2, 3]
    native = client.post(
        "/api/v1/models/iris/predict",
        json={"columns": ["petal_length", "petal_width"], "data": [[1.0, 0.2], [6.0, 2.2]]},
    ).get_json()
    expected = [
        p[c] for p in native["probabilities"] for c in ("setosa", "versicolor", "virginica")
    ]
    assert proba["data"] == pytest.approx(expected, rel=1e-12)


def test_bad_values_are_422_field_by_field(client, house):
    body = {
        "inputs": [
            tensor("area", "BYTES", [2], ["big", "1500"]),
            tensor("bedrooms", "FP64", [2], [3, 3]),
            tensor("bathrooms", "FP64", [2], [2, 2]),
            tensor("age", "FP64", [2], [10, 10]),
        ]
    }
    response = client.post(f"{house}/infer", json=body)
    assert response.status_code == 422
    error = response.get_json()
    assert error["error"] == "2 rows have invalid values."
    assert error["errors"]["0"] == {"area": ["Must be a number."]}


@pytest.mark.parametrize(
    "body, fragment",
    [
        ({"inputs": [tensor("weight", "FP64", [1], [1.0])]}, "one tensor per feature"),
        ({"inputs": [tensor("area", "FP64", [2], [1.0])]}, "holds 1 values"),
        ({"inputs": [tensor("area", "FLOAT", [1], [1.0])]}, "datatype"),
        ({"inputs": [tensor("x", "FP64", [1, 3], [1, 2, 3])]}, "[rows, 4]"),
        ({"inputs": []}, "at least one"),
        ({"instances": [[1, 2, 3, 4]]}, "'inputs'"),
        (
            {
                "inputs": [tensor("x", "FP64", [1, 4], [1500, 3, 2, 10])],
                "outputs": [{"name": "predict_proba"}],
            },
            "no output 'predict_proba'",
        ),
    ],
)
def test_malformed_requests_are_400_with_an_error(client, house, body, fragment):
    response = client.post(f"{house}/infer", json=body)
    assert response.status_code == 400
    assert fragment in response.get_json()["error"]


def test_unknown_model_and_version_are_404_with_an_error(client, house):
    body = {"inputs": [tensor("x", "FP64", [1, 4], [1500, 3, 2, 10])]}
    missing = client.post("/v2/models/nope/infer", json=body)
    assert missing.status_code == 404 and "nope" in missing.get_json()["error"]
    assert client.post(f"{house}/versions/7/infer", json=body).status_code == 404
    assert client.get("/v2/models/nope").status_code == 404
    # What the app answers outside the protocol's routes keeps the "error" key clients read.
    unknown = client.get(f"{house}/config")
    assert unknown.status_code == 404 and unknown.get_json()["error"]
    wrong_method = client.get(f"{house}/infer")
    assert wrong_method.status_code == 405 and wrong_method.get_json()["error"]
    assert client.get("/v1/models/house-prices:explain").get_json()["error"]


def test_closed_reads_need_a_token_and_counts_are_shared(make_app):
    from registry.services.tokens import create_token

    app = make_app(auth_reads=True)
    add_plan_version(app, "house-prices", house_plan(), activate=True)
    with app.extensions["registry"].db.write() as session:
        token = create_token(session, "reader", "v2-reader")
    reader = {"Authorization": f"Bearer {token}"}
    client = app.test_client()
    body = {"inputs": [tensor("x", "FP64", [1, 4], [1500, 3, 2, 10])]}
    url = "/v2/models/house-prices"
    assert client.post(f"{url}/infer", json=body).status_code == 401
    assert client.get(url).status_code == 401
    assert client.get(f"{url}/ready").status_code == 401
    assert client.get("/v2/health/ready").status_code == 200
    # Server metadata names the software and its version: a read like the spec documents.
    assert client.get("/v2").status_code == 401
    assert client.get("/v2", headers={"Authorization": "Bearer reg_not-a-token"}).status_code == 401
    assert client.get("/v2", headers=reader).status_code == 200
    assert client.post(f"{url}/infer", json=body, headers=reader).status_code == 200
    metrics = client.get("/metrics", headers=reader).get_data(as_text=True)
    assert 'registry_prediction_rows_total{model="house-prices",version="1"} 1.0' in metrics
    assert 'status="401",version="-"} 1.0' in metrics


def test_tritonclient_reads_metadata_and_infers_json_and_binary(make_app, live_server):
    import tritonclient.http as triton
    from tritonclient.utils import InferenceServerException

    app = make_app()
    add_plan_version(app, "house-prices", house_plan(), activate=True)
    add_plan_version(app, "churn", churn_plan(), activate=True)

    client = triton.InferenceServerClient(url=live_server.url.removeprefix("http://"))
    try:
        assert client.is_server_live() and client.is_server_ready()
        assert client.get_server_metadata()["name"] == "sklearn-registry"
        assert client.is_model_ready("house-prices")
        assert client.is_model_ready("house-prices", "1")
        assert not client.is_model_ready("house-prices", "9")
        metadata = client.get_model_metadata("churn")
        assert [i["datatype"] for i in metadata["inputs"]] == ["FP64", "INT64", "BYTES"]
        with pytest.raises(InferenceServerException, match="nothing at this URL"):
            client.get_model_config("churn")

        rows = np.array([[1500, 3, 2, 10], [2400, 4, 3, 2]], dtype=np.float64)
        expected = [PRICE, house_price(2400, 4, 3, 2)]
        for binary in (True, False):
            table = triton.InferInput("input-0", list(rows.shape), "FP64")
            table.set_data_from_numpy(rows, binary_data=binary)
            outputs = [triton.InferRequestedOutput("predict", binary_data=binary)]
            result = client.infer("house-prices", [table], outputs=outputs)
            assert result.as_numpy("predict").tolist() == pytest.approx(expected, rel=1e-12)
            assert result.get_response()["model_version"] == "1"

        # One tensor per feature, in the client's defaults (binary in, binary out).
        tenure = triton.InferInput("tenure", [2], "FP64")
        tenure.set_data_from_numpy(np.array([3.0, np.nan]))  # NaN: missing, and imputed
        seats = triton.InferInput("seats", [2, 1], "INT64")
        seats.set_data_from_numpy(np.array([[2], [9]], dtype=np.int64))
        plan = triton.InferInput("plan", [2], "BYTES")
        plan.set_data_from_numpy(np.array([b"basic", b"pro"], dtype=np.object_))
        result = client.infer("churn", [tenure, seats, plan], model_version="1")
        native = (
            app.test_client()
            .post(
                "/api/v1/models/churn/predict",
                json={
                    "columns": ["tenure", "seats", "plan"],
                    "data": [[3.0, 2, "basic"], [None, 9, "pro"]],
                },
            )
            .get_json()
        )
        assert result.as_numpy("predict").tolist() == native["predictions"]
        assert result.as_numpy("imputed").tolist() == [b"", b"tenure"]
        proba = result.as_numpy("predict_proba")
        assert proba.shape == (2, 2)
        assert proba[:, 1].tolist() == pytest.approx([p["1"] for p in native["probabilities"]])

        bad = triton.InferInput("area", [1], "BYTES")
        bad.set_data_from_numpy(np.array([b"big"], dtype=np.object_))
        with pytest.raises(InferenceServerException, match="Send one tensor per feature|invalid"):
            client.infer("house-prices", [bad])
    finally:
        client.close()


def binary_request(header: dict, *chunks: bytes, length: int | None = None):
    head = json.dumps(header).encode()
    size = len(head) if length is None else length
    return head + b"".join(chunks), {"Inference-Header-Content-Length": str(size)}


def test_binary_tensor_extension_by_hand(client, house):
    rows = np.array([[1500, 3, 2, 10], [2400, 4, 3, 2]], dtype="<f8").tobytes()
    header = {
        "inputs": [
            {
                "name": "x",
                "datatype": "FP64",
                "shape": [2, 4],
                "parameters": {"binary_data_size": len(rows)},
            }
        ],
        "outputs": [{"name": "predict", "parameters": {"binary_data": True}}],
    }
    body, headers = binary_request(header, rows)
    response = client.post(f"{house}/infer", data=body, headers=headers)
    assert response.status_code == 200, response.get_data()
    length = int(response.headers["Inference-Header-Content-Length"])
    answer = json.loads(response.get_data()[:length])
    [output] = answer["outputs"]
    assert output["parameters"] == {"binary_data_size": 16} and "data" not in output
    values = np.frombuffer(response.get_data()[length:], dtype="<f8").tolist()
    assert values == [pytest.approx(PRICE), pytest.approx(house_price(2400, 4, 3, 2))]


@pytest.mark.parametrize(
    "size, chunk, length, fragment",
    [
        (32, b"\0" * 16, None, "shorter than its size"),
        (32, b"\0" * 48, None, "no input's binary_data_size claims"),
        (-1, b"", None, "byte count"),
        (7, b"\0" * 7, None, "not a whole number of FP64"),
        (32, b"\0" * 32, 10**6, "header's length"),
    ],
)
def test_broken_binary_requests_are_400(client, house, size, chunk, length, fragment):
    header = {
        "inputs": [
            {
                "name": "x",
                "datatype": "FP64",
                "shape": [1, 4],
                "parameters": {"binary_data_size": size},
            }
        ]
    }
    body, headers = binary_request(header, chunk, length=length)
    response = client.post(f"{house}/infer", data=body, headers=headers)
    assert response.status_code == 400, response.get_data()
    assert fragment in response.get_json()["error"]


def test_broken_bytes_elements_are_400(client, app):
    add_plan_version(app, "churn", churn_plan(), activate=True)
    cut = struct.pack("<I", 10) + b"abc"
    header = {
        "inputs": [
            {
                "name": "plan",
                "datatype": "BYTES",
                "shape": [1],
                "parameters": {"binary_data_size": len(cut)},
            }
        ]
    }
    body, headers = binary_request(header, cut)
    response = client.post("/v2/models/churn/infer", data=body, headers=headers)
    assert response.status_code == 400
    assert "shorter than its length" in response.get_json()["error"]


def test_a_tensor_whose_parameters_are_not_an_object_is_a_400(client, house):
    raw = tensor("x", "FP64", [1, 4], [1500, 3, 2, 10])
    response = client.post(f"{house}/infer", json={"inputs": [{**raw, "parameters": [1]}]})
    assert response.status_code == 400
    assert "parameters" in response.get_json()["error"]


def test_a_feature_sent_as_two_tensors_is_a_400_not_one_of_them(client, house):
    body = {
        "inputs": [
            tensor("area", "FP64", [1], [1500]),
            tensor("area", "FP64", [1], [9000]),
            tensor("bedrooms", "FP64", [1], [3]),
            tensor("bathrooms", "FP64", [1], [2]),
            tensor("age", "FP64", [1], [10]),
        ]
    }
    response = client.post(f"{house}/infer", json=body)
    assert response.status_code == 400
    assert "'area'" in response.get_json()["error"]


def test_features_filled_in_are_named_in_an_imputed_output(client, app):
    add_plan_version(app, "churn", churn_plan(), activate=True)
    inputs = [
        tensor("tenure", "FP64", [2], [3.0, None]),
        tensor("seats", "INT64", [2], [2, 9]),
        tensor("plan", "BYTES", [2], ["basic", "pro"]),
    ]
    answer = client.post("/v2/models/churn/infer", json={"inputs": inputs}).get_json()
    outputs = {o["name"]: o for o in answer["outputs"]}
    assert list(outputs) == ["predict", "predict_proba", "imputed"]
    assert outputs["imputed"] == tensor("imputed", "BYTES", [2], ["", "tenure"])
    # Asked for by name, it is there even when nothing was filled in.
    full = [
        tensor("tenure", "FP64", [1], [3.0]),
        *(tensor(t["name"], t["datatype"], [1], t["data"][:1]) for t in inputs[1:]),
    ]
    body = {"inputs": full, "outputs": [{"name": "imputed"}]}
    answer = client.post("/v2/models/churn/infer", json=body).get_json()
    assert answer["outputs"] == [tensor("imputed", "BYTES", [1], [""])]
    # Nothing filled in, nothing asked: the answer is as it was.
    answer = client.post("/v2/models/churn/infer", json={"inputs": full}).get_json()
    assert [o["name"] for o in answer["outputs"]] == ["predict", "predict_proba"]
