"""Registry resources for versions: upload, list, read, edit, delete, download, activate."""

from __future__ import annotations

from typing import Any

from flask import Response, request
from flask_restx import Namespace, Resource
from flask_restx import fields as rx

from registry.api.auth import actor_name, requires
from registry.api.bodies import load_body, page_body, pagination
from registry.api.context import registry
from registry.api.docs_models import (
    ERRORS,
    PAGING,
    SchemaField,
    doc_model,
    documents_errors,
    error_model,
    page_model,
)
from registry.api.features import row_json_schema
from registry.api.jsonio import json_response, read_json_body
from registry.api.schemas import (
    AliasSchema,
    ModelSchema,
    VersionPatchSchema,
    VersionSchema,
)
from registry.api.uploads import read_upload
from registry.errors import BadRequest
from registry.intake.sandbox import IntakeLimits
from registry.intake.verify import Reference, parse_reference
from registry.publishing import publish_version
from registry.services.activation import activate_version
from registry.services.aliases import remove_alias, set_alias
from registry.services.versions import (
    delete_version,
    get_artifact,
    get_plan,
    get_version,
    list_versions,
    update_version,
)

ns = Namespace("versions", description="Versions, activation and aliases", path="/models")
version_out = doc_model(ns, "Version", VersionSchema())
version_patch = doc_model(ns, "VersionPatch", VersionPatchSchema(), strict=True)
alias_in = doc_model(ns, "AliasTarget", AliasSchema(), strict=True)
model_out = doc_model(ns, "Model", ModelSchema())
error_out = error_model(ns)
file_out = SchemaField({"type": "string", "format": "binary"})
row_schema_out = ns.model(
    "RowSchema",
    {
        "$schema": rx.String(example="https://json-schema.org/draft/2020-12/schema"),
        "title": rx.String(example="house-prices v1"),
        "type": rx.String(example="object"),
        "properties": SchemaField(
            {"type": "object", "additionalProperties": {"type": "object"}},
            description="feature -> its JSON Schema (type, enum)",
        ),
        "required": rx.List(rx.String, description="The features a row must have"),
        "additionalProperties": rx.Boolean(example=False),
    },
)

upload_parser = ns.parser()
upload_parser.add_argument(
    "artifact",
    location="files",
    type="file",
    required=True,
    help="The fitted estimator, saved with joblib.dump (or a .skops file)",
)
upload_parser.add_argument("description", location="form", type=str)
upload_parser.add_argument("metrics", location="form", type=str, help='JSON, e.g. {"r2": 0.91}')
upload_parser.add_argument("tags", location="form", type=str, help='JSON, e.g. {"team": "x"}')
upload_parser.add_argument(
    "features",
    location="form",
    type=str,
    help="Needed only for an estimator fitted without column names: a JSON list of names, "
    'e.g. ["area", "bedrooms"], or of feature objects {"name", "type", "nullable"?, "enum"?} '
    '(type: number, integer, boolean or string), e.g. [{"name": "rooms", "type": "integer"}]',
)
upload_parser.add_argument(
    "activate", location="form", type=str, choices=("true", "false"), help="true or false"
)
upload_parser.add_argument(
    "reference",
    location="form",
    type=str,
    help="JSON: your own scikit-learn outputs on probe rows, checked against the stored plan",
)


@ns.route("/<string:name>/versions")
@ns.response(404, "No such model", error_out)
class VersionList(Resource):
    @ns.doc(params=PAGING)
    @ns.response(400, ERRORS[400], error_out)
    @ns.response(
        200, "A page of versions, newest first", page_model(ns, "VersionPage", version_out)
    )
    @requires("reader")
    def get(self, name: str):
        """List a model's versions"""
        page, per_page = pagination()
        with registry().db.read() as session:
            result = list_versions(session, name, page, per_page)
        return json_response(page_body(result, VersionSchema()))

    @ns.expect(upload_parser)
    @ns.response(201, "The new version", version_out)
    @ns.response(400, "No artifact part, or a field that is not JSON", error_out)
    @ns.response(409, "activate=true and the new schema is incompatible", error_out)
    @ns.response(413, ERRORS[413], error_out)
    @ns.response(415, ERRORS[415], error_out)
    @ns.response(422, "Unreadable, untrusted or unsupported artifact, or kind mismatch", error_out)
    @ns.response(
        503,
        "intake_busy (every sandbox slot taken, or the machine too busy to open the file "
        "now; see Retry-After), intake_unavailable or database_unavailable",
        error_out,
    )
    @ns.response(507, "insufficient_storage: no room to store the file", error_out)
    @documents_errors(ns, error_out, 401, 403)
    @requires("publisher")
    def post(self, name: str):
        """Upload a fitted estimator as the model's next version"""
        reg = registry()
        upload = read_upload(reg.config.max_upload_bytes)
        version = publish_version(
            reg.db,
            reg.store,
            name,
            upload.data,
            actor_name(),
            **_declared(upload.fields.pop("features", None)),
            reference=_reference(upload.fields.pop("reference", None)),
            timeout=reg.config.intake_timeout,
            limits=IntakeLimits.from_config(reg.config),
            **upload.fields,
        )
        reg.serving.warm(name)
        return json_response(VersionSchema().dump(version), 201)


