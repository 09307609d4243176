"""Close-match suggestions for misspelt names, shared by the CLI and the Python client.

Standard library only: the client imports it without the server's dependencies.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence


def close_match(name: str, candidates: Iterable[str]) -> str | None:
    """Return the candidate most like ``name``, or None when none is close."""
    found = difflib.get_close_matches(name, list(candidates), n=1, cutoff=0.6)
    return found[0] if found else None


def name_absent(absent: Sequence[str], candidates: Iterable[str]) -> str:
    """Return the absent names, quoted, each with a close match among the candidates.

    ``'area' (did you mean 'area_sqft'?), 'age'``
    """
    spare = list(candidates)
    parts = []
    for name in absent:
        close = close_match(name, spare)
        parts.append(f"{name!r} (did you mean {close!r}?)" if close else repr(name))
    return ", ".join(parts)
