"""outbox storm control: the recipient of each notice, and the digest a folded notice goes out in

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 13:10:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.add_column(sa.Column('recipient', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('digest_key', sa.String(length=200), nullable=True))
        batch_op.create_index('ix_outbox_recipient_sent', ['recipient', 'sent_at'], unique=False)
        batch_op.create_index('ix_outbox_digest', ['digest_key'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_digest')
        batch_op.drop_index('ix_outbox_recipient_sent')
        batch_op.drop_column('digest_key')
        batch_op.drop_column('recipient')
