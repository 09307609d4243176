"""The export resource: a version's plan as SQL to run where the data lives, or as JSON."""

from __future__ import annotations

from flask import Response, request
from flask_restx import Namespace, Resource

from registry.api.auth import requires
from registry.api.context import registry
from registry.api.docs_models import SchemaField, error_model
from registry.errors import ValidationFailed
from registry.export import (
    DEFAULT_TABLE,
    DIALECTS,
    FORMATS,
    TABLE_PATTERN,
    check_request,
    export_plan,
)
from registry.services.versions import get_plan

ns = Namespace("export", description="Scoring where the data lives", path="/models")
error_out = error_model(ns)
PARAMS = {
    "format": {
        "in": "query",
        "type": "string",
        "enum": list(FORMATS),
        "required": True,
        "description": "sql: a SELECT that scores a table's rows; json: the plan itself; onnx: "
        "the plan as an ONNX graph (opset 19)",
    },
    "dialect": {
        "in": "query",
        "type": "string",
        "enum": list(DIALECTS),
        "default": "ansi",
        "description": "The SQL dialect of format=sql (checked, and unused, with json)",
    },
    "table": {
        "in": "query",
        "type": "string",
        "default": DEFAULT_TABLE,
        "pattern": TABLE_PATTERN,
        "description": "The table holding the feature columns, as table or schema.table "
        "(checked with any format, used by sql)",
    },
}


@ns.route("/<string:name>/versions/<int:version>/export")
@ns.response(404, "No such model or version", error_out)
class VersionExport(Resource):
    @ns.doc(params=PARAMS)
    @ns.vendor(
        {"success-types": ["application/sql", "application/json", "application/octet-stream"]}
    )
    @ns.produces(["application/sql", "application/json", "application/octet-stream"])
    @ns.response(
        200,
        "format=sql: the SELECT (application/sql), returning the table's columns, score, "
        "probability_<class> for a classifier, and prediction; format=json: the plan "
        "(application/json); format=onnx: the ONNX model (application/octet-stream)",
        # SQL text or the plan's JSON object: any value.
        SchemaField({"description": "The SELECT's text, or the plan"}),
    )
    @ns.response(
        422,
        "validation_failed (format, dialect or table, field by field), or not_exportable: "
        "the plan holds a step the format cannot express, named in the message",
        error_out,
    )
    @requires("reader")
    def get(self, name: str, version: int):
        """Export a version's plan as SQL or JSON"""
        format_, dialect = request.args.get("format"), request.args.get("dialect", "ansi")
        table = request.args.get("table")
        errors = check_request(format_, dialect, table)
        if errors:
            raise ValidationFailed("The export request is not valid.", errors)
        with registry().db.read() as session:
            plan = get_plan(session, name, version)
        exported = export_plan(plan, format_, dialect, table or DEFAULT_TABLE)
        return Response(exported.body, content_type=exported.media_type)
