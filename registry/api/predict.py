"""The prediction routes: generic URL rules, strict bodies, answers naming the version."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from flask import Flask, Response, request

from registry.api.auth import check_role
from registry.api.context import registry
from registry.api.csv_bodies import (
    answer_csv,
    check_passthrough_for_csv,
    passthrough_names,
    read_csv_table,
)
from registry.api.features import RowValidator
from registry.api.jsonio import check_depth, check_utf8, json_response, read_body, read_json_body
from registry.errors import BadRequest, PayloadTooLarge, RegistryError, ValidationFailed
from registry.metrics import UNKNOWN_MODEL
from registry.plans import NonFiniteScore, Plan, class_label

if TYPE_CHECKING:
    from registry.state import Registry


def row_validator(plan: Plan, validators: Any) -> RowValidator:
    """Return a plan's row validator from the app's cache, compiling it on first use."""
    found = validators.get(plan)
    if found is None:
        found = validators[plan] = RowValidator(plan)
    return found


def _explain_flag() -> bool:
    if not request.query_string:
        return False
    raw = request.args.get("explain")
    if raw is None:
        return False
    if raw.lower() not in ("true", "false", "1", "0"):
        raise BadRequest("explain must be true or false.", {"explain": ["Use true or false."]})
    return raw.lower() in ("true", "1")


def parse_rows(body: Any, validator: RowValidator, max_rows: int) -> tuple[dict[str, Any], bool]:
    """Return (columns, single) for one of the three body forms.

    Raises BadRequest (wrong form), PayloadTooLarge (too many rows), ValidationFailed.
    """
    if not isinstance(body, dict):
        raise BadRequest("The body must be a JSON object: a row, instances, or columns and data.")
    if "instances" in body:
        rows = body["instances"]
        if not isinstance(rows, list) or not rows:
            raise BadRequest("'instances' must be a non-empty list of row objects.")
        if len(body) != 1:
            raise BadRequest("An 'instances' body has no other keys.")
        check_count(len(rows), max_rows)
        if set(map(type, rows)) != {dict}:  # parsed JSON: no subclasses; map() runs in C
            raise BadRequest("Every item of 'instances' must be an object of feature values.")
        return validator.from_rows(rows), False
    if "columns" in body or "data" in body:
        names, data = body.get("columns"), body.get("data")
        if set(body) != {"columns", "data"}:
            raise BadRequest("A columns body has exactly the keys 'columns' and 'data'.")
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            raise BadRequest("'columns' must be a list of feature names.")
        if len(set(names)) != len(names):
            raise BadRequest("'columns' must not repeat a name.")
        if not isinstance(data, list) or not data:
            raise BadRequest("'data' must be a non-empty list of rows.")
        check_count(len(data), max_rows)
        if not all(isinstance(r, list) and len(r) == len(names) for r in data):
            raise BadRequest("Every row of 'data' must be a list as long as 'columns'.")
        return validator.from_table(names, data), False
    try:
        return validator.from_rows([body]), True
    except ValidationFailed as error:
        raise ValidationFailed(error.message, (error.errors or {}).get("0", {})) from None


def parse_body_rows(
    body: Any, validator: RowValidator, max_rows: int
) -> tuple[dict[str, Any], bool]:
    """Like parse_rows, for a body parsed without its nesting check.

    A body that is accepted holds only scalars in its rows, so it is at most three levels
    deep; only a refused body needs the (costly, row by row) check, to answer invalid_json.
    """
    try:
        return parse_rows(body, validator, max_rows)
    except RegistryError:
        check_depth(body)
        raise


def check_count(count: int, max_rows: int) -> None:
    if count > max_rows:
        raise PayloadTooLarge(f"A request holds at most {max_rows} rows; this one has {count}.")


def check_answer_size(plan: Plan, rows: int, explain: bool, max_cells: int) -> None:
    """Refuse an answer of more than ``max_cells`` values. Raises PayloadTooLarge.

    A row's answer holds its prediction, a probability per class, and with ``explain`` a
    part per feature and intercept (per class for a multinomial model).
    """
    width = 1 + len(plan.classes or ())
    if explain:
        width += (len(plan.features) + 1) * plan.coef.shape[0]
    if rows * width > max_cells:
        raise PayloadTooLarge(
            f"An answer holds at most {max_cells} values (REGISTRY_MAX_ANSWER_CELLS); this one "
            f"would hold {rows * width} ({rows} rows of {width}). Send fewer rows."
        )


def build_answer(
    name: str,
    version: int,
    plan: Plan,
    columns: dict[str, Any],
    single: bool,
    explain: bool,
    max_cells: int,
) -> tuple[dict[str, Any], int]:
    """Return the answer body for validated columns, and how many rows it holds.

    Raises PayloadTooLarge (over ``max_cells`` values), ValidationFailed (no finite result).
    """
    check_answer_size(plan, len(next(iter(columns.values()), ())), explain, max_cells)
    try:
        output = plan.predict(columns, explain=explain)
    except NonFiniteScore as error:
        message = ["These values overflow the model's arithmetic; the result is not a number."]
        errors = {str(row): {"_row": message} for row in error.rows}
        if single:
            raise ValidationFailed(message[0], {"_row": message}) from None
        count = "1 row gives" if len(errors) == 1 else f"{len(errors)} rows give"
        raise ValidationFailed(f"{count} no finite result.", errors) from None
    # Named only when a row lacked a value: answers that needed nothing filled in stay as
    # they were, and cost nothing more.
    imputed = plan.filled_in(columns)
    body: dict[str, Any] = {"model": name, "version": version}
    probabilities = None
    if output.probabilities is not None:
        labels = [class_label(c) for c in plan.classes or []]
        probabilities = [
            dict(zip(labels, row, strict=True)) for row in output.probabilities.tolist()
        ]
    if output.contributions is not None and plan.contributions_space is not None:
        # The parts add up to the linear predictor or the transformed target, not to the
        # prediction: the answer says which.
        body["contributions_space"] = plan.contributions_space
    if single:
        body["prediction"] = output.predictions[0]
        if probabilities is not None:
            body["probabilities"] = probabilities[0]
        if output.contributions is not None:
            body["contributions"] = output.contributions[0]
        if imputed is not None:
            body["imputed"] = imputed[0]
    else:
        body["predictions"] = output.predictions
        if probabilities is not None:
            body["probabilities"] = probabilities
        if output.contributions is not None:
            body["contributions"] = output.contributions
        if imputed is not None:
            body["imputed"] = imputed
    return body, len(output.predictions)


def answer_body(
    reg: Registry, name: str, version: int, plan: Plan, body: Any, explain: bool
) -> tuple[dict[str, Any], int]:
    """Validate a parsed prediction body and answer it; also return its row count.

    Raises BadRequest, InvalidJson, PayloadTooLarge, ValidationFailed.
    """
    validator = row_validator(plan, reg.validators)
    columns, single = parse_body_rows(body, validator, reg.config.max_batch_rows)
    return build_answer(name, version, plan, columns, single, explain, reg.config.max_answer_cells)


def predict(name: str, version: int | None = None, alias: str | None = None) -> Response:
    """Answer one prediction request on the route's model and selector."""
    started = time.perf_counter()
    reg = registry()
    label_version = "-"
    kept: dict[str, list[str]] = {}
    try:
        check_role("reader")
        _, resolved, plan = reg.serving.resolve(name, version, alias)
        label_version = str(resolved)
        explain = _explain_flag()
        if is_csv_body():
            validator = row_validator(plan, reg.validators)
            keep = passthrough_names(request.args.get("passthrough"))
            if keep and wants_csv():
                check_passthrough_for_csv(keep)
            table = read_csv_table(
                read_body(reg.config.max_body_bytes), plan, reg.config.max_batch_rows, keep
            )
            kept = table.kept
            columns = validator.from_table(table.names, table.rows)
            answer, rows = build_answer(
                name, resolved, plan, columns, False, explain, reg.config.max_answer_cells
            )
        else:
            body = read_json_body(reg.config.max_body_bytes, depth=False)
            answer, rows = answer_body(reg, name, resolved, plan, body, explain)
    except RegistryError as error:
        count_refusal(reg, name, label_version, error)
        raise
    reg.metrics.served(name, label_version).record(rows, time.perf_counter() - started)
    if wants_csv():
        return Response(
            answer_csv(as_batch(answer), kept),
            mimetype="text/csv",
            headers={"X-Model-Name": name, "X-Model-Version": label_version},
        )
    if kept:
        answer["passthrough"] = kept
    return json_response(answer)


