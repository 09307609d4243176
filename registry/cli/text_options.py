"""Click callbacks holding the stored text of the CLI to the API's rules (registry.text_rules)."""

from __future__ import annotations

import json
from typing import Any

import click

from registry.text_rules import (
    DESCRIPTION_MAX,
    FEATURE_NAME_MAX,
    TAG_KEY_MAX,
    TAG_VALUE_MAX,
    TOKEN_NAME_MAX,
    number_problem,
    shown,
    text_problem,
)


def _refuse(problem: str | None) -> None:
    # Raised in a callback, click names the option and exits 2 before the command body runs,
    # so nothing is stored.
    if problem is not None:
        raise click.BadParameter(problem)


def description_rule(ctx: click.Context, param: click.Parameter, value: str) -> str:
    """Return a --description that follows the API's rule. Raises click.BadParameter."""
    _refuse(text_problem("The description", value, DESCRIPTION_MAX))
    return value


def token_name_rule(ctx: click.Context, param: click.Parameter, value: str) -> str:
    """Return a token's --name that the database can hold. Raises click.BadParameter."""
    _refuse(text_problem("The token name", value, TOKEN_NAME_MAX, required=True))
    return value


def features_rule(ctx: click.Context, param: click.Parameter, raw: str | None) -> list[str] | None:
    """Return the comma-separated --features as names the API takes. Raises click.BadParameter."""
    if raw is None:
        return None
    names = [name.strip() for name in raw.split(",")]
    for name in names:
        # The API takes NUL in a feature name (features are never searched); so does the CLI.
        problem = text_problem("The feature name", name, FEATURE_NAME_MAX, True, allow_nul=True)
        _refuse(problem)
    return names


def tags_rule(
    ctx: click.Context, param: click.Parameter, values: tuple[str, ...]
) -> dict[str, str]:
    """Turn repeated KEY=VALUE options into tags that follow the API's rules.

    Raises click.BadParameter.
    """
    parsed = {}
    for item in values:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"Write a tag as KEY=VALUE, not {shown(item)}.")
        _refuse(text_problem("The tag key", key, TAG_KEY_MAX, required=True))
        _refuse(text_problem("The tag value", value, TAG_VALUE_MAX))
        parsed[key] = value
    return parsed


def metrics_rule(ctx: click.Context, param: click.Parameter, raw: str | None) -> dict[str, float]:
    """Return --metrics, a JSON object of finite numbers by name. Raises click.BadParameter."""
    if raw is None:
        return {}
    try:
        value: Any = json.loads(raw)
    except ValueError:
        raise click.BadParameter("Give the metrics as a JSON object.") from None
    if not isinstance(value, dict):
        raise click.BadParameter('Give the metrics as a JSON object, e.g. {"r2": 0.9}.')
    parsed = {}
    for name, number in value.items():
        _refuse(text_problem("The metric name", name, TAG_KEY_MAX, required=True))
        what = f"The metric {shown(name)}"
        if not isinstance(number, int | float) or isinstance(number, bool):
            raise click.BadParameter(f"{what} is {shown(json.dumps(number))}; give a number.")
        try:
            parsed[name] = float(number)
        except OverflowError:
            raise click.BadParameter(f"{what} is too large for a float.") from None
        # json.loads reads NaN, Infinity and 1e999 (inf); the API and PostgreSQL's JSON do not.
        _refuse(number_problem(what, parsed[name]))
    return parsed
