"""Versions record what intake saw in their file: the names it referred to.

Revision ID: 0006_version_intake
Revises: 0005_version_evaluation
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

revision = "0006_version_intake"
down_revision = "0005_version_evaluation"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("model_version") as batch:
        batch.add_column(sa.Column("intake", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("model_version") as batch:
        batch.drop_column("intake")
