"""Product updates as plain data: the values an update may take, the form's limits and the
card views render (bot/updates/service.py builds cards from the database).

No I/O and nothing of Jerry's imported here, so views (bot/views/) import it without
importing the service or the models.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

UPDATE_KINDS = ("shipped", "upcoming")
AUDIENCES = ("internal", "customer")
CONFIDENCES = ("committed", "likely", "exploring")
TITLE_LIMIT = 300  # the column's size, counted as stored (escaped: "&" is "&amp;")
IMPACT_LIMIT = 3000  # what the form's input accepts
LINK_LIMIT = 2000
ITEMS_LIMIT = 20  # items one update may name
ITEM_NUMBER = r"(?<![\w&])#([1-9][0-9]{0,9})\b"  # "#12", not "&#12" nor "a#12"


@dataclass(frozen=True)
class UpdateCard:
    """An update as views render it."""

    id: int
    kind: str
    title: str
    customer_impact: str | None
    area: str | None
    area_id: int | None
    link: str | None
    shipped_on: date | None
    target_date: date | None
    confidence: str | None
    audience: str
    author_id: str | None
    status: str
    created_at: datetime
    updated_at: datetime
    withdrawn_at: datetime | None = None
    from_feed: bool = False
    # The items it answers (#12 in its text, or listed in the form): everyone who asked
    # hears "it shipped" (bot/trackers/shipping.py), and how many were told.
    items: tuple[int, ...] = ()
    told: int = 0
