"""The JSON schemas of the protocol routes' bodies and answers, as Swagger 2.0 definitions.

Swagger 2.0 cannot say "exactly one of these forms": ``x-oneOf`` carries the forms and
openapi.json says them as ``oneOf``. Bodies are the same for every model; a model's own row
schema is in its section of the document and at ``/schema``.
"""

from __future__ import annotations

from typing import Any

from registry.protocols.tensors import DTYPES


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/definitions/{name}"}


def _object(properties: dict[str, Any], required: list[str] | None = None) -> dict[str, Any]:
    """An object of ``properties``, each of them required unless ``required`` names some."""
    return {
        "type": "object",
        "required": list(properties) if required is None else required,
        "properties": properties,
    }


_ANY: dict[str, Any] = {}
_STRING = {"type": "string"}
_BOOLEAN = {"type": "boolean"}
_STRINGS = {"type": "array", "items": {"type": "string"}}
_ROWS = {
    "type": "array",
    "minItems": 1,
    "description": "Rows: objects of feature values, or lists of values in the feature order "
    "of /v2/models/{name} (a one-feature model also takes plain values)",
    "items": _ANY,
}
_COLUMNS_OR_ROWS = {
    "description": "Rows as in 'instances', or columns: {feature: [values]} (one row of plain "
    "values also reads)",
}
_TENSOR_PARAMETERS = {
    "type": "object",
    "properties": {
        "binary_data_size": {
            "type": "integer",
            "minimum": 0,
            "description": "Binary tensor extension: the tensor's bytes follow the JSON header",
        },
        "binary_data": {"type": "boolean", "description": "Ask for this output as binary data"},
    },
}
_SHAPE = {"type": "array", "minItems": 1, "items": {"type": "integer", "minimum": 0}}
_TENSOR_SPEC = _object(
    {
        "name": _STRING,
        "datatype": {"type": "string", "enum": list(DTYPES)},
        "shape": {"type": "array", "items": {"type": "integer"}},
    }
)
_PREDICTIONS_EXAMPLE = {
    "model": "house-prices",
    "version": 1,
    "predictions": [325930.43839132343, 492982.11821904674],
}


def _one_of(properties: dict[str, Any], forms: list[str], **extra: Any) -> dict[str, Any]:
    """An object of ``properties`` that holds exactly one of ``forms`` (oneOf in 3.1)."""
    others = {k: v for k, v in properties.items() if k not in forms}
    return {
        "type": "object",
        "properties": properties,
        "additionalProperties": False,
        **extra,
        "x-oneOf": [
            {
                "type": "object",
                "required": [form],
                "properties": {form: properties[form], **others},
                "additionalProperties": False,
            }
            for form in forms
        ],
    }


