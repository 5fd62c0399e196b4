"""the similarity index over items (issue 12): each item's encoded text, and the counter that
tells every process which entries are new

Revision ID: 0022
Revises: 0021
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0022"
down_revision: str | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "similar_entries",
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("area_id", sa.Integer(), nullable=True),
        sa.Column("encoding", sa.String(length=60), nullable=False),
        sa.Column("lexical", sa.LargeBinary(), nullable=False),
        sa.Column("vector", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["item_id"],
            ["items.id"],
            name=op.f("fk_similar_entries_item_id_items"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("item_id", name=op.f("pk_similar_entries")),
    )
    op.create_index("ix_similar_entries_seq", "similar_entries", ["seq"])
    op.create_table(
        "similar_state",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("generation", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_similar_state")),
    )
    # Its one row exists from the start: writers only ever update it (and lock it).
    op.execute("INSERT INTO similar_state (id, seq, generation) VALUES (1, 0, 0)")


def downgrade() -> None:
    op.drop_table("similar_state")
    op.drop_index("ix_similar_entries_seq", table_name="similar_entries")
    op.drop_table("similar_entries")
