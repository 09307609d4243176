"""State keys an older library spelt differently from the installed class: renamed on reading.

scipy up to 1.14 keeps a BSpline's knots and coefficients as the attributes t and c; from 1.15
they are _t and _c, read through properties named t and c. A SplineTransformer saved with an
older scipy holds BSplines in the old spelling, which would otherwise shadow the properties.
"""

from __future__ import annotations

from typing import Any

# "module.Name" -> {old key: installed key}
RENAMED_STATE: dict[str, dict[str, str]] = {
    "scipy.interpolate._bsplines.BSpline": {"t": "_t", "c": "_c"},
}


def renamed_keys(cls: type, keys: Any) -> dict[str, str]:
    """Return the keys of a state to rename for the installed class (none if it needs none)."""
    table = RENAMED_STATE.get(f"{cls.__module__}.{cls.__qualname__}", {})
    return {
        old: new
        for old, new in table.items()
        if old in keys and new not in keys and isinstance(getattr(cls, old, None), property)
    }


def renamed_state(cls: type, state: dict[str, Any]) -> dict[str, Any]:
    """Return a plain state dict with the old spellings renamed."""
    names = renamed_keys(cls, state)
    return {names.get(key, key): value for key, value in state.items()}
