"""Shared fixtures: a real database per test (SQLite always, PostgreSQL when configured)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import create_engine, text

from manage import build_cli
from registry.app import create_app
from registry.bench.generation import scratch_postgres
from registry.db import connect
from registry.migrate import upgrade
from registry.services.tokens import create_token
from tests.factories import add_plan_version, churn_plan, house_plan

POSTGRES_URL = os.environ.get("REGISTRY_TEST_POSTGRES_URL")
BACKENDS = ["sqlite", "postgresql"] if POSTGRES_URL else ["sqlite"]
TABLES = (
    "alias",
    "event",
    "api_token",
    "artifact_blob",
    "model_version",
    "registered_model",
    "generation_change",
)
# For a test of HTTP, process or page behaviour that no database takes part in (the backends are
# covered by the tests that touch them): SQLite only, where it would run on both. Each such test
# starts its own server, half a minute on a loaded 2-core machine.
SQLITE_ONLY = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file migrated once, copied for each test."""
    path = tmp_path_factory.mktemp("template") / "registry.db"
    database = connect(f"sqlite:///{path}")
    upgrade(database.engine)
    database.dispose()
    return path


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[str]:
    """A fresh PostgreSQL database for this test process, dropped at the end."""
    assert POSTGRES_URL
    with scratch_postgres(POSTGRES_URL, "registry_test") as url:
        database = connect(url)
        upgrade(database.engine)
        database.dispose()
        yield url


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The URL of an empty, migrated registry database."""
    if request.param == "sqlite":
        path = tmp_path / "registry.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        return f"sqlite:///{path}"
    return empty_postgres(request.getfixturevalue("postgres_database"))


def empty_postgres(url: str) -> str:
    """Empty the process's PostgreSQL registry database as if just migrated; return its URL."""
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(text("UPDATE registered_model SET active_version = NULL"))
        connection.execute(text(f"TRUNCATE {', '.join(TABLES)} RESTART IDENTITY CASCADE"))
        connection.execute(text("UPDATE registry_state SET generation = 0"))
    engine.dispose()
    return url


@pytest.fixture
def app_settings() -> dict:
    """Settings a test module adds to its app's, by defining this fixture itself."""
    return {}


@pytest.fixture
def app(database_url: str, tmp_path: Path, app_settings: dict):
    app = create_app(
        {
            "database_url": database_url,
            "artifact_root": tmp_path / "artifacts",
            "testing": True,
            **app_settings,
        }
    )
    yield app
    app.extensions["registry"].serving.close()
    app.extensions["registry"].db.dispose()


@pytest.fixture
def house(app) -> str:
    """The seed's house-price model, active, as its URL (a module may define its own)."""
    add_plan_version(app, "house-prices", house_plan(), activate=True)
    return "/api/v1/models/house-prices"


@pytest.fixture
def churn(app) -> str:
    """A two-class churn model, active, as its URL."""
    add_plan_version(app, "churn", churn_plan(), activate=True)
    return "/api/v1/models/churn"


@pytest.fixture
def make_app(database_url, tmp_path):
    """Build apps on the test database with extra settings; dispose of them afterwards."""
    made = []

    def make(**settings):
        app = create_app(
            {"database_url": database_url, "artifact_root": tmp_path / "a", **settings}
        )
        made.append(app)
        return app

    yield make
    for app in made:
        app.extensions["registry"].serving.close()
        app.extensions["registry"].db.dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def tokens(app) -> dict[str, dict[str, str]]:
    """Authorization headers for each role."""
    registry = app.extensions["registry"]
    headers = {}
    with registry.db.write() as session:
        for role in ("reader", "publisher", "admin"):
            token = create_token(session, role, f"test-{role}")
            headers[role] = {"Authorization": f"Bearer {token}"}
    return headers


@pytest.fixture
def run(database_url: str, tmp_path: Path):
    """Run a manage.py command on the test database; fail on an unexpected exit code."""
    runner = CliRunner(
        env={
            "REGISTRY_DATABASE_URL": database_url,
            "REGISTRY_ARTIFACT_ROOT": str(tmp_path / "artifacts"),
        }
    )
    cli = build_cli()

    def invoke(*args: str, code: int = 0):
        result = runner.invoke(cli, [str(a) for a in args], catch_exceptions=False)
        assert result.exit_code == code, result.output
        return result

    return invoke


@pytest.fixture
def live_server(database_url: str, tmp_path: Path):
    """A real gunicorn server with two workers on the test database."""
    from tests.live import server_env, start_server

    env = server_env(database_url, tmp_path / "artifacts")
    server = start_server(env, tmp_path / "server.log", workers=2)
    yield server
    server.stop()


@pytest.fixture
def live_token(live_server) -> dict[str, str]:
    """Admin headers for the live server, made with manage.py create-token."""
    result = live_server.manage("create-token", "--role", "admin", "--name", "live-admin")
    assert result.returncode == 0, result.stderr
    return {"Authorization": f"Bearer {result.stdout.strip().splitlines()[-1]}"}


# Modules whose tests each take from half a minute (a server of their own) to minutes (the bench's
# runs: 396 s, 141 s and 91 s at load average 11 on the shared 2-core machine). They run first, so
# that no xdist worker is left alone with one of them at the end of the run while the other idles
# (.ci/run: --dist worksteal lets the idle worker take the other's queued tests).
LONGEST_FIRST = (
    "test_bench.py",
    "test_scale_out.py",
    "test_db_faults.py",
    "test_slow_clients.py",
    "test_spec_tools.py",
    "test_web_browser.py",
    "test_disk_full.py",
    "test_fences.py",
    "test_intake_sandbox.py",
    "test_live_serving.py",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    rank = {name: index for index, name in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))  # stable: the rest in order
