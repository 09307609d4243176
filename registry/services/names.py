"""The naming rule for models and aliases."""

from __future__ import annotations

import re

from registry.errors import InvalidName

NAME_PATTERN = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")


def is_valid_name(name: str) -> bool:
    """Tell whether a model or alias name follows the rule."""
    return isinstance(name, str) and NAME_PATTERN.fullmatch(name) is not None


def check_model_name(name: str, field: str = "name") -> None:
    """Raise InvalidName unless ``name`` follows the model-name rule."""
    if not is_valid_name(name):
        raise InvalidName(
            "A name is 1 to 64 characters of a-z, 0-9, '-' and '_', starting with a letter "
            "or digit.",
            {field: ["Use 1 to 64 characters of a-z 0-9 - _, starting with a letter or digit."]},
        )


def check_alias_name(alias: str) -> None:
    """Raise InvalidName unless ``alias`` follows the model-name rule and is not all digits."""
    check_model_name(alias, "alias")
    if alias.isdigit():
        raise InvalidName(
            "An alias cannot be all digits: it would read as a version number.",
            {"alias": ["An alias cannot be all digits."]},
        )
