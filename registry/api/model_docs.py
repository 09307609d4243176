"""Per-model documentation: a Flask-RESTX Namespace per model, built from its shown version.

The namespaces are never added to the Api, so they add no URL rules: the generic routes of
registry.api.predict answer; these only describe them, one literal path per model. A
namespace holds the model's schemas (Flask-RESTX models) and its operations, written out as
Swagger 2.0 says them.
"""

from __future__ import annotations

import re
from typing import Any

from flask_restx import Model, Namespace
from flask_restx import fields as rx
from flask_restx.swagger import extract_path, ref

from registry.api.doc_text import text_block
from registry.api.docs_models import ALIAS_PATTERN, SchemaField, example_model
from registry.api.features import RowValidator, TypedField, example_row, swagger_fields
from registry.api.spec_rules import any_route_responses, error_response
from registry.models import MAX_VERSION
from registry.plans import Plan, PlanError
from registry.services.catalog import ShownVersion
from registry.serving import ModelEntry

_JSON_TYPES = {bool: "boolean", int: "integer", float: "number", str: "string"}
_PATH_TYPES = {"int": "integer", "string": "string"}
_PATH_PARAM = re.compile(r"<(\w+):(\w+)>")


class _Nested(rx.Nested):
    """A nested model for the docs only: never marshalled, so never resolved.

    Flask-RESTX's ``nested`` deep-copies the model (``Model.resolved``) to read its name.
    """

    @property
    def nested(self) -> Model:
        return self.model


class ModelNamespace(Namespace):
    """A model's namespace: its schemas, and its operations by Swagger path."""

    def __init__(self, name: str, path: str) -> None:
        # Not Namespace.__init__: it also makes a logger named after the namespace, which the
        # logging module keeps for good, one per model ever documented. This namespace only
        # holds schemas (Namespace.model and schema_model need models, apis and ordered).
        self.name, self._path, self.description = name, path, None
        self.models: dict[str, Any] = {}
        self.apis: list[Any] = []
        self.ordered = False
        self.operations: dict[str, dict[str, Any]] = {}


def shown_version(entry: ModelEntry) -> int | None:
    """Return the version a model's docs show: the active one, else the latest."""
    if entry.active_version is not None:
        return entry.active_version
    return max(entry.versions, default=None)


def build_namespace(
    entry: ModelEntry, description: str, shown: ShownVersion | None, tag: str, open_reads: bool
) -> ModelNamespace:
    """Document one model's prediction routes in a namespace of its own, named ``tag``.

    ``open_reads``: predictions need no token (REGISTRY_AUTH_READS is off).
    """
    ns = ModelNamespace(tag, f"/models/{entry.name}")
    security: list[dict[str, Any]] = [] if open_reads else [{"bearer": []}]
    # The model's description is the publisher's: text, never Markdown or HTML.
    description = text_block(description)
    if shown is None:
        ns.description = _join(description, f"`{entry.name}` has no versions yet.")
        _document_no_versions(ns, entry.name, security)
        return ns
    try:
        plan = Plan(shown.plan)
    except PlanError as error:
        # One unreadable plan must not take every other model's docs down with it.
        ns.description = _join(
            description,
            f"Version {shown.version}'s stored plan cannot be read:",
            text_block(str(error)),
        )
        return ns
    ns.description = _join(description, _summary(entry, shown, plan))
    _document_predictions(ns, entry, shown.version, plan, security)
    return ns


def _join(*parts: str) -> str:
    # Only line breaks are trimmed: a code block's first line starts with its indent.
    return "\n\n".join(p.rstrip().strip("\n") for p in parts if p.strip())


def _summary(entry: ModelEntry, shown: ShownVersion, plan: Plan) -> str:
    if entry.active_version == shown.version:
        state = f"version {shown.version} is active"
    else:
        state = f"no version is active; the fields are version {shown.version}'s, the latest"
    aliases = ", ".join(f"`{a}` → {v}" for a, v in sorted(entry.aliases.items()))
    return f"A {plan.kind} model, `{shown.estimator}`; {state}." + (
        f" Aliases: {aliases}." if aliases else ""
    )


def _document_no_versions(ns: ModelNamespace, name: str, security: list[dict[str, Any]]) -> None:
    _operation(
        ns,
        name,
        "/predict",
        {
            "id": f"predict_{name}",
            "security": security,
            "responses": {"404": (_NO_VERSIONS, "Error")},
        },
        "Predict (no versions yet)",
        f"`{name}` has no versions, so this route answers 404. Upload one with "
        f"`POST /models/{name}/versions`; its fields and examples then appear here.",
    )


