"""What intake saw: the names an uploaded file referred to, kept on its version and shown."""

from __future__ import annotations

import io
import pickle
import re

import pytest
import skops.io

from tests.factories import add_plan_version, churn_frame, churn_model, churn_plan, dump

LOGISTIC = "sklearn.linear_model._logistic.LogisticRegression"


def upload(client, tokens, data: bytes) -> dict:
    client.post("/api/v1/models", json={"name": "churn"}, headers=tokens["publisher"])
    answer = client.post(
        "/api/v1/models/churn/versions",
        data={"artifact": (io.BytesIO(data), "model.bin")},
        headers=tokens["publisher"],
        content_type="multipart/form-data",
    )
    assert answer.status_code == 201, answer.get_json()
    return answer.get_json()


def counts(version: dict) -> dict[str, int]:
    return {entry["name"]: entry["count"] for entry in version["intake"]["referred"]}


def _reconstruct(seen: dict[str, int]) -> int:
    # numpy 2 keeps it in numpy._core, numpy 1 in numpy.core: the file says which.
    names = [n for n in seen if re.fullmatch(r"numpy\._?core\.multiarray\._reconstruct", n)]
    assert len(names) == 1, sorted(seen)
    return seen[names[0]]


def test_a_joblib_upload_keeps_the_names_its_file_referred_to(client, tokens):
    created = upload(client, tokens, dump(churn_model()))
    read = client.get("/api/v1/models/churn/versions/1").get_json()
    assert read["intake"] == created["intake"]
    seen = counts(read)
    # One model, and one object for each step a pipeline keeps fitted and as given.
    assert seen[LOGISTIC] == 1
    assert seen["sklearn.preprocessing._encoders.OneHotEncoder"] == 2
    assert seen["sklearn.pipeline.Pipeline"] == 3
    # joblib writes numeric arrays itself; the categories (object arrays) are pickled.
    assert seen["joblib.numpy_pickle.NumpyArrayWrapper"] >= 8
    assert _reconstruct(seen) >= 1
    assert seen["numpy.ndarray"] == 0  # named, only passed to _reconstruct
    assert list(seen) == sorted(seen)


def test_a_pickle_upload_keeps_numpy_s_reconstruct_for_every_array(client, tokens):
    seen = counts(upload(client, tokens, pickle.dumps(churn_model())))
    assert seen[LOGISTIC] == 1
    assert "joblib.numpy_pickle.NumpyArrayWrapper" not in seen
    assert _reconstruct(seen) >= 8


def test_a_skops_upload_keeps_the_types_of_its_nodes(client, tokens):
    seen = counts(upload(client, tokens, skops.io.dumps(churn_model())))
    assert seen[LOGISTIC] == 1
    assert seen["sklearn.compose._column_transformer.ColumnTransformer"] == 1
    assert seen["numpy.ndarray"] >= 8
    assert not any(name.startswith("builtins.") for name in seen)  # plain values left out


def test_a_version_stored_without_intake_says_nothing_was_recorded(client, app):
    add_plan_version(app, "churn", churn_plan())
    assert client.get("/api/v1/models/churn/versions/1").get_json()["intake"] is None
    html = client.get("/ui/models/churn/versions/1").get_data(as_text=True)
    section = re.search(r'<section id="intake">(.*?)</section>', html, re.S).group(1)
    assert "Not recorded" in section and "<table" not in section


def test_the_version_page_shows_what_intake_saw(client, tokens):
    upload(client, tokens, dump(churn_model()))
    html = client.get("/ui/models/churn/versions/1").get_data(as_text=True)
    section = re.search(r'<section id="intake">(.*?)</section>', html, re.S).group(1)
    row = r"<tr><td><code>([^<]+)</code></td><td class=\"num\">(\d+)</td>"
    rows = dict(re.findall(row, section))
    assert rows[LOGISTIC] == "1" and rows["sklearn.pipeline.Pipeline"] == "3"
    assert "uploaded" in section.lower()


def test_a_version_trained_here_shows_its_file_went_through_the_same_intake(client, tokens):
    frame, churned = churn_frame()
    data = (io.BytesIO(frame.assign(churned=churned).to_csv(index=False).encode()), "d.csv")
    trained = client.post(
        "/api/v1/models/churn/versions/train",
        data={"data": data, "target": "churned"},
        headers=tokens["publisher"],
        content_type="multipart/form-data",
    )
    assert trained.status_code == 201, trained.get_json()
    assert counts(trained.get_json())[LOGISTIC] == 1
    html = client.get("/ui/models/churn/versions/1").get_data(as_text=True)
    section = re.search(r'<section id="intake">(.*?)</section>', html, re.S).group(1)
    assert "Trained here" in section and LOGISTIC in section


@pytest.mark.parametrize(
    "raw",
    [
        None,
        "sklearn",
        [{"name": "a"}],
        [{"name": "a", "count": -1}],
        [{"name": "a", "count": True}],
        [{"name": "", "count": 1}],
        [{"name": "a\n<b>", "count": 1}],
        [{"name": "a", "count": 1, "more": 2}],
        [{"name": "a", "count": 1}] * 301,
    ],
)
def test_a_malformed_referred_list_from_the_child_is_not_recorded(raw):
    from registry.intake.wire import read_referred

    assert read_referred(raw) is None