def is_csv_body() -> bool:
    """Tell whether the request's body is CSV (Content-Type: text/csv)."""
    mimetype, _, options = request.environ.get("CONTENT_TYPE", "").partition(";")
    if mimetype.strip().lower() != "text/csv":
        return False
    check_utf8(options)
    return True


def wants_csv() -> bool:
    """Tell whether the client's Accept header prefers text/csv to JSON."""
    accept = request.environ.get("HTTP_ACCEPT")
    if not accept or "csv" not in accept:
        return False
    return request.accept_mimetypes.best_match(["application/json", "text/csv"]) == "text/csv"


def as_batch(answer: dict[str, Any]) -> dict[str, Any]:
    """Return a single-row answer in the batch form (lists); a batch answer as it is."""
    if "predictions" in answer:
        return answer
    batch = {"model": answer["model"], "version": answer["version"]}
    batch["predictions"] = [answer["prediction"]]
    for key in ("probabilities", "contributions", "imputed"):
        if key in answer:
            batch[key] = [answer[key]]
    return batch


def count_refusal(reg: Registry, name: str, label_version: str, error: RegistryError) -> None:
    """Count a refused prediction request in the metrics (404s are not counted per model)."""
    if error.status != 404:
        model = name if label_version != "-" else _model_label(reg, name, error.status)
        reg.metrics.refused(model, label_version, error.status, error.code)


def _model_label(reg: Registry, name: str, status: int) -> str:
    """Return the metrics label of a name refused before it was resolved.

    The name comes from the URL, so labelling every name would let anyone add series: it is
    the name when the snapshot holds that model, else UNKNOWN_MODEL. Only an auth refusal
    (401, 403) asks the snapshot; any other error here (the database's) does not wait on it.
    """
    if status not in (401, 403):
        return UNKNOWN_MODEL
    try:
        known = name in reg.serving.snapshot().models
    except Exception:  # noqa: BLE001 - a refusal is counted even when the database is away
        known = False
    return name if known else UNKNOWN_MODEL


def register_prediction_routes(app: Flask, prefix: str) -> None:
    """Add the three generic prediction URL rules; they stay out of the docs."""
    app.add_url_rule(f"{prefix}/models/<name>/predict", "predict_active", predict, methods=["POST"])
    app.add_url_rule(
        f"{prefix}/models/<name>/versions/<int:version>/predict",
        "predict_version",
        predict,
        methods=["POST"],
    )
    app.add_url_rule(
        f"{prefix}/models/<name>/aliases/<alias>/predict",
        "predict_alias",
        predict,
        methods=["POST"],
    )
