"""The one scoring path of every protocol: auth, resolve, validate, predict, count."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import Response

from registry.api.auth import check_role
from registry.api.context import registry
from registry.api.error_caps import cap_fields
from registry.api.features import RowValidator
from registry.api.jsonio import json_response
from registry.api.predict import build_answer, count_refusal, row_validator
from registry.errors import RegistryError
from registry.plans import Plan
from registry.serving import ModelEntry

# Turns a protocol's body into validated columns: (plan, validator, max_rows) -> columns.
ParseColumns = Callable[[Plan, RowValidator, int], dict[str, Any]]


@dataclass(frozen=True)
class Scored:
    """A protocol request's answer in the native batch form, and who computed it."""

    name: str
    version: int
    plan: Plan
    answer: dict[str, Any]


def score(name: str, version: int | None, alias: str | None, parse: ParseColumns) -> Scored:
    """Score a protocol request as the native routes do, counting it in the same metrics.

    Raises every RegistryError the native prediction routes raise.
    """
    started = time.perf_counter()
    reg = registry()
    label_version = "-"
    try:
        check_role("reader")
        _, resolved, plan = reg.serving.resolve(name, version, alias)
        label_version = str(resolved)
        columns = parse(plan, row_validator(plan, reg.validators), reg.config.max_batch_rows)
        answer, rows = build_answer(
            name, resolved, plan, columns, False, False, reg.config.max_answer_cells
        )
    except RegistryError as error:
        count_refusal(reg, name, label_version, error)
        raise
    reg.metrics.served(name, label_version).record(rows, time.perf_counter() - started)
    return Scored(name, resolved, plan, answer)


def resolve_read(
    name: str, version: int | None = None, alias: str | None = None
) -> tuple[ModelEntry, int, Plan]:
    """Return the model, version and plan a metadata route names, for a caller who may read.

    Raises Unauthorized, Forbidden, ModelNotFound, VersionNotFound, AliasNotFound,
    NoActiveVersion.
    """
    check_role("reader")
    return registry().serving.resolve(name, version, alias)


def error_answer(error: RegistryError) -> Response:
    """Return a refusal in the {"error": ...} shape of KServe, Triton and TF-Serving.

    The registry's ``code`` and field-by-field ``errors`` ride along.
    """
    body: dict[str, Any] = {"error": error.message, "code": error.code}
    if error.errors is not None:
        body["errors"] = (
            cap_fields(error.errors) if isinstance(error.errors, dict) else error.errors
        )
    response = json_response(body, error.status)
    retry_after = getattr(error, "retry_after", None)
    if retry_after is not None:
        response.headers["Retry-After"] = str(retry_after)
    return response
