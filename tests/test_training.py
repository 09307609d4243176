"""Training from a table: pipeline from column types, kind rule, metrics, errors, the endpoint."""

from __future__ import annotations

import io
import subprocess
import sys
from dataclasses import replace

import joblib
import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_iris
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from registry import training
from registry.errors import IntakeBusy, InvalidTrainingData
from registry.trainer import TrainLimits, train_cpu_budget, train_in_child
from tests.factories import churn_frame, house_frame
from tests.live import ROOT

TRAIN = "/api/v1/models/{name}/versions/train"


def houses(rows: int = 200) -> pd.DataFrame:
    frame, price = house_frame(rows)
    return frame.assign(price=price)


def churn() -> pd.DataFrame:
    frame, churned = churn_frame()
    return frame.assign(churned=churned)


def csv_bytes(frame: pd.DataFrame) -> bytes:
    return frame.to_csv(index=False).encode("utf-8")


def test_pipeline_follows_the_column_types():
    frame = pd.DataFrame(
        {"n": [1.0, np.nan], "i": [1, 2], "s": ["a", None], "b": [True, False]}
    ).astype({"s": object})
    pipeline = training.build_pipeline(frame, "logistic")
    prepare, head = pipeline.named_steps["prepare"], pipeline.named_steps["model"]
    parts = {name: (step, columns) for name, step, columns in prepare.transformers}
    assert parts["numeric"][1] == ["n", "i"]
    impute, scale = parts["numeric"][0].named_steps.values()
    assert isinstance(impute, SimpleImputer) and impute.strategy == "median"
    assert isinstance(scale, StandardScaler)
    assert parts["categorical"][1] == ["s"]
    impute, encode = parts["categorical"][0].named_steps.values()
    assert impute.strategy == "most_frequent"
    assert isinstance(encode, OneHotEncoder) and encode.handle_unknown == "ignore"
    assert parts["boolean"][1] == ["b"] and isinstance(parts["boolean"][0], OneHotEncoder)
    assert isinstance(head, LogisticRegression) and head.max_iter == 1000
    assert isinstance(training.build_pipeline(frame, "linear")[-1], LinearRegression)


@pytest.mark.parametrize(
    ("values", "kind"),
    [
        ([0.5, 1.25, 3.0, 7.5] * 5, "linear"),
        (list(range(20)), "linear"),
        ([0, 1] * 10, "logistic"),
        ([1.0, 2.0, 3.0] * 5, "logistic"),
        (["spam", "ham"] * 5, "logistic"),
        ([True, False] * 5, "logistic"),
    ],
)
def test_kind_is_guessed_from_the_target(values, kind):
    assert training.guess_kind(pd.Series(values)) == kind


def test_linear_training_reports_held_out_regression_metrics():
    trained = training.train(houses(), "price")
    assert trained.kind == "linear"
    assert set(trained.metrics) == {"r2", "mae", "rmse"}
    assert trained.metrics["r2"] > 0.99
    assert (trained.train_rows, trained.test_rows) == (160, 40)
    assert trained.features == ("area", "bedrooms", "bathrooms", "age")


def test_pushed_model_is_the_one_the_metrics_describe():
    frame = churn()
    trained = training.train(frame, "churned", test_size=0.25)
    assert trained.kind == "logistic"
    assert set(trained.metrics) == {"accuracy", "precision", "recall", "f1", "roc_auc"}
    model = joblib.load(io.BytesIO(trained.artifact))
    x = training._features(frame, "churned")
    y = training._labels(frame["churned"], "churned", "logistic")
    _, x_test, _, y_test = training._split(x, y, "logistic", 0.25)
    assert training.evaluate(model, "logistic", x_test, y_test) == trained.metrics
    # Stratified: the held-out rows keep both classes.
    assert set(y_test) == {0, 1}


def test_multiclass_metrics_are_macro_averaged():
    frame = load_iris(as_frame=True).frame
    frame["target"] = np.array(["setosa", "versicolor", "virginica"])[frame["target"]]
    trained = training.train(frame, "target")
    assert trained.kind == "logistic"
    assert set(trained.metrics) == {"accuracy", "precision", "recall", "f1", "roc_auc"}
    assert all(0 <= v <= 1 for v in trained.metrics.values())


def test_progress_reports_each_stage():
    stages = []
    training.train(houses(), "price", progress=stages.append)
    assert stages == list(training.STAGES)


