"""The request the parent writes to the child's stdin: a length-prefixed JSON header, then bytes."""

from __future__ import annotations

import json
import struct
from typing import Any, BinaryIO

_LENGTH = struct.Struct(">I")
MAX_HEADER = 8 << 20
MAX_ARTIFACT = 512 << 20


class WireError(ValueError):
    """The request on stdin is not a well-formed intake request."""


def encode_request(header: dict[str, Any], data: bytes) -> bytes:
    """Return the request bytes for a header (it gains the artifact size) and an artifact."""
    raw = json.dumps({**header, "size": len(data)}).encode()
    return _LENGTH.pack(len(raw)) + raw + data


def _read_exactly(stream: BinaryIO, size: int) -> bytes:
    chunks, remaining = [], size
    while remaining:
        chunk = stream.read(remaining)
        if not chunk:
            raise WireError("The request ended early.")
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)


def read_request(stream: BinaryIO) -> tuple[dict[str, Any], bytes]:
    """Return the header and the artifact bytes of a request."""
    (length,) = _LENGTH.unpack(_read_exactly(stream, _LENGTH.size))
    if length > MAX_HEADER:
        raise WireError("The request header is too large.")
    header = json.loads(_read_exactly(stream, length))
    if type(header) is not dict:
        raise WireError("The request header is not an object.")
    size = header.get("size")
    if type(size) is not int or not 0 <= size <= MAX_ARTIFACT:
        raise WireError("The request size is not valid.")
    return header, _read_exactly(stream, size)
