"""Fitted estimators on bundled data, and the tables their exported SQL scores, per database."""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer, TransformedTargetRegressor
from sklearn.datasets import load_diabetes, load_iris
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression, PoissonRegressor, Ridge
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import (
    FunctionTransformer,
    KBinsDiscretizer,
    MinMaxScaler,
    OneHotEncoder,
    OrdinalEncoder,
    PowerTransformer,
    QuantileTransformer,
    StandardScaler,
    TargetEncoder,
)

from tests.factories import churn_frame, churn_model, churn_plan, house_frame, house_model

Runner = Callable[[pd.DataFrame, Callable[[str], str]], pd.DataFrame]


def diabetes_frame() -> tuple[pd.DataFrame, np.ndarray]:
    """scikit-learn's diabetes data as a mixed frame: a string category and missing values."""
    data = load_diabetes(as_frame=True)
    frame = data.frame.drop(columns="target")
    frame["sex"] = np.where(frame["sex"] > 0, "male", "female").astype(object)
    frame.loc[::11, "sex"] = None
    frame.loc[::7, "bmi"] = np.nan
    frame.loc[3::9, "bp"] = np.nan
    return frame, data.target.to_numpy()


def diabetes_model():
    """A ridge regression behind imputation, scaling, bins, a power and a log transform."""
    frame, target = diabetes_frame()
    prep = ColumnTransformer(
        [
            (
                "num",
                make_pipeline(SimpleImputer(strategy="median"), StandardScaler()),
                ["age", "bmi", "bp", "s1", "s2"],
            ),
            (
                "bins",
                KBinsDiscretizer(
                    n_bins=4, encode="ordinal", quantile_method="averaged_inverted_cdf"
                ),
                ["s3"],
            ),
            ("power", PowerTransformer(), ["s4", "s5"]),
            ("log", make_pipeline(FunctionTransformer(np.log1p), MinMaxScaler(clip=True)), ["s6"]),
            (
                "cat",
                make_pipeline(
                    SimpleImputer(strategy="constant", fill_value="unknown"),
                    OneHotEncoder(handle_unknown="ignore"),
                ),
                ["sex"],
            ),
        ]
    )
    return make_pipeline(prep, Ridge(alpha=0.1)).fit(frame, target)


def quantile_model():
    """A ridge regression on uniform quantiles, of a column with ties among them too."""
    frame, target = diabetes_frame()
    frame = frame.assign(s1=frame["s1"].round(2))
    prep = ColumnTransformer(
        [
            ("q", QuantileTransformer(n_quantiles=40), ["s1", "s2"]),
            ("num", make_pipeline(SimpleImputer(), StandardScaler()), ["bmi", "bp"]),
        ]
    )
    return make_pipeline(prep, Ridge()).fit(frame, target)


def poisson_model():
    """A Poisson GLM (log link) whose target is log1p-transformed on the way in."""
    frame, target = diabetes_frame()
    prep = ColumnTransformer(
        [
            ("num", make_pipeline(SimpleImputer(), StandardScaler()), ["age", "bmi", "bp"]),
            ("cat", OneHotEncoder(handle_unknown="ignore"), ["sex"]),
        ]
    )
    glm = make_pipeline(prep, PoissonRegressor(alpha=0.01))
    return TransformedTargetRegressor(glm, func=np.log1p, inverse_func=np.expm1).fit(frame, target)


def lookup_frame() -> tuple[pd.DataFrame, np.ndarray]:
    """The diabetes frame with an age band and no gaps (TargetEncoder takes none)."""
    frame, target = diabetes_frame()
    frame = frame.assign(
        band=pd.cut(frame["age"], 5, labels=["a", "b", "c", "d", "e"]).astype(object),
        sex=frame["sex"].fillna("unknown"),
    )
    return frame.fillna(0.0), target > np.median(target)


def lookup_model():
    """A logistic regression over target-encoded, ordinal-encoded and infrequent categories."""
    frame, high = lookup_frame()
    prep = ColumnTransformer(
        [
            ("target", TargetEncoder(), ["band"]),
            ("ordinal", OrdinalEncoder(), ["sex"]),
            (
                "rare",
                OneHotEncoder(min_frequency=60, handle_unknown="infrequent_if_exist"),
                ["band"],
            ),
            ("num", StandardScaler(), ["bmi", "s5"]),
        ]
    )
    return make_pipeline(prep, LogisticRegression()).fit(frame, high)


def iris_frame() -> tuple[pd.DataFrame, np.ndarray]:
    """Iris with gaps in two columns and the species as strings."""
    data = load_iris(as_frame=True)
    frame = data.frame.drop(columns="target")
    frame.columns = ["sepal length", 'sepal "width"', "petal length", "petal width"]
    frame.iloc[::6, 0] = np.nan
    frame.iloc[2::10, 3] = np.nan
    return frame, np.array(data.target_names)[data.target]


