"""The frozen dataclasses the client answers with: Model, Version and Event.

Models, versions and events come back as frozen dataclasses: attribute access, a readable repr,
and immutability that says "a snapshot of the server at the time of the call". Each keeps the
whole JSON in ``raw``, so fields the server adds later are never lost. Documents whose JSON is
the point (a comparison, a JSON Schema) come back as plain dicts.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any, Self


def _timestamp(value: Any) -> datetime | None:
    return datetime.fromisoformat(value) if isinstance(value, str) else None


class _Record:
    """Builds a frozen dataclass from API JSON, keeping unknown fields in ``raw``."""

    _times: tuple[str, ...] = ()

    @classmethod
    def from_json(cls, body: Mapping[str, Any]) -> Self:
        """Return the record of an API answer."""
        values = {}
        for item in fields(cls):  # type: ignore[arg-type]
            if item.name == "raw":
                continue
            value = body.get(item.name)
            values[item.name] = _timestamp(value) if item.name in cls._times else value
        return cls(**values, raw=dict(body))


@dataclass(frozen=True)
class Model(_Record):
    """A registered model as the server described it."""

    _times = ("created_at", "updated_at")

    name: str
    kind: str | None
    description: str
    tags: dict[str, str]
    active_version: int | None
    latest_version: int | None
    aliases: dict[str, int]
    created_at: datetime | None
    updated_at: datetime | None
    raw: dict[str, Any] = field(repr=False, compare=False)


@dataclass(frozen=True)
class Version(_Record):
    """One version of a model: its estimator, input features, metrics and state."""

    _times = ("created_at",)

    model: str
    version: int
    kind: str
    estimator: str
    features: list[dict[str, Any]]
    classes: list[Any] | None
    sha256: str
    size_bytes: int
    sklearn_version: str | None
    verification: dict[str, Any] | None
    metrics: dict[str, float]
    description: str
    tags: dict[str, str]
    archived: bool
    active: bool
    aliases: list[str]
    created_at: datetime | None
    created_by: str
    raw: dict[str, Any] = field(repr=False, compare=False)

    @property
    def feature_names(self) -> list[str]:
        """Return the input feature names, in the order the estimator was fitted on."""
        return [f["name"] for f in self.features]


@dataclass(frozen=True)
class Event(_Record):
    """One entry of a model's history."""

    _times = ("at",)

    id: int
    model: str
    version: int | None
    action: str
    actor: str
    at: datetime | None
    detail: dict[str, Any]
    raw: dict[str, Any] = field(repr=False, compare=False)