def _document_predictions(
    ns: ModelNamespace, entry: ModelEntry, version: int, plan: Plan, security: list[dict[str, Any]]
) -> None:
    name = entry.name
    example = example_row(plan)
    fields = swagger_fields(plan.features, example, plan.ignored)
    row = example_model(ns, f"{name}.Row", fields, example)
    instances = {"instances": rx.List(_Nested(row), required=True, min_items=1)}
    example_model(ns, f"{name}.Instances", instances, {"instances": [example]})
    ns.schema_model(f"{name}.Columns", _columns_schema(plan, example, fields))
    # Swagger 2.0 has no oneOf: the body is one object whose feature fields (a row) and
    # instances / columns+data (a batch) are all optional; x-oneOf names the exact forms.
    example_model(
        ns,
        f"{name}.Body",
        _body_fields(plan, fields, row, example),
        example,
        description=_BODY_HELP.format(name=name),
        **{"x-oneOf": [ref(f"{name}.{form}") for form in ("Row", "Instances", "Columns")]},
    )
    _answer_models(ns, name, version, plan, example)
    # Models are named, not passed: Flask-RESTX deep-copies every object in a doc it merges.
    common = {
        # The help is the Body schema's description, said once per model, not per operation.
        "expect": [(f"{name}.Body", None)],
        "security": security,
        "responses": {
            "200": (
                "One row's answer (prediction) or a batch's (predictions)",
                f"{name}.Answer",
            ),
            **_ERRORS,
        },
    }
    active = entry.active_version
    _operation(
        ns,
        name,
        "/predict",
        {**common, "id": f"predict_{name}", "params": _EXPLAIN},
        "Predict with the active version",
        f"Answered by version {active}, the active one."
        if active is not None
        else "No version is active yet: this route answers 404 until one is activated.",
    )
    # Any version number is a valid request (an unknown one answers 404), so no enum: a client
    # generated today still calls tomorrow's versions. The default is the version shown.
    listed = ", ".join(str(v) for v in sorted(entry.versions, reverse=True))
    version_param = {
        "description": f"A version number; {name} has {listed}",
        "minimum": 1,
        "maximum": MAX_VERSION,
        "default": version,
    }
    _operation(
        ns,
        name,
        "/versions/<int:version>/predict",
        {
            **common,
            "id": f"predictVersion_{name}",
            "params": {**_EXPLAIN, "version": version_param},
        },
        "Predict with a chosen version",
        f"The body shown is version {version}'s; other versions may take other fields "
        f"(`GET /models/{name}/versions/{{version}}/schema`).",
    )
    details, alias_param = _alias_doc(entry, version)
    _operation(
        ns,
        name,
        "/aliases/<string:alias>/predict",
        {**common, "id": f"predictAlias_{name}", "params": {**_EXPLAIN, "alias": alias_param}},
        "Predict with the version an alias names",
        details,
    )


def _body_fields(
    plan: Plan, fields: dict[str, rx.Raw], row: Model, example: dict[str, Any]
) -> dict[str, rx.Raw]:
    """Return the fields of the one body object: a row's, all optional, and the batch keys."""
    # The row's fields without their notes: Row, said once, has them. The exact forms are
    # the x-oneOf ones; this schema only has to let every form through.
    body: dict[str, rx.Raw] = {
        key: SchemaField(_cell(field, ("type", "enum", "x-nullable")))
        for key, field in fields.items()
    }
    batch: dict[str, rx.Raw] = {
        "instances": rx.List(_Nested(row), min_items=1),
        "columns": SchemaField({"type": "array", "items": {"type": "string"}}),
        "data": SchemaField(
            {"type": "array", "minItems": 1, "items": {"type": "array", "items": {}}}
        ),
    }
    # A feature that happens to be named like a batch key keeps its name: it is the row's.
    return {**{k: v for k, v in batch.items() if k not in body}, **body}


def _cell(
    field: rx.Raw, kept: tuple[str, ...] = ("type", "enum", "minimum", "maximum", "x-nullable")
) -> dict[str, Any]:
    """Return a field's schema without its notes and example: its type and bounds."""
    return {k: v for k, v in field.__schema__.items() if k in kept}


def _bare(schema: Any) -> Any:
    """Return a field's schema (or a part of it) without descriptions."""
    if isinstance(schema, rx.Raw):
        schema = schema.__schema__
    if not isinstance(schema, dict):
        return schema
    return {k: _bare(v) for k, v in schema.items() if k != "description"}


