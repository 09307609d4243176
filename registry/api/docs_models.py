"""Swagger models generated from the marshmallow schemas, so docs and validation agree."""

from __future__ import annotations

from flask_restx import Model, Namespace
from flask_restx import fields as rx
from marshmallow import Schema
from marshmallow import fields as mm

from registry.api.features import TypedField

ERRORS = {
    400: "Malformed body, wrong JSON types or bad paging",
    401: "No token, or an invalid one",
    403: "The token's role is too low",
    404: "Not found",
    409: "Conflict",
    413: "Body or batch too large",
    415: "Wrong content type",
    422: "Well-formed but invalid values",
}

_JSON_TYPES = [
    (mm.Boolean, "boolean"),
    (mm.Integer, "integer"),
    (mm.Float, "number"),
    (mm.String, "string"),
    (mm.Dict, "object"),
]

_SIMPLE = [
    (mm.Boolean, rx.Boolean),
    (mm.Integer, rx.Integer),
    (mm.Float, rx.Float),
    (mm.DateTime, rx.DateTime),
    (mm.String, rx.String),
]


def _field(field: mm.Field) -> rx.Raw:
    options = {
        "required": field.required,
        "description": field.metadata.get("description"),
        "example": field.metadata.get("example"),
    }
    if field.allow_none:
        json_type = next((t for kind, t in _JSON_TYPES if isinstance(field, kind)), None)
        return TypedField(json_type, nullable=True, **options)
    for source, target in _SIMPLE:
        if isinstance(field, source):
            return target(**options)
    if isinstance(field, mm.List):
        return rx.List(_field(field.inner), **options)
    if isinstance(field, mm.Dict):
        return rx.Raw(**options)
    return rx.Raw(**options)


def doc_model(ns: Namespace, name: str, schema: Schema) -> Model:
    """Return a Swagger model with one field per schema field."""
    return ns.model(name, {key: _field(f) for key, f in schema.fields.items()})


def documents_errors(ns: Namespace, error: Model, *statuses: int):  # noqa: ANN201
    """Return a decorator documenting each status with the Error model."""

    def decorate(function):  # noqa: ANN001, ANN202
        for status in statuses:
            function = ns.response(status, ERRORS[status], error)(function)
        return function

    return decorate


def error_model(ns: Namespace) -> Model:
    """Return the Swagger model of the one error shape."""
    return ns.model(
        "Error",
        {
            "message": rx.String(required=True, description="One human sentence"),
            "code": rx.String(required=True, description="Stable snake_case code"),
            "errors": rx.Raw(
                description="field -> messages; for a batch, row -> field -> messages"
            ),
        },
    )


def page_model(ns: Namespace, name: str, item: Model) -> Model:
    """Return the Swagger model of a page of ``item``."""
    return ns.model(
        name,
        {
            "items": rx.List(rx.Nested(item)),
            "page": rx.Integer,
            "per_page": rx.Integer,
            "total": rx.Integer,
        },
    )
