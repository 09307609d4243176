"""Reading a multipart upload: the artifact bytes and its JSON-encoded fields."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import request

from registry.api.bodies import load_body
from registry.api.jsonio import parse_json
from registry.api.schemas import UploadFieldsSchema
from registry.errors import (
    BadRequest,
    InvalidJson,
    MissingArtifact,
    PayloadTooLarge,
    UnsupportedMediaType,
)

_JSON_FIELDS = ("metrics", "tags", "features", "reference")


@dataclass(frozen=True)
class Upload:
    data: bytes
    fields: dict[str, Any]


def require_multipart() -> None:
    """Refuse anything but multipart/form-data with 415."""
    if request.mimetype != "multipart/form-data":
        raise UnsupportedMediaType("Send the upload as multipart/form-data.")


def read_part(name: str, max_bytes: int) -> bytes | None:
    """Return one file part's bytes, or None when the part is absent. Raises PayloadTooLarge."""
    parts = request.files.getlist(name)
    if not parts:
        return None
    if len(parts) > 1:
        raise BadRequest(f"Send one {name} file part.", {name: ["Send exactly one file."]})
    others = set(request.files) - {name}
    if others:
        raise BadRequest(
            "Only one file part is read here.", {key: ["Unexpected file part."] for key in others}
        )
    data = parts[0].stream.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise PayloadTooLarge(f"The {name} is over the limit of {max_bytes} bytes.")
    return data


def form_fields(names: tuple[str, ...], json_fields: tuple[str, ...]) -> dict[str, Any]:
    """Return the named form fields, JSON-decoding those in ``json_fields``. Raises BadRequest."""
    unknown = set(request.form) - set(names)
    if unknown:
        raise BadRequest(
            "Some form fields are unknown.", {key: ["Unknown field."] for key in sorted(unknown)}
        )
    raw: dict[str, Any] = {}
    for key in names:
        value = request.form.get(key)
        if value is None:
            continue
        if "\ufffd" in value:
            # werkzeug replaces bytes that are not UTF-8; refuse rather than store them.
            raise BadRequest(f"The {key} field is not UTF-8 text.", {key: ["Not UTF-8 text."]})
        if key in json_fields:
            try:
                raw[key] = parse_json(value.encode("utf-8"))
            except InvalidJson:
                raise BadRequest(
                    f"The {key} field must be valid JSON.", {key: ["Not valid JSON."]}
                ) from None
        elif key == "activate":
            if value.lower() not in ("true", "false"):
                raise BadRequest("activate must be true or false.", {key: ["Use true or false."]})
            raw[key] = value.lower() == "true"
        else:
            raw[key] = value
    return raw


def read_upload(max_bytes: int) -> Upload:
    """Return the artifact and fields of a version upload.

    Raises UnsupportedMediaType, MissingArtifact, PayloadTooLarge, BadRequest, ValidationFailed.
    """
    require_multipart()
    data = read_part("artifact", max_bytes)
    if data is None:
        raise MissingArtifact(
            "The upload needs an 'artifact' file part.", {"artifact": ["Missing file part."]}
        )
    fields = load_body(
        UploadFieldsSchema(),
        form_fields(("description", "activate", *_JSON_FIELDS), _JSON_FIELDS),
    )
    return Upload(data=data, fields=fields)
