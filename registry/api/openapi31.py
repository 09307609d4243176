"""OpenAPI 3.1 from the Swagger 2.0 document: the same source, said in the newer form.

What 2.0 cannot say is carried in it as extensions and said properly here: ``x-oneOf``
(the three prediction bodies, both answer shapes) becomes ``oneOf``; ``x-nullable`` becomes a
``null`` type, as in the JSON Schema of ``/schema``; each status gets its own content type
(a download's file, its errors' JSON); form fields become a multipart body. The top-level
answers and parameters operations refer to become components, and so does the header every
answer carries.
"""

from __future__ import annotations

from typing import Any

from registry.api.spec_rules import GENERATION

# Where 2.0's top-level parts are in 3.1.
_REFS = {
    "#/definitions/": "#/components/schemas/",
    "#/responses/": "#/components/responses/",
    "#/parameters/": "#/components/parameters/",
}
_METHODS = ("get", "put", "post", "delete", "patch", "head", "options")
_JSON = "application/json"
# Parameter keywords that belong to the parameter's schema in OpenAPI 3.
_SCHEMA_KEYS = (
    "type",
    "format",
    "items",
    "enum",
    "default",
    "minimum",
    "maximum",
    "pattern",
    "minLength",
    "maxLength",
)


def to_openapi31(swagger: dict[str, Any]) -> dict[str, Any]:
    """Return the OpenAPI 3.1 document saying what ``swagger`` (2.0) says."""
    produces = swagger.get("produces", [_JSON])
    document: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": swagger["info"],
        "servers": [{"url": swagger.get("basePath", "/")}],
        "tags": swagger.get("tags", []),
        "paths": {
            path: _path_item(item, produces) for path, item in swagger.get("paths", {}).items()
        },
        "components": {
            "schemas": {
                name: schema_31(schema) for name, schema in swagger.get("definitions", {}).items()
            },
            "securitySchemes": {
                name: _security_scheme(scheme)
                for name, scheme in swagger.get("securityDefinitions", {}).items()
            },
        },
    }
    components = document["components"]
    if swagger.get("responses"):
        # Shared answers are errors (a success's schema is an operation's own): JSON.
        components["responses"] = {
            name: _response("default", response, [_JSON])
            for name, response in swagger["responses"].items()
        }
    if swagger.get("parameters"):
        components["parameters"] = {
            name: _parameter(param) for name, param in swagger["parameters"].items()
        }
    components["headers"] = {name: _header(header) for name, header in GENERATION.items()}
    if "security" in swagger:
        document["security"] = swagger["security"]
    return document


def convert_paths(paths: dict[str, Any], produces: list[str]) -> dict[str, Any]:
    """Return Swagger 2.0 path items said in OpenAPI 3.1."""
    return {path: _path_item(item, produces) for path, item in paths.items()}


def convert_schemas(definitions: dict[str, Any]) -> dict[str, Any]:
    """Return Swagger 2.0 definitions as OpenAPI 3.1 component schemas."""
    return {name: schema_31(schema) for name, schema in definitions.items()}


def schema_31(schema: Any) -> Any:
    """Return a Swagger 2.0 schema as JSON Schema 2020-12 (OpenAPI 3.1's dialect)."""
    if not isinstance(schema, dict):
        return schema
    if "$ref" in schema:
        return {"$ref": _ref_31(schema["$ref"])}
    if "x-oneOf" in schema:
        # The exact forms replace the one object that stood for all of them in 2.0.
        kept = {k: schema[k] for k in ("description", "example") if k in schema}
        return {"oneOf": [schema_31(s) for s in schema["x-oneOf"]], **kept}
    converted: dict[str, Any] = {}
    for key, value in schema.items():
        if key == "x-nullable":
            continue
        if key in ("x-propertyNames", "x-const"):
            converted[key.removeprefix("x-")] = value
            continue
        if key == "x-prefixItems":
            converted["prefixItems"] = [schema_31(s) for s in value]
            continue
        if key == "properties":
            converted[key] = {name: schema_31(s) for name, s in value.items()}
        elif key in ("items", "additionalProperties"):
            converted[key] = schema_31(value)
        elif key in ("allOf", "anyOf", "oneOf"):
            converted[key] = [schema_31(s) for s in value]
        else:
            converted[key] = value
    if schema.get("x-nullable"):
        if isinstance(converted.get("type"), str):
            converted["type"] = [converted["type"], "null"]
        if "enum" in converted and None not in converted["enum"]:
            converted["enum"] = [*converted["enum"], None]
    return converted


