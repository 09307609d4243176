"""Workflow resources: train a version from an uploaded CSV, compare two versions."""

from __future__ import annotations

import re
from typing import Any

from flask import request
from flask_restx import Namespace, Resource
from flask_restx import fields as rx
from marshmallow import Schema, ValidationError, fields, validate

from registry.api.auth import actor_name, requires
from registry.api.context import registry
from registry.api.docs_models import (
    ERRORS,
    SchemaField,
    doc_model,
    documents_errors,
    error_model,
)
from registry.api.features import TypedField
from registry.api.jsonio import json_response, read_json_body
from registry.api.predict import build_answer, parse_rows, row_validator
from registry.api.schemas import DESCRIPTION, VersionSchema
from registry.api.uploads import form_fields, read_part, require_multipart
from registry.errors import BadRequest, ValidationFailed
from registry.intake.sandbox import IntakeLimits
from registry.models import MAX_VERSION
from registry.plans import Plan
from registry.services.compare import compare_versions, prediction_differences
from registry.trainer import KINDS, TrainLimits, kind_to_train, publish_trained, train_in_child

ns = Namespace("workflow", description="Training from a CSV and comparing versions", path="/models")
version_out = doc_model(ns, "Version", VersionSchema())
error_out = error_model(ns)

train_parser = ns.parser()
train_parser.add_argument(
    "data",
    location="files",
    type="file",
    required=True,
    help="The training data: a UTF-8 CSV file with a header line",
)
train_parser.add_argument(
    "target", location="form", type=str, required=True, help="The column to predict"
)
train_parser.add_argument(
    "kind",
    location="form",
    type=str,
    choices=KINDS,
    help="linear or logistic; by default the model's kind, else guessed from the target: "
    "text, booleans, or at most 10 distinct whole numbers mean logistic",
)
train_parser.add_argument(
    "test_size",
    location="form",
    type=float,
    default=0.2,
    help="Share of the rows held out to compute the metrics, between 0 and 1",
)
train_parser.add_argument("description", location="form", type=str)
train_parser.add_argument(
    "activate", location="form", type=str, help="true or false (default false)"
)

metric_delta = ns.model(
    "MetricDelta",
    {
        "a": TypedField("number", nullable=True, description="The metric of version a, or null"),
        "b": TypedField("number", nullable=True, description="The metric of version b, or null"),
        "diff": TypedField(
            "number", nullable=True, description="b - a, or null when a side lacks the metric"
        ),
    },
)
comparison_out = ns.model(
    "Comparison",
    {
        "a": rx.Integer(example=1),
        "b": rx.Integer(example=2),
        "metrics": rx.Wildcard(rx.Nested(metric_delta), description="metric -> a, b, diff"),
        "schema": rx.Raw(
            description='Feature differences from a to b: {"added", "removed", "changed"}'
        ),
        "compatible": rx.Boolean(description="Whether b accepts every request a accepts"),
        "incompatibilities": rx.List(
            rx.String, description="How b would reject requests that a accepts"
        ),
    },
)
rows_in = ns.model(
    "CompareRows",
    {
        "instances": rx.List(
            rx.Raw,
            description="Row objects; or send one flat row object, or columns and data",
        ),
    },
)
ns.model(
    "LabelDifference",
    {
        "same_label": rx.Boolean(required=True, description="Both versions predict one label"),
        "probabilities": SchemaField(
            {"type": "object", "additionalProperties": {"type": "number"}},
            required=True,
            description="class -> b's probability minus a's",
        ),
    },
)
scored_out = ns.model(
    "PredictionComparison",
    {
        "a": rx.Raw(description="Version a's prediction answer"),
        "b": rx.Raw(description="Version b's prediction answer"),
        "difference": SchemaField(
            {
                "type": "array",
                "items": {
                    "x-oneOf": [{"type": "number"}, {"$ref": "#/definitions/LabelDifference"}]
                },
            },
            description="Per row: b - a (linear, a number), or "
            '{"same_label": bool, "probabilities": {class: b - a}} (logistic)',
        ),
    },
)
versions_params = {
    side: {
        "description": text,
        "type": "integer",
        "minimum": 1,
        "maximum": MAX_VERSION,
        "required": True,
        "in": "query",
    }
    for side, text in (("a", "The version to compare from"), ("b", "The version to compare to"))
}

_VERSION = re.compile(r"-?[0-9]{1,18}")


class TrainFieldsSchema(Schema):
    """The form fields of a train request; form values arrive as strings."""

    target = fields.String(required=True, validate=validate.Length(min=1, max=1000))
    kind = fields.String(load_default=None, validate=validate.OneOf(KINDS))
    test_size = fields.Float(
        load_default=0.2,
        validate=validate.Range(min=0, max=1, min_inclusive=False, max_inclusive=False),
    )
    description = fields.String(validate=DESCRIPTION, load_default="")
    activate = fields.Boolean(load_default=False)


def _train_fields() -> dict[str, Any]:
    raw = form_fields(("target", "kind", "test_size", "description", "activate"), ())
    try:
        return TrainFieldsSchema().load(raw)
    except ValidationError as error:
        raise ValidationFailed("Some fields have invalid values.", error.messages) from None


def _versions() -> tuple[int, int]:
    numbers = []
    for key in ("a", "b"):
        raw = request.args.get(key)
        if raw is None:
            raise BadRequest(
                "Name the two versions to compare, as in ?a=1&b=2.", {key: ["Missing."]}
            )
        if not _VERSION.fullmatch(raw):
            raise BadRequest(
                f"'{key}' must be a version number.", {key: ["Must be a whole number."]}
            )
        numbers.append(int(raw))
    return numbers[0], numbers[1]


