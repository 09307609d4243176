"""The dashboard's own error pages: HTML for people, under / and /ui only."""

from __future__ import annotations

import logging

from flask import Blueprint, Response, make_response, render_template, request
from werkzeug.exceptions import HTTPException, NotFound

from registry.api.context import registry
from registry.api.errors import UNREADABLE_BODY, unreadable_body
from registry.db import UNAVAILABLE, is_outage
from registry.errors import RegistryError, Unauthorized
from registry.web.access import COOKIE, local_path

log = logging.getLogger(__name__)


HEADINGS = {
    401: "Sign in to read this registry",
    403: "Not allowed",
    404: "Not found",
}


def _posted_next() -> str:
    # The page answering a broken body cannot read it either.
    try:
        return local_path(request.form.get("next"))
    except Exception as error:
        if unreadable_body(error):
            return "/"
        raise


def _error_page(status: int, message: str) -> Response:
    # No viewer lookup here: the error may be that very lookup failing.
    return make_response(
        render_template(
            "web/error.html",
            heading=HEADINGS.get(status, "Something went wrong" if status >= 500 else "Refused"),
            message=message,
            show_sign_in=status in (401, 403),
            signed_in=False,
            may_write=False,
            auth_reads=registry().config.auth_reads,
            next_path=(
                request.full_path.rstrip("?") if request.method == "GET" else _posted_next()
            ),
        ),
        status,
    )


def _registry_error(error: RegistryError) -> Response:
    if not isinstance(error, Unauthorized):
        return _error_page(error.status, error.message)
    if request.endpoint == "web.sign_in":
        return _error_page(401, error.message)
    if request.cookies.get(COOKIE):
        # Revoked since this browser signed in: forget it, ask for another.
        page = _error_page(
            401, "The token you signed in with is not valid any more: sign in again."
        )
        page.delete_cookie(COOKIE, path="/", httponly=True, samesite="Strict")
        return page
    return _error_page(
        401,
        "Reading this registry needs a token: paste a reader token (from "
        "'python manage.py create-token --role reader') and sign in.",
    )


def _http_error(error: HTTPException) -> Response:
    status = error.code or 500
    messages = {404: "There is no page at this address.", 405: "This page does not take that."}
    return _error_page(status, messages.get(status, error.name))


def _database_error(error: Exception) -> Response:
    failure = registry().db.health.failed(error, is_outage(error))
    return _error_page(failure.status, failure.message)


def _crash(error: Exception) -> Response:
    if unreadable_body(error):
        return _error_page(400, UNREADABLE_BODY)
    log.exception("Unhandled error on a dashboard page", exc_info=error)
    return _error_page(500, "The server failed to show this page; the error was logged.")


def not_found(rest: str) -> None:
    """Answer an address under /ui that is no page (here, so that the answer is HTML)."""
    raise NotFound()


def register_errors(blueprint: Blueprint) -> None:
    """Make errors on the dashboard's pages answer with an HTML page."""
    blueprint.register_error_handler(RegistryError, _registry_error)
    for family in UNAVAILABLE:
        blueprint.register_error_handler(family, _database_error)
    blueprint.register_error_handler(HTTPException, _http_error)
    blueprint.register_error_handler(Exception, _crash)
    blueprint.add_url_rule("/ui/<path:rest>", "not_found", not_found)
