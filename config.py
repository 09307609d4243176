"""Settings: defaults, each overridable by a REGISTRY_* environment variable."""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent


def _default_database_url() -> str:
    return f"sqlite:///{ROOT / 'instance' / 'registry.db'}"


# The intake and training children's fences, as REGISTRY_INTAKE_ALLOW_WEAK_FENCES names them.
FENCES = ("rlimits", "netns", "unprivileged", "landlock", "seccomp")


class ConfigError(ValueError):
    """A REGISTRY_* setting that cannot be used; the message names it."""


def _parse_bool(value: str) -> bool:
    return value.strip().lower() in ("1", "true", "yes", "on")


def _parse(name: str, kind: str, raw: str) -> Any:
    try:
        if kind == "bool":
            return _parse_bool(raw)
        if kind == "int":
            return int(raw)
        if kind == "float":
            return float(raw)
    except ValueError:
        label = "a whole number" if kind == "int" else "a number"
        raise ConfigError(f"{name} must be {label}, not {raw!r}.") from None
    if kind == "Path":
        return Path(raw)
    return raw


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
    # Rows x (1 + classes, + explained parts): bounds an answer's size whatever the model.
    max_answer_cells: int = 500_000
    max_csv_bytes: int = 32 * 1024 * 1024
    intake_timeout: float = 60.0
    # Seconds a connection may send nothing (mid-request) or accept nothing of its answer.
    request_read_timeout: float = 30.0
    # "buffering" (registry.worker) or "sync" (gunicorn's, stalled by slow clients).
    worker_class: str = "buffering"
    # One-hot categories over all of a version's features; each becomes a plan column.
    max_categories: int = 100_000
    # Compiled plans a worker keeps, least recently used out first: this bounds a worker's
    # memory however many models it predicts. A small linear model's plan costs about 20 KiB
    # of RSS (the 10,000-model bench: 395 -> 597 MiB once every model was predicted), so
    # 1,000 hold ~20 MiB and cover every model a typical registry serves. A miss is one
    # indexed row read and a compile (a few ms). Plans with many one-hot categories are far
    # bigger: lower it when a worker serves many of those.
    plan_cache_size: int = 1_000
    # How long a training request waits for its child's CPU on a busy machine; the work
    # itself is bounded in CPU seconds (train_cpu_seconds, scaled to the CSV).
    train_timeout: float = 180.0
    metrics_dir: str | None = None
    # The scraper's bearer token for /metrics; set, it closes /metrics to everyone else.
    metrics_token: str = ""
    # Where `serve` writes gunicorn's access log ("-" is stderr); empty: no access log.
    access_log: str = ""
    # Debug only: an X-Worker header naming the worker's process ID on every answer.
    worker_header: bool = False
    # A database that hangs or is down costs a request a few seconds, then a 503.
    database_connect_timeout: float = 2.0
    database_statement_timeout: float = 5.0
    database_pool_timeout: float = 2.0
    database_retry_after: float = 2.0
    testing: bool = False
    # Fences the operator accepts to run without (comma-separated names from FENCES);
    # by default intake refuses uploads when any fence cannot be raised.
    intake_allow_weak_fences: str = ""
    # CPU seconds one intake child may use (an honest upload needs one or two).
    intake_cpu_seconds: int = 20
    # Sandboxed children (intake and training) running at once on this machine, and how
    # long a request waits for a free one before a 503 with Retry-After. Keep them below
    # the worker count, so that some workers stay free for predictions.
    intake_slots: int = 1
    intake_queue_seconds: float = 2.0
    # Fork intake children from a per-worker zygote that imported the libraries once
    # (started on a worker's first upload); False starts a fresh interpreter per upload.
    intake_zygote: bool = True
    # Training's child: CPU seconds, address space, and the CSV's rows and columns.
    train_cpu_seconds: int = 40
    train_memory_mb: int = 2048
    max_csv_rows: int = 100_000
    max_csv_columns: int = 100

    def __post_init__(self) -> None:
        if self.intake_slots < 1 or self.intake_cpu_seconds < 1 or self.intake_queue_seconds < 0:
            raise ConfigError(
                "REGISTRY_INTAKE_SLOTS and REGISTRY_INTAKE_CPU_SECONDS must be at least 1, "
                "and REGISTRY_INTAKE_QUEUE_SECONDS at least 0."
            )
        if self.plan_cache_size < 1:
            raise ConfigError(
                f"REGISTRY_PLAN_CACHE_SIZE must be at least 1, not {self.plan_cache_size}."
            )
        unknown = set(self.weak_fences()) - set(FENCES)
        if unknown:
            raise ConfigError(
                f"REGISTRY_INTAKE_ALLOW_WEAK_FENCES names unknown fences "
                f"({', '.join(sorted(unknown))}); known: {', '.join(FENCES)}."
            )
        if self.worker_class not in ("buffering", "sync"):
            raise ConfigError(
                f"REGISTRY_WORKER_CLASS must be buffering or sync, not {self.worker_class!r}."
            )

    def weak_fences(self) -> frozenset[str]:
        """Return the fences intake may run without."""
        names = self.intake_allow_weak_fences.replace(" ", "").split(",")
        return frozenset(n for n in names if n)

    @classmethod
    def from_env(cls, overrides: dict[str, Any] | None = None) -> Config:
        """Build the settings from REGISTRY_* variables, then apply explicit overrides."""
        values: dict[str, Any] = {}
        for item in fields(cls):
            name = f"REGISTRY_{item.name.upper()}"
            raw = os.environ.get(name, "").strip()
            if raw:
                values[item.name] = _parse(name, str(item.type), raw)
        config = cls(**values)
        return replace(config, **(overrides or {}))
