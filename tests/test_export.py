"""Exported plans run inside SQLite, DuckDB and PostgreSQL and answer as scikit-learn does."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from registry.errors import NotExportable
from registry.export import export_plan
from registry.intake.extract import extract
from registry.plans import Plan, class_label
from tests.conftest import POSTGRES_URL
from tests.export_data import (
    MODELS,
    database_table,
    hostile_plan,
    many_categories_frame,
    many_categories_plan,
)
from tests.factories import (
    add_plan_version,
    churn_frame,
    churn_model,
    churn_plan,
    iris_plan,
)

DATABASES = ["sqlite", "duckdb", *(["postgresql"] if POSTGRES_URL else [])]


def _scored(
    database: str, plan: dict, frame: pd.DataFrame, dialect: str | None = None
) -> pd.DataFrame:
    """Run the plan's exported SELECT over ``frame`` inside ``database``; rows in frame order.

    The SQL is in the database's own dialect unless ``dialect`` names another (ansi).
    """
    frame = frame.assign(row_id=np.arange(len(frame)))
    with database_table(database, frame, POSTGRES_URL) as (run, table):
        sql = export_plan(plan, "sql", dialect or database, table).body.decode()
        out = run(sql)
    return out.sort_values("row_id").reset_index(drop=True)


@pytest.fixture(scope="module")
def fitted() -> dict:
    return {name: (make(), data()) for name, (make, data) in MODELS.items()}


@pytest.mark.parametrize("dialect", ["own", "ansi"])
@pytest.mark.parametrize("database", DATABASES)
@pytest.mark.parametrize("model", MODELS)
def test_exported_sql_scores_like_scikit_learn_inside_the_database(
    database, dialect, model, fitted
):
    estimator, (frame, _) = fitted[model]
    out = _scored(database, extract(estimator).plan, frame, None if dialect == "own" else dialect)
    assert out["row_id"].tolist() == list(range(len(frame)))
    assert out[list(frame.columns)].isna().equals(frame.isna())
    if hasattr(estimator, "predict_proba"):
        expected = estimator.predict_proba(frame)
        labels = [class_label(c.item()) for c in estimator.classes_]
        got = out[[f"probability_{label}" for label in labels]].to_numpy(dtype=float)
        np.testing.assert_allclose(got, expected, rtol=1e-9, atol=1e-15)
        assert out["prediction"].tolist() == estimator.predict(frame).tolist()
    else:
        np.testing.assert_allclose(out["prediction"], estimator.predict(frame), rtol=1e-9)


@pytest.mark.parametrize("database", DATABASES)
def test_names_and_categories_are_quoted_never_pasted(database):
    plan = hostile_plan()
    frame = pd.DataFrame(
        {
            'tenure"; DROP TABLE t; --': [3.0, None, 40.0, 12.0],
            "seats": [1, 2, 3, 4],
            "plan": ["O'Brien", 'say "hi"; DROP TABLE t; --', "basic", "unheard of"],
        }
    )
    out = _scored(database, plan, frame)
    columns = {name: frame[name].tolist() for name in frame.columns}
    columns['tenure"; DROP TABLE t; --'] = [3.0, None, 40.0, 12.0]
    expected = Plan(plan).predict(columns)
    got = out[["probability_stay", "probability_it's gone"]].to_numpy(dtype=float)
    np.testing.assert_allclose(got, expected.probabilities, rtol=1e-9, atol=1e-15)
    assert out["prediction"].tolist() == expected.predictions


@pytest.mark.parametrize("database", DATABASES)
def test_one_vs_rest_probabilities_are_normalised_as_the_plan_does(database):
    plan = iris_plan()
    plan["link"] = "ovr"
    frame = pd.DataFrame(
        {"petal_length": [1.4, 4.5, 6.0, 60.0], "petal_width": [0.2, 1.5, 2.2, 30]}
    )
    out = _scored(database, plan, frame)
    expected = Plan(plan).predict({c: frame[c].tolist() for c in frame.columns})
    labels = [f"probability_{c}" for c in plan["classes"]]
    got = out[labels].to_numpy(dtype=float)
    np.testing.assert_allclose(got, expected.probabilities, rtol=1e-9, atol=1e-15)
    assert out["prediction"].tolist() == expected.predictions


def _typed_plan() -> dict:
    """Boolean and integer features, as values and as categories, with closed enums."""
    return {
        "format": 1,
        "kind": "linear",
        "link": "identity",
        "features": [
            {"name": "member", "type": "boolean", "nullable": True},
            {"name": "vip", "type": "boolean", "enum": [False, True], "nullable": False},
            {"name": "floor", "type": "integer", "enum": [1, 2, 3], "nullable": False},
            {"name": "size", "type": "number", "enum": [1.5, 2], "nullable": False},
        ],
        "columns": [
            {"feature": "member", "mul": 2.0, "add": 0.5, "missing": 0.25},
            {"feature": "vip", "category": True, "mul": 1.0, "add": 0.0, "missing": None},
            {"feature": "floor", "center": 2.0, "mul": 0.5, "add": 0.0, "missing": None},
            {"feature": "size", "category": 2, "mul": 1.0, "add": 0.0, "missing": None},
        ],
        "coef": [[1.5, -3.0, 7.25, 0.125]],
        "intercept": [10.0],
        "classes": None,
    }


@pytest.mark.parametrize("database", DATABASES)
def test_boolean_and_integer_features_are_read_as_the_plan_reads_them(database):
    frame = pd.DataFrame(
        {
            "member": pd.array([True, False, None, True, True], dtype="boolean"),
            "vip": [True, False, True, False, True],
            "floor": [1, 2, 3, 4, 3],
            "size": [2.0, 1.5, 2.0, 1.5, 3.0],
        }
    )
    out = _scored(database, _typed_plan(), frame)
    rows = frame.head(3).astype(object).where(frame.head(3).notna(), None)
    expected = Plan(_typed_plan()).predict({c: rows[c].tolist() for c in rows.columns})
    np.testing.assert_allclose(out["prediction"][:3], expected.predictions, rtol=1e-12)
    # Outside the enum (floor 4, size 3.0): the service refuses the row, the query says NULL.
    assert out["prediction"][3:].isna().all()


@pytest.mark.parametrize("database", DATABASES)
def test_many_categories_come_from_a_joined_table(database):
    plan, frame = many_categories_plan(), many_categories_frame()
    sql = export_plan(plan, "sql", database, "t").body.decode()
    # The 300 zips and the 40 floors: joined tables, or search trees in SQLite.
    assert sql.count("LEFT JOIN") == (0 if database == "sqlite" else 2)
    out = _scored(database, plan, frame)
    known = frame["floor"] < 40  # floors 40 and 41 are outside the enum: refused, NULL
    rows = frame[known].astype(object).where(frame[known].notna(), None)
    expected = Plan(plan).predict({c: rows[c].tolist() for c in rows.columns})
    labels = [f"probability_{c}" for c in plan["classes"]]
    got = out.loc[known.to_numpy(), labels].to_numpy(dtype=float)
    np.testing.assert_allclose(got, expected.probabilities, rtol=1e-9, atol=1e-15)
    assert out.loc[known.to_numpy(), "prediction"].tolist() == expected.predictions
    assert out.loc[~known.to_numpy(), "prediction"].isna().all()


@pytest.mark.parametrize("database", DATABASES)
def test_rows_the_service_refuses_score_null(database):
    """A required feature left out, or a category outside a closed enum: no guessed answer."""
    frame = pd.DataFrame(
        {"tenure": [None, 5.0, 5.0], "seats": [None, 2, 2], "plan": ["pro", "gold", "basic"]}
    )
    out = _scored(database, churn_plan(), frame)
    assert out["prediction"].isna().tolist() == [True, True, False]
    assert out["probability_1"].isna().tolist() == [True, True, False]


def test_a_step_the_exporter_does_not_know_is_refused_by_name():
    plan = churn_plan()
    plan["columns"][0]["ops"] = [{"op": "spline", "knots": [1.0, 2.0]}]
    with pytest.raises(NotExportable, match="'spline'"):
        export_plan(plan, "sql", "postgresql")
    plan["columns"][0]["ops"] = [
        {"op": "quantile", "quantiles": [0.0, 1.0], "references": [0.0, 1.0], "output": "normal"}
    ]
    with pytest.raises(NotExportable, match="'quantile' with a normal output"):
        export_plan(plan, "sql", "sqlite")


def _export(client, query: str, headers=None):
    return client.get(f"/api/v1/models/churn/versions/1/export?{query}", headers=headers)


def test_the_export_route_returns_sql_that_runs(app, client):
    estimator, (frame, _) = churn_model(), churn_frame()
    add_plan_version(app, "churn", extract(estimator).plan)
    answer = _export(client, "format=sql&dialect=sqlite&table=t")
    assert answer.status_code == 200, answer.json
    assert answer.mimetype == "application/sql"
    with database_table("sqlite", frame, None) as (run, _):
        out = run(answer.get_data(as_text=True))
    np.testing.assert_allclose(out["probability_1"], estimator.predict_proba(frame)[:, 1])


def test_the_json_export_is_the_plan(app, client):
    plan = extract(churn_model()).plan
    add_plan_version(app, "churn", plan)
    answer = _export(client, "format=json")
    assert answer.status_code == 200
    assert answer.mimetype == "application/json"
    assert answer.json == plan


@pytest.mark.parametrize(
    ("query", "fields"),
    [
        ("", {"format"}),
        ("format=xml&dialect=sqlite", {"format"}),
        ("format=sql&dialect=oracle", {"dialect"}),
        ("format=sql&dialect=oracle&table=a;b", {"dialect", "table"}),
        ("format=json&table=a%20b", {"table"}),
        ("format=sql&dialect=duckdb&table=" + "x" * 64, {"table"}),
    ],
)
def test_a_bad_export_request_is_refused_field_by_field(app, client, query, fields):
    add_plan_version(app, "churn", churn_plan())
    answer = _export(client, query)
    assert answer.status_code == 422
    assert answer.json["code"] == "validation_failed"
    assert set(answer.json["errors"]) == fields


def test_an_unknown_version_is_404(app, client):
    add_plan_version(app, "churn", churn_plan())
    answer = client.get("/api/v1/models/churn/versions/2/export?format=json")
    assert answer.status_code == 404
    assert answer.json["code"] == "version_not_found"


def test_a_plan_with_a_step_sql_lacks_is_422_not_exportable(app, client):
    plan = churn_plan()
    plan["columns"][0]["ops"] = [
        {"op": "quantile", "quantiles": [0.0, 1.0], "references": [0.0, 1.0], "output": "normal"}
    ]
    add_plan_version(app, "churn", plan)
    answer = _export(client, "format=sql&dialect=ansi")
    assert answer.status_code == 422
    assert answer.json["code"] == "not_exportable"
    assert "'quantile'" in answer.json["message"]
    assert _export(client, "format=json").json == plan


def test_exports_are_reads_that_auth_reads_closes(make_app, tokens):
    app = make_app(auth_reads=True)
    add_plan_version(app, "churn", churn_plan())
    client = app.test_client()
    assert _export(client, "format=json").status_code == 401
    assert _export(client, "format=json", tokens["reader"]).status_code == 200
