"""The manage.py commands on a real database: models, training, versions, aliases, predict, demo."""

from __future__ import annotations

import io
import json
from pathlib import Path

import joblib
import pandas as pd
import pytest
from click.testing import CliRunner

from manage import build_cli
from registry.cli.common import cli_actor
from registry.db import connect
from registry.services.events import list_events
from tests.factories import dump, house_frame, house_model

HOUSE_ROWS = [
    {"area": 1500, "bedrooms": 3, "bathrooms": 2, "age": 10},
    {"area": 900.5, "bedrooms": 1, "bathrooms": 1, "age": 40},
]


@pytest.fixture
def house_csv(tmp_path: Path) -> Path:
    frame, price = house_frame()
    path = tmp_path / "houses.csv"
    frame.assign(price=price).to_csv(path, index=False)
    return path


def test_models_create_list_show(run):
    run("models", "create", "churn", "--kind", "logistic", "--tag", "team=growth")
    run("models", "create", "houses", "--description", "Prices")
    listed = json.loads(run("models", "list", "--json").stdout)
    assert [m["name"] for m in listed] == ["churn", "houses"]
    assert listed[0]["kind"] == "logistic" and listed[0]["tags"] == {"team": "growth"}
    table = run("models", "list").stdout
    assert table.splitlines()[0].split()[:4] == ["NAME", "KIND", "ACTIVE", "LATEST"]
    shown = run("models", "show", "houses").stdout
    assert "Model:       houses" in shown and "Prices" in shown
    duplicate = run("models", "create", "houses", code=1)
    assert "Error: A model called 'houses' already exists." in duplicate.output
    bad = run("models", "create", "Bad Name", code=1)
    assert "A name is 1 to 64 characters" in bad.output
    assert "no model called 'nope'" in run("models", "show", "nope", code=1).output
    assert run("models", "create", "x", "--tag", "nokey", code=2).exit_code == 2


def test_train_then_manage_versions_aliases_and_predict(run, house_csv, tmp_path, database_url):
    trained = run("train", house_csv, "--target", "price", "--model", "houses", "--activate").stdout
    assert "Held-out metrics of the linear model (40 test rows, 160 training rows):" in trained
    assert "r2" in trained and "rmse" in trained
    assert "Pushed houses version 1 and activated it." in trained
    second = run("train", house_csv, "--target", "price", "--model", "houses", "--test-size", "0.3")
    assert "Pushed houses version 2." in second.stdout
    pushed_file = tmp_path / "model.joblib"
    pushed_file.write_bytes(dump(house_model()))
    pushed = run(
        "versions", "push", "houses", pushed_file, "--metrics", '{"r2": 0.5}', "--tag", "by=hand"
    )
    assert "Pushed houses version 3." in pushed.stdout

    versions = json.loads(run("versions", "list", "houses", "--json").stdout)
    assert [v["version"] for v in versions] == [3, 2, 1]
    assert versions[1]["tags"]["test_rows"] == "60" and versions[0]["metrics"] == {"r2": 0.5}
    assert "Version 2 of houses is active." in run("versions", "activate", "houses", 2).stdout
    rolled = run("versions", "rollback", "houses").stdout
    assert "version 1 is active" in rolled
    assert "no earlier active version" in run("versions", "rollback", "houses", code=1).output
    run("aliases", "set", "houses", "staging", 2)
    assert json.loads(run("models", "show", "houses", "--json").stdout)["model"]["aliases"] == {
        "staging": 2
    }

    rows = tmp_path / "rows.csv"
    pd.DataFrame(HOUSE_ROWS).assign(id=["a", "b"]).to_csv(rows, index=False)
    out = pd.read_csv(io.StringIO(run("predict", "houses", "--csv", rows).stdout))
    assert list(out.columns) == ["prediction"] and len(out) == 2
    assert 250_000 < out["prediction"][0] < 400_000
    staged = tmp_path / "staged.csv"
    written = run("predict", "houses", "--csv", rows, "--alias", "staging", "--output", staged)
    assert "Wrote 2 predictions of houses version 2" in written.stdout
    assert len(pd.read_csv(staged)) == 2
    run("aliases", "remove", "houses", "staging")
    assert (
        "no alias 'staging'"
        in run("predict", "houses", "--csv", rows, "--alias", "staging", code=1).output
    )
    bad = [{"area": "big", "bedrooms": 3, "bathrooms": 2, "age": 10}]
    pd.DataFrame(bad).to_csv(rows, index=False)
    refused = run("predict", "houses", "--csv", rows, code=1).output
    assert "1 row has invalid values." in refused and "row 1: area:" in refused

    target = tmp_path / "v1.joblib"
    run("versions", "download", "houses", 1, "--output", target)
    assert joblib.load(target).predict(pd.DataFrame(HOUSE_ROWS)).shape == (2,)

    database = connect(database_url)
    with database.read() as session:
        actors = {e.actor for e in list_events(session, "houses", 1, 100).items}
    database.dispose()
    assert actors == {cli_actor()}


def test_train_errors_are_sentences(run, house_csv, tmp_path):
    missing = run("train", house_csv, "--target", "nope", "--model", "houses", code=1)
    assert "Error: The CSV has no column 'nope' to use as the target; it has 'area'" in (
        missing.output
    )
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    assert (
        "The CSV is empty."
        in run("train", empty, "--target", "y", "--model", "houses", code=1).output
    )
    run("models", "create", "labels", "--kind", "logistic")
    mismatch = run(
        "train", house_csv, "--target", "price", "--model", "labels", "--kind", "linear", code=1
    )
    assert "Model 'labels' is logistic" in mismatch.output
    assert run("train", house_csv, "--target", "price", "--model", "x", "--test-size", "1", code=2)


