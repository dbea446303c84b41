"""applied modal submissions: each lifecycle modal (one Slack view) is applied once

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
    op.create_table('applied_submissions',
    sa.Column('view_id', sa.String(length=64), nullable=False),
    sa.Column('ticket_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('applied_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], name=op.f('fk_applied_submissions_ticket_id_tickets'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('view_id', name=op.f('pk_applied_submissions'))
    )
    with op.batch_alter_table('applied_submissions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_applied_submissions_ticket_id'), ['ticket_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('applied_submissions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_applied_submissions_ticket_id'))

    op.drop_table('applied_submissions')
