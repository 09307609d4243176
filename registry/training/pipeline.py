"""Building the unfitted scikit-learn pipeline that the feature columns call for."""

from __future__ import annotations

from typing import Any

import pandas as pd
from pandas.api import types as ptypes
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler


def column_groups(features: pd.DataFrame) -> dict[str, list[str]]:
    """Sort the feature columns into numeric, categorical and boolean ones."""
    groups: dict[str, list[str]] = {"numeric": [], "categorical": [], "boolean": []}
    for name in features.columns:
        column = features[name]
        if ptypes.is_bool_dtype(column):
            groups["boolean"].append(name)
        elif ptypes.is_numeric_dtype(column):
            groups["numeric"].append(name)
        else:
            groups["categorical"].append(name)
    return groups


def build_pipeline(features: pd.DataFrame, kind: str) -> Pipeline:
    """Return the unfitted pipeline for these feature columns and kind.

    Numeric columns: median imputation and standard scaling. Text and category columns:
    most-frequent imputation and one-hot encoding. Boolean columns (which pandas only gives
    when nothing is missing): one-hot encoding.
    """
    groups = column_groups(features)
    parts: list[tuple[str, Any, list[str]]] = []
    if groups["numeric"]:
        numeric = Pipeline(
            [("impute", SimpleImputer(strategy="median")), ("scale", StandardScaler())]
        )
        parts.append(("numeric", numeric, groups["numeric"]))
    if groups["categorical"]:
        categorical = Pipeline(
            [
                ("impute", SimpleImputer(strategy="most_frequent")),
                ("encode", _one_hot()),
            ]
        )
        parts.append(("categorical", categorical, groups["categorical"]))
    if groups["boolean"]:
        parts.append(("boolean", _one_hot(), groups["boolean"]))
    head = LinearRegression() if kind == "linear" else LogisticRegression(max_iter=1000)
    return Pipeline([("prepare", ColumnTransformer(parts)), ("model", head)])


def _one_hot() -> OneHotEncoder:
    return OneHotEncoder(handle_unknown="ignore", sparse_output=False)
