"""Settings: defaults, each overridable by a REGISTRY_* environment variable."""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent


def _default_database_url() -> str:
    return f"sqlite:///{ROOT / 'instance' / 'registry.db'}"


def _parse_bool(value: str) -> bool:
    return value.strip().lower() in ("1", "true", "yes", "on")


@dataclass(frozen=True)
class Config:
    """Everything the app factory needs to know, with sensible defaults."""

    database_url: str = field(default_factory=_default_database_url)
    artifact_store: str = "filesystem"  # or "database"
    artifact_root: Path = ROOT / "artifacts"
    auth_reads: bool = False
    max_upload_bytes: int = 64 * 1024 * 1024
    max_body_bytes: int = 16 * 1024 * 1024
    max_batch_rows: int = 10_000
    max_csv_bytes: int = 32 * 1024 * 1024
    intake_timeout: float = 60.0
    # Keep training plus intake under the server's 120-second worker timeout.
    train_timeout: float = 50.0
    metrics_dir: str | None = None
    testing: bool = False

    @classmethod
    def from_env(cls, overrides: dict[str, Any] | None = None) -> Config:
        """Build the settings from REGISTRY_* variables, then apply explicit overrides."""
        values: dict[str, Any] = {}
        for item in fields(cls):
            raw = os.environ.get(f"REGISTRY_{item.name.upper()}")
            if raw is None:
                continue
            kind = item.type
            if kind == "bool":
                values[item.name] = _parse_bool(raw)
            elif kind == "int":
                values[item.name] = int(raw)
            elif kind == "float":
                values[item.name] = float(raw)
            elif kind == "Path":
                values[item.name] = Path(raw)
            else:
                values[item.name] = raw
        config = cls(**values)
        return replace(config, **(overrides or {}))
