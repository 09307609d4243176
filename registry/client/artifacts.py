"""Model files on the client side: an estimator, path or bytes to upload, and bytes to load."""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Any

SKOPS_MAGIC = b"PK\x03\x04"


def _artifact_bytes(source: Any) -> bytes:
    if isinstance(source, (bytes, bytearray, memoryview)):
        return bytes(source)
    if isinstance(source, (str, os.PathLike)):
        return Path(source).read_bytes()
    if not hasattr(source, "predict"):
        raise TypeError(f"Expected a fitted estimator, a file path or bytes, not {source!r}.")
    import joblib

    buffer = io.BytesIO()
    joblib.dump(source, buffer)
    return buffer.getvalue()


def _load_artifact(data: bytes) -> Any:
    """Return the estimator in a model file: skops when it has the zip magic, else joblib."""
    import joblib

    if data.startswith(SKOPS_MAGIC):
        import skops.io

        return skops.io.loads(data, trusted=skops.io.get_untrusted_types(data=data))
    return joblib.load(io.BytesIO(data))
