"""The migrations give exactly the models' schema, on SQLite and PostgreSQL; layers stay apart."""

from __future__ import annotations

import ast
from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect

from registry.models import Base

ROOT = Path(__file__).resolve().parent.parent


def test_upgrading_an_empty_database_gives_the_models_schema(database_url):
    engine = create_engine(database_url)
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == []
        tables = set(inspect(connection).get_table_names()) - {"alembic_version"}
    engine.dispose()
    assert tables == set(Base.metadata.tables)


def test_migrations_never_import_the_orm():
    for path in (ROOT / "migrations").rglob("*.py"):
        source = path.read_text()
        assert "registry.models" not in source, path


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_layers_below_the_api_import_no_web_framework():
    below = [ROOT / "registry" / name for name in ("services", "intake")] + [
        ROOT / "registry" / f
        for f in (
            "models.py",
            "db.py",
            "plans",
            "serving.py",
            "artifacts.py",
            "errors.py",
            "compatibility.py",
            "migrate.py",
            "publishing.py",
            "trainer.py",
            "training",
            "metrics.py",
        )
    ]
    files = [p for entry in below for p in ([entry] if entry.is_file() else entry.rglob("*.py"))]
    assert files
    for path in files:
        banned = _imports(path) & {"flask", "flask_restx", "marshmallow", "werkzeug"}
        assert not banned, f"{path} imports {banned}"


def test_unusable_settings_are_one_clear_line(tmp_path):
    import subprocess
    import sys

    for name, value, expected in [
        ("REGISTRY_MAX_BODY_BYTES", "abc", "REGISTRY_MAX_BODY_BYTES must be a whole number"),
        ("REGISTRY_DATABASE_URL", "nonsense", "is not a database URL"),
    ]:
        result = subprocess.run(
            [sys.executable, "manage.py", "db", "upgrade"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            env={"PATH": "/usr/bin", name: value},
            timeout=60,
        )
        assert result.returncode == 1
        assert expected in result.stderr and "Traceback" not in result.stderr
