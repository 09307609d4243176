"""Bounded error bodies: a few entries and messages each, then how many more there were.

An error body is paid for by the server and sent to a client that may be hostile, so its size
must follow the limits here, never the number of bad rows, fields or enum values it describes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

MAX_ROWS = 10
MAX_FIELDS = 10
MAX_MESSAGES = 3
MAX_KEY = 64
MAX_TEXT = 300
ENUM_SHOWN = 5
ENUM_WHOLE = 10
ENUM_VALUE = 40
MORE = "_more"


def clip(text: str, limit: int) -> str:
    """Return ``text`` cut to ``limit`` characters, marked when cut."""
    return text if len(text) <= limit else f"{text[: limit - 3]}..."


def enum_text(choices: Sequence[Any]) -> str:
    """Return "a, b, c" for a short enum, else its first values and its size."""
    shown = [
        clip(str(c), ENUM_VALUE)
        for c in choices[: ENUM_WHOLE if len(choices) <= ENUM_WHOLE else ENUM_SHOWN]
    ]
    if len(choices) <= ENUM_WHOLE:
        return ", ".join(shown)
    return f"{', '.join(shown)}, ... ({len(choices):,} values)"


def cap_fields(messages: dict[Any, Any]) -> dict[str, Any]:
    """Return one row's field -> messages with a few fields and messages, keys clipped."""
    capped: dict[str, Any] = {}
    extra = 0
    for key, value in messages.items():
        if key == MORE:
            capped[MORE] = value
        elif len(capped) - (MORE in capped) >= MAX_FIELDS:
            extra += 1
        else:
            capped[clip(str(key), MAX_KEY)] = cap_value(value)
    if extra:
        capped[MORE] = [f"And {extra} more fields with problems."]
    return capped


def cap_value(value: Any) -> Any:
    """Return a message list (or a nested field map) with its size bounded."""
    if isinstance(value, dict):
        return cap_fields(value)
    if isinstance(value, list):
        kept = [clip(str(m), MAX_TEXT) for m in value[:MAX_MESSAGES]]
        if len(value) > MAX_MESSAGES:
            kept.append(f"And {len(value) - MAX_MESSAGES} more messages.")
        return kept
    return clip(str(value), MAX_TEXT)


def cap_rows(errors: dict[str, Any], unlisted: int) -> dict[str, Any]:
    """Return row -> field -> messages for the listed rows, plus how many more rows failed."""
    capped = {row: cap_value(fields) for row, fields in errors.items()}
    if unlisted:
        capped[MORE] = [f"And {unlisted} more rows with invalid values."]
    return capped