def iris_model():
    """A multinomial logistic regression (softmax) behind an imputer and a scaler."""
    frame, species = iris_frame()
    return make_pipeline(SimpleImputer(), StandardScaler(), LogisticRegression(C=10.0)).fit(
        frame, species
    )


def hostile_plan() -> dict:
    """A plan whose names and categories would break SQL written by pasting them in."""
    plan = churn_plan(("basic", "O'Brien", 'say "hi"; DROP TABLE t; --'))
    plan["features"][0]["name"] = 'tenure"; DROP TABLE t; --'
    plan["columns"][0]["feature"] = 'tenure"; DROP TABLE t; --'
    plan["features"][2]["accepts_unknown"] = True
    plan["classes"] = ["stay", "it's gone"]
    return plan


# Each fitted on its frame: name -> (make the estimator, make the frame and target).
MODELS = {
    "house": (house_model, house_frame),
    "churn": (churn_model, churn_frame),
    "diabetes": (diabetes_model, diabetes_frame),
    "iris": (iris_model, iris_frame),
    "quantiles": (quantile_model, diabetes_frame),
    "poisson": (poisson_model, diabetes_frame),
    "lookups": (lookup_model, lookup_frame),
}


@contextmanager
def sqlite_table(frame: pd.DataFrame) -> Iterator[tuple[Callable[[str], pd.DataFrame], str]]:
    """Yield a query runner over ``frame`` as SQLite's table t (stdlib sqlite3, in memory)."""
    connection = sqlite3.connect(":memory:")
    # Math functions (exp, ln) come with SQLite 3.35+ builds that enable them, as Python's do.
    assert connection.execute("SELECT exp(1)").fetchone()[0] == np.e
    frame.to_sql("t", connection, index=False)
    try:
        yield (lambda sql: pd.read_sql(sql, connection)), "t"
    finally:
        connection.close()


@contextmanager
def duckdb_table(frame: pd.DataFrame) -> Iterator[tuple[Callable[[str], pd.DataFrame], str]]:
    """Yield a query runner over ``frame`` as DuckDB's table t (NaN becomes NULL)."""
    import duckdb

    connection = duckdb.connect()
    connection.register("frame", frame)
    connection.execute("CREATE TABLE t AS SELECT * FROM frame")
    try:
        yield (lambda sql: connection.execute(sql).df()), "t"
    finally:
        connection.close()


@contextmanager
def postgres_table(
    url: str, frame: pd.DataFrame
) -> Iterator[tuple[Callable[[str], pd.DataFrame], str]]:
    """Yield a query runner over ``frame`` as a table in a scratch schema, dropped after."""
    from sqlalchemy import create_engine, text

    schema = f"export_{uuid.uuid4().hex[:12]}"
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        frame.to_sql("t", engine, schema=schema, index=False)
        with engine.connect() as connection:
            yield (lambda sql: pd.read_sql(text(sql), connection)), f"{schema}.t"
    finally:
        with engine.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        engine.dispose()


def database_table(database: str, frame: pd.DataFrame, postgres_url: str | None):
    """Return the context manager that puts ``frame`` into ``database``."""
    if database == "sqlite":
        return sqlite_table(frame)
    if database == "duckdb":
        return duckdb_table(frame)
    assert postgres_url
    return postgres_table(postgres_url, frame)


def many_categories_plan(count: int = 300) -> dict:
    """A softmax plan over a string feature with ``count`` categories and an integer one with 40.

    Past JOIN_AT categories the SQL reads their parts from a joined table.
    """
    zips = [f"z{i:05d}'" for i in range(count)]
    floors = list(range(40))
    rng = np.random.default_rng(3)
    columns = [
        {"feature": "zip", "category": z, "mul": 1.0, "add": 0.0, "missing": 0.0} for z in zips
    ] + [
        {"feature": "floor", "category": f, "mul": 1.0, "add": 0.0, "missing": None} for f in floors
    ]
    return {
        "format": 1,
        "kind": "logistic",
        "link": "softmax",
        "features": [
            {
                "name": "zip",
                "type": "string",
                "enum": zips,
                "nullable": True,
                "accepts_unknown": True,
            },
            {"name": "floor", "type": "integer", "enum": floors, "nullable": False},
        ],
        "columns": columns,
        "coef": rng.normal(size=(3, len(columns))).tolist(),
        "intercept": [0.1, -0.2, 0.3],
        "classes": ["low", "mid", "high"],
    }


def many_categories_frame(rows: int = 500) -> pd.DataFrame:
    """Rows of many_categories_plan: known, unknown and missing zips; floors in and out of range."""
    rng = np.random.default_rng(4)
    zips = [f"z{i:05d}'" for i in rng.integers(0, 330, rows)]
    zips[::13] = [None] * len(zips[::13])
    return pd.DataFrame({"zip": zips, "floor": rng.integers(0, 42, rows)})
