"""The change feed: every bump says what it changed, and only the last generations are kept."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from registry.services import state
from registry.services.activation import activate_version
from registry.services.state import EVERY_MODEL, NO_MODEL, bump_generation, changed_since
from tests.factories import add_plan_version, house_plan


def _generation(session) -> int:
    return session.execute(text("SELECT generation FROM registry_state")).scalar_one()


def test_the_change_feed_keeps_only_the_last_generations(app, monkeypatch):
    monkeypatch.setattr(state, "KEPT_GENERATIONS", 5)
    add_plan_version(app, "m", house_plan(), activate=True)
    add_plan_version(app, "m", house_plan())
    for index in range(12):
        with app.extensions["registry"].db.write() as session:
            activate_version(session, "m", 1 + index % 2, "tests")
    with app.extensions["registry"].db.read() as session:
        generation = _generation(session)
        kept = session.execute(text("SELECT generation FROM generation_change")).scalars().all()
    assert sorted(kept) == list(range(generation - 4, generation + 1))


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ([1, NO_MODEL, 2, 1], frozenset({1, 2})),
        ([NO_MODEL], frozenset()),
        ([1, EVERY_MODEL, 2], None),
    ],
)
def test_changed_since_names_the_models_bumped_after_a_generation(app, changes, expected):
    db = app.extensions["registry"].db
    with db.read() as session:
        start = _generation(session)
    for changed in changes:
        with db.write() as session:
            bump_generation(session, changed)
    with db.read() as session:
        assert changed_since(session, start, start + len(changes)) == expected
        assert changed_since(session, start + len(changes), start + len(changes)) == frozenset()


def test_changed_since_cannot_say_past_a_generation_without_its_row(app):
    db = app.extensions["registry"].db
    with db.write() as session:
        bump_generation(session, 1)
        start = _generation(session)
        # What a server older than the feed writes: the generation alone.
        session.execute(text("UPDATE registry_state SET generation = generation + 1"))
    with db.write() as session:
        bump_generation(session, 2)
    with db.read() as session:
        assert changed_since(session, start, start + 2) is None
        assert changed_since(session, start + 1, start + 2) == frozenset({2})
        # A database behind the worker (restored) cannot say either.
        assert changed_since(session, start + 5, start + 2) is None
