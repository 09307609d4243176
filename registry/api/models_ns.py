"""Registry resources for models: create, list, read, edit, delete, rollback, events."""

from __future__ import annotations

from flask import request
from flask_restx import Namespace, Resource

from registry.api.auth import actor_name, requires
from registry.api.bodies import load_body, page_body, pagination
from registry.api.context import registry
from registry.api.docs_models import (
    ERRORS,
    PAGING,
    doc_model,
    documents_errors,
    error_model,
    page_model,
)
from registry.api.jsonio import json_response, read_json_body
from registry.api.schemas import (
    EventSchema,
    ModelCreateSchema,
    ModelPatchSchema,
    ModelSchema,
)
from registry.errors import BadRequest
from registry.services.activation import rollback
from registry.services.events import list_events
from registry.services.models import (
    create_model,
    delete_model,
    get_model,
    list_models,
    update_model,
)

ns = Namespace("models", description="Registered models", path="/models")
model_out = doc_model(ns, "Model", ModelSchema())
model_in = doc_model(ns, "ModelCreate", ModelCreateSchema(), strict=True)
model_patch = doc_model(ns, "ModelPatch", ModelPatchSchema(), strict=True)
event_out = doc_model(ns, "Event", EventSchema())
error_out = error_model(ns)


def _tag_filter() -> tuple[str, str] | None:
    raw = request.args.get("tag")
    if raw is None:
        return None
    key, sep, value = raw.partition(":")
    if not sep or not key or not (key + value).isprintable():
        raise BadRequest("'tag' must look like key:value.", {"tag": ["Use key:value."]})
    return key, value


@ns.route("")
class ModelList(Resource):
    @ns.doc(
        params={
            "q": "Name substring",
            "tag": {
                "in": "query",
                "type": "string",
                # ASCII here; the server takes any printable key:value.
                "pattern": "^[ -9;-~]+:[ -~]*$",
                "description": "key:value: models with this tag",
            },
            "kind": {
                "in": "query",
                "type": "string",
                "enum": ["linear", "logistic"],
                "description": "Only models of this kind",
            },
            **PAGING,
        }
    )
    @ns.response(200, "A page of models", page_model(ns, "ModelPage", model_out))
    @ns.response(400, ERRORS[400], error_out)
    @requires("reader")
    def get(self):
        """List models"""
        page, per_page = pagination()
        tag = _tag_filter()
        with registry().db.read() as session:
            result = list_models(
                session, page, per_page, request.args.get("q"), tag, request.args.get("kind")
            )
        return json_response(page_body(result, ModelSchema()))

    @ns.expect(model_in)
    @ns.response(201, "The new model", model_out)
    @ns.response(409, "A model of that name exists", error_out)
    @ns.response(422, ERRORS[422], error_out)
    @documents_errors(ns, error_out, 400, 401, 403, 415)
    @requires("publisher")
    def post(self):
        """Register a model"""
        body = load_body(ModelCreateSchema(), read_json_body(registry().config.max_body_bytes))
        actor = actor_name()
        with registry().db.write() as session:
            model = create_model(session, actor=actor, **body)
        return json_response(ModelSchema().dump(model), 201)


@ns.route("/<string:name>")
@ns.response(404, "No such model", error_out)
class ModelItem(Resource):
    @ns.response(200, "The model", model_out)
    @requires("reader")
    def get(self, name: str):
        """Show a model"""
        with registry().db.read() as session:
            return json_response(ModelSchema().dump(get_model(session, name)))

    @ns.expect(model_patch)
    @ns.response(200, "The edited model", model_out)
    @ns.response(422, ERRORS[422], error_out)
    @documents_errors(ns, error_out, 400, 401, 403, 415)
    @requires("publisher")
    def patch(self, name: str):
        """Edit a model's description or replace its tags"""
        body = load_body(ModelPatchSchema(), read_json_body(registry().config.max_body_bytes))
        with registry().db.write() as session:
            model = update_model(session, name, actor_name(), **body)
        return json_response(ModelSchema().dump(model))

    @ns.response(204, "Deleted")
    @documents_errors(ns, error_out, 401, 403)
    @requires("admin")
    def delete(self, name: str):
        """Delete a model with all its versions"""
        with registry().db.write() as session:
            delete_model(session, name, actor_name())
        return "", 204


@ns.route("/<string:name>/rollback")
@ns.response(404, "No such model", error_out)
class ModelRollback(Resource):
    @ns.response(200, "The model, with the previous version active", model_out)
    @ns.response(409, "Nothing earlier to roll back to", error_out)
    @documents_errors(ns, error_out, 401, 403)
    @requires("publisher")
    def post(self, name: str):
        """Roll back to the previously active version"""
        with registry().db.write() as session:
            model = rollback(session, name, actor_name())
        registry().serving.warm(name)
        return json_response(ModelSchema().dump(model))


@ns.route("/<string:name>/events")
@ns.response(404, "No such model", error_out)
class ModelEvents(Resource):
    @ns.doc(params=PAGING)
    @ns.response(400, ERRORS[400], error_out)
    @ns.response(200, "A page of events, newest first", page_model(ns, "EventPage", event_out))
    @requires("reader")
    def get(self, name: str):
        """List a model's events"""
        page, per_page = pagination()
        with registry().db.read() as session:
            result = list_events(session, name, page, per_page)
        return json_response(page_body(result, EventSchema()))
