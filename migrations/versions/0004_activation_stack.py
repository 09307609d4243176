"""The activation stack as rows, so activation and rollback stop replaying the event history.

Revision ID: 0004_activation_stack
Revises: 0003_version_verification
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

revision = "0004_activation_stack"
down_revision = "0003_version_verification"
branch_labels = None
depends_on = None


def upgrade() -> None:
    stack_table = op.create_table(
        "activation_stack",
        sa.Column("model_id", sa.Integer(), nullable=False),
        sa.Column("depth", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["model_id"],
            ["registered_model.id"],
            name="fk_activation_stack_model_id_registered_model",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("model_id", "depth", name="pk_activation_stack"),
    )
    # Replay each model's activations and rollbacks once, as the service used to on every call.
    event = sa.table(
        "event",
        sa.column("id", sa.Integer()),
        sa.column("model_id", sa.Integer()),
        sa.column("version", sa.Integer()),
        sa.column("action", sa.String()),
        sa.column("detail", sa.JSON()),
    )
    rows = op.get_bind().execute(
        sa.select(event.c.model_id, event.c.version, event.c.action, event.c.detail)
        .where(event.c.action.in_(("activated", "rolled_back")))
        .order_by(event.c.id)
    )
    stacks: dict[int, list[int]] = {}
    for model_id, version, action, detail in rows:
        stack = stacks.setdefault(model_id, [])
        if action == "activated":
            stack.append(version)
        else:
            del stack[detail["depth"] :]
    entries = [
        {"model_id": model_id, "depth": depth, "version": version}
        for model_id, stack in stacks.items()
        for depth, version in enumerate(stack, start=1)
    ]
    if entries:
        op.bulk_insert(stack_table, entries)


def downgrade() -> None:
    op.drop_table("activation_stack")
