"""Small fitted estimators and their joblib bytes, made from data made here or shipped."""

from __future__ import annotations

import io
from typing import Any

import joblib
import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

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
    """A scaled linear regression on the seed's four house features."""
    frame, price = house_frame()
    if extra:
        frame = frame.assign(garage=np.where(np.arange(len(frame)) % 3 == 0, np.nan, 1.0))
        model = make_pipeline(SimpleImputer(), StandardScaler(), LinearRegression())
        return model.fit(frame, price)
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
