"""Limits on what an intake answer may hold, checked before the plan is compiled."""

from __future__ import annotations

from typing import Any

from registry.errors import TooManyCategories


def count_categories(raw_plan: dict[str, Any]) -> int:
    """Return how many one-hot categories a raw plan's features list; junk counts as none."""
    features = raw_plan.get("features")
    if type(features) is not list:
        return 0
    return sum(len(f["enum"]) for f in features if type(f) is dict and type(f.get("enum")) is list)


def check_categories(raw_plan: dict[str, Any], limit: int) -> None:
    """Refuse a plan with more one-hot categories than ``limit``. Raises TooManyCategories."""
    count = count_categories(raw_plan)
    if count > limit:
        raise TooManyCategories(
            f"The model has {count:,} one-hot categories; this registry accepts at most "
            f"{limit:,} per version (REGISTRY_MAX_CATEGORIES)."
        )
