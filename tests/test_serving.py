"""A worker's snapshot reloads only the models a change names, and everything when it must."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from registry.api.features import RowValidator
from registry.services.activation import activate_version
from registry.services.aliases import remove_alias, set_alias
from registry.services.models import delete_model, update_model
from registry.services.versions import delete_version
from registry.serving import Serving, Snapshot
from registry.snapshot import read_entries
from tests.factories import add_plan_version, house_plan

NAMES = [f"m{index}" for index in range(6)]


@pytest.fixture
def worker(app):
    """Six models of two versions each (the first active), and a worker that has loaded them."""
    for name in NAMES:
        add_plan_version(app, name, house_plan(), activate=True)
        add_plan_version(app, name, house_plan())
    serving = Serving(app.extensions["registry"].db)
    serving.snapshot()
    yield serving
    serving.close()


def _write(app, change, *args) -> None:
    with app.extensions["registry"].db.write() as session:
        change(session, *args)


def _untouched(before: Snapshot, after: Snapshot, changed: set[str]) -> None:
    """Every model but ``changed`` is the very entry the earlier snapshot held."""
    assert after.generation > before.generation
    kept = set(before.models) - changed
    assert {name for name in kept if after.models.get(name) is not before.models[name]} == set()


def test_an_activation_reloads_that_model_and_reuses_every_other_entry(app, worker):
    before = worker.snapshot()
    _write(app, activate_version, "m2", 2, "tests")
    after = worker.snapshot()
    assert after.models["m2"].active_version == 2
    assert before.models["m2"].active_version == 1
    _untouched(before, after, {"m2"})


def test_a_deleted_model_leaves_and_a_created_one_appears(app, worker):
    before = worker.snapshot()
    _write(app, delete_model, "m1", "tests")
    after = worker.snapshot()
    assert "m1" not in after.models
    _untouched(before, after, {"m1"})
    add_plan_version(app, "new", house_plan(), activate=True)
    latest = worker.snapshot()
    assert latest.models["new"].active_version == 1
    assert latest.models["new"].versions == frozenset({1})
    _untouched(after, latest, set())


def test_a_model_deleted_and_made_again_under_its_name_is_the_new_one(app, worker):
    before = worker.snapshot()
    _write(app, delete_model, "m3", "tests")
    add_plan_version(app, "m3", house_plan())
    after = worker.snapshot()
    assert after.models["m3"].id != before.models["m3"].id
    assert after.models["m3"].active_version is None
    _untouched(before, after, {"m3"})


def test_aliases_versions_and_descriptions_show_in_the_next_snapshot(app, worker):
    before = worker.snapshot()
    assert before.models["m4"].description == ""
    _write(app, set_alias, "m4", "staging", 2, "tests")
    assert worker.snapshot().models["m4"].aliases == {"staging": 2}
    _write(app, remove_alias, "m4", "staging", "tests")
    assert worker.snapshot().models["m4"].aliases == {}
    add_plan_version(app, "m5", house_plan())
    assert worker.snapshot().models["m5"].versions == frozenset({1, 2, 3})
    _write(app, delete_version, "m5", 2, "tests")
    assert worker.snapshot().models["m5"].versions == frozenset({1, 3})
    _write(app, update_model, "m0", "tests", "Prices by area.")
    after = worker.snapshot()
    assert after.models["m0"].description == "Prices by area."
    _untouched(before, after, {"m0", "m4", "m5"})


def test_plans_of_deleted_versions_and_models_are_dropped_and_others_kept(app, worker):
    for name in ("m0", "m1"):
        worker.plan(worker.snapshot().models[name], 2)

    def key(name: str, version: int) -> tuple:
        entry = worker.snapshot().models[name]
        return (entry.id, entry.created_at, version)

    kept = worker._plans[key("m1", 2)]
    gone = key("m0", 2)
    _write(app, delete_version, "m0", 2, "tests")
    worker.snapshot()
    assert gone not in worker._plans
    assert worker._plans[key("m1", 2)] is kept
    _write(app, delete_model, "m1", "tests")
    worker.snapshot()
    assert worker._plans == {}


def _raw(app, statement: str, changed) -> None:
    """Change the tables behind the services' back, and bump saying what ``changed``."""
    from registry.services.state import bump_generation

    with app.extensions["registry"].db.write() as session:
        session.execute(text(statement))
        bump_generation(session, changed)


def test_a_bump_for_every_model_reloads_them_all(app, worker):
    from registry.services.state import EVERY_MODEL

    before = worker.snapshot()
    _raw(app, "UPDATE registered_model SET description = 'bulk'", EVERY_MODEL)
    after = worker.snapshot()
    assert {entry.description for entry in after.models.values()} == {"bulk"}
    assert all(after.models[name] is not before.models[name] for name in NAMES)


def test_a_full_reload_still_reuses_the_entries_that_did_not_change(app, worker):
    from registry.services.state import EVERY_MODEL

    before = worker.snapshot()
    _raw(app, "UPDATE registered_model SET description = 'one' WHERE name = 'm2'", EVERY_MODEL)
    after = worker.snapshot()
    assert after.models["m2"].description == "one"
    _untouched(before, after, {"m2"})


