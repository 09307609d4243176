"""The Open Inference Protocol (KServe v2; Triton, MLServer and Seldon speak it) over HTTP.

Inputs are one tensor per feature (named as the feature, ``[rows]`` or ``[rows, 1]``) or one
2-D tensor ``[rows, features]`` in feature order; outputs are ``predict`` and, for a logistic
model, ``predict_proba`` (``[rows, classes]`` in ``classes`` order), and ``imputed`` (the
features filled in per row) when a row lacked a value. JSON tensors and the
binary tensor extension are both read and written. Errors are ``{"error": "..."}``.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from importlib import metadata
from typing import Any

from flask import Blueprint, Response, request

from registry.api.auth import check_role
from registry.api.context import registry
from registry.api.features import RowValidator
from registry.api.jsonio import dump_json, json_response, parse_json, read_body
from registry.api.predict import check_count
from registry.errors import BadRequest, RegistryError, UnsupportedMediaType
from registry.plans import Plan, class_label
from registry.protocols.scoring import error_answer, resolve_read, score
from registry.protocols.tensors import (
    FEATURE_DATATYPES,
    Tensor,
    binary_data,
    label_datatype,
    output_tensor,
    read_tensor,
)

blueprint = Blueprint("open_inference", __name__, url_prefix="/v2")
blueprint.register_error_handler(RegistryError, error_answer)
HEADER_LENGTH = "Inference-Header-Content-Length"
IMPUTED = "imputed"
_MODEL = "/models/<name>"
_VERSION = "/models/<name>/versions/<int:version>"


@dataclass(frozen=True)
class InferRequest:
    """What an inference request asks for besides its rows."""

    id: Any
    tensors: list[Tensor]
    # Requested outputs and whether each is wanted as binary data; None for every output.
    outputs: list[tuple[str, bool]] | None
    binary_default: bool


def _binary_flag(parameters: Any, key: str, default: bool) -> bool:
    if not isinstance(parameters, dict) or key not in parameters:
        return default
    value = parameters[key]
    if not isinstance(value, bool):
        raise BadRequest(f"The parameter {key!r} must be true or false.")
    return value


def _read_request(max_bytes: int) -> InferRequest:
    """Parse the body: JSON, or a JSON header followed by binary tensor data."""
    encoding = request.environ.get("HTTP_CONTENT_ENCODING", "identity").lower()
    if encoding != "identity":
        raise UnsupportedMediaType("Compressed bodies are not read; send them uncompressed.")
    data = read_body(max_bytes)
    header_length = request.environ.get("HTTP_INFERENCE_HEADER_CONTENT_LENGTH")
    binary = b""
    if header_length is not None:
        if not header_length.isdigit() or int(header_length) > len(data):
            raise BadRequest(f"{HEADER_LENGTH} must be the JSON header's length in bytes.")
        data, binary = data[: int(header_length)], data[int(header_length) :]
    body = parse_json(data)
    if not isinstance(body, dict) or not isinstance(body.get("inputs"), list):
        raise BadRequest("The body must be an object with 'inputs', a list of tensors.")
    if not body["inputs"]:
        raise BadRequest("'inputs' must hold at least one tensor.")
    tensors, offset = [], 0
    for index, raw in enumerate(body["inputs"]):
        parameters = raw.get("parameters") if isinstance(raw, dict) else None
        if parameters is not None and not isinstance(parameters, dict):
            raise BadRequest(f"inputs[{index}]: 'parameters' must be an object.")
        size = parameters.get("binary_data_size") if parameters else None
        chunk = None
        if size is not None:
            if not isinstance(size, int) or isinstance(size, bool) or size < 0:
                raise BadRequest(f"inputs[{index}]: binary_data_size must be a byte count.")
            if offset + size > len(binary):
                raise BadRequest(f"inputs[{index}]: the binary data is shorter than its size.")
            chunk, offset = binary[offset : offset + size], offset + size
        tensors.append(read_tensor(raw, index, chunk))
    if offset != len(binary):
        raise BadRequest("The body holds binary data that no input's binary_data_size claims.")
    default = _binary_flag(body.get("parameters"), "binary_data_output", False)
    return InferRequest(body.get("id"), tensors, _requested(body.get("outputs"), default), default)


def _requested(raw: Any, default: bool) -> list[tuple[str, bool]] | None:
    if raw is None:
        return None
    if not isinstance(raw, list) or not all(
        isinstance(o, dict) and isinstance(o.get("name"), str) for o in raw
    ):
        raise BadRequest("'outputs' must be a list of objects with a 'name'.")
    return [(o["name"], _binary_flag(o.get("parameters"), "binary_data", default)) for o in raw]


def _whole(values: list[Any]) -> list[Any]:
    # A float tensor (the 2-D FP64 form) carries integers as 3.0: read them as the integers.
    return [int(v) if isinstance(v, float) and v.is_integer() else v for v in values]


def _table(req: InferRequest, plan: Plan, validator: RowValidator, max_rows: int) -> dict[str, Any]:
    """Return validated columns for the request's tensors. Raises BadRequest, 413, 422."""
    names = list(validator.names)
    integer = {f.name for f in plan.features if f.type == "integer"}
    known = set(names) | set(plan.ignored)
    tensors = req.tensors
    if all(t.name in known for t in tensors):
        twice = next((n for n, k in Counter(t.name for t in tensors).items() if k > 1), None)
        if twice is not None:
            # Scoring either copy would be a guess: the client meant one of them.
            raise BadRequest(
                f"Input {twice!r} is sent as two tensors; send each feature once.",
                {"inputs": [f"{twice!r} is sent twice."]},
            )
        counts = {t.rows for t in tensors}
        for t in tensors:
            if len(t.shape) > 2 or (len(t.shape) == 2 and t.shape[1] != 1):
                raise BadRequest(
                    f"Input {t.name!r} has shape {list(t.shape)}; a feature's tensor is "
                    "[rows] or [rows, 1]."
                )
        if len(counts) != 1:
            raise BadRequest("Every input tensor must hold the same number of rows.")
        rows = counts.pop()
        columns = [_whole(t.values) if t.name in integer else t.values for t in tensors]
        header = [t.name for t in tensors]
    elif len(tensors) == 1 and len(tensors[0].shape) == 2 and tensors[0].shape[1] == len(names):
        rows, width = tensors[0].shape
        values = tensors[0].values
        columns = [values[k::width] for k in range(width)]
        columns = [_whole(c) if n in integer else c for n, c in zip(names, columns, strict=True)]
        header = names
    else:
        raise BadRequest(
            f"Send one tensor per feature ({', '.join(names)}), each [rows] or [rows, 1], or one "
            f"2-D tensor of shape [rows, {len(names)}] with the features in that order.",
            {"inputs": [f"Unknown input: {t.name!r}." for t in tensors if t.name not in known]}
            or None,
        )
    if rows == 0:
        raise BadRequest("The input tensors hold no rows.")
    check_count(rows, max_rows)
    return validator.from_table(header, [list(row) for row in zip(*columns, strict=True)])


