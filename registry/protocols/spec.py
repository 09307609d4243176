"""The protocol routes, declared once as Swagger 2.0 paths for swagger.json and openapi.json.

Flask-RESTX namespaces cannot hold routes such as ``/v1/models/{name}:predict`` or routes
outside ``/api/v1``, so the protocols' blueprints are described here, in one table, and added
to the generated document; openapi.json converts them with everything else.

Swagger 2.0 has one basePath: a route outside it is written relative to it with ``..``
segments (``/../../v2/health/live``), which every HTTP client resolves to the route itself.
What 2.0 cannot say rides in extensions openapi.json reads: ``x-media`` (the schema of a body
or an answer in a media type other than JSON), ``x-success-types``.
"""

from __future__ import annotations

import re
from typing import Any, NamedTuple

from registry.api.spec_rules import CLOSED, complete_operations
from registry.protocols.spec_schemas import DEFINITIONS

OIP = "Open Inference Protocol (KServe v2, Triton)"
KSERVE_V1 = "KServe v1 and TF-Serving"
MLFLOW = "MLflow scoring"
TAGS = [
    {
        "name": OIP,
        "description": "JSON tensors and the binary tensor extension. "
        'Errors are {"error": ...} with the registry\'s code.',
    },
    {
        "name": KSERVE_V1,
        "description": "Predictions and model status. "
        'Errors are {"error": ...} with the registry\'s code.',
    },
    {
        "name": MLFLOW,
        "description": "The scoring protocol of `mlflow models serve`. "
        "Errors are the registry's Error.",
    },
]
HEADER_LENGTH = "Inference-Header-Content-Length"
_JSON = "application/json"
_BINARY = "application/octet-stream"
_CSV = "text/csv"
_STATUS_TEXT = {
    "400": "Malformed body",
    "401": "An invalid token (refused even where reads are open), or none where one is needed",
    "404": "No such model, version or alias, or no active version",
    "413": "Body, batch or answer too large",
    "415": "A compressed body, or a charset other than UTF-8",
    "422": "Well-formed but invalid values, by row and field",
    "503": "database_unavailable: the database did not answer; retry after Retry-After",
}
_GENERATION_TEXT = (
    "generation_not_reached: X-Registry-Generation names a generation the database has not reached"
)
# What each kind of route can refuse. A probe reads no token and no database.
PROBE: tuple[str, ...] = ()
READ = ("401", "404", "503")
SCORE = ("400", "401", "404", "413", "415", "422", "503")


class Route(NamedTuple):
    """One protocol operation: ``path`` is absolute, its parameters are its placeholders."""

    method: str
    path: str
    operation_id: str
    summary: str
    answer: str
    refusals: tuple[str, ...]


def _each_version(
    method: str,
    path: str,
    answer: str,
    refusals: tuple[str, ...],
    active: tuple[str, str],
    version: tuple[str, str],
    alias: tuple[str, str, str] | None = None,
) -> list[Route]:
    """Return one operation's routes on the active version, a version and an alias's.

    ``path`` holds ``{at}`` where the version is named; each route gets its operation id and
    summary, and the alias's route its path segment (``labels``, ``aliases``) before them.
    """
    named = [("", *active), ("/versions/{version}", *version)]
    if alias is not None:
        segment, *rest = alias
        named.append((f"/{segment}/{{alias}}", *rest))
    return [
        Route(method, path.replace("{at}", at), operation_id, summary, answer, refusals)
        for at, operation_id, summary in named
    ]


_OIP_ROUTES = [
    Route("get", "/v2", "oip_server_metadata", "Server metadata", "OipServerMetadata", READ[::2]),
    Route("get", "/v2/health/live", "oip_server_live", "Live", "OipLive", PROBE),
    Route("get", "/v2/health/ready", "oip_server_ready", "Ready to score", "OipReady", PROBE),
    *_each_version("get", "/v2/models/{name}{at}", "OipModelMetadata", READ,
                   ("oip_model_metadata", "Active version's tensors"),
                   ("oip_version_metadata", "A version's tensors")),
    *_each_version("get", "/v2/models/{name}{at}/ready", "OipModelReady", READ,
                   ("oip_model_ready", "Is the active version ready"),
                   ("oip_version_ready", "Is a version ready")),
    *_each_version("post", "/v2/models/{name}{at}/infer", "OipInferResponse", SCORE,
                   ("oip_infer", "Infer with the active version"),
                   ("oip_infer_version", "Infer with a version")),
]  # fmt: skip
_KSERVE_V1_ROUTES = [
    *_each_version("get", "/v1/models/{name}{at}", "KServeV1Status", READ,
                   ("kserve_v1_status", "The active version's status"),
                   ("kserve_v1_version_status", "A version's status")),
    *_each_version("post", "/v1/models/{name}{at}:predict", "ProtocolPredictions", SCORE,
                   ("kserve_v1_predict", "Predict with the active version"),
                   ("kserve_v1_predict_version", "Predict with a version"),
                   ("labels", "kserve_v1_predict_label", "Predict with an alias's version")),
]  # fmt: skip
_MLFLOW_ROUTES = [
    Route("get", "/ping", "mlflow_server_ping", "The server answers", "MlflowPing", PROBE),
    *_each_version("get", "/api/v1/models/{name}{at}/ping", "MlflowPing", READ,
                   ("mlflow_ping", "Can the active version score"),
                   ("mlflow_ping_version", "Can a version score"),
                   ("aliases", "mlflow_ping_alias", "Can an alias's version score")),
    *_each_version("post", "/api/v1/models/{name}{at}/invocations", "ProtocolPredictions",
                   SCORE,
                   ("mlflow_invocations", "Score with the active version"),
                   ("mlflow_invocations_version", "Score with a version"),
                   ("aliases", "mlflow_invocations_alias", "Score with an alias's version")),
]  # fmt: skip
ROUTES = {OIP: _OIP_ROUTES, KSERVE_V1: _KSERVE_V1_ROUTES, MLFLOW: _MLFLOW_ROUTES}

