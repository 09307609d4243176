"""`manage.py demo`: register two example models with two versions each, then serve them."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import click

from config import ROOT
from registry.cli.admin import check_port_free, server_options, serving_line
from registry.cli.common import Workspace, cli_actor, workspace
from registry.errors import ModelNotFound
from registry.intake.sandbox import IntakeLimits
from registry.services.activation import activate_version
from registry.services.models import create_model, get_model
from registry.services.tokens import create_token
from registry.trainer import publish_trained

HOUSE_FEATURES = ("area", "bedrooms", "bathrooms", "age")
HOUSE_EXAMPLE = '{"area": 1500, "bedrooms": 3, "bathrooms": 2, "age": 10}'


def house_prices(rows: int = 1000, seed: int = 42) -> Any:
    """Return generated house sales: the four features and a price, with a fixed seed."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "area": rng.integers(500, 3500, rows),
            "bedrooms": rng.integers(1, 6, rows),
            "bathrooms": rng.integers(1, 4, rows),
            "age": rng.integers(0, 60, rows),
        }
    )
    frame["price"] = (
        50_000
        + 150 * frame["area"]
        + 10_000 * frame["bedrooms"]
        + 15_000 * frame["bathrooms"]
        - 800 * frame["age"]
        + rng.normal(0, 15_000, rows)
    ).round(-2)
    return frame


def breast_cancer(all_features: bool) -> Any:
    """Return scikit-learn's breast cancer data, the ten mean measurements or all thirty."""
    from sklearn.datasets import load_breast_cancer

    bunch = load_breast_cancer(as_frame=True)
    frame = bunch.data
    if not all_features:
        frame = frame[[c for c in frame.columns if c.startswith("mean ")]]
    frame = frame.copy()
    frame["diagnosis"] = bunch.target_names[bunch.target.to_numpy()]
    return frame


@dataclass(frozen=True)
class DemoVersion:
    description: str
    data: Callable[[], Any]


@dataclass(frozen=True)
class DemoModel:
    name: str
    kind: str
    target: str
    description: str
    versions: tuple[DemoVersion, ...]


# Each model's second version stays compatible with its first (it only adds nullable
# features, or learns from more rows), so activating it needs no force.
MODELS = (
    DemoModel(
        name="house-prices",
        kind="linear",
        target="price",
        description="Sale price of a house from its area, bedrooms, bathrooms and age.",
        versions=(
            DemoVersion("Trained on 200 generated sales.", lambda: house_prices().head(200)),
            DemoVersion("Trained on 1000 generated sales.", lambda: house_prices()),
        ),
    ),
    DemoModel(
        name="breast-cancer",
        kind="logistic",
        target="diagnosis",
        description="Benign or malignant, from a breast mass's cell nuclei (scikit-learn data).",
        versions=(
            DemoVersion("The ten mean measurements.", lambda: breast_cancer(False)),
            DemoVersion("All thirty measurements.", lambda: breast_cancer(True)),
        ),
    ),
)


def register(ws: Workspace, spec: DemoModel, actor: str) -> None:
    """Create a demo model and push the versions it lacks; activate its first if none is."""
    from registry import training

    with ws.db.write() as session:
        try:
            model = get_model(session, spec.name)
        except ModelNotFound:
            model = create_model(session, spec.name, actor, spec.kind, spec.description)
    have = model.latest_version or 0
    for number, version in enumerate(spec.versions, start=1):
        if number <= have:
            continue
        trained = training.train(version.data(), spec.target, spec.kind)
        publish_trained(
            ws.db,
            ws.store,
            spec.name,
            trained,
            actor,
            description=version.description,
            timeout=ws.config.intake_timeout,
            limits=IntakeLimits.from_config(ws.config),
        )
        click.echo(f"Registered {spec.name} version {number}: {version.description}")
    if model.active_version is None:
        with ws.db.write() as session:
            activate_version(session, spec.name, 1, actor)
        click.echo(f"Activated {spec.name} version 1.")
    else:
        click.echo(f"{spec.name} is ready (version {model.active_version} active).")


@click.command(
    "demo",
    short_help="Register example models and serve them.",
    help="Register example models (house-prices, breast-cancer), print a publisher token "
    "and example requests, then serve. Safe to run again: it skips what exists.",
)
@server_options
@click.option("--no-serve", is_flag=True, help="Set everything up, print it, and exit.")
def demo_command(host: str, port: int, workers: int, no_serve: bool) -> None:
    if not no_serve:
        check_port_free(host, port)
    actor = cli_actor()
    with workspace() as ws:
        for spec in MODELS:
            register(ws, spec, actor)
        with ws.db.write() as session:
            token = create_token(session, "publisher", "demo")
    url = f"http://{host}:{port}"
    click.echo("")
    click.echo(f"Dashboard:    {url}/")
    click.echo(f"Swagger UI:   {url}/docs")
    click.echo(f"Models:       {url}/api/v1/models")
    click.echo("A house price:")
    click.echo(
        f"  curl -s -X POST {url}/api/v1/models/house-prices/predict "
        f"-H 'Content-Type: application/json' -d '{HOUSE_EXAMPLE}'"
    )
    click.echo("Compare the two house-price versions:")
    click.echo(f"  curl -s '{url}/api/v1/models/house-prices/compare?a=1&b=2'")
    if not no_serve:
        click.echo(serving_line(host, port))
    click.echo("A publisher token for uploads and changes (shown once; keep it safe):")
    click.echo(token)
    if no_serve:
        return
    sys.stdout.flush()
    # A fresh process: the web workers need neither pandas nor scikit-learn, loaded here.
    os.execv(
        sys.executable,
        [
            sys.executable,
            str(ROOT / "manage.py"),
            "serve",
            "--host",
            host,
            "--port",
            str(port),
            "--workers",
            str(workers),
            "--no-banner",
        ],
    )