@pytest.mark.parametrize(
    ("data", "target", "kind", "message"),
    [
        (b"", "y", None, "The CSV is empty."),
        (b"a,y\n", "y", None, "The CSV has a header but no rows."),
        (b'a,y\n"1,2\n', "y", None, "The CSV could not be parsed"),
        (b"a,y\n\xff\xfe,1\n", "y", None, "The CSV is not UTF-8 text."),
        (b"a,b\n" + b"1,2\n" * 20, "y", None, "The CSV has no column 'y'"),
        (b"a,y\n" + b"1,2\n" * 5, "y", None, "The CSV has 5 rows; training needs at least 10"),
        (b"y\n" + b"1\n" * 20, "y", None, "at least one column besides the target"),
        (b"a,y\n" + b"1,x\n2,x\n" * 10, "y", None, "holds a single class ('x')"),
        (b"a,y\n" + b"inf,1\n2,0\n" * 10, "y", None, "Column 'a' holds infinite values"),
        (b"a,b,y\n" + b"1,,1\n2,,0\n" * 10, "y", None, "Column 'b' has no values."),
        (b"a,y\n" + b"1,\n2,0\n3,1\n" * 5, "y", None, "has 5 missing values"),
        (b"a,y\n" + b"1,0.5\n2,1.5\n" * 10, "y", "logistic", "holds continuous numbers"),
        (b"a,y\n" + b"1,x\n2,z\n" * 10, "y", "linear", "needs a numeric target"),
    ],
)
def test_untrainable_data_is_refused_with_a_sentence(data, target, kind, message):
    with pytest.raises(InvalidTrainingData) as caught:
        training.train(training.read_csv(data), target, kind)
    assert message in caught.value.message
    assert caught.value.message.endswith(".")
    assert caught.value.errors


@pytest.mark.parametrize("test_size", [0.0, 1.0, -0.2, 0.01])
def test_bad_test_size_is_refused(test_size):
    with pytest.raises(InvalidTrainingData, match="test_size"):
        training.train(houses(30), "price", test_size=test_size)


def test_training_runs_in_a_child_process():
    trained = train_in_child(csv_bytes(houses()), "price", None, 0.2, timeout=60)
    assert trained.kind == "linear" and trained.metrics["r2"] > 0.99
    assert joblib.load(io.BytesIO(trained.artifact)).n_features_in_ == 4


def test_a_child_that_gets_no_cpu_in_time_is_a_busy_server_not_a_bad_csv():
    # The wall clock only bounds how long a request waits; a CSV is never blamed for it.
    with pytest.raises(IntakeBusy) as caught:
        train_in_child(csv_bytes(houses()), "price", None, 0.2, timeout=0.05)
    message = caught.value.message
    assert "busy" in message and "CPU seconds" in message and "Try again" in message
    assert "push" in message  # or fit it locally and push it
    assert caught.value.retry_after > 0


def test_training_is_stopped_by_its_cpu_budget_and_says_what_to_do():
    limits = TrainLimits(cpu_seconds=1)
    with pytest.raises(InvalidTrainingData) as caught:
        train_in_child(csv_bytes(houses()), "price", None, 0.2, timeout=300, limits=limits)
    message = caught.value.message
    assert "1 CPU second" in message and "200 rows and 5 columns" in message
    assert "fewer rows" in message and "REGISTRY_TRAIN_CPU_SECONDS" in message


def test_the_cpu_budget_grows_with_rows_times_columns_up_to_the_setting():
    small = train_cpu_budget(300, 6, 40)
    assert 10 <= small < 40  # start-up measured at 1.5-2 CPU seconds, with a wide margin
    assert small < train_cpu_budget(100_000, 20, 1000) < train_cpu_budget(100_000, 100, 1000)
    assert train_cpu_budget(100_000, 100, 40) == 40
    assert train_cpu_budget(300, 6, 5) == 5


def test_web_workers_never_load_pandas_or_sklearn():
    code = (
        "import sys\n"
        "from registry.app import create_app\n"
        "import registry.trainer\n"
        "create_app({'database_url': 'sqlite://'})\n"
        "loaded = {m.split('.')[0] for m in sys.modules} & {'pandas', 'sklearn', 'scipy'}\n"
        "assert not loaded, loaded\n"
    )
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True, timeout=60)


