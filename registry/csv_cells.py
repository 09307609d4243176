"""CSV cells for people's spreadsheets: a text cell that looks like a formula stays text."""

from __future__ import annotations

from typing import Any

# A spreadsheet runs a cell that starts with one of these as a formula (CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: Any) -> Any:
    """Return a label as a spreadsheet shows it as text: a formula-like string gets a quote.

    Numbers stay numbers, negative ones too: only strings can carry a formula.
    """
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return f"'{value}"
    return value