_BINARY_DATA = {"type": "string", "format": "binary"}
# Each tag's request body: JSON, or the media types of its x-media.
_BODIES: dict[str, dict[str, Any]] = {
    OIP: {
        "description": "JSON tensors; or, with the binary tensor extension "
        f"(application/octet-stream), this JSON header ({HEADER_LENGTH} bytes long) followed "
        "by the tensors' raw little-endian bytes, as each tensor's binary_data_size says",
        "schema": "OipInferRequest",
        "x-media": {_BINARY: _BINARY_DATA},
    },
    KSERVE_V1: {
        "description": "Read as JSON whatever the Content-Type says (curl -d sends form data)",
        "schema": "KServeV1Request",
    },
    MLFLOW: {
        "description": "JSON, or text/csv: a header row of feature names, then a row per line",
        "schema": "MlflowRequest",
        "x-media": {_CSV: {"type": "string"}},
    },
}
_HEADER_LENGTH_PARAMETER = {
    "name": HEADER_LENGTH,
    "in": "header",
    "required": False,
    "type": "integer",
    "minimum": 0,
    "description": "Binary tensor extension: the length of the JSON header in bytes",
}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/definitions/{name}"}


def _parameters(route: Route) -> list[dict[str, Any]]:
    return [
        {
            "name": name,
            "in": "path",
            "required": True,
            "type": "integer" if name == "version" else "string",
        }
        for name in re.findall(r"\{(\w+)\}", route.path)
    ]


def _operation(tag: str, route: Route, open_reads: bool) -> dict[str, Any]:
    # The blueprints under /v1 and /v2 answer {"error": ...}; MLflow's keep the registry's.
    error = _ref("Error" if tag == MLFLOW else "ProtocolError")
    responses: dict[str, Any] = {"200": {"description": "OK", "schema": _ref(route.answer)}}
    responses.update({s: {"description": _STATUS_TEXT[s], "schema": error} for s in route.refusals})
    # Every route, probes too, refuses a generation the registry has not reached.
    responses["412"] = {"description": _GENERATION_TEXT, "schema": error}
    operation: dict[str, Any] = {
        "operationId": route.operation_id,
        "tags": [tag],
        "summary": route.summary,
        "responses": responses,
        # Only the probes read no token: they are open whatever REGISTRY_AUTH_READS says.
        "security": [] if open_reads or not route.refusals else CLOSED,
    }
    parameters = _parameters(route)
    if route.method == "post":
        body = {**_BODIES[tag], "name": "payload", "in": "body", "required": True}
        body["schema"] = _ref(body["schema"])
        parameters.append(body)
        operation["consumes"] = [_JSON, *_BODIES[tag].get("x-media", {})]
    if route.operation_id.startswith("oip_infer"):
        parameters.append(_HEADER_LENGTH_PARAMETER)
        operation["produces"] = operation["x-success-types"] = [_JSON, _BINARY]
        responses["200"].update(
            description="Output tensors: predict, and predict_proba for a logistic model; as "
            f"binary data after the JSON header ({HEADER_LENGTH} bytes) when asked",
            headers={HEADER_LENGTH: {"type": "integer", "description": "A binary answer's"}},
        )
        responses["200"]["x-media"] = {_BINARY: _BINARY_DATA}
    if route.path == "/v2/health/ready":
        responses["503"] = {"description": "Not ready: the registry cannot be read"}
        responses["503"]["schema"] = _ref("OipReady")
    if parameters:
        operation["parameters"] = parameters
    return operation


def relative_path(path: str, base_path: str) -> str:
    """Return ``path`` (absolute) as Swagger 2.0 writes it: appended to ``base_path``."""
    base = base_path.rstrip("/")
    if path.startswith(f"{base}/"):
        return path[len(base) :]
    return "/.." * base.count("/") + path


def add_protocols(spec: dict[str, Any], open_reads: bool) -> None:
    """Add the protocol routes, their schemas and tags to a Swagger 2.0 ``spec``."""
    paths: dict[str, Any] = {}
    for tag, routes in ROUTES.items():
        for route in routes:
            item = paths.setdefault(relative_path(route.path, spec.get("basePath", "/")), {})
            item[route.method] = _operation(tag, route, open_reads)
    # Of the statuses every registry route adds, only the request line's (gunicorn) applies;
    # the path parameters follow the registry's rules.
    complete_operations(paths, {"414": "The request line is too long"})
    spec["paths"].update(paths)
    spec.setdefault("definitions", {}).update(DEFINITIONS)
    spec.setdefault("tags", []).extend(TAGS)
