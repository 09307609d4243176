"""Give the C allocator's free memory back to the operating system after a large build."""

from __future__ import annotations

import ctypes


def release_free_memory() -> bool:
    """Return freed heap pages to the system (glibc's malloc_trim); False where unsupported.

    Building thousands of models' documentation allocates and frees a few hundred MB in small
    pieces; glibc keeps those pages in the process (its RSS) unless asked to return them.
    """
    try:
        trim = ctypes.CDLL(None).malloc_trim
    except (AttributeError, OSError):  # not glibc (musl, macOS): nothing to ask
        return False
    return bool(trim(0))
