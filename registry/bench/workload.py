"""What the benchmark serves: a fitted house-price pipeline, its request bodies, many models."""

from __future__ import annotations

import io
from dataclasses import dataclass

import joblib
import numpy as np
import orjson
from sklearn.linear_model import LinearRegression
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler

from registry.artifacts import ArtifactStore, sha256_of
from registry.db import Database
from registry.errors import ModelNotFound
from registry.plans import Plan
from registry.publishing import publish_version
from registry.services.models import create_model, delete_model
from registry.services.tokens import create_token
from registry.services.versions import KnownPlan, add_version, get_plan

FEATURES = ("area", "bedrooms", "bathrooms", "age")
ACTOR = "bench"


@dataclass(frozen=True)
class Published:
    """The benchmark's model as stored: name, version, the original bytes and the plan."""

    name: str
    version: int
    data: bytes
    inspected: KnownPlan


def house_rows(count: int, seed: int = 0) -> list[dict[str, float]]:
    """Return ``count`` plausible houses as rows of the four features."""
    rng = np.random.default_rng(seed)
    columns = {
        "area": rng.uniform(500, 3500, count).round(1),
        "bedrooms": rng.integers(1, 6, count).astype(float),
        "bathrooms": rng.integers(1, 4, count).astype(float),
        "age": rng.uniform(0, 60, count).round(1),
    }
    return [{name: float(columns[name][i]) for name in FEATURES} for i in range(count)]


def house_pipeline() -> Pipeline:
    """Fit StandardScaler + LinearRegression on synthetic house prices."""
    rows = house_rows(400, seed=1)
    x = np.array([[row[name] for name in FEATURES] for row in rows])
    rng = np.random.default_rng(2)
    price = x @ np.array([150.0, 10_000.0, 15_000.0, -800.0]) + 50_000 + rng.normal(0, 5_000, 400)
    return make_pipeline(StandardScaler(), LinearRegression()).fit(x, price)


def single_body() -> bytes:
    """Return a one-row prediction body."""
    return orjson.dumps(house_rows(1, seed=3)[0])


def batch_body(rows: int) -> bytes:
    """Return an ``instances`` body of ``rows`` rows."""
    return orjson.dumps({"instances": house_rows(rows, seed=4)})


def publish_house(db: Database, store: ArtifactStore, name: str) -> Published:
    """Register the house model through the real sandboxed intake and activate its version."""
    buffer = io.BytesIO()
    joblib.dump(house_pipeline(), buffer)
    data = buffer.getvalue()
    with db.write() as session:
        create_model(session, name, actor=ACTOR, description="Benchmark house prices.")
    info = publish_version(
        db, store, name, data, ACTOR, feature_names=list(FEATURES), activate=True
    )
    with db.read() as session:
        plan = Plan(get_plan(session, name, info.version))
    inspected = KnownPlan(info.kind, info.estimator, plan, info.sklearn_version)
    return Published(name, info.version, data, inspected)


def register_models(
    db: Database,
    store: ArtifactStore,
    published: Published,
    names: list[str],
) -> None:
    """Create each model with one active version that reuses the published plan and bytes."""
    sha = sha256_of(published.data)
    for start in range(0, len(names), 100):
        chunk = names[start : start + 100]
        with db.write() as session:
            for name in chunk:
                create_model(session, name, actor=ACTOR)
                add_version(
                    session, store, name, published.inspected, published.data, sha, ACTOR,
                    activate=True,
                )  # fmt: skip


def remove_models(db: Database, names: list[str]) -> None:
    """Delete the benchmark's models from a database that outlives the run."""
    for start in range(0, len(names), 100):
        with db.write() as session:
            for name in names[start : start + 100]:
                try:
                    delete_model(session, name, actor=ACTOR)
                except ModelNotFound:
                    continue


def publisher_token(db: Database) -> str:
    """Create a publisher token for the HTTP calls that change the registry."""
    with db.write() as session:
        return create_token(session, "publisher", "bench")
