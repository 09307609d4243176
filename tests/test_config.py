"""Settings read from REGISTRY_* variables, and the refusal of unusable ones."""

from __future__ import annotations

import pytest

from config import Config, ConfigError


def test_plan_cache_size_is_read_from_the_environment(monkeypatch):
    assert Config.from_env().plan_cache_size == Config().plan_cache_size
    monkeypatch.setenv("REGISTRY_PLAN_CACHE_SIZE", "7")
    assert Config.from_env().plan_cache_size == 7


@pytest.mark.parametrize(
    "raw, message",
    [
        ("0", "REGISTRY_PLAN_CACHE_SIZE must be at least 1, not 0."),
        ("-5", "REGISTRY_PLAN_CACHE_SIZE must be at least 1, not -5."),
        ("many", "REGISTRY_PLAN_CACHE_SIZE must be a whole number, not 'many'."),
    ],
)
def test_unusable_plan_cache_size_is_refused_by_name(monkeypatch, raw, message):
    monkeypatch.setenv("REGISTRY_PLAN_CACHE_SIZE", raw)
    with pytest.raises(ConfigError) as refused:
        Config.from_env()
    assert str(refused.value) == message
