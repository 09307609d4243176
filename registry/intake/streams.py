"""Recognise a joblib file's compression as joblib does, and decompress it under a size cap."""

from __future__ import annotations

import bz2
import lzma
import zlib
from typing import Any

from registry.errors import InvalidArtifact, UntrustedArtifact

_ZFILE_PREFIX = b"ZF"
_LZ4_PREFIX = b"\x04\x22\x4d\x18"
_ZIP_PREFIX = b"PK\x03\x04"
_CHUNK = 1 << 20


def _decompressor(data: bytes) -> Any:
    # The prefixes joblib.compressor registers, checked in the same spirit as
    # joblib.numpy_pickle_utils._detect_compressor.
    if data.startswith(b"\x1f\x8b"):
        return zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    if data.startswith(b"x"):
        return zlib.decompressobj(wbits=zlib.MAX_WBITS)
    if data.startswith(b"BZ"):
        return bz2.BZ2Decompressor()
    if data.startswith(b"\xfd7zXZ"):
        return lzma.LZMADecompressor(format=lzma.FORMAT_XZ)
    if data.startswith(b"]\x00\x00\x80\x00"):
        return lzma.LZMADecompressor(format=lzma.FORMAT_ALONE)
    return None


def _bounded(decompressor: Any, data: bytes, max_bytes: int) -> bytes:
    out = bytearray()
    pending = data
    is_zlib = not hasattr(decompressor, "needs_input")
    while not decompressor.eof:
        chunk = decompressor.decompress(pending, min(_CHUNK, max_bytes + 1 - len(out)))
        out += chunk
        if len(out) > max_bytes:
            raise UntrustedArtifact(
                f"The file expands to more than {max_bytes >> 20} MiB when decompressed."
            )
        # zlib keeps unread input in unconsumed_tail; bz2 and lzma buffer it themselves.
        pending = decompressor.unconsumed_tail if is_zlib else b""
        stalled = not pending if is_zlib else decompressor.needs_input
        if not chunk and stalled:
            raise InvalidArtifact("The compressed file is truncated.")
    if decompressor.unused_data:
        raise InvalidArtifact("The compressed file has data after its end.")
    return bytes(out)


def open_stream(data: bytes, *, max_bytes: int) -> bytes:
    """Return the pickle bytes of a joblib file: decompressed if joblib compressed it.

    Raises InvalidArtifact for empty, truncated or unknown files and UntrustedArtifact for
    joblib's legacy ZF format or a decompression bomb.
    """
    if not data:
        raise InvalidArtifact("The file is empty.")
    if data.startswith(_ZFILE_PREFIX):
        raise UntrustedArtifact(
            "The file uses joblib's legacy ZF format, which is not accepted; save the model "
            "again with a current joblib."
        )
    if data.startswith(_LZ4_PREFIX):
        raise InvalidArtifact(
            "lz4 compression is not supported; save the model with zlib, gzip, bz2, xz or lzma "
            "compression, or none."
        )
    if data.startswith(_ZIP_PREFIX):
        raise InvalidArtifact("The file looks like a skops file; upload it as a skops artifact.")
    decompressor = _decompressor(data)
    if decompressor is None:
        if len(data) > max_bytes:
            raise InvalidArtifact(f"The file is larger than {max_bytes >> 20} MiB.")
        return data
    try:
        return _bounded(decompressor, data, max_bytes)
    except (zlib.error, OSError, EOFError, lzma.LZMAError, ValueError) as exc:
        raise InvalidArtifact("The file is compressed but cannot be decompressed.") from exc
