"""CSV prediction bodies: a header of names, cells typed by the version's features; CSV answers.

A CSV cell is text, so each one is read as its feature's JSON type would carry it (an empty
cell is a missing value); a cell that does not read as that type is passed on as text, so
that validation names it, field by field, as it does for JSON.
"""

from __future__ import annotations

import csv
import io
import math
from collections import Counter
from dataclasses import dataclass
from typing import Any

from registry.api.error_caps import MAX_ROWS, cap_rows
from registry.csv_cells import csv_cell
from registry.errors import BadRequest, PayloadTooLarge, ValidationFailed
from registry.plans import Plan

_TRUE = frozenset({"true", "1"})
_FALSE = frozenset({"false", "0"})
# Columns of a CSV answer besides the passthrough ones (see answer_csv).
_ANSWER_COLUMNS = ("prediction", "imputed")
_ANSWER_PREFIXES = ("probability_", "contribution_")


class _NotFinite(ValueError):
    """A number cell too large for a float (1e400): validation names it, as for JSON."""


@dataclass(frozen=True)
class CsvTable:
    """A parsed CSV body: the columns sent to validation, and the columns set aside."""

    names: list[str]
    rows: list[list[Any]]
    kept: dict[str, list[str]]


def _number(text: str) -> Any:
    # Only what a JSON number could say: Python's int() and float() also read other scripts'
    # digits, "1_0", "NaN" and "inf", which would be guesses. Checked around the conversions,
    # which stay the fast path.
    if not text.isascii() or "_" in text:
        return text
    try:
        return int(text)
    except ValueError:
        pass
    try:
        value = float(text)
    except ValueError:
        return text
    if math.isfinite(value):
        return value
    if any(c.isdigit() for c in text):
        raise _NotFinite  # a number past a float's range, such as 1e400
    return text  # NaN, inf, Infinity


def _boolean(text: str) -> Any:
    lowered = text.lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    return text


_READERS = {"number": _number, "integer": _number, "boolean": _boolean, "string": str}


def _reader(plan: Plan, name: str) -> Any:
    for feature in plan.features:
        if feature.name == name:
            return _READERS[feature.type]
    return str  # an ignored input, or an unknown column validation will name


def read_csv_table(data: bytes, plan: Plan, max_rows: int, keep: list[str]) -> CsvTable:
    """Parse a CSV body whose header names the columns; ``keep`` columns are set aside.

    A kept column that is also a feature is both scored and kept.
    Raises BadRequest (not CSV, ragged, no rows, unknown kept column), PayloadTooLarge.
    """
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise BadRequest(f"The CSV is not UTF-8 text (byte {error.start} is not).") from None
    try:
        lines = list(csv.reader(io.StringIO(text, newline=""), strict=True))
    except csv.Error as error:
        raise BadRequest(f"The CSV could not be read: {error}.") from None
    lines = [line for line in lines if line]
    if not lines:
        raise BadRequest("The CSV is empty; its first line must name the columns.")
    header, body = [name.strip() for name in lines[0]], lines[1:]
    if len(set(header)) != len(header):
        twice = next(name for name, count in Counter(header).items() if count > 1)
        raise BadRequest(f"The CSV's header names a column twice: {twice!r}.")
    unknown = [name for name in keep if name not in header]
    if unknown:
        raise BadRequest(
            f"The CSV has no column {unknown[0]!r} to pass through.",
            {"passthrough": [f"No column {unknown[0]!r} in the CSV's header."]},
        )
    if not body:
        raise BadRequest("The CSV has a header but no rows to predict.")
    if len(body) > max_rows:
        raise PayloadTooLarge(f"A request holds at most {max_rows} rows; this one has {len(body)}.")
    for number, line in enumerate(body, start=2):
        if len(line) != len(header):
            raise BadRequest(
                f"Line {number} of the CSV has {len(line)} cells; the header names {len(header)}."
            )
    features = {f.name for f in plan.features}
    scored = [i for i, name in enumerate(header) if name not in keep or name in features]
    readers = [_reader(plan, header[i]) for i in scored]
    try:
        rows = [
            [
                None if line[i] == "" else read(line[i])
                for i, read in zip(scored, readers, strict=True)
            ]
            for line in body
        ]
    except _NotFinite:
        raise _not_finite(header, body, scored, readers) from None
    kept = {name: [line[header.index(name)] for line in body] for name in keep}
    return CsvTable([header[i] for i in scored], rows, kept)


def _not_finite(
    header: list[str], body: list[list[str]], scored: list[int], readers: list[Any]
) -> ValidationFailed:
    """Return the 422 naming, row by row, the number cells no float can hold."""
    errors: dict[str, Any] = {}
    for row, line in enumerate(body):
        for i, read in zip(scored, readers, strict=True):
            if read is _number and line[i] != "":
                try:
                    read(line[i])
                except _NotFinite:
                    errors.setdefault(str(row), {})[header[i]] = ["Must be a finite number."]
    count = len(errors)
    shown = dict(list(errors.items())[:MAX_ROWS])
    summary = "1 row has" if count == 1 else f"{count} rows have"
    return ValidationFailed(f"{summary} invalid values.", cap_rows(shown, count - len(shown)))


def check_passthrough_for_csv(keep: list[str]) -> None:
    """Refuse passthrough columns named as a CSV answer's own columns: one would hide the other.

    Raises BadRequest.
    """
    for name in keep:
        if name in _ANSWER_COLUMNS or name.startswith(_ANSWER_PREFIXES):
            raise BadRequest(
                f"The passthrough column {name!r} has the name of a column of the CSV answer.",
                {"passthrough": [f"{name!r} is a column of the answer; rename it in the CSV."]},
            )


def passthrough_names(raw: str | None) -> list[str]:
    """Return the column names of a ``passthrough`` query parameter (comma-separated)."""
    if not raw:
        return []
    names = [name.strip() for name in raw.split(",") if name.strip()]
    return list(dict.fromkeys(names))


def _flatten(prefix: str, value: Any, out: dict[str, Any]) -> None:
    if isinstance(value, dict):
        for key, part in value.items():
            _flatten(f"{prefix}_{key}", part, out)
    else:
        out[prefix] = value


def _cell(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return ""
    return csv_cell(value)


def answer_csv(answer: dict[str, Any], kept: dict[str, list[str]]) -> bytes:
    """Return a batch answer as CSV: kept columns, prediction, probability_<class>, parts,
    and the features filled in (names joined by ";") when a row lacked one.

    Every text cell that a spreadsheet would run as a formula is written as text.
    """
    predictions = answer["predictions"]
    probabilities = answer.get("probabilities")
    contributions = answer.get("contributions")
    imputed = answer.get("imputed")
    records = []
    for index, prediction in enumerate(predictions):
        record: dict[str, Any] = {name: values[index] for name, values in kept.items()}
        record["prediction"] = prediction
        if probabilities is not None:
            for label, p in probabilities[index].items():
                record[f"probability_{label}"] = p
        if contributions is not None:
            _flatten("contribution", contributions[index], record)
        if imputed is not None:
            record["imputed"] = ";".join(imputed[index])
        records.append(record)
    buffer = io.StringIO()
    # Quoting every string keeps a label's line breaks inside its cell.
    writer = csv.writer(buffer, quoting=csv.QUOTE_NONNUMERIC, lineterminator="\n")
    writer.writerow([_cell(name) for name in records[0]])
    for record in records:
        writer.writerow([_cell(value) for value in record.values()])
    return buffer.getvalue().encode()
