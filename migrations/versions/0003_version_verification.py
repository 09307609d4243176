"""Versions record what their plan was checked against.

Revision ID: 0003_version_verification
Revises: 0002_token_use
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

revision = "0003_version_verification"
down_revision = "0002_token_use"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("model_version") as batch:
        batch.add_column(sa.Column("verification", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("model_version") as batch:
        batch.drop_column("verification")