def _alias_doc(entry: ModelEntry, version: int) -> tuple[str, dict[str, Any]]:
    param: dict[str, Any] = {
        "description": "An alias of the model (an unknown one answers 404)",
        "pattern": ALIAS_PATTERN,
        "maxLength": 64,
    }
    if not entry.aliases:
        return (
            f"`{entry.name}` has no aliases yet; set one with "
            f"`PUT /models/{entry.name}/aliases/{{alias}}`.",
            param,
        )
    param["default"] = min(entry.aliases, key=lambda a: (entry.aliases[a] != version, a))
    listed = ", ".join(f"`{a}` → version {v}" for a, v in sorted(entry.aliases.items()))
    param["description"] = f"An alias of the model: {', '.join(sorted(entry.aliases))}"
    return f"Aliases: {listed}. The body shown is version {version}'s.", param


def _operation(
    ns: ModelNamespace, name: str, url: str, doc: dict[str, Any], summary: str, details: str
) -> None:
    """Document POST on ``url`` (a Flask rule under the model's path) as Swagger 2.0 says it.

    ``doc`` is what Flask-RESTX's ``Namespace.doc`` takes (id, security, expect, params,
    responses); the operation is written out here instead of serialized by Flask-RESTX from a
    Resource, whose merging deep-copies every doc: most of the CPU a model's section cost.
    """
    path_params = dict((variable, converter) for converter, variable in _PATH_PARAM.findall(url))
    params: list[dict[str, Any]] = [
        {
            "name": variable,
            "in": "path",
            "required": True,
            "type": _PATH_TYPES[converter],
            **doc["params"][variable],
        }
        for variable, converter in path_params.items()
    ]
    params += [
        {"name": "payload", "required": True, "in": "body", "schema": ref(model)}
        for model, _ in doc.get("expect", [])
    ]
    params += [
        {**param, "name": key}
        for key, param in doc.get("params", {}).items()
        if key not in path_params
    ]
    operation: dict[str, Any] = {
        "responses": {
            status: {"description": description, "schema": ref(model)}
            for status, (description, model) in doc["responses"].items()
        },
        "summary": summary,
        "description": details,
        "operationId": doc["id"],
    }
    if params:
        operation["parameters"] = params
    operation["security"] = doc["security"]
    operation["tags"] = [ns.name]
    ns.operations[extract_path(f"/models/{name}{url}")] = {"post": operation}


def _columns_schema(
    plan: Plan, example: dict[str, Any], fields: dict[str, rx.Raw]
) -> dict[str, Any]:
    # Documented with every feature in the plan's order, so each cell has its type by position
    # (x-prefixItems, prefixItems in OpenAPI 3.1); the server also takes other orders and
    # leaves out nullable features.
    names = [f.name for f in plan.features]
    cells = [_cell(fields[n]) for n in names]
    return {
        "type": "object",
        "required": ["columns", "data"],
        "properties": {
            "columns": {
                "type": "array",
                # Swagger 2.0 clients read an array's enum item by item: the names, each once,
                # and x-const (const in OpenAPI 3.1) the order.
                "items": {"type": "string", "enum": names},
                "minItems": len(names),
                "maxItems": len(names),
                "uniqueItems": True,
                "x-const": names,
                "description": "The feature names, in the order of each row of data",
            },
            "data": {
                "type": "array",
                "minItems": 1,
                "items": {
                    "type": "array",
                    "minItems": len(names),
                    "maxItems": len(names),
                    "items": {},
                    "x-prefixItems": cells,
                },
                "description": "Rows of values, in the order of columns",
            },
        },
        "additionalProperties": False,
        "example": {"columns": names, "data": [[example[n] for n in names]]},
    }


