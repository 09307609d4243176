"""Strict URL converters: a version in a path is a plain positive integer that fits the column."""

from __future__ import annotations

from werkzeug.routing import BaseConverter, ValidationError

from registry.models import MAX_VERSION


class VersionConverter(BaseConverter):
    """Matches 1, 2, ... in ASCII digits without leading zeros; anything else is not a route."""

    regex = r"[1-9][0-9]{0,9}"

    def to_python(self, value: str) -> int:
        number = int(value)
        if number > MAX_VERSION:
            raise ValidationError()
        return number

    def to_url(self, value: int) -> str:
        return str(int(value))
