"""Big categoricals: upload, activate and first predictions of one-hot models of many sizes."""

from __future__ import annotations

import io
import time
from collections.abc import Sequence
from dataclasses import dataclass

import joblib
import numpy as np
import pandas as pd
import requests
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LinearRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from registry.bench.servers import ServerProcess

SIZES = (1_000, 10_000, 100_000)


@dataclass(frozen=True)
class CategoryUpload:
    """One model's figures: its file size, the upload (with activation) and first answers."""

    categories: int
    file_bytes: int
    status: int
    upload_s: float
    first_predictions_ms: list[float]


def zip_model_bytes(categories: int) -> bytes:
    """Fit a price per zip code (one-hot) plus a scaled number; return its joblib bytes."""
    rng = np.random.default_rng(0)
    codes = np.array([f"z{i:06d}" for i in range(categories)])
    frame = pd.DataFrame({"zip": codes, "size": rng.uniform(20, 200, categories)})
    price = 3.0 * frame["size"] + rng.normal(0, 50, categories)
    prep = ColumnTransformer(
        [
            ("zip", OneHotEncoder(handle_unknown="ignore"), ["zip"]),
            ("size", StandardScaler(), ["size"]),
        ]
    )
    buffer = io.BytesIO()
    joblib.dump(make_pipeline(prep, LinearRegression()).fit(frame, price), buffer)
    return buffer.getvalue()


def measure_categories(
    server: ServerProcess, token: str, prefix: str, sizes: Sequence[int]
) -> tuple[list[CategoryUpload], list[str]]:
    """Upload and activate one model per size through HTTP; time it and the first answers.

    The first answers are single rows on fresh connections until every worker has compiled
    the plan (at most 20). Returns the figures and the names of the models made.
    """
    headers = {"Authorization": f"Bearer {token}"}
    figures, names = [], []
    for size in sizes:
        data = zip_model_bytes(size)
        name = f"{prefix}-zip{size}"
        names.append(name)
        requests.post(
            f"{server.url}/api/v1/models", json={"name": name}, headers=headers, timeout=60
        ).raise_for_status()
        started = time.perf_counter()
        answer = requests.post(
            f"{server.url}/api/v1/models/{name}/versions",
            files={"artifact": ("zip.joblib", data)},
            data={"activate": "true"},
            headers=headers,
            timeout=600,
        )
        upload_s = time.perf_counter() - started
        firsts = []
        if answer.status_code == 201:
            row = {"zip": f"z{size - 1:06d}", "size": 80.0}
            for _ in range(min(20, 2 * server.workers)):
                started = time.perf_counter()
                requests.post(
                    f"{server.url}/api/v1/models/{name}/predict", json=row, timeout=600
                ).raise_for_status()
                firsts.append((time.perf_counter() - started) * 1000)
        figures.append(CategoryUpload(size, len(data), answer.status_code, upload_s, firsts))
    return figures, names
