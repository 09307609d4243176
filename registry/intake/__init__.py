"""Safe intake: open an uploaded artifact in a sandbox and bring back a validated plan."""

from __future__ import annotations

from typing import Any

__all__ = ["IntakeResult", "inspect_artifact"]


def __getattr__(name: str) -> Any:
    # Lazy, so that the sandboxed child can import its own modules and set its resource
    # limits before numpy and the parent's code are loaded.
    if name in __all__:
        from registry.intake import sandbox

        return getattr(sandbox, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
