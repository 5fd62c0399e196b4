"""anonymous items hide where they came from; "Send to Jerry" keeps the message's markup;
one item per message mentioning Jerry (an edit no longer makes a second item)

Revision ID: 0011
Revises: 0008
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("items") as batch:
        batch.add_column(sa.Column("source_text", sa.Text(), nullable=True))
        batch.add_column(
            sa.Column("hide_origin", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
    # Every anonymous item hides its origin: for a shared message Jerry did not record who
    # wrote it, so it may be the reporter's own. And none is answered in a public thread.
    op.execute("UPDATE items SET hide_origin = anonymous")
    op.execute(
        "UPDATE items SET reply_channel = NULL, reply_thread_ts = NULL "
        "WHERE anonymous AND source = 'shortcut'"
    )
    # Mentions and DMs are now keyed by their message, not by Slack's event: an edit of an
    # older message finds its item. Where an edit already made a twin, the first keeps the key.
    op.execute(
        "UPDATE items SET intake_key = 'message:' || channel_id || ':' || message_ts "
        "WHERE source IN ('mention', 'dm') AND channel_id IS NOT NULL "
        "AND message_ts IS NOT NULL AND id = (SELECT MIN(twin.id) FROM items AS twin "
        "WHERE twin.source IN ('mention', 'dm') AND twin.channel_id = items.channel_id "
        "AND twin.message_ts = items.message_ts)"
    )


def downgrade() -> None:
    with op.batch_alter_table("items") as batch:
        batch.drop_column("hide_origin")
        batch.drop_column("source_text")