def _score(body: Any, name: str, plans: dict[str, tuple[int, Plan]]) -> dict[str, Any]:
    """Validate the body against both versions, then answer it with each."""
    max_rows = registry().config.max_batch_rows
    parsed, errors = {}, {}
    for side, (version, plan) in plans.items():
        try:
            parsed[side] = parse_rows(body, row_validator(plan, registry().validators), max_rows)
        except ValidationFailed as error:
            errors[side] = (version, error)
    if errors:
        named = " and ".join(str(version) for version, _ in errors.values())
        first = next(iter(errors.values()))[1]
        raise ValidationFailed(
            f"The rows do not fit version{'s' * (len(errors) > 1)} {named}: {first.message}",
            {side: error.errors for side, (_, error) in errors.items()},
        )
    answers = {}
    for side, (version, plan) in plans.items():
        columns, single = parsed[side]
        answers[side], _ = build_answer(
            name, version, plan, columns, single, False, registry().config.max_answer_cells
        )
    single = parsed["a"][1]
    key = "prediction" if single else "predictions"

    def rows(answer: dict[str, Any], field: str) -> Any:
        if field not in answer:
            return None
        return [answer[field]] if single else answer[field]

    difference = prediction_differences(
        rows(answers["a"], key),
        rows(answers["b"], key),
        rows(answers["a"], "probabilities"),
        rows(answers["b"], "probabilities"),
    )
    return {"a": answers["a"], "b": answers["b"], "difference": difference}


@ns.route("/<string:name>/versions/train")
class TrainVersion(Resource):
    @ns.expect(train_parser)
    @ns.response(201, "The new version; its metrics are the held-out ones", version_out)
    @ns.response(400, "No data part, or activate is not true or false", error_out)
    @ns.response(409, "activate=true and the new schema is incompatible", error_out)
    @ns.response(413, "The CSV is over the size limit", error_out)
    @ns.response(415, ERRORS[415], error_out)
    @ns.response(
        422, "Bad field values, a bad model name, or data that cannot be trained on", error_out
    )
    @ns.response(
        503,
        "intake_busy (every sandbox slot taken, or the machine too busy to train now; see "
        "Retry-After), intake_unavailable or database_unavailable",
        error_out,
    )
    @ns.response(507, "insufficient_storage: no room to store the file", error_out)
    @documents_errors(ns, error_out, 401, 403)
    @requires("publisher")
    def post(self, name: str):
        """Train a version from a CSV file, creating the model if needed

        The server picks the pipeline from the column types (numeric columns: median
        imputation and scaling; text columns: most-frequent imputation and one-hot encoding),
        fits LinearRegression or LogisticRegression on a seeded split of the rows, and stores
        the pipeline fitted on the training rows, with the metrics it scores on the held-out
        rows (linear: r2, mae, rmse; logistic: accuracy, precision, recall, f1, roc_auc;
        for two classes those of the positive class, the second label in sorted order, and
        macro averages for more). When no model has this name yet it is created, so a model
        can be made from this page: choose a CSV file, name the target column and press
        Execute. The new version answers predictions only once activated (activate=true).
        """
        reg = registry()
        require_multipart()
        data = read_part("data", reg.config.max_csv_bytes)
        if data is None:
            raise BadRequest(
                "The request needs a 'data' file part holding the CSV.",
                {"data": ["Missing file part."]},
            )
        options = _train_fields()
        kind = kind_to_train(reg.db, name, options["kind"])
        trained = train_in_child(
            data,
            options["target"],
            kind,
            options["test_size"],
            reg.config.train_timeout,
            TrainLimits.from_config(reg.config),
        )
        version = publish_trained(
            reg.db,
            reg.store,
            name,
            trained,
            actor_name(),
            description=options["description"],
            activate=options["activate"],
            timeout=reg.config.intake_timeout,
            limits=IntakeLimits.from_config(reg.config),
        )
        reg.serving.warm(name)
        return json_response(VersionSchema().dump(version), 201)


@ns.route("/<string:name>/compare")
@ns.doc(params=versions_params)
@ns.response(400, "a or b is missing or not a whole number", error_out)
@ns.response(404, "No such model or version", error_out)
class CompareVersions(Resource):
    @ns.response(200, "Metric and schema differences from a to b", comparison_out)
    @requires("reader")
    def get(self, name: str):
        """Compare two versions' metrics and input schemas"""
        a, b = _versions()
        with registry().db.read() as session:
            result = compare_versions(session, name, a, b)
        return json_response(
            {
                "a": result.a,
                "b": result.b,
                "metrics": {
                    key: {"a": d.a, "b": d.b, "diff": d.diff} for key, d in result.metrics.items()
                },
                "schema": result.schema,
                "compatible": result.compatible,
                "incompatibilities": result.incompatibilities,
            }
        )

    @ns.expect(rows_in)
    @ns.response(200, "Both versions' answers and their differences", scored_out)
    @ns.response(413, ERRORS[413], error_out)
    @ns.response(415, ERRORS[415], error_out)
    @ns.response(422, "A row is invalid for a version; the message names it", error_out)
    @requires("reader")
    def post(self, name: str):
        """Score the same rows with two versions and show the differences

        The body is any of the three prediction forms. Each row must be valid for both
        versions. difference has one item per row: b - a for a linear model; for a logistic
        one, whether both versions predict the same label and, per class, b's probability
        minus a's (a class a version does not know counts as 0 there).
        """
        reg = registry()
        a, b = _versions()
        _, _, plan_a = reg.serving.resolve(name, a)
        _, _, plan_b = reg.serving.resolve(name, b)
        body = read_json_body(reg.config.max_body_bytes)
        return json_response(_score(body, name, {"a": (a, plan_a), "b": (b, plan_b)}))
