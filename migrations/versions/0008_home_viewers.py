"""home viewers: who opened the App Home (and the levels they answered for), so a ticket change
re-publishes only their Home; indexes for the Home's per-section queries

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 15:40:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'home_viewers',
        sa.Column('user_id', sa.String(length=32), nullable=False),
        sa.Column('opened_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('levels', sa.String(length=400), server_default=',', nullable=False),
        sa.PrimaryKeyConstraint('user_id', name=op.f('pk_home_viewers')),
    )


def downgrade() -> None:
    op.drop_table('home_viewers')