DEFINITIONS: dict[str, Any] = {
    "ProtocolError": {
        **_object(
            {
                "error": {"type": "string", "description": "One human sentence"},
                "code": {"type": "string", "description": "The registry's stable snake_case code"},
                "errors": {
                    "type": "object",
                    "additionalProperties": _ANY,
                    "description": "field -> messages; for a batch, row -> field -> messages",
                },
            },
            ["error"],
        ),
        "example": {"error": "Input 'area' holds 2 values; its shape [1] needs 1."},
    },
    "ProtocolPredictions": {
        "type": "object",
        "required": ["model", "version", "predictions"],
        "description": "The native batch answer, naming the version that computed it",
        "properties": {
            "model": {"type": "string"},
            "version": {"type": "integer", "minimum": 1},
            "predictions": {
                "type": "array",
                "items": _ANY,
                "description": "One per row: a number, or a logistic model's class label",
            },
            "probabilities": {
                "type": "array",
                "items": {"type": "object", "additionalProperties": {"type": "number"}},
                "description": "Logistic models: per row, class label -> probability",
            },
            "imputed": {
                "type": "array",
                "items": _STRINGS,
                "description": "Per row, the features filled in; only when a row lacked one",
            },
        },
        "example": _PREDICTIONS_EXAMPLE,
    },
    "KServeV1Request": _one_of(
        {
            "instances": _ROWS,
            "inputs": _COLUMNS_OR_ROWS,
            "signature_name": {"type": "string", "description": "Accepted and ignored"},
            "parameters": {"type": "object", "description": "Accepted and ignored"},
            "id": {"description": "Accepted and ignored"},
        },
        ["instances", "inputs"],
        description="Exactly one of 'instances' or 'inputs'",
        example={"signature_name": "serving_default", "instances": [[1500, 3, 2, 10]]},
    ),
    "KServeV1Status": _object(
        {
            "name": _STRING,
            "ready": _BOOLEAN,
            "model_version_status": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "version": _STRING,
                        "state": _STRING,
                        "status": {
                            "type": "object",
                            "properties": {"error_code": _STRING, "error_message": _STRING},
                        },
                    },
                },
            },
        }
    ),
    "MlflowRequest": _one_of(
        {
            "dataframe_split": {
                "type": "object",
                "required": ["data"],
                "description": "pandas' to_dict(orient='split'); the index is ignored",
                "properties": {
                    "columns": _STRINGS,
                    "data": {
                        "type": "array",
                        "minItems": 1,
                        "items": {"type": "array", "items": _ANY},
                    },
                    "index": {"type": "array", "items": _ANY},
                },
            },
            "dataframe_records": {
                "type": "array",
                "minItems": 1,
                "items": {"type": "object"},
                "description": "Rows as objects of feature values",
            },
            "instances": {"description": _ROWS["description"]},
            "inputs": _COLUMNS_OR_ROWS,
            "params": {"type": "object", "description": "Accepted and ignored"},
        },
        ["dataframe_split", "dataframe_records", "instances", "inputs"],
        description="Exactly one of dataframe_split, dataframe_records, instances or inputs",
        example={
            "dataframe_split": {
                "columns": ["area", "bedrooms", "bathrooms", "age"],
                "data": [[1500, 3, 2, 10]],
            }
        },
    ),
    "MlflowPing": _object(
        {"status": _STRING, "model": _STRING, "version": {"type": "integer", "minimum": 1}},
        ["status"],
    ),
    "OipTensor": _object(
        {
            "name": {"type": "string", "minLength": 1},
            "datatype": {"type": "string", "enum": list(DTYPES)},
            "shape": _SHAPE,
            "data": {"description": "Row-major values, flat or nested; absent for binary data"},
            "parameters": _TENSOR_PARAMETERS,
        },
        ["name", "datatype", "shape"],
    ),
    "OipInferRequest": {
        "type": "object",
        "required": ["inputs"],
        "description": "One tensor per feature ([rows] or [rows, 1], named as the feature), or "
        "one 2-D tensor [rows, features] in the metadata's order",
        "properties": {
            "id": {"type": "string"},
            "parameters": {
                "type": "object",
                "properties": {"binary_data_output": {"type": "boolean"}},
            },
            "inputs": {"type": "array", "minItems": 1, "items": _ref("OipTensor")},
            "outputs": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["name"],
                    "properties": {
                        "name": {"type": "string"},
                        "parameters": _TENSOR_PARAMETERS,
                    },
                },
            },
        },
        "example": {
            "inputs": [
                {"name": "area", "datatype": "FP64", "shape": [1], "data": [1500]},
                {"name": "bedrooms", "datatype": "FP64", "shape": [1], "data": [3]},
            ]
        },
    },
    "OipInferResponse": _object(
        {
            "model_name": _STRING,
            "model_version": _STRING,
            "id": _STRING,
            "outputs": {"type": "array", "items": _ref("OipTensor")},
        },
        ["model_name", "model_version", "outputs"],
    ),
    "OipServerMetadata": _object({"name": _STRING, "version": _STRING, "extensions": _STRINGS}),
    "OipModelMetadata": _object(
        {
            "name": _STRING,
            "versions": _STRINGS,
            "platform": _STRING,
            "inputs": {"type": "array", "items": _TENSOR_SPEC},
            "outputs": {"type": "array", "items": _TENSOR_SPEC},
        }
    ),
    "OipModelReady": _object({"name": _STRING, "version": _STRING, "ready": _BOOLEAN}),
    "OipLive": _object({"live": _BOOLEAN}),
    "OipReady": _object({"ready": _BOOLEAN, "error": _STRING}, ["ready"]),
}
