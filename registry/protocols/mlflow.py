"""MLflow's scoring protocol: ``/invocations`` on a model, a version or an alias, and ``/ping``.

The bodies of ``mlflow models serve``: ``dataframe_split``, ``dataframe_records``,
``instances`` or ``inputs`` as JSON (``params`` accepted and ignored), or a CSV with a header.
The answer is the native batch answer, whose ``predictions`` is what MLflow clients read.
Errors keep the registry's shape, as everything under /api/v1 does.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response

from registry.api.context import registry
from registry.api.csv_bodies import read_csv_table
from registry.api.features import RowValidator
from registry.api.jsonio import json_response, read_body, read_json_body
from registry.api.predict import check_count, is_csv_body
from registry.errors import BadRequest
from registry.plans import Plan
from registry.protocols.rows import (
    columns_from_mapping,
    columns_from_rows,
    depth_checked_if_refused,
)
from registry.protocols.scoring import resolve_read, score

blueprint = Blueprint("mlflow", __name__)
_FORMS = ("dataframe_split", "dataframe_records", "instances", "inputs")
_MODEL = "/api/v1/models/<name>"


def _dataframe_split(value: Any, validator: RowValidator, max_rows: int) -> dict[str, Any]:
    if not isinstance(value, dict) or not isinstance(value.get("data"), list):
        raise BadRequest("'dataframe_split' must be an object with 'data' (and 'columns').")
    names = value.get("columns", list(validator.names))
    data = value["data"]
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise BadRequest("'dataframe_split.columns' must be a list of feature names.")
    if len(set(names)) != len(names):
        raise BadRequest("'dataframe_split.columns' must not repeat a name.")
    if not data:
        raise BadRequest("'dataframe_split.data' must be a non-empty list of rows.")
    check_count(len(data), max_rows)
    if not all(isinstance(row, list) and len(row) == len(names) for row in data):
        raise BadRequest("Every row of 'dataframe_split.data' must be a list as long as columns.")
    return validator.from_table(names, data)


def _json_columns(body: Any, validator: RowValidator, max_rows: int) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise BadRequest(f"The body must be a JSON object with one of: {', '.join(_FORMS)}.")
    forms = [key for key in _FORMS if key in body]
    unknown = sorted(set(body) - set(_FORMS) - {"params"})
    if len(forms) != 1 or unknown:
        extra = f" Unknown keys: {', '.join(unknown)}." if unknown else ""
        raise BadRequest(f"The body holds exactly one of: {', '.join(_FORMS)}.{extra}")
    form, value = forms[0], body[forms[0]]
    if form == "dataframe_split":
        return _dataframe_split(value, validator, max_rows)
    if form == "dataframe_records":
        if not isinstance(value, list) or not all(isinstance(r, dict) for r in value):
            raise BadRequest("'dataframe_records' must be a list of row objects.")
        return columns_from_rows(value, validator, max_rows, form)
    if isinstance(value, dict):
        return columns_from_mapping(value, validator, max_rows, form)
    return columns_from_rows(value, validator, max_rows, form)


def _body_columns(plan: Plan, validator: RowValidator, max_rows: int) -> dict[str, Any]:
    max_bytes = registry().config.max_body_bytes
    if is_csv_body():
        table = read_csv_table(read_body(max_bytes), plan, max_rows, [])
        return validator.from_table(table.names, table.rows)
    body = read_json_body(max_bytes, depth=False)
    return depth_checked_if_refused(
        body, ("params",), lambda: _json_columns(body, validator, max_rows)
    )


def _invoke(name: str, version: int | None, alias: str | None) -> Response:
    return json_response(score(name, version, alias, _body_columns).answer)


def _ping(name: str, version: int | None, alias: str | None) -> Response:
    _, resolved, _ = resolve_read(name, version, alias)
    return json_response({"status": "ok", "model": name, "version": resolved})


@blueprint.get("/ping")
def ping() -> Response:
    # MLflow's liveness probe: the server answers; like /health/live, it reads nothing.
    return json_response({"status": "ok"})


@blueprint.post(f"{_MODEL}/invocations")
def invoke_active(name: str) -> Response:
    return _invoke(name, None, None)


@blueprint.post(f"{_MODEL}/versions/<int:version>/invocations")
def invoke_version(name: str, version: int) -> Response:
    return _invoke(name, version, None)


@blueprint.post(f"{_MODEL}/aliases/<alias>/invocations")
def invoke_alias(name: str, alias: str) -> Response:
    return _invoke(name, None, alias)


@blueprint.get(f"{_MODEL}/ping")
def ping_active(name: str) -> Response:
    return _ping(name, None, None)


@blueprint.get(f"{_MODEL}/versions/<int:version>/ping")
def ping_version(name: str, version: int) -> Response:
    return _ping(name, version, None)


@blueprint.get(f"{_MODEL}/aliases/<alias>/ping")
def ping_alias(name: str, alias: str) -> Response:
    return _ping(name, None, alias)
