"""The change feed: per generation, the model that changed (or all, or none).

Revision ID: 0008_generation_change
Revises: 0007_strip_nul
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

revision = "0008_generation_change"
down_revision = "0007_strip_nul"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Empty at first: a worker finds no row for the generations before, and loads everything.
    op.create_table(
        "generation_change",
        sa.Column("generation", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("model_id", sa.Integer(), nullable=True),
        sa.Column("is_bulk", sa.Boolean(), nullable=False),
        sa.Column("nonce", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("generation", name="pk_generation_change"),
    )


def downgrade() -> None:
    op.drop_table("generation_change")
