"""Swagger models generated from the marshmallow schemas, so docs and validation agree."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from flask_restx import Model, Namespace
from flask_restx import fields as rx
from marshmallow import Schema, validate
from marshmallow import fields as mm

from registry.api.features import TypedField
from registry.services import names

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

# The naming rule of models and aliases; an alias is also not all digits (without lookahead,
# which not every client's regex engine has; maxLength says the 64).
NAME_PATTERN = f"^{names.NAME_PATTERN.pattern}$"
ALIAS_PATTERN = "^(?:[a-z]|[0-9]+[a-z_-])[a-z0-9_-]*$"

PAGING = {
    "page": {
        "in": "query",
        "type": "integer",
        "minimum": 1,
        "default": 1,
        "description": "Page, from 1",
    },
    "per_page": {
        "in": "query",
        "type": "integer",
        "minimum": 1,
        "default": 50,
        "description": "Items a page; above 500 counts as 500",
    },
}

_JSON_TYPES = [
    (mm.Boolean, "boolean"),
    (mm.Integer, "integer"),
    (mm.Float, "number"),
    (mm.DateTime, "string"),
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


class SchemaField(rx.Raw):
    """A Swagger field whose schema is written out whole (what Flask-RESTX's fields cannot say)."""

    def __init__(self, schema: dict[str, Any], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.fixed = schema

    def schema(self) -> dict[str, Any]:
        return {**super().schema(), "type": None, **self.fixed}


def _field(field: mm.Field) -> rx.Raw:
    options = {
        "required": field.required,
        "description": field.metadata.get("description"),
        "example": field.metadata.get("example"),
    }
    constraints = _constraints(field)
    if isinstance(field, mm.Dict) and field.value_field is not None:
        values = _field(field.value_field)
        schema = {"type": "object", "additionalProperties": values.__schema__}
        if field.key_field is not None and _constraints(field.key_field):
            # Swagger 2.0 cannot bound keys; OpenAPI 3.1 says it as propertyNames.
            schema["x-propertyNames"] = _constraints(field.key_field)
        return SchemaField(schema, **options)
    if field.allow_none or constraints:
        json_type = next((t for kind, t in _JSON_TYPES if isinstance(field, kind)), None)
        typed = TypedField(json_type, nullable=field.allow_none, **options)
        if not constraints:
            return typed
        if "enum" in constraints and field.allow_none:
            constraints["enum"] = [*constraints["enum"], None]
        return SchemaField({**typed.__schema__, **constraints}, **options)
    for source, target in _SIMPLE:
        if isinstance(field, source):
            return target(**options)
    if isinstance(field, mm.List):
        return rx.List(_field(field.inner), **options)
    return rx.Raw(**options)


def _constraints(field: mm.Field) -> dict[str, Any]:
    """Return the JSON Schema keywords of a field's marshmallow validators."""
    found: dict[str, Any] = {}
    if "pattern" in field.metadata:
        found["pattern"] = field.metadata["pattern"]
    for validator in _flat(field.validators):
        if isinstance(validator, validate.Regexp):
            found["pattern"] = validator.regex.pattern
        elif isinstance(validator, validate.OneOf):
            found["enum"] = list(validator.choices)
        elif isinstance(validator, validate.Length) and isinstance(field, mm.String):
            found.update(
                {
                    k: v
                    for k, v in (("minLength", validator.min), ("maxLength", validator.max))
                    if v is not None
                }
            )
        elif isinstance(validator, validate.Range):
            found.update(
                {
                    k: v
                    for k, v in (("minimum", validator.min), ("maximum", validator.max))
                    if v is not None
                }
            )
    return found


def _flat(validators: Iterable[Any]) -> Iterator[Any]:
    """Yield each validator, those combined by validate.And in its place."""
    for validator in validators:
        if isinstance(validator, validate.And):
            yield from _flat(validator.validators)
        else:
            yield validator


class ExampleModel(Model):
    """A Swagger model that carries a whole example object, and keywords fields cannot say."""

    extra: dict[str, Any] = {}

    @property
    def _schema(self) -> dict[str, Any]:
        return {**super()._schema, **self.extra}


def example_model(
    ns: Namespace,
    name: str,
    fields: dict[str, rx.Raw],
    example: Any,
    strict: bool = True,
    **extra: Any,
) -> Model:
    """Register a model with ``example`` and any other schema keywords (``x-oneOf``...)."""
    model = ExampleModel(name, fields, strict=strict)
    model.extra = {"example": example, **extra}
    return ns.add_model(name, model)


def doc_model(ns: Namespace, name: str, schema: Schema, strict: bool = False) -> Model:
    """Return a Swagger model with one field per schema field; ``strict`` refuses others."""
    return ns.model(name, {key: _field(f) for key, f in schema.fields.items()}, strict=strict)


def documents_errors(ns: Namespace, error: Model, *statuses: int):  # noqa: ANN201
    """Return a decorator documenting each status with the Error model."""

    def decorate(function):  # noqa: ANN001, ANN202
        for status in statuses:
            function = ns.response(status, ERRORS[status], error)(function)
        return function

    return decorate


def error_model(ns: Namespace) -> Model:
    """Return the Swagger model of the one error shape."""
    return example_model(
        ns,
        "Error",
        {
            "message": rx.String(required=True, description="One human sentence"),
            "code": rx.String(required=True, description="Stable snake_case code"),
            "errors": SchemaField(
                {"type": "object", "additionalProperties": {}},
                description="field -> messages; for a batch, row -> field -> messages",
            ),
        },
        # What a refused body really answers: marshmallow's messages, by field.
        {
            "message": "Some fields have invalid values.",
            "code": "validation_failed",
            "errors": {"kind": ["Must be one of: linear, logistic."]},
        },
        strict=False,
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
