"""applied requests: each lifecycle modal (one Slack view), and each toggle click, is applied once

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 09:20:09.910912
"""
from alembic import op
import sqlalchemy as sa


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('applied_requests',
    sa.Column('key', sa.String(length=100), nullable=False),
    sa.Column('ticket_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('applied_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], name=op.f('fk_applied_requests_ticket_id_tickets'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_applied_requests'))
    )
    with op.batch_alter_table('applied_requests', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_applied_requests_ticket_id'), ['ticket_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('applied_requests', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_applied_requests_ticket_id'))

    op.drop_table('applied_requests')