def train_request(client, tokens, name, data, role="publisher", **fields):
    form = {"data": (io.BytesIO(data), "train.csv"), **fields}
    return client.post(
        TRAIN.format(name=name),
        data=form,
        headers=tokens[role],
        content_type="multipart/form-data",
    )


def test_train_endpoint_creates_the_model_and_a_version(client, tokens):
    response = train_request(
        client,
        tokens,
        "houses",
        csv_bytes(houses()),
        target="price",
        test_size="0.25",
        description="From the CSV",
        activate="true",
    )
    assert response.status_code == 201, response.get_json()
    version = response.get_json()
    assert version["version"] == 1 and version["kind"] == "linear" and version["active"]
    assert set(version["metrics"]) == {"r2", "mae", "rmse"}
    assert version["tags"] == {
        "trained_by": "registry",
        "target": "price",
        "train_rows": "150",
        "test_rows": "50",
    }
    assert version["created_by"] == "test-publisher"
    assert version["description"] == "From the CSV"
    assert [f["name"] for f in version["features"]] == ["area", "bedrooms", "bathrooms", "age"]
    model = client.get("/api/v1/models/houses").get_json()
    assert model["kind"] == "linear" and model["active_version"] == 1
    answer = client.post(
        "/api/v1/models/houses/predict",
        json={"area": 1500, "bedrooms": 3, "bathrooms": 2, "age": 10},
    )
    assert answer.status_code == 200 and answer.get_json()["version"] == 1
    # The model is linear now: a logistic version is refused before any training.
    mismatch = train_request(
        client, tokens, "houses", csv_bytes(houses()), target="price", kind="logistic"
    )
    assert mismatch.status_code == 422 and mismatch.get_json()["code"] == "kind_mismatch"


def test_untrainable_csv_is_422_and_creates_nothing(client, tokens):
    data = b"a,y\n" + b"1,x\n2,x\n" * 10
    response = train_request(client, tokens, "fresh", data, target="y")
    assert response.status_code == 422
    body = response.get_json()
    assert body["code"] == "invalid_training_data"
    assert "single class" in body["message"]
    assert client.get("/api/v1/models/fresh").status_code == 404


@pytest.mark.parametrize(
    ("fields", "status", "field"),
    [
        ({}, 422, "target"),
        ({"target": "price", "kind": "forest"}, 422, "kind"),
        ({"target": "price", "test_size": "1.5"}, 422, "test_size"),
        ({"target": "price", "test_size": "half"}, 422, "test_size"),
        ({"target": "price", "test_size": "nan"}, 422, "test_size"),
        ({"target": "price", "activate": "maybe"}, 400, "activate"),
    ],
)
def test_bad_train_fields(client, tokens, fields, status, field):
    response = train_request(client, tokens, "houses", b"a,price\n1,2\n", **fields)
    assert response.status_code == status
    assert field in response.get_json()["errors"]


def test_train_request_shape_errors(client, tokens, app):
    no_data = client.post(
        TRAIN.format(name="houses"),
        data={"target": "price"},
        headers=tokens["publisher"],
        content_type="multipart/form-data",
    )
    assert no_data.status_code == 400 and "data" in no_data.get_json()["errors"]
    as_json = client.post(
        TRAIN.format(name="houses"), json={"target": "price"}, headers=tokens["publisher"]
    )
    assert as_json.status_code == 415
    bad_name = train_request(client, tokens, "Bad Name", b"a,price\n1,2\n", target="price")
    assert bad_name.status_code == 422 and bad_name.get_json()["code"] == "invalid_name"
    reader = train_request(client, tokens, "houses", b"a,price\n1,2\n", "reader", target="price")
    assert reader.status_code == 403
    registry = app.extensions["registry"]
    registry.config = replace(registry.config, max_csv_bytes=10)
    too_big = train_request(client, tokens, "houses", b"a,price\n1,2\n", target="price")
    assert too_big.status_code == 413 and too_big.get_json()["code"] == "payload_too_large"


def test_sync_workers_outlive_a_training_request_on_a_busy_machine():
    from config import Config
    from registry.server import worker_timeout

    config = Config()
    waits = config.train_timeout + config.intake_timeout
    assert config.train_timeout >= 120  # the wall clock is for busy machines, not the work
    assert worker_timeout(replace(config, worker_class="sync")) > waits
    # The buffering worker checks in every second whatever its thread does.
    assert worker_timeout(config) == 120
