"""Access to the current app's Registry object from request handlers."""

from __future__ import annotations

from typing import TYPE_CHECKING

from flask import current_app

if TYPE_CHECKING:
    from registry.state import Registry


def registry() -> Registry:
    """Return the Registry object of the app serving this request."""
    return current_app.extensions["registry"]
