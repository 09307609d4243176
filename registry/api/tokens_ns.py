"""Admin resources for tokens: list them (never their secrets) and revoke one."""

from __future__ import annotations

import logging

from flask_restx import Namespace, Resource
from marshmallow import Schema, fields

from registry.api.auth import actor_name, requires
from registry.api.bodies import page_body, pagination
from registry.api.context import registry
from registry.api.docs_models import (
    ERRORS,
    PAGING,
    doc_model,
    documents_errors,
    error_model,
    page_model,
)
from registry.api.jsonio import json_response
from registry.services.tokens import list_tokens, revoke_token

log = logging.getLogger(__name__)


class TokenSchema(Schema):
    id = fields.Integer()
    name = fields.String()
    role = fields.String()
    created_at = fields.DateTime()
    last_used_at = fields.DateTime(allow_none=True)
    revoked = fields.Boolean()
    revoked_at = fields.DateTime(allow_none=True)


ns = Namespace("tokens", description="Bearer tokens (admin only)", path="/tokens")
token_out = doc_model(ns, "Token", TokenSchema())
error_out = error_model(ns)


@ns.route("")
class TokenList(Resource):
    @ns.doc(params=PAGING)
    @ns.response(200, "A page of tokens, oldest first", page_model(ns, "TokenPage", token_out))
    @ns.response(400, ERRORS[400], error_out)
    @documents_errors(ns, error_out, 401, 403)
    @requires("admin")
    def get(self):
        """List tokens: name, role, created, last used (to the minute), revoked"""
        page, per_page = pagination()
        with registry().db.read() as session:
            result = list_tokens(session, page, per_page)
        return json_response(page_body(result, TokenSchema()))


@ns.route("/<string:reference>")
@ns.doc(params={"reference": "The token's id, or its name when one live token has it"})
class TokenItem(Resource):
    @ns.response(204, "Revoked: refused by every worker from the next request on")
    @ns.response(404, "No such token", error_out)
    @ns.response(409, "Several live tokens have that name; use the id", error_out)
    @documents_errors(ns, error_out, 401, 403)
    @requires("admin")
    def delete(self, reference: str):
        """Revoke a token"""
        with registry().db.write() as session:
            token = revoke_token(session, reference)
        log.info("Token %d (%s) revoked by %s", token.id, token.name, actor_name())
        return "", 204
