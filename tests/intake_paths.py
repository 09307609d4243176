"""Both ways intake starts its child: a fresh interpreter, or a fork of the zygote."""

from __future__ import annotations

import pytest

from registry.intake.sandbox import IntakeLimits

PATHS = {"fresh": IntakeLimits(zygote=False), "zygote": IntakeLimits(zygote=True)}


@pytest.fixture(params=sorted(PATHS), name="limits")
def limits_fixture(request: pytest.FixtureRequest) -> IntakeLimits:
    """The intake limits of one path; a test taking it runs on each."""
    return PATHS[request.param]
