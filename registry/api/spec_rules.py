"""What Flask-RESTX's decorators cannot say about operations, applied to the generated spec.

Who may call each operation (open reads are declared open unless REGISTRY_AUTH_READS), the
statuses every route can answer, the header every answer carries, and the rules path
parameters follow; and the answers and parameters many operations say alike, said once at the
top of the document (``responses``, ``parameters``) and referred to.
"""

from __future__ import annotations

from typing import Any

from flask_restx import Api
from flask_restx.swagger import extract_path

from registry.api.docs_models import ALIAS_PATTERN, NAME_PATTERN
from registry.models import MAX_VERSION

CLOSED: list[dict[str, list[str]]] = [{"bearer": []}]
_ERROR = {"$ref": "#/definitions/Error"}
# Statuses any operation can answer, whatever it does.
_ANY_ROUTE = {
    "401": "An invalid token (refused even where reads are open), or none where one is needed",
    "412": "generation_not_reached: X-Registry-Generation names a generation the database"
    " has not reached",
    "414": "The request line is too long",
    "503": "database_unavailable: the database did not answer; retry after Retry-After",
}
_PATH_PARAMS: dict[str, dict[str, Any]] = {
    "name": {"pattern": NAME_PATTERN},
    "alias": {"pattern": ALIAS_PATTERN, "maxLength": 64},
    "version": {"minimum": 1, "maximum": MAX_VERSION},
}
# Every answer names the registry generation it was made at (README, "Scaling out").
GENERATION = {
    "X-Registry-Generation": {
        "type": "integer",
        "description": "The registry generation this answer was made at. Send it back in a"
        " request's X-Registry-Generation header to be answered from it or a newer one.",
    }
}
# The answers the statuses above give, under the names the document's top-level responses
# give them (401's description is replaced where an operation says its own).
ANY_ROUTE_NAMES = {
    "401": "Unauthorized",
    "412": "GenerationNotReached",
    "414": "UriTooLong",
    "503": "DatabaseUnavailable",
}
METHODS = ("get", "put", "post", "delete", "patch", "head", "options")


def declare_security(api: Api, paths: dict[str, Any], open_reads: bool) -> None:
    """Declare on each operation of ``api``'s namespaces whether it needs a token."""
    for ns in api.namespaces:
        for resource, urls, _, _ in ns.resources:
            for url in api.ns_urls(ns, urls):
                item = paths.get(extract_path(url), {})
                for method, operation in item.items():
                    if method not in METHODS:
                        continue
                    role = getattr(getattr(resource, method, None), "required_role", None)
                    operation["security"] = [] if role == "reader" and open_reads else CLOSED


def complete_operations(paths: dict[str, Any], statuses: dict[str, str] | None = None) -> None:
    """Add the statuses any route answers and the path parameters' rules to every operation.

    ``statuses`` replaces the statuses added, for routes outside the registry's own.
    """
    for item in paths.values():
        for method, operation in item.items():
            if method not in METHODS:
                continue
            responses = operation.setdefault("responses", {})
            for status, description in (_ANY_ROUTE if statuses is None else statuses).items():
                responses.setdefault(status, {"description": description, "schema": _ERROR})
            for response in responses.values():
                response.setdefault("headers", {}).update(GENERATION)
            for param in [*item.get("parameters", []), *operation.get("parameters", [])]:
                if param.get("in") == "path":
                    for key, value in _PATH_PARAMS.get(param["name"], {}).items():
                        param.setdefault(key, value)


def error_response(description: str) -> dict[str, Any]:
    """Return an error answer as complete_operations leaves it: an Error and the header."""
    return {"description": description, "schema": dict(_ERROR), "headers": dict(GENERATION)}


def any_route_responses() -> dict[str, dict[str, Any]]:
    """Return the answers every route can give, by their top-level names."""
    return {ANY_ROUTE_NAMES[s]: error_response(d) for s, d in _ANY_ROUTE.items()}


def share_parts(
    paths: dict[str, Any],
    responses: dict[str, dict[str, Any]],
    parameters: dict[str, dict[str, Any]],
) -> None:
    """Refer to the top-level ``responses`` and ``parameters`` wherever an operation repeats one.

    Only equal ones are replaced, so what an operation says of its own stays inline: the
    document says the same, once.
    """
    for item in paths.values():
        for method, operation in item.items():
            if method not in METHODS:
                continue
            answers = operation.get("responses", {})
            for status, response in answers.items():
                name = _equal(response, responses)
                if name is not None:
                    answers[status] = {"$ref": f"#/responses/{name}"}
            params = operation.get("parameters", [])
            for index, param in enumerate(params):
                name = _equal(param, parameters)
                if name is not None:
                    params[index] = {"$ref": f"#/parameters/{name}"}


def _equal(value: dict[str, Any], shared: dict[str, dict[str, Any]]) -> str | None:
    return next((name for name, candidate in shared.items() if candidate == value), None)
