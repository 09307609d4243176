"""Training's fence: malformed CSVs refused by the parent, the rest fitted in a fenced child."""

from __future__ import annotations

import io
import resource

import pytest

from registry.trainer import train_in_child

TRAIN = "/api/v1/models/houses/versions/train"


def _csv(rows: int = 40, columns: int = 3) -> bytes:
    names = [f"x{i}" for i in range(columns - 1)] + ["price"]
    lines = [",".join(names)]
    for row in range(rows):
        values = [str((row * (i + 3)) % 17) for i in range(columns - 1)]
        lines.append(",".join([*values, str(row * 2.5 + 1)]))
    return ("\n".join(lines) + "\n").encode()


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _train(client, tokens, data: bytes, target: str = "price"):
    form = {"data": (io.BytesIO(data), "data.csv"), "target": target}
    return client.post(TRAIN, data=form, headers=tokens["publisher"])


@pytest.mark.parametrize(
    ("data", "target", "status", "field", "words"),
    [
        (b"price,x\n\xff\xfe,1\n", "price", 422, "data", "not UTF-8"),
        (b"1.5,2,3\n4,5,6\n", "price", 422, "data", "header"),
        (_csv(), "cost", 422, "target", "no column 'cost'"),
        (_csv(rows=31), "price", 413, "data", "REGISTRY_MAX_CSV_ROWS"),
        (_csv(rows=5, columns=6), "price", 413, "data", "REGISTRY_MAX_CSV_COLUMNS"),
    ],
    ids=["not-utf8", "no-header", "unknown-target", "too-many-rows", "too-many-columns"],
)
def test_malformed_csv_is_refused_without_a_child(
    database_url, tmp_path, tokens, data, target, status, field, words
):
    from registry.app import create_app

    app = create_app(
        {
            "database_url": database_url,
            "artifact_root": tmp_path / "artifacts",
            "testing": True,
            "max_csv_rows": 30,
            "max_csv_columns": 5,
        }
    )
    before = _children_cpu()
    response = _train(app.test_client(), tokens, data, target)
    body = response.get_json()
    assert response.status_code == status, body
    assert words in body["message"] and field in body.get("errors", {field: None})
    # No training child ran: children's CPU time, as the kernel counts it, did not move.
    assert _children_cpu() == before


def test_training_child_runs_behind_every_fence():
    trained = train_in_child(_csv(), "price", "linear", 0.25, 120)
    assert trained.kind == "linear" and trained.features == ("x0", "x1")
    assert trained.sandbox and all(trained.sandbox.values()), trained.sandbox
