"""Versions trained here keep a small view of their held-out split.

Revision ID: 0005_version_evaluation
Revises: 0004_activation_stack
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

revision = "0005_version_evaluation"
down_revision = "0004_activation_stack"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("model_version") as batch:
        batch.add_column(sa.Column("evaluation", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("model_version") as batch:
        batch.drop_column("evaluation")
