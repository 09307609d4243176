"""SQL dialects: how each writes identifiers, literals, a float cast and a safe exp."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

from registry.errors import NotExportable

# A table name the caller may give: an identifier, optionally schema-qualified.
TABLE_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]{0,62}(\.[A-Za-z_][A-Za-z0-9_]{0,62})?$"
_TABLE_NAME = re.compile(TABLE_PATTERN.strip("^$"))
# exp of anything below this is 0 in float64; PostgreSQL raises "underflow" instead of saying 0.
_EXP_FLOOR = -745.0


@dataclass(frozen=True)
class Dialect:
    """One SQL dialect's spelling of the few things that differ between databases."""

    name: str
    float_type: str
    # How a float literal reaches the database as an exact double (see float_literal).
    float_style: str
    booleans: tuple[str, str]  # (false, true)

    def identifier(self, name: str) -> str:
        """Return ``name`` as a quoted identifier: any text, with quotes doubled."""
        if "\x00" in name:
            raise NotExportable(f"The name {name!r} holds a NUL character, which SQL cannot.")
        return '"' + name.replace('"', '""') + '"'

    def table(self, name: str) -> str:
        """Return a caller's table name (``table`` or ``schema.table``), each part quoted."""
        return ".".join(self.identifier(part) for part in name.split("."))

    def number(self, value: float) -> str:
        """Return a float64 as a literal that the database reads back as the same double."""
        value = float(value)
        if not math.isfinite(value):
            raise ValueError(f"{value!r} has no SQL literal.")
        text = repr(value)  # 17 significant digits at most: it round-trips
        # A whole number reads back exactly as any numeric type, and keeps the query legible.
        if self.float_style == "plain" or (value.is_integer() and abs(value) < 2.0**53):
            return f"({text})" if text.startswith("-") else text
        if self.float_style == "exponent":
            # An approximate numeric literal (mantissa E exponent) is a float in standard SQL.
            mantissa, _, exponent = text.partition("e")
            return f"CAST({mantissa}E{exponent or '0'} AS {self.float_type})"
        # A decimal literal would be NUMERIC/DECIMAL here: parse the text as a double instead.
        return f"CAST('{text}' AS {self.float_type})"

    def literal(self, value: Any, type_: str) -> str:
        """Return a category or class label as a literal of the feature's JSON type."""
        if isinstance(value, bool):
            return self.booleans[value]
        if isinstance(value, str):
            if "\x00" in value:
                raise NotExportable(f"The value {value!r} holds a NUL character, which SQL cannot.")
            return "'" + value.replace("'", "''") + "'"
        if isinstance(value, int) and type_ != "number":
            return str(value)
        return self.number(float(value))

    def as_float(self, expression: str) -> str:
        """Return a numeric column read as a double: integer arithmetic would truncate."""
        return f"CAST({expression} AS {self.float_type})"

    def exp_of_nonpositive(self, expression: str) -> str:
        """Return exp of a value <= 0, 0 where float64's exp is 0 (PostgreSQL would raise)."""
        return (
            f"(CASE WHEN {expression} < {self.number(_EXP_FLOOR)} THEN {self.number(0.0)} "
            f"ELSE EXP({expression}) END)"
        )


DIALECTS = {
    "postgresql": Dialect("postgresql", "DOUBLE PRECISION", "cast", ("FALSE", "TRUE")),
    "duckdb": Dialect("duckdb", "DOUBLE", "cast", ("FALSE", "TRUE")),
    "sqlite": Dialect("sqlite", "REAL", "plain", ("0", "1")),
    "ansi": Dialect("ansi", "DOUBLE PRECISION", "exponent", ("FALSE", "TRUE")),
}


def check_table_name(name: str) -> str | None:
    """Return why ``name`` is not a table name the export accepts, or None when it is."""
    if _TABLE_NAME.fullmatch(name):
        return None
    return (
        "Use a letter or underscore, then letters, digits or underscores (63 at most), "
        "optionally as schema.table."
    )
