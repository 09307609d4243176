"""KServe v1 / TF-Serving REST: ``/v1/models/{name}:predict`` with instances or inputs.

Routes: the active version, ``/versions/{v}`` and ``/labels/{alias}`` (TF-Serving's names for
a version and an alias); ``GET /v1/models/{name}`` is the model's status in both protocols'
words. Answers are the native batch answer: ``predictions`` (plus ``probabilities`` for a
logistic model), naming the model and version.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, request

from registry.api.context import registry
from registry.api.features import RowValidator
from registry.api.jsonio import check_utf8, json_response, parse_json, read_body
from registry.errors import BadRequest, RegistryError
from registry.plans import Plan
from registry.protocols.rows import (
    columns_from_mapping,
    columns_from_rows,
    depth_checked_if_refused,
)
from registry.protocols.scoring import error_answer, resolve_read, score

blueprint = Blueprint("kserve_v1", __name__, url_prefix="/v1/models")
blueprint.register_error_handler(RegistryError, error_answer)
# TF-Serving's optional keys that change nothing here.
_IGNORED = ("signature_name", "parameters", "id")


def _read_json(max_bytes: int) -> Any:
    # TF-Serving reads the body as JSON whatever its Content-Type says, and its documented
    # examples (KServe's too) are `curl -d '{...}'`, which says form data: only a charset
    # other than UTF-8 is refused.
    check_utf8(request.environ.get("CONTENT_TYPE", "").partition(";")[2])
    return parse_json(read_body(max_bytes), depth=False)


def _body_columns(plan: Plan, validator: RowValidator, max_rows: int) -> dict[str, Any]:
    body = _read_json(registry().config.max_body_bytes)
    return depth_checked_if_refused(body, _IGNORED, lambda: _columns(body, validator, max_rows))


def _columns(body: Any, validator: RowValidator, max_rows: int) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise BadRequest("The body must be a JSON object with 'instances' or 'inputs'.")
    forms = [key for key in ("instances", "inputs") if key in body]
    unknown = sorted(set(body) - {"instances", "inputs", *_IGNORED})
    if len(forms) != 1 or unknown:
        raise BadRequest(
            "The body holds exactly one of 'instances' or 'inputs'"
            + (f"; unknown keys: {', '.join(unknown)}." if unknown else ".")
        )
    value = body[forms[0]]
    if isinstance(value, dict):
        return columns_from_mapping(value, validator, max_rows, forms[0])
    return columns_from_rows(value, validator, max_rows, forms[0])


def _predict(name: str, version: int | None, alias: str | None) -> Response:
    return json_response(score(name, version, alias, _body_columns).answer)


@blueprint.post("/<name>:predict")
def predict_active(name: str) -> Response:
    return _predict(name, None, None)


@blueprint.post("/<name>/versions/<int:version>:predict")
def predict_version(name: str, version: int) -> Response:
    return _predict(name, version, None)


@blueprint.post("/<name>/labels/<alias>:predict")
def predict_label(name: str, alias: str) -> Response:
    return _predict(name, None, alias)


def _status(name: str, version: int | None) -> Response:
    _, resolved, _ = resolve_read(name, version)
    return json_response(
        {
            "name": name,
            "ready": True,
            "model_version_status": [
                {
                    "version": str(resolved),
                    "state": "AVAILABLE",
                    "status": {"error_code": "OK", "error_message": ""},
                }
            ],
        }
    )


@blueprint.get("/<name>")
def status_active(name: str) -> Response:
    return _status(name, None)


@blueprint.get("/<name>/versions/<int:version>")
def status_version(name: str, version: int) -> Response:
    return _status(name, version)
