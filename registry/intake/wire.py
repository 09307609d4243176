"""What parent and child send each other.

The request on the child's stdin is a length-prefixed JSON header, then the artifact's bytes;
the child answers with one JSON object, whose ``referred`` list is read here.
"""

from __future__ import annotations

import json
import struct
from collections.abc import Mapping
from typing import Any, BinaryIO

_LENGTH = struct.Struct(">I")
MAX_HEADER = 8 << 20
MAX_ARTIFACT = 512 << 20
# Names an answer's ``referred`` list holds at most, and their length: allow-listed names are a
# few hundred at most; only names a file may hold inert (column selectors) are its own.
MAX_REFERRED = 300
MAX_NAME = 200


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


def referred_entries(seen: Mapping[str, int]) -> list[dict[str, Any]]:
    """Return what a file referred to as the answer sends it: by name, with counts."""
    names = sorted(seen)[:MAX_REFERRED]
    return [{"name": name[:MAX_NAME], "count": int(seen[name])} for name in names]


def read_referred(raw: Any) -> list[dict[str, Any]] | None:
    """Return an answer's ``referred`` list if it is well formed, else None (not recorded).

    It is only shown to people, so a malformed one is dropped rather than refused.
    """
    if type(raw) is not list or len(raw) > MAX_REFERRED:
        return None
    entries = []
    for entry in raw:
        if type(entry) is not dict or set(entry) != {"name", "count"}:
            return None
        name, count = entry["name"], entry["count"]
        if type(name) is not str or not 0 < len(name) <= MAX_NAME or not name.isprintable():
            return None
        if type(count) is not int or not 0 <= count < 2**31:
            return None
        entries.append({"name": name, "count": count})
    return entries
