"""Frozen results that cross from the services to the entry points."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Generic, TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a listing."""

    items: tuple[T, ...]
    page: int
    per_page: int
    total: int


@dataclass(frozen=True)
class ModelInfo:
    name: str
    kind: str | None
    description: str
    tags: dict[str, str]
    active_version: int | None
    latest_version: int | None
    aliases: dict[str, int]
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class VersionInfo:
    model: str
    version: int
    kind: str
    estimator: str
    features: list[dict[str, Any]]
    classes: list[Any] | None
    sha256: str
    size_bytes: int
    sklearn_version: str | None
    metrics: dict[str, float]
    description: str
    tags: dict[str, str]
    archived: bool
    active: bool
    aliases: list[str]
    created_at: datetime
    created_by: str
    artifact_format: str = "joblib"
    verification: dict[str, Any] | None = None
    intake: dict[str, Any] | None = None


@dataclass(frozen=True)
class EventInfo:
    id: int
    model: str
    version: int | None
    action: str
    actor: str
    at: datetime
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Artifact:
    """A version's original file."""

    data: bytes
    sha256: str
    filename: str