def test_a_bump_for_no_model_keeps_the_models(app, worker):
    from registry.services.state import NO_MODEL

    before = worker.snapshot()
    _raw(app, "SELECT 1", NO_MODEL)
    after = worker.snapshot()
    assert after.generation == before.generation + 1
    assert after.models == before.models
    _untouched(before, after, set())


def test_a_worker_older_than_the_kept_changes_loads_everything(app, worker, monkeypatch):
    from registry.services import state

    monkeypatch.setattr(state, "KEPT_GENERATIONS", 3)
    before = worker.snapshot()
    # Seen only by a full load: the bump says no model changed.
    _raw(
        app, "UPDATE registered_model SET description = 'unsaid' WHERE name = 'm5'", state.NO_MODEL
    )
    for name in ("m0", "m1", "m2", "m3"):
        _write(app, activate_version, name, 2, "tests")
    with app.extensions["registry"].db.read() as session:
        kept = session.execute(text("SELECT generation FROM generation_change")).scalars().all()
    assert sorted(kept) == [before.generation + 3, before.generation + 4, before.generation + 5]
    after = worker.snapshot()
    assert after.models["m5"].description == "unsaid"
    assert [after.models[name].active_version for name in NAMES] == [2, 2, 2, 2, 1, 1]


def test_a_generation_written_without_its_change_row_loads_everything(app, worker):
    # What a server still running the code before the change feed would leave.
    before = worker.snapshot()
    with app.extensions["registry"].db.write() as session:
        session.execute(text("UPDATE registered_model SET description = 'old' WHERE name = 'm1'"))
        session.execute(text("UPDATE registry_state SET generation = generation + 1"))
    _write(app, activate_version, "m2", 2, "tests")
    after = worker.snapshot()
    assert after.generation == before.generation + 2
    assert after.models["m1"].description == "old"
    assert after.models["m2"].active_version == 2


def test_a_database_gone_back_to_an_older_generation_loads_everything(app, worker):
    before = worker.snapshot()
    with app.extensions["registry"].db.write() as session:
        session.execute(text("UPDATE registered_model SET description = 'restored'"))
        session.execute(text(f"UPDATE registry_state SET generation = {before.generation - 2}"))
    # No push says so on PostgreSQL (the generation went down): the database is asked.
    after = worker.snapshot(ask_database=True)
    assert after.generation == before.generation - 2
    assert {entry.description for entry in after.models.values()} == {"restored"}


def test_a_model_made_again_under_a_reused_id_is_never_answered_by_the_old_plan(app, worker):
    # SQLite hands a deleted last row's id to the next insert: the new model may have the old
    # one's id and version numbers, and a cached plan keyed by them would answer for it.
    first = house_plan()
    add_plan_version(app, "last", first, activate=True)
    entry, version, plan = worker.resolve("last")
    row = {"area": 2000.0, "bedrooms": 3.0, "bathrooms": 2.0, "age": 30.0}
    old = plan.predict(RowValidator(plan).from_rows([row])).predictions[0]
    _write(app, delete_model, "last", "tests")
    second = {**house_plan(), "intercept": [first["intercept"][0] + 1_000_000.0]}
    add_plan_version(app, "last", second, activate=True)
    again, version, plan = worker.resolve("last")
    if app.extensions["registry"].db.is_sqlite:
        assert again.id == entry.id  # the case this test is about
    new = plan.predict(RowValidator(plan).from_rows([row])).predictions[0]
    assert new == pytest.approx(old + 1_000_000.0)


def test_threads_asking_a_fresh_worker_at_once_all_see_the_models(app, worker):
    # Uploads run on pool threads beside the request thread: a thread must not be told the
    # generation is older than the one another thread is reading at the same moment (at a
    # worker's first request: -1, an empty registry, and a spurious 404).
    from concurrent.futures import ThreadPoolExecutor

    def models_seen(serving: Serving) -> set[str]:
        return set(serving.snapshot().models)

    db = app.extensions["registry"].db
    for _ in range(30):
        fresh = Serving(db)
        try:
            with ThreadPoolExecutor(4) as pool:
                seen = list(pool.map(models_seen, [fresh] * 4))
        finally:
            fresh.close()
        assert all(models == set(NAMES) for models in seen)


def test_a_restore_carried_past_the_workers_generation_loads_everything(app, worker):
    # A backup from generation R restored while the worker holds W > R, then new writes carry
    # the database past W before the worker looks: the new history's changes after W say
    # nothing of the models the discarded history changed in (R, W].
    db = app.extensions["registry"].db
    restored = worker.snapshot().generation
    _write(app, activate_version, "m2", 2, "tests")
    held = worker.snapshot()
    assert held.models["m2"].active_version == 2
    with db.write() as session:
        # The restore, by hand: back to the rows as they were at R.
        session.execute(text("UPDATE registered_model SET active_version = 1 WHERE name = 'm2'"))
        session.execute(text(f"UPDATE registry_state SET generation = {restored}"))
        session.execute(text(f"DELETE FROM generation_change WHERE generation > {restored}"))
    _write(app, activate_version, "m3", 2, "tests")
    _write(app, activate_version, "m4", 2, "tests")
    # No push says the generation went down on PostgreSQL: the database is asked.
    after = worker.snapshot(ask_database=True)
    assert after.generation == held.generation + 1
    with db.read() as session:
        assert after.models == {entry.name: entry for entry in read_entries(session, None)}
    assert after.models["m2"].active_version == 1