def _outputs(plan: Plan) -> list[tuple[str, str, list[int]]]:
    outputs = [("predict", label_datatype(plan.classes), [-1])]
    if plan.classes:
        outputs.append(("predict_proba", "FP64", [-1, len(plan.classes)]))
    if any(f.nullable for f in plan.features):
        # Per row, the features filled in (joined by ";"), as the native answer's imputed.
        outputs.append((IMPUTED, "BYTES", [-1]))
    return outputs


def _answer(req: InferRequest, name: str, version: int, plan: Plan, answer: dict) -> Response:
    available = {out[0]: out for out in _outputs(plan)}
    imputed = answer.get("imputed")
    wanted = req.outputs
    if wanted is None:
        # Unasked, imputed comes only when a row lacked a value, as in the native answer.
        wanted = [(out, req.binary_default) for out in available if out != IMPUTED or imputed]
    rows = len(answer["predictions"])
    tensors, chunks = [], []
    for output, binary in wanted:
        _, datatype, _ = available[output]
        if output == "predict":
            shape, values = [rows], answer["predictions"]
        elif output == IMPUTED:
            shape = [rows]
            values = [";".join(names) for names in imputed] if imputed else [""] * rows
        else:
            labels = [class_label(c) for c in plan.classes or []]
            shape = [rows, len(labels)]
            values = [row[label] for row in answer["probabilities"] for label in labels]
        tensor = output_tensor(output, datatype, shape, values)
        if binary:
            chunk = binary_data(datatype, values)
            del tensor["data"]
            tensor["parameters"] = {"binary_data_size": len(chunk)}
            chunks.append(chunk)
        tensors.append(tensor)
    body: dict[str, Any] = {"model_name": name, "model_version": str(version)}
    if req.id is not None:
        body["id"] = req.id
    body["outputs"] = tensors
    if not chunks:
        return json_response(body)
    header = dump_json(body)
    return Response(
        header + b"".join(chunks),
        mimetype="application/octet-stream",
        headers={HEADER_LENGTH: str(len(header))},
    )


