"""The change feed: every bump says what it changed, and only the last generations are kept."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from registry.services import state
from registry.services.activation import activate_version
from registry.services.state import (
    EVERY_MODEL,
    NO_MODEL,
    bump_generation,
    changed_since,
    newest_nonce,
)
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


def _since(session, generation: int, newest: int) -> frozenset[int] | None:
    """The models changed after ``generation``, for a snapshot that read its row as it is."""
    return changed_since(session, generation, newest_nonce(session, generation), newest).models


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
    with db.write() as session:
        # The snapshot's own generation has its row, as any written since the feed.
        bump_generation(session, NO_MODEL)
        start = _generation(session)
    for changed in changes:
        with db.write() as session:
            bump_generation(session, changed)
    end = start + len(changes)
    with db.read() as session:
        assert _since(session, start, end) == expected
        assert _since(session, end, end) == frozenset()
        # What the next snapshot remembers: the nonce of the newest generation's row.
        assert changed_since(session, start, newest_nonce(session, start), end).nonce == (
            newest_nonce(session, end)
        )


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
        assert _since(session, start, start + 2) is None
        # A snapshot of a generation without its row remembers no nonce: it cannot say either.
        assert newest_nonce(session, start + 1) is None
        assert _since(session, start + 1, start + 2) is None
        # A database behind the worker (restored) cannot say either.
        assert _since(session, start + 5, start + 2) is None


def test_changed_since_cannot_say_when_the_snapshots_own_row_is_another(app):
    # A restore behind the snapshot, then writes past it: the row of its generation is new.
    db = app.extensions["registry"].db
    with db.write() as session:
        bump_generation(session, 1)
        start = _generation(session)
    with db.write() as session:
        bump_generation(session, 2)
    with db.read() as session:
        nonce = newest_nonce(session, start)
        assert changed_since(session, start, nonce, start + 1).models == frozenset({2})
        assert changed_since(session, start, nonce + 1, start + 1).models is None
        assert changed_since(session, start, None, start + 1).models is None