def _answer_models(
    ns: Namespace, name: str, version: int, plan: Plan, example: dict[str, Any]
) -> None:
    # The answer's example is what the shown version really predicts for the body's example.
    output = plan.predict(RowValidator(plan).from_rows([example]))
    one: dict[str, rx.Raw] = {
        "model": rx.String(required=True, example=name),
        "version": rx.Integer(
            required=True, example=version, description="The version that answered"
        ),
        "prediction": _prediction_field(plan, output.predictions[0]),
    }
    many: dict[str, rx.Raw] = {**one, "predictions": rx.List(one["prediction"], required=True)}
    del many["prediction"]
    answer: dict[str, rx.Raw] = {
        **one,
        "prediction": _prediction_field(plan, output.predictions[0], required=False),
        "predictions": SchemaField(
            {"type": "array", "items": _cell(one["prediction"])},
            description="A batch's, row by row",
        ),
    }
    example_answer: dict[str, Any] = {
        "model": name,
        "version": version,
        "prediction": output.predictions[0],
    }
    if plan.classes is not None and output.probabilities is not None:
        chances = output.probabilities[0].tolist()
        probabilities = ns.model(
            f"{name}.Probabilities",
            {
                # A class label is the publisher's text: it stays a key, out of Markdown.
                str(c): rx.Float(description="Probability of this class", example=p)
                for c, p in zip(plan.classes, chances, strict=True)
            },
        )
        one["probabilities"] = _Nested(probabilities, required=True)
        many["probabilities"] = rx.List(_Nested(probabilities), required=True)
        table = ref(f"{name}.Probabilities")
        answer["probabilities"] = SchemaField(
            {"x-oneOf": [table, {"type": "array", "items": table}]},
            description="A row's; a batch's, row by row",
        )
        example_answer["probabilities"] = {
            str(c): p for c, p in zip(plan.classes, chances, strict=True)
        }
    one["contributions"] = rx.Raw(description=_CONTRIBUTIONS_HELP)
    many["contributions"] = rx.List(rx.Raw, description=_CONTRIBUTIONS_HELP)
    if plan.contributions_space is not None:
        space = rx.String(
            enum=[plan.contributions_space], description=_SPACE_HELP[plan.contributions_space]
        )
        one["contributions_space"] = many["contributions_space"] = space
    if plan.nullable:
        one["imputed"] = rx.List(
            rx.String, description=_IMPUTED_HELP.format(which="the row", absent="none was")
        )
        many["imputed"] = rx.List(
            rx.List(rx.String),
            description=_IMPUTED_HELP.format(
                which="each row (a list per row)", absent="no row lacked one"
            ),
        )
    answer["contributions"] = SchemaField({}, description="A row's; a batch's, row by row")
    if plan.contributions_space is not None:
        answer["contributions_space"] = one["contributions_space"]
    if plan.nullable:
        answer["imputed"] = SchemaField(
            {"x-oneOf": [_bare(one["imputed"]), _bare(many["imputed"])]},
            description="A row's; a batch's, row by row",
        )
    ns.model(f"{name}.Prediction", one)
    ns.model(f"{name}.Predictions", many)
    # One schema for both shapes, as Swagger 2.0 cannot say oneOf; x-oneOf names them.
    example_model(
        ns,
        f"{name}.Answer",
        answer,
        example_answer,
        strict=False,
        description=f"One of {name}.Prediction (a row body) or {name}.Predictions (a batch)",
        **{"x-oneOf": [ref(f"{name}.Prediction"), ref(f"{name}.Predictions")]},
    )


def _prediction_field(plan: Plan, example: Any, required: bool = True) -> rx.Raw:
    if plan.classes is None:
        return TypedField(
            "number", required=required, example=example, description="The predicted value"
        )
    types = {_JSON_TYPES.get(type(c)) for c in plan.classes}
    return TypedField(
        types.pop() if len(types) == 1 else None,
        enum=plan.classes,
        required=required,
        example=example,
        description="The predicted class, with its JSON type",
    )


_BODY_HELP = (
    "One of {name}.Row (as shown; answers prediction), {name}.Instances or {name}.Columns "
    "(answer predictions). Absent or null nullable features are filled in as trained."
)
_EXPLAIN = {
    "explain": {
        "in": "query",
        "type": "boolean",
        "description": "true adds each row's additive contributions, by feature plus _intercept",
    }
}
# The answers every model's prediction routes give alike, by the name the document's
# top-level responses give them: said once there, referred to by each operation.
_ERROR_NAMES = {
    "400": ("PredictBadRequest", "Not JSON, or not a row, instances or columns body"),
    "401": ("PredictUnauthorized", "An invalid token, or none when reads need one"),
    "404": ("PredictNotFound", "No such model, version or alias, or no active version"),
    "413": ("PredictTooLarge", "The body or the batch is over the limit"),
    "415": ("PredictNotJson", "The body is not application/json"),
    "422": ("PredictInvalid", "A row misses a field, has an unknown one, or a bad value"),
}
_ERRORS = {code: (description, "Error") for code, (_, description) in _ERROR_NAMES.items()}
_NO_VERSIONS = "The model has no versions"
SHARED_RESPONSES = {
    **{name: error_response(description) for name, description in _ERROR_NAMES.values()},
    "PredictNoVersions": error_response(_NO_VERSIONS),
    **any_route_responses(),
}
SHARED_PARAMETERS = {"explain": {"name": "explain", **_EXPLAIN["explain"]}}
_SPACE_HELP = {
    "linear_predictor": (
        "With explain=true: the contributions sum to the linear predictor; the prediction is "
        "its inverse link (exp for a log link)"
    ),
    "transformed_target": (
        "With explain=true: the contributions sum to the prediction in the transformed target's "
        "space, before the inverse target transform"
    ),
}
_IMPUTED_HELP = (
    "The features {which} left out or sent as null, which the model filled in as it was "
    "trained to (imputed, or scored as its missing-value category); absent when {absent}"
)
_CONTRIBUTIONS_HELP = "With explain=true: each feature's additive part, plus _intercept"
