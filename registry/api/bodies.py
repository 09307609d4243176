"""Loading request input: JSON type checks (400), then marshmallow values (422), and paging."""

from __future__ import annotations

from typing import Any

from flask import request
from marshmallow import Schema, ValidationError, fields

from registry.errors import BadRequest, InvalidPagination, ValidationFailed

MAX_PER_PAGE = 500
# Far beyond any registry, and small enough that page * per_page fits every database integer.
MAX_PAGE = 10**9

_JSON_TYPES: list[tuple[type, tuple[type, ...], str]] = [
    (fields.Boolean, (bool,), "a boolean"),
    (fields.Integer, (int,), "an integer"),
    (fields.Float, (int, float), "a number"),
    (fields.String, (str,), "a string"),
    (fields.Dict, (dict,), "an object"),
    (fields.List, (list,), "a list"),
]


def _type_problem(field: fields.Field, value: Any) -> str | None:
    if value is None:
        return None if field.allow_none else "Must not be null."
    for kind, types, label in _JSON_TYPES:
        if isinstance(field, kind):
            if isinstance(value, bool) and bool not in types:
                return f"Must be {label}."
            if not isinstance(value, types):
                return f"Must be {label}."
            inner = getattr(field, "value_field", None) or getattr(field, "inner", None)
            items = value.values() if isinstance(value, dict) else value
            if inner is not None and isinstance(value, (dict, list)):
                problems = [_type_problem(inner, item) for item in items]
                if any(problems):
                    return next(p for p in problems if p)
            return None
    return None


def _whole_floats(schema: Schema, data: dict[str, Any]) -> dict[str, Any]:
    """Return ``data`` with whole floats in integer fields as ints: JSON has one number type."""
    return {
        key: int(value)
        if isinstance(schema.fields.get(key), fields.Integer)
        and isinstance(value, float)
        and value.is_integer()
        else value
        for key, value in data.items()
    }


def check_shape(schema: Schema, data: Any) -> None:
    """Refuse with 400 a body that is not an object or has fields of the wrong JSON type."""
    if not isinstance(data, dict):
        raise BadRequest("The body must be a JSON object.")
    errors: dict[str, list[str]] = {}
    for key, value in data.items():
        field = schema.fields.get(key)
        if field is None:
            errors[str(key)] = ["Unknown field."]
            continue
        problem = _type_problem(field, value)
        if problem:
            errors[key] = [problem]
    if errors:
        raise BadRequest("Some fields are unknown or of the wrong JSON type.", errors)


def load_body(schema: Schema, data: Any) -> dict[str, Any]:
    """Return the loaded body. Raises BadRequest (shape) or ValidationFailed (values)."""
    if isinstance(data, dict):
        data = _whole_floats(schema, data)
    check_shape(schema, data)
    try:
        return schema.load(data)
    except ValidationError as error:
        raise ValidationFailed("Some fields have invalid values.", _flatten(error)) from None


def _flatten(error: ValidationError) -> dict[str, list[str]]:
    """Return marshmallow's messages as field -> list, nested keys joined with dots."""
    flat: dict[str, list[str]] = {}

    def walk(prefix: str, messages: Any) -> None:
        if isinstance(messages, dict):
            for key, value in messages.items():
                if key == "key":
                    walk(prefix, value)
                elif key == "value":
                    walk(prefix, value)
                else:
                    walk(f"{prefix}.{key}" if prefix else str(key), value)
        elif isinstance(messages, list):
            flat.setdefault(prefix or "_schema", []).extend(str(m) for m in messages)
        else:
            flat.setdefault(prefix or "_schema", []).append(str(messages))

    walk("", error.messages)
    return flat


def pagination() -> tuple[int, int]:
    """Return (page, per_page) from the query string. Raises InvalidPagination."""
    values = {}
    for key, default in (("page", 1), ("per_page", 50)):
        raw = request.args.get(key)
        if raw is None:
            values[key] = default
            continue
        number = int(raw) if raw.isascii() and raw.isdigit() else 0
        if number < 1:
            raise InvalidPagination(
                f"'{key}' must be a whole number of at least 1.",
                {key: ["Must be a whole number of at least 1."]},
            )
        values[key] = number
    return min(values["page"], MAX_PAGE), min(values["per_page"], MAX_PER_PAGE)


def page_body(page: Any, schema: Schema) -> dict[str, Any]:
    """Return the JSON form of a Page."""
    return {
        "items": schema.dump(page.items, many=True),
        "page": page.page,
        "per_page": page.per_page,
        "total": page.total,
    }
