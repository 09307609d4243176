"""The body shapes several protocols share: rows as objects, rows as lists, named columns."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from registry.api.features import RowValidator
from registry.api.jsonio import check_depth
from registry.api.predict import check_count
from registry.errors import BadRequest, RegistryError


def columns_from_rows(
    rows: Any, validator: RowValidator, max_rows: int, field: str
) -> dict[str, Any]:
    """Return validated columns for a list of rows: objects by name, or lists in feature order.

    A model with one feature also takes a list of plain values, one per row.
    Raises BadRequest, PayloadTooLarge, ValidationFailed.
    """
    if not isinstance(rows, list) or not rows:
        raise BadRequest(f"'{field}' must be a non-empty list of rows.")
    check_count(len(rows), max_rows)
    if all(isinstance(row, dict) for row in rows):
        return validator.from_rows(rows)
    names = list(validator.names)
    if len(names) == 1 and not any(isinstance(row, (dict, list)) for row in rows):
        rows = [[value] for value in rows]
    if all(isinstance(row, list) for row in rows):
        for index, row in enumerate(rows):
            if len(row) != len(names):
                raise BadRequest(
                    f"Row {index} of '{field}' has {len(row)} values; a row in feature order "
                    f"has {len(names)}: {', '.join(names)}.",
                    {field: [f"Row {index} must hold {len(names)} values."]},
                )
        return validator.from_table(names, rows)
    raise BadRequest(
        f"Every row of '{field}' must be an object of feature values, or every row a list of "
        "values in feature order."
    )


def columns_from_mapping(
    mapping: dict[str, Any], validator: RowValidator, max_rows: int, field: str
) -> dict[str, Any]:
    """Return validated columns for ``{feature: [values]}`` (or one row of plain values).

    Raises BadRequest, PayloadTooLarge, ValidationFailed.
    """
    if not mapping:
        raise BadRequest(f"'{field}' names no features.")
    values = list(mapping.values())
    if not any(isinstance(v, (list, dict)) for v in values):
        return validator.from_rows([mapping])
    if not all(isinstance(v, list) for v in values):
        raise BadRequest(f"Every value of '{field}' must be a list: a feature's column.")
    lengths = {len(v) for v in values}
    if len(lengths) != 1 or 0 in lengths:
        raise BadRequest(f"The columns of '{field}' must be non-empty and of one length.")
    check_count(lengths.pop(), max_rows)
    return validator.from_table(list(mapping), [list(row) for row in zip(*values, strict=True)])


def depth_checked_if_refused(
    body: Any, ignored: tuple[str, ...], columns: Callable[[], dict[str, Any]]
) -> dict[str, Any]:
    """Return ``columns()``, checking the body's nesting only when it is refused.

    As on the native routes (see predict.parse_body_rows): accepted rows hold only scalars,
    so only a refused body needs the costly walk, to answer invalid_json. Keys the protocol
    ignores are walked at once: nothing else would look at them.
    Raises InvalidJson, and whatever ``columns`` raises.
    """
    if isinstance(body, dict):
        for key in ignored:
            if key in body:
                check_depth(body[key])
    try:
        return columns()
    except RegistryError:
        check_depth(body)
        raise