def _security_scheme(scheme: dict[str, Any]) -> dict[str, Any]:
    if scheme.get("type") == "apiKey" and scheme.get("name") == "Authorization":
        # The header is 'Bearer <token>': said as HTTP bearer, tools send the token alone.
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "The token alone, as `python manage.py create-token` printed it; "
            "it is sent as `Authorization: Bearer <token>`.",
        }
    return scheme


def _path_item(item: dict[str, Any], produces: list[str]) -> dict[str, Any]:
    converted: dict[str, Any] = {}
    if "parameters" in item:
        converted["parameters"] = [_parameter(p) for p in item["parameters"]]
    for method, operation in item.items():
        if method in _METHODS:
            converted[method] = _operation(operation, produces)
    return converted


def _operation(operation: dict[str, Any], produces: list[str]) -> dict[str, Any]:
    converted = {
        key: operation[key]
        for key in ("tags", "summary", "description", "operationId", "security", "deprecated")
        if key in operation
    }
    params = operation.get("parameters", [])
    # A $ref names a shared parameter: never a body (2.0 bodies are the operation's own).
    plain = [_parameter(p) for p in params if p.get("in") not in ("body", "formData")]
    if plain:
        converted["parameters"] = plain
    body = [p for p in params if p.get("in") == "body"]
    form = [p for p in params if p.get("in") == "formData"]
    if body:
        converted["requestBody"] = _json_body(body[0], operation.get("consumes", [_JSON]))
    elif form:
        converted["requestBody"] = _form_body(form)
    types = operation.get("produces", produces)
    # An operation whose success may itself be JSON (an export's format=json) lists its types.
    success = operation.get("x-success-types")
    converted["responses"] = {
        status: _response(status, response, types, success)
        for status, response in operation.get("responses", {}).items()
    }
    return converted


def _parameter(param: dict[str, Any]) -> dict[str, Any]:
    if "$ref" in param:
        return {"$ref": _ref_31(param["$ref"])}
    schema = {k: param[k] for k in _SCHEMA_KEYS if k in param}
    if param.get("type") == "array" and "items" not in schema:
        schema["items"] = {"type": "string"}
    converted = {k: param[k] for k in ("name", "in", "description") if k in param}
    converted["required"] = bool(param.get("required")) or param["in"] == "path"
    converted["schema"] = schema_31(schema)
    return converted


def _json_body(param: dict[str, Any], consumes: list[str]) -> dict[str, Any]:
    # A body in another media type than JSON (CSV, binary tensors) has its own schema.
    others = param.get("x-media", {})
    body: dict[str, Any] = {
        "required": bool(param.get("required")),
        "content": {
            media: {"schema": schema_31(others.get(media, param["schema"]))} for media in consumes
        },
    }
    if "description" in param:
        body["description"] = param["description"]
    return body


def _form_body(params: list[dict[str, Any]]) -> dict[str, Any]:
    properties = {}
    for param in params:
        if param.get("type") == "file":
            prop: dict[str, Any] = {
                "type": "string",
                "contentMediaType": "application/octet-stream",
            }
        else:
            prop = schema_31({k: param[k] for k in _SCHEMA_KEYS if k in param})
        if "description" in param:
            prop["description"] = param["description"]
        properties[param["name"]] = prop
    schema: dict[str, Any] = {"type": "object", "properties": properties}
    required = [p["name"] for p in params if p.get("required")]
    if required:
        schema["required"] = required
    return {"required": True, "content": {"multipart/form-data": {"schema": schema}}}


def _response(
    status: str, response: dict[str, Any], types: list[str], success: list[str] | None = None
) -> dict[str, Any]:
    if "$ref" in response:
        return {"$ref": _ref_31(response["$ref"])}
    converted: dict[str, Any] = {"description": response.get("description", "")}
    if "headers" in response:
        converted["headers"] = {
            # The header every answer carries is a component, referred to.
            name: {"$ref": f"#/components/headers/{name}"}
            if GENERATION.get(name) == header
            else _header(header)
            for name, header in response["headers"].items()
        }
    schema = response.get("schema")
    if schema is None:
        return converted
    # Errors are JSON on every route; a success answers in the operation's own types, so a
    # download's file and its JSON errors each get theirs.
    if not status.startswith("2"):
        media = [_JSON]
    elif success:
        media = success
    else:
        media = [t for t in types if t != _JSON] or [_JSON]
    others = response.get("x-media", {})
    converted["content"] = {m: {"schema": schema_31(others.get(m, schema))} for m in media}
    return converted


def _header(header: dict[str, Any]) -> dict[str, Any]:
    return {
        "description": header.get("description", ""),
        "schema": {k: header[k] for k in _SCHEMA_KEYS if k in header},
    }


def _ref_31(ref: str) -> str:
    for old, new in _REFS.items():
        if ref.startswith(old):
            return new + ref.removeprefix(old)
    return ref
