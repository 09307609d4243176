"""Tokens: when each was last used and when it was revoked.

Revision ID: 0002_token_use
Revises: 0001_initial
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

revision = "0002_token_use"
down_revision = "0001_initial"
branch_labels = None
depends_on = None

AWARE = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("api_token") as batch:
        batch.add_column(sa.Column("revoked_at", AWARE, nullable=True))
        batch.add_column(sa.Column("last_used_at", AWARE, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("api_token") as batch:
        batch.drop_column("last_used_at")
        batch.drop_column("revoked_at")