def _infer(name: str, version: int | None) -> Response:
    holder: dict[str, InferRequest] = {}

    def parse(plan: Plan, validator: RowValidator, max_rows: int) -> dict[str, Any]:
        req = holder["request"] = _read_request(registry().config.max_body_bytes)
        available = {out[0] for out in _outputs(plan)}
        unknown = [o for o, _ in req.outputs or () if o not in available]
        if unknown:
            raise BadRequest(
                f"This model has no output {unknown[0]!r}; it has {', '.join(sorted(available))}."
            )
        return _table(req, plan, validator, max_rows)

    scored = score(name, version, None, parse)
    return _answer(holder["request"], name, scored.version, scored.plan, scored.answer)


def _model_metadata(name: str, version: int | None) -> Response:
    entry, resolved, plan = resolve_read(name, version)
    inputs = [
        {"name": f.name, "datatype": FEATURE_DATATYPES[f.type], "shape": [-1]}
        for f in plan.features
    ]
    inputs += [{"name": n, "datatype": "BYTES", "shape": [-1]} for n in plan.ignored]
    return json_response(
        {
            "name": name,
            "versions": [str(v) for v in sorted(entry.versions)],
            "platform": f"sklearn-registry_{plan.kind}",
            "inputs": inputs,
            "outputs": [{"name": n, "datatype": d, "shape": s} for n, d, s in _outputs(plan)],
        }
    )


def _model_ready(name: str, version: int | None) -> Response:
    _, resolved, _ = resolve_read(name, version)
    return json_response({"name": name, "version": str(resolved), "ready": True})


@blueprint.get("")
def server_metadata() -> Response:
    # It names the software and its version, which closed reads keep from strangers as they
    # keep the spec documents; health stays open for probes.
    check_role("reader")
    try:
        version = metadata.version("sklearn-registry")
    except metadata.PackageNotFoundError:
        version = "unknown"
    return json_response(
        {"name": "sklearn-registry", "version": version, "extensions": ["binary_tensor_data"]}
    )


@blueprint.get("/health/live")
def server_live() -> Response:
    return json_response({"live": True})


@blueprint.get("/health/ready")
def server_ready() -> Response:
    # Ready to infer: a registry snapshot can be had (the last one serves through an outage).
    try:
        registry().serving.snapshot()
    except RegistryError as error:
        return json_response({"ready": False, "error": error.message}, error.status)
    return json_response({"ready": True})


@blueprint.get(_MODEL)
def model_metadata(name: str) -> Response:
    return _model_metadata(name, None)


@blueprint.get(_VERSION)
def version_metadata(name: str, version: int) -> Response:
    return _model_metadata(name, version)


@blueprint.get(f"{_MODEL}/ready")
def model_ready(name: str) -> Response:
    return _model_ready(name, None)


@blueprint.get(f"{_VERSION}/ready")
def version_ready(name: str, version: int) -> Response:
    return _model_ready(name, version)


@blueprint.post(f"{_MODEL}/infer")
def model_infer(name: str) -> Response:
    return _infer(name, None)


@blueprint.post(f"{_VERSION}/infer")
def version_infer(name: str, version: int) -> Response:
    return _infer(name, version)
