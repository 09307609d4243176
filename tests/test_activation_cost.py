"""Activation and rollback cost the same statements and rows after 20 or 300 activations."""

from __future__ import annotations

from sqlalchemy import event

from registry.services.activation import activate_version, rollback
from tests.factories import add_plan_version, house_plan


def _cost(app, action) -> tuple[int, int]:
    """Run ``action`` in a write unit; return its statements and the rows its SELECTs return."""
    registry = app.extensions["registry"]
    engine = registry.db.engine
    statements: list[tuple[str, object]] = []

    def capture(_conn, _cursor, statement, parameters, _context, _many) -> None:
        statements.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", capture)
    try:
        with registry.db.write() as session:
            action(session)
    finally:
        event.remove(engine, "before_cursor_execute", capture)
    rows = 0
    with engine.connect() as connection:
        # Each SELECT again, on the state after the action: the rows it hands back.
        for statement, parameters in statements:
            if statement.lstrip().upper().startswith("SELECT"):
                rows += len(connection.exec_driver_sql(statement, parameters).all())
        connection.rollback()
    return len(statements), rows


def _flip(app, times: int) -> None:
    """Activate versions 1 and 2 in turn, ``times`` times, ending with version 2."""
    registry = app.extensions["registry"]
    for index in range(times):
        with registry.db.write() as session:
            version = 2 if (times - index) % 2 == 1 else 1
            activate_version(session, "house-prices", version, "tests")


def test_activation_and_rollback_cost_does_not_grow_with_history(app):
    add_plan_version(app, "house-prices", house_plan(), activate=True)
    add_plan_version(app, "house-prices", house_plan())

    def activate(session) -> None:
        activate_version(session, "house-prices", 2, "tests", force=True)

    def step_back(session) -> None:
        rollback(session, "house-prices", "tests")

    _flip(app, 20)
    short = (_cost(app, step_back), _cost(app, activate))
    _flip(app, 300)
    long = (_cost(app, step_back), _cost(app, activate))
    assert long == short


def test_the_migration_rebuilds_the_stack_from_the_event_history(tmp_path):
    from sqlalchemy import text

    from registry.db import connect
    from registry.migrate import upgrade

    database = connect(f"sqlite:///{tmp_path / 'old.db'}")
    upgrade(database.engine, "0003_version_verification")
    history = [("activated", 1, 1), ("activated", 2, 2), ("activated", 3, 3)]
    history += [("rolled_back", 2, 2), ("activated", 4, 3)]
    with database.engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO registered_model (id, name, description, tags, last_version, "
                "created_at, updated_at) VALUES (1, 'm', '', '{}', 4, '2026-01-01', '2026-01-01')"
            )
        )
        for action, version, depth in history:
            connection.execute(
                text(
                    "INSERT INTO event (model_id, version, action, actor, at, detail) "
                    "VALUES (1, :version, :action, 'tests', '2026-01-01', :detail)"
                ),
                {"version": version, "action": action, "detail": f'{{"depth": {depth}}}'},
            )
    upgrade(database.engine)
    with database.engine.connect() as connection:
        stack = connection.execute(
            text("SELECT depth, version FROM activation_stack WHERE model_id = 1 ORDER BY depth")
        ).all()
    database.dispose()
    assert [tuple(row) for row in stack] == [(1, 1), (2, 2), (3, 4)]
