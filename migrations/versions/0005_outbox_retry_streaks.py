"""outbox retry streaks: when the last attempt was, and since when a row keeps failing (for the day limit)

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 10:27:15.802073
"""
from alembic import op
import sqlalchemy as sa


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.add_column(sa.Column('last_attempt_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('failing_since', sa.DateTime(timezone=True), nullable=True))



def downgrade() -> None:
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_column('failing_since')
        batch_op.drop_column('last_attempt_at')

