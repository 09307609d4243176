"""The plan JSON format: its constants and error, the feature spec, and matching values by type."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

PLAN_FORMAT = 1
FEATURE_TYPES = ("number", "integer", "boolean", "string")
LINKS = {"linear": ("identity", "log"), "logistic": ("logistic", "softmax", "ovr")}
INTERCEPT = "_intercept"


class PlanError(ValueError):
    """The plan JSON is not a valid plan; the message says what is wrong."""


@dataclass(frozen=True)
class Feature:
    """One input field of a version: its name, JSON type, allowed values and nullability."""

    name: str
    type: str
    enum: tuple[Any, ...] | None = None
    nullable: bool = False
    # The enum lists the known values; others are accepted and scored as the encoder treats
    # an unknown category (no category's column set).
    accepts_unknown: bool = False

    def to_dict(self) -> dict[str, Any]:
        """Return the API form of the feature."""
        out: dict[str, Any] = {"name": self.name, "type": self.type}
        if self.enum is not None:
            out["enum"] = list(self.enum)
        out["nullable"] = self.nullable
        if self.accepts_unknown:
            out["accepts_unknown"] = True
        return out


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise PlanError(message)


def _finite_number(value: Any, where: str) -> float:
    _require(
        isinstance(value, (int, float)) and not isinstance(value, bool),
        f"{where} must be a number, not {type(value).__name__}.",
    )
    _require(math.isfinite(value), f"{where} must be finite.")
    return float(value)


def _matches_type(value: Any, type_: str) -> bool:
    if type_ == "string":
        return isinstance(value, str)
    if type_ == "boolean":
        return isinstance(value, bool)
    if isinstance(value, bool):
        return False
    if type_ == "integer":
        return isinstance(value, int)
    return isinstance(value, (int, float)) and math.isfinite(value)


def _parse_feature(raw: Any, index: int) -> Feature:
    _require(isinstance(raw, dict), f"features[{index}] must be an object.")
    name, type_ = raw.get("name"), raw.get("type")
    _require(isinstance(name, str) and name != "", f"features[{index}].name must be a string.")
    _require(type_ in FEATURE_TYPES, f"features[{index}].type must be one of {FEATURE_TYPES}.")
    nullable = raw.get("nullable", False)
    _require(isinstance(nullable, bool), f"features[{index}].nullable must be a boolean.")
    enum = raw.get("enum")
    if enum is not None:
        _require(isinstance(enum, list) and enum, f"features[{index}].enum must be a list.")
        _require(
            all(_matches_type(v, type_) for v in enum),
            f"features[{index}].enum values must all be of type {type_}.",
        )
        enum = tuple(enum)
    accepts_unknown = raw.get("accepts_unknown", False)
    _require(
        isinstance(accepts_unknown, bool) and (enum is not None or not accepts_unknown),
        f"features[{index}].accepts_unknown must be a boolean, set only with an enum.",
    )
    return Feature(
        name=name, type=type_, enum=enum, nullable=nullable, accepts_unknown=accepts_unknown
    )


def class_label(value: Any) -> str:
    """Return a class as a JSON object key: its JSON text for booleans, str() otherwise."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _key(value: Any, type_: str) -> tuple[type, Any]:
    # Keyed by type so that True never finds 1; a number feature finds 2.0 from 2.
    if type_ == "number" and not isinstance(value, bool) and isinstance(value, (int, float)):
        return float, float(value)
    return type(value), value


def _same(value: Any, category: Any, type_: str) -> bool:
    return _key(value, type_) == _key(category, type_)
