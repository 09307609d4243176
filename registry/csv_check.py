"""Cheap checks of a training CSV in the parent: text, header, target and size, in milliseconds."""

from __future__ import annotations

import csv
import io

from registry.errors import InvalidTrainingData, PayloadTooLarge

_SHOWN_COLUMNS = 20


def _invalid(message: str, field: str = "data") -> InvalidTrainingData:
    return InvalidTrainingData(message, {field: [message]})


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def check_csv(data: bytes, target: str, max_rows: int, max_columns: int) -> tuple[int, int]:
    """Refuse a CSV that no child needs to see: not UTF-8, no header, no such target, too big.

    Return its (rows, columns). Rows are counted as lines after the header (a quoted value
    holding a line break counts twice). Raises InvalidTrainingData (422) or PayloadTooLarge
    (413).
    """
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise _invalid(f"The CSV is not UTF-8 text (byte {error.start} is not).") from None
    if not text.strip():
        raise _invalid("The CSV is empty.")
    try:
        header = next(csv.reader(io.StringIO(text)), [])
    except csv.Error as error:
        raise _invalid(f"The CSV's header line could not be read: {error}.") from None
    if not any(name.strip() for name in header):
        raise _invalid("The CSV's first line is empty; it must name the columns.")
    if all(_is_number(name) for name in header):
        raise _invalid("The CSV's first line holds numbers, not column names; add a header line.")
    if len(header) > max_columns:
        raise PayloadTooLarge(
            f"The CSV has {len(header)} columns, more than the {max_columns} this registry "
            "trains on (REGISTRY_MAX_CSV_COLUMNS).",
            {"data": [f"At most {max_columns} columns."]},
        )
    if target not in header:
        shown = ", ".join(repr(name) for name in header[:_SHOWN_COLUMNS])
        more = f" and {len(header) - _SHOWN_COLUMNS} more" if len(header) > _SHOWN_COLUMNS else ""
        raise _invalid(
            f"The CSV has no column {target!r} to use as the target; it has {shown}{more}.",
            "target",
        )
    rows = text.count("\n", text.find("\n") + 1) + (not text.endswith("\n"))
    if rows > max_rows:
        raise PayloadTooLarge(
            f"The CSV has {rows} rows, more than the {max_rows} this registry trains on "
            "(REGISTRY_MAX_CSV_ROWS).",
            {"data": [f"At most {max_rows} rows."]},
        )
    return rows, len(header)
