"""The rules on text users store (descriptions, tags, metric names), for the API and the CLI."""

from __future__ import annotations

import math

# PostgreSQL text cannot hold NUL, and a NUL stored inside JSON (\u0000) broke tag searches.
NUL = "\x00"
NUL_MESSAGE = "Must not contain the NUL character (U+0000)."
DESCRIPTION_MAX = 10_000
# Metric names follow the tag-key rule: both are keys of a JSON object searched by name.
TAG_KEY_MAX = 128
TAG_VALUE_MAX = 1_000
FEATURE_NAME_MAX = 256
# The api_token.name column's length; no HTTP route creates tokens.
TOKEN_NAME_MAX = 128
SHOWN_CHARS = 40


def shown(value: str) -> str:
    """Return a value as an error message quotes it: its repr, cut short when long."""
    return repr(value) if len(value) <= SHOWN_CHARS else f"{value[:SHOWN_CHARS]!r}..."


def text_problem(
    what: str, value: str, max_chars: int, required: bool = False, allow_nul: bool = False
) -> str | None:
    """Return a sentence saying why ``value`` breaks the rule, or None when it follows it.

    ``what`` names the value in the sentence, e.g. "The tag key"; ``required`` refuses "".
    """
    if required and not value:
        return f"{what} is empty; give 1 to {max_chars} characters."
    if len(value) > max_chars:
        return f"{what} {shown(value)} is {len(value)} characters long; the most is {max_chars}."
    if NUL in value and not allow_nul:
        return f"{what} {shown(value)} holds the NUL character (U+0000), which cannot be stored."
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        # A byte that is not UTF-8 in argv arrives as a lone surrogate; HTTP refuses such text.
        return f"{what} {shown(value)} is not UTF-8 text."
    return None


def number_problem(what: str, value: float) -> str | None:
    """Return a sentence saying why a metric value cannot be stored, or None."""
    if math.isnan(value):
        return f"{what} is NaN; give a finite number."
    if math.isinf(value):
        # json.loads turns 1e999 into Infinity as well.
        sign = "-" if value < 0 else ""
        return f"{what} is {sign}Infinity (or out of range); give a finite number."
    return None