def _declared(declared: list[dict] | None) -> dict[str, Any]:
    """Split the features field into names and, where given, declared types."""
    if declared is None:
        return {"feature_names": None, "feature_types": None}
    types = {d["name"]: {k: v for k, v in d.items() if k != "name"} for d in declared}
    return {
        "feature_names": [d["name"] for d in declared],
        "feature_types": {name: spec for name, spec in types.items() if spec} or None,
    }


def _reference(raw: dict | None) -> Reference | None:
    return None if raw is None else parse_reference(raw)


@ns.route("/<string:name>/versions/<int:version>")
@ns.response(404, "No such model or version", error_out)
class VersionItem(Resource):
    @ns.response(200, "The version", version_out)
    @requires("reader")
    def get(self, name: str, version: int):
        """Show a version"""
        with registry().db.read() as session:
            return json_response(VersionSchema().dump(get_version(session, name, version)))

    @ns.expect(version_patch)
    @ns.response(200, "The edited version", version_out)
    @ns.response(422, ERRORS[422], error_out)
    @documents_errors(ns, error_out, 400, 401, 403, 415)
    @requires("publisher")
    def patch(self, name: str, version: int):
        """Edit a version's description, tags or archived flag"""
        body = load_body(VersionPatchSchema(), read_json_body(registry().config.max_body_bytes))
        with registry().db.write() as session:
            result = update_version(session, name, version, actor_name(), **body)
        return json_response(VersionSchema().dump(result))

    @ns.response(204, "Deleted")
    @ns.response(409, "The version is active or aliased", error_out)
    @documents_errors(ns, error_out, 401, 403)
    @requires("admin")
    def delete(self, name: str, version: int):
        """Delete a version that is neither active nor aliased"""
        with registry().db.write() as session:
            delete_version(session, name, version, actor_name())
        return "", 204


@ns.route("/<string:name>/versions/<int:version>/artifact")
@ns.response(404, "No such model or version", error_out)
class VersionArtifact(Resource):
    @ns.produces(["application/octet-stream", "application/json"])
    @ns.response(200, "The original file (application/octet-stream); ETag is its sha256", file_out)
    @ns.response(304, "The client's copy (If-None-Match) is this file")
    @ns.response(500, "artifact_corrupted: the stored file no longer matches its hash", error_out)
    @ns.response(
        503, "artifact_missing (the stored file is gone) or database_unavailable", error_out
    )
    @requires("reader")
    def get(self, name: str, version: int):
        """Download the version's original file"""
        reg = registry()
        with reg.db.read() as session:
            artifact = get_artifact(session, reg.store, name, version)
        etag = f'"{artifact.sha256}"'
        if request.if_none_match.contains_weak(artifact.sha256):
            return Response(status=304, headers={"ETag": etag})
        return Response(
            artifact.data,
            mimetype="application/octet-stream",
            headers={
                "ETag": etag,
                "Content-Disposition": f'attachment; filename="{artifact.filename}"',
            },
        )


@ns.route("/<string:name>/versions/<int:version>/schema")
@ns.response(404, "No such model or version", error_out)
class VersionSchemaResource(Resource):
    @ns.response(200, "The JSON Schema (draft 2020-12) of one input row", row_schema_out)
    @requires("reader")
    def get(self, name: str, version: int):
        """Show the JSON Schema of one input row"""
        with registry().db.read() as session:
            found = get_version(session, name, version)
            ignored = get_plan(session, name, version).get("ignored", [])
        return json_response(row_json_schema(found.features, f"{name} v{version}", ignored))


@ns.route("/<string:name>/versions/<int:version>/activate")
@ns.response(404, "No such model or version", error_out)
class VersionActivate(Resource):
    @ns.doc(
        params={
            "force": {
                "in": "query",
                "type": "boolean",
                "default": False,
                "description": "true skips the compatibility check",
            }
        }
    )
    @ns.response(400, "force is not true or false", error_out)
    @ns.response(200, "The model, with this version active", model_out)
    @ns.response(409, "The new schema would reject requests the active one accepts", error_out)
    @documents_errors(ns, error_out, 401, 403)
    @requires("publisher")
    def post(self, name: str, version: int):
        """Activate a version"""
        force = request.args.get("force", "false").lower()
        if force not in ("true", "false"):
            raise BadRequest("force must be true or false.", {"force": ["Use true or false."]})
        # The plan is compiled before the swap, so this worker's first answer is warm.
        registry().serving.preload(name, version)
        with registry().db.write() as session:
            model = activate_version(session, name, version, actor_name(), force == "true")
        registry().serving.warm(name)
        return json_response(ModelSchema().dump(model))


@ns.route("/<string:name>/aliases/<string:alias>")
@ns.response(404, "No such model, version or alias", error_out)
class AliasItem(Resource):
    @ns.expect(alias_in)
    @ns.response(200, "The model, with the alias set", model_out)
    @ns.response(422, "The alias breaks the naming rule", error_out)
    @documents_errors(ns, error_out, 400, 401, 403, 415)
    @requires("publisher")
    def put(self, name: str, alias: str):
        """Point an alias at a version"""
        body = load_body(AliasSchema(), read_json_body(registry().config.max_body_bytes))
        with registry().db.write() as session:
            model = set_alias(session, name, alias, body["version"], actor_name())
        registry().serving.warm(name)
        return json_response(ModelSchema().dump(model))

    @ns.response(204, "Removed")
    @documents_errors(ns, error_out, 401, 403)
    @requires("publisher")
    def delete(self, name: str, alias: str):
        """Remove an alias"""
        with registry().db.write() as session:
            remove_alias(session, name, alias, actor_name())
        return "", 204