def test_demo_runs_twice_and_serves_compatible_versions(run, tmp_path):
    first = run("demo", "--no-serve").stdout
    assert "Registered house-prices version 2" in first
    assert "Registered breast-cancer version 2" in first
    assert "http://127.0.0.1:8000/docs" in first
    assert '"area": 1500, "bedrooms": 3, "bathrooms": 2, "age": 10' in first
    assert first.strip().splitlines()[-1].startswith("reg_")
    again = run("demo", "--no-serve", "--port", "9000").stdout
    assert "Registered" not in again and "http://127.0.0.1:9000/docs" in again
    assert again.strip().splitlines()[-1] != first.strip().splitlines()[-1]

    models = {m["name"]: m for m in json.loads(run("models", "list", "--json").stdout)}
    assert {
        n: (m["kind"], m["active_version"], m["latest_version"]) for n, m in models.items()
    } == {
        "breast-cancer": ("logistic", 1, 2),
        "house-prices": ("linear", 1, 2),
    }
    rows = tmp_path / "cells.csv"
    pd.DataFrame([{"mean radius": 20.0, "mean texture": 20.0}]).to_csv(rows, index=False)
    # The demo's classifier imputes, so unnamed measurements may be left out when asked.
    args = ("predict", "breast-cancer", "--csv", rows)
    out = pd.read_csv(io.StringIO(run(*args, "--allow-missing").stdout))
    assert list(out.columns) == ["prediction", "probability_benign", "probability_malignant"]
    assert out["probability_benign"][0] + out["probability_malignant"][0] == pytest.approx(1)
    # Second versions are compatible with the first: no --force needed.
    run("versions", "activate", "house-prices", 2)
    run("versions", "activate", "breast-cancer", 2)


def test_predict_refuses_a_csv_that_lacks_a_feature_and_says_what_it_has(run, house_csv, tmp_path):
    run("train", house_csv, "--target", "price", "--model", "houses", "--activate")
    rows = tmp_path / "misspelt.csv"
    misspelt = [
        {"area_sqft": r["area"], **{k: v for k, v in r.items() if k != "area"}} for r in HOUSE_ROWS
    ]
    pd.DataFrame(misspelt).assign(id=["a", "b"]).to_csv(rows, index=False)
    refused = run("predict", "houses", "--csv", rows, code=1).output
    assert "no column for 'area' (did you mean 'area_sqft'?)" in refused
    assert "--allow-missing" in refused
    filled = run("predict", "houses", "--csv", rows, "--allow-missing")
    assert len(pd.read_csv(io.StringIO(filled.stdout))) == 2
    assert "left out: area_sqft, id" in filled.stderr

    good = tmp_path / "good.csv"
    pd.DataFrame(HOUSE_ROWS).assign(id=["a", "b"]).to_csv(good, index=False)
    kept = pd.read_csv(io.StringIO(run("predict", "houses", "--csv", good, "--keep", "id").stdout))
    assert list(kept.columns) == ["id", "prediction"] and kept["id"].tolist() == ["a", "b"]
    assert "--keep" in run("predict", "houses", "--csv", good, "--keep", "nope", code=2).output


def test_demo_and_serve_say_the_port_is_in_use_before_doing_anything(run):
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        for command in ("demo", "serve"):
            result = run(command, "--host", "127.0.0.1", "--port", port, code=1)
            assert f"port {port} on 127.0.0.1 is in use" in result.output
            assert "--port" in result.output and "reg_" not in result.output
    assert "house-prices" not in run("models", "list").stdout


def test_demo_that_serves_ends_its_output_with_the_token(database_url, tmp_path):
    import subprocess
    import sys
    import time

    import requests

    from tests.live import ROOT, free_port, server_env

    port = free_port()
    out = tmp_path / "demo.out"
    with out.open("wb") as stdout:
        demo = subprocess.Popen(
            [sys.executable, "manage.py", "demo", "--port", str(port), "--workers", "1"],
            cwd=ROOT,
            env=server_env(database_url, tmp_path / "artifacts"),
            stdout=stdout,
            stderr=subprocess.DEVNULL,
        )
    try:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline and demo.poll() is None:
            try:
                if requests.get(f"http://127.0.0.1:{port}/health/live", timeout=2).ok:
                    break
            except requests.RequestException:
                time.sleep(0.2)
        lines = out.read_text().strip().splitlines()
        # As README says: the token is the last line, also once the server is up.
        assert lines[-1].startswith("reg_"), lines[-3:]
        assert any(line.startswith("Serving on") for line in lines)
    finally:
        demo.terminate()
        demo.wait(30)


def test_train_fits_in_the_fenced_child_with_its_limits(database_url, tmp_path, house_csv):
    # The CLI trains as HTTP does: the parent checks the CSV against the limits, and the
    # fit runs in the fenced child, whose fences are reported back.
    runner = CliRunner(
        env={
            "REGISTRY_DATABASE_URL": database_url,
            "REGISTRY_ARTIFACT_ROOT": str(tmp_path / "artifacts"),
            "REGISTRY_MAX_CSV_ROWS": "30",
        }
    )
    refused = runner.invoke(
        build_cli(), ["train", str(house_csv), "--target", "price", "--model", "houses"]
    )
    assert refused.exit_code == 1, refused.output
    assert "REGISTRY_MAX_CSV_ROWS" in refused.output
