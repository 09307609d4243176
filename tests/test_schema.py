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
            "plan_cache.py",
            "snapshot.py",
            "artifacts.py",
            "errors.py",
            "compatibility.py",
            "migrate.py",
            "publishing.py",
            "trainer.py",
            "training",
            "metrics.py",
            "text_rules.py",
        )
    ]
    files = [p for entry in below for p in ([entry] if entry.is_file() else entry.rglob("*.py"))]
    assert files
    for path in files:
        banned = _imports(path) & {"flask", "flask_restx", "marshmallow", "werkzeug"}
        assert not banned, f"{path} imports {banned}"


def _module_names() -> dict[str, Path]:
    modules = {}
    for path in (ROOT / "registry").rglob("*.py"):
        parts = path.relative_to(ROOT).with_suffix("").parts
        modules[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return modules


def _registry_imports(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """Modules of the registry that ``name`` imports anywhere, TYPE_CHECKING blocks included."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parts, base] if base else parts)
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return {module for module in found if module in modules and module != name}


def test_no_module_imports_itself_through_others():
    modules = _module_names()
    graph = {name: _registry_imports(name, path, modules) for name, path in modules.items()}

    def reaches(start: str) -> set[str]:
        seen, todo = set(), list(graph[start])
        while todo:
            module = todo.pop()
            if module not in seen:
                seen.add(module)
                todo.extend(graph[module])
        return seen

    circles = sorted(name for name in graph if name in reaches(name))
    assert circles == [], f"these modules import themselves through others: {circles}"


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
