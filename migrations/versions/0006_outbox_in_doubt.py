"""outbox in doubt: since when a row's send has an unknown outcome (looked up in Slack before it is sent again)

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 12:40:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.add_column(sa.Column('in_doubt_since', sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_column('in_doubt_since')
