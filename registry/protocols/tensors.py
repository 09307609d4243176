"""Open Inference Protocol tensors: JSON and binary data in, plain Python values out, and back.

A tensor is ``{"name", "datatype", "shape", "data"}``; with the binary tensor extension its
data is raw little-endian bytes after the JSON header (``parameters.binary_data_size``), and
BYTES elements are each a 4-byte length and UTF-8 text.
"""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass
from typing import Any

import numpy as np

from registry.errors import BadRequest

# The datatypes a feature or an output can take, and their little-endian numpy layouts.
DTYPES = {
    "BOOL": "?",
    "UINT8": "<u1",
    "UINT16": "<u2",
    "UINT32": "<u4",
    "UINT64": "<u8",
    "INT8": "<i1",
    "INT16": "<i2",
    "INT32": "<i4",
    "INT64": "<i8",
    "FP16": "<f2",
    "FP32": "<f4",
    "FP64": "<f8",
    "BYTES": None,
}
FEATURE_DATATYPES = {"number": "FP64", "integer": "INT64", "boolean": "BOOL", "string": "BYTES"}


@dataclass(frozen=True)
class Tensor:
    """One input tensor: its name, shape and elements as plain Python values, row-major."""

    name: str
    shape: tuple[int, ...]
    values: list[Any]

    @property
    def rows(self) -> int:
        return self.shape[0] if self.shape else 1


def _flatten(data: Any) -> list[Any]:
    if not isinstance(data, list):
        return [data]
    if not any(isinstance(item, list) for item in data):
        return data
    flat: list[Any] = []
    stack = [iter(data)]
    while stack:
        for item in stack[-1]:
            if isinstance(item, list):
                stack.append(iter(item))
                break
            flat.append(item)
        else:
            stack.pop()
    return flat


def _binary_values(raw: bytes, datatype: str, where: str) -> list[Any]:
    if datatype == "BYTES":
        values, offset = [], 0
        while offset < len(raw):
            if offset + 4 > len(raw):
                raise BadRequest(f"{where}: a BYTES element's length is cut off.")
            (size,) = struct.unpack_from("<I", raw, offset)
            offset += 4
            if offset + size > len(raw):
                raise BadRequest(f"{where}: a BYTES element is shorter than its length.")
            try:
                values.append(raw[offset : offset + size].decode("utf-8"))
            except UnicodeDecodeError:
                raise BadRequest(f"{where}: a BYTES element is not UTF-8 text.") from None
            offset += size
        return values
    dtype = np.dtype(DTYPES[datatype])
    if len(raw) % dtype.itemsize:
        raise BadRequest(f"{where}: {len(raw)} bytes are not a whole number of {datatype}.")
    values = np.frombuffer(raw, dtype=dtype).tolist()
    if datatype.startswith("FP"):
        # NaN is how a binary float tensor says "missing": null, as in JSON.
        return [None if math.isnan(v) else v for v in values]
    return values


def read_tensor(raw: Any, index: int, binary: bytes | None) -> Tensor:
    """Return one tensor of an inference request; ``binary`` is its binary data, if any.

    Raises BadRequest naming the tensor and what is wrong with it.
    """
    if not isinstance(raw, dict):
        raise BadRequest(f"inputs[{index}] must be a tensor object.")
    name, datatype, shape = raw.get("name"), raw.get("datatype"), raw.get("shape")
    where = f"Input {name!r}" if isinstance(name, str) else f"inputs[{index}]"
    if not isinstance(name, str) or not name:
        raise BadRequest(f"{where} has no 'name'.")
    if datatype not in DTYPES:
        raise BadRequest(
            f"{where} has datatype {datatype!r}; use one of {', '.join(DTYPES)}.",
            {f"inputs.{name}.datatype": [f"Must be one of: {', '.join(DTYPES)}."]},
        )
    if (
        not isinstance(shape, list)
        or not shape
        or not all(isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in shape)
    ):
        raise BadRequest(f"{where} needs a 'shape': a list of non-negative integers.")
    if binary is not None:
        values = _binary_values(binary, datatype, where)
    elif "data" in raw:
        values = _flatten(raw["data"])
    else:
        raise BadRequest(f"{where} has no 'data'.")
    if len(values) != math.prod(shape):
        raise BadRequest(
            f"{where} holds {len(values)} values; its shape {shape} needs {math.prod(shape)}."
        )
    return Tensor(name, tuple(shape), values)


def output_tensor(name: str, datatype: str, shape: list[int], values: list[Any]) -> dict[str, Any]:
    """Return an output tensor with its data as JSON."""
    return {"name": name, "datatype": datatype, "shape": shape, "data": values}


def binary_data(datatype: str, values: list[Any]) -> bytes:
    """Return the binary tensor extension's bytes of flat ``values``."""
    if datatype == "BYTES":
        parts = []
        for value in values:
            encoded = str(value).encode("utf-8")
            parts.append(struct.pack("<I", len(encoded)) + encoded)
        return b"".join(parts)
    return np.asarray(values, dtype=DTYPES[datatype]).tobytes()


def label_datatype(classes: list[Any] | None) -> str:
    """Return the datatype of a model's predictions: FP64, or the class labels' type."""
    if not classes:
        return "FP64"
    if all(isinstance(c, bool) for c in classes):
        return "BOOL"
    if all(isinstance(c, int) and not isinstance(c, bool) for c in classes):
        return "INT64"
    if all(isinstance(c, (int, float)) and not isinstance(c, bool) for c in classes):
        return "FP64"
    return "BYTES"
