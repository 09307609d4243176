"""Small fitted estimators and their joblib bytes, made from data made here or shipped."""

from __future__ import annotations

import hashlib
import io
import json
from typing import Any

import joblib
import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from sqlalchemy import select

from registry.plans import Plan

HOUSE_FEATURES = ["area", "bedrooms", "bathrooms", "age"]


def dump(estimator: Any) -> bytes:
    """Return an estimator's joblib bytes."""
    buffer = io.BytesIO()
    joblib.dump(estimator, buffer)
    return buffer.getvalue()


def house_frame(rows: int = 200, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "area": rng.uniform(500, 3500, rows),
            "bedrooms": rng.integers(1, 6, rows).astype(float),
            "bathrooms": rng.integers(1, 4, rows).astype(float),
            "age": rng.uniform(0, 60, rows),
        }
    )
    price = (
        150 * frame["area"]
        + 10_000 * frame["bedrooms"]
        + 15_000 * frame["bathrooms"]
        - 800 * frame["age"]
        + rng.normal(0, 5_000, rows)
        + 50_000
    )
    return frame, price.to_numpy()


def house_model(extra: bool = False) -> Pipeline:
    """A scaled linear regression on the seed's four house features (plus a required garage)."""
    frame, price = house_frame()
    if extra:
        frame = frame.assign(garage=(np.arange(len(frame)) % 3 == 0).astype(float))
    return make_pipeline(StandardScaler(), LinearRegression()).fit(frame, price)


def churn_frame(rows: int = 120, seed: int = 1) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    plan = rng.choice(["basic", "plus", "pro"], rows)
    tenure = rng.uniform(0, 48, rows)
    tenure[::17] = np.nan
    frame = pd.DataFrame({"tenure": tenure, "plan": plan, "seats": rng.integers(1, 9, rows)})
    churned = ((np.nan_to_num(tenure) < 12) ^ (plan == "pro")).astype(int)
    return frame, churned


def churn_model() -> Pipeline:
    """A logistic pipeline with imputation, scaling and one-hot encoding."""
    frame, churned = churn_frame()
    prep = ColumnTransformer(
        [
            ("num", make_pipeline(SimpleImputer(), StandardScaler()), ["tenure", "seats"]),
            ("cat", OneHotEncoder(handle_unknown="ignore"), ["plan"]),
        ]
    )
    return make_pipeline(prep, LogisticRegression()).fit(frame, churned)


# Hand-written plans: real plans in the JSON format of registry.plans, for tests that need
# versions without paying for a sandboxed intake.
def house_plan(extra_feature: dict | None = None) -> dict:
    """A linear plan on the seed's house features: price = sum(coef * scaled) + intercept."""
    features = [{"name": n, "type": "number", "nullable": False} for n in HOUSE_FEATURES]
    columns = [
        {"feature": "area", "mul": 1 / 800, "add": -2000 / 800, "missing": None},
        {"feature": "bedrooms", "mul": 1.0, "add": -3.0, "missing": None},
        {"feature": "bathrooms", "mul": 1.0, "add": -2.0, "missing": None},
        {"feature": "age", "mul": 0.1, "add": -3.0, "missing": None},
    ]
    coef = [120_000.0, 10_000.0, 15_000.0, -8_000.0]
    if extra_feature is not None:
        features.append(extra_feature)
        missing = 0.0 if extra_feature.get("nullable") else None
        columns.append(
            {"feature": extra_feature["name"], "mul": 1.0, "add": 0.0, "missing": missing}
        )
        coef.append(500.0)
    return {
        "format": 1,
        "kind": "linear",
        "link": "identity",
        "features": features,
        "columns": columns,
        "coef": [coef],
        "intercept": [350_000.0],
        "classes": None,
    }


def house_price(area: float, bedrooms: float, bathrooms: float, age: float) -> float:
    """The price house_plan() gives, computed by hand."""
    return (
        350_000.0
        + 120_000.0 * (area - 2000) / 800
        + 10_000.0 * (bedrooms - 3)
        + 15_000.0 * (bathrooms - 2)
        - 8_000.0 * (0.1 * age - 3.0)
    )


def churn_plan(plans: tuple[str, ...] = ("basic", "plus", "pro")) -> dict:
    """A binary logistic plan: a nullable number, an integer, and a one-hot string feature."""
    columns = [
        {"feature": "tenure", "mul": 0.1, "add": -2.0, "missing": 0.0},
        {"feature": "seats", "mul": 1.0, "add": 0.0, "missing": None},
    ] + [{"feature": "plan", "category": p, "mul": 1.0, "add": 0.0, "missing": None} for p in plans]
    return {
        "format": 1,
        "kind": "logistic",
        "link": "logistic",
        "features": [
            {"name": "tenure", "type": "number", "nullable": True},
            {"name": "seats", "type": "integer", "nullable": False},
            {"name": "plan", "type": "string", "enum": list(plans), "nullable": False},
        ],
        "columns": columns,
        "coef": [[-0.8, 0.05] + [0.3 * i - 0.3 for i in range(len(plans))]],
        "intercept": [0.2],
        "classes": [0, 1],
    }


def iris_plan() -> dict:
    """A multinomial plan over two numbers with string classes."""
    return {
        "format": 1,
        "kind": "logistic",
        "link": "softmax",
        "features": [
            {"name": "petal_length", "type": "number", "nullable": False},
            {"name": "petal_width", "type": "number", "nullable": False},
        ],
        "columns": [
            {"feature": "petal_length", "mul": 1.0, "add": 0.0, "missing": None},
            {"feature": "petal_width", "mul": 1.0, "add": 0.0, "missing": None},
        ],
        "coef": [[-2.0, -1.0], [0.5, 0.2], [2.5, 1.5]],
        "intercept": [8.0, 1.0, -9.0],
        "classes": ["setosa", "versicolor", "virginica"],
    }


def add_plan_version(
    app, name: str, plan: dict, activate: bool = False, metrics: dict | None = None
) -> int:
    """Store a hand-written plan as the model's next version (creating the model if needed)."""
    from registry.services.models import create_model
    from registry.services.versions import KnownPlan, add_version

    registry = app.extensions["registry"]
    payload = json.dumps(plan, sort_keys=True).encode()
    with registry.db.write() as session:
        from registry.models import RegisteredModel

        if session.scalar(select(RegisteredModel.id).where(RegisteredModel.name == name)) is None:
            create_model(session, name, actor="tests")
        version = add_version(
            session,
            registry.store,
            name,
            KnownPlan(plan["kind"], "Hand-written plan", Plan(plan)),
            payload,
            hashlib.sha256(payload).hexdigest(),
            "tests",
            metrics=metrics,
            activate=activate,
        )
    return version.version
