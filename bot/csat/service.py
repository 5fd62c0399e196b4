"""Did this help? After an item is resolved, its reporter may be asked, with three buttons
(didn't help, somewhat, helped) and an optional comment.

Who is asked (`maybe_ask`, in the resolution's transaction): a share of resolved items
(`JERRY_CSAT_SHARE`, chosen by the item's number so every process agrees), never the same
person twice within `JERRY_CSAT_COOLDOWN_DAYS`, never for a merged duplicate, an imported
item without a reporter, or one its reporter resolved themselves. An anonymous item's
reporter is asked by DM (never in a thread others see), and their answer is stored without
them, like an anonymous survey's. Each answer reaches the item's lead under its card (for an
anonymous item, without a name) and counts in the insights' CSAT per team and period.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import Settings
from bot.errors import KeyedRefusal
from bot.items.domain import NO_REPORTER
from bot.items.store import add_event, get_item
from bot.outbox.store import enqueue
from models.base import utcnow
from models.csat import CsatAnswer, CsatAsk
from models.items import Item

ASK = "csat_ask"  # outbox purposes (bot/csat/delivery.py)
TO_LEAD = "csat_lead"
SCORES = (1, 2, 3)  # didn't help, somewhat, helped
COMMENT_LIMIT = 2000


@dataclass(frozen=True)
class CsatPolicy:
    share: float  # of resolved items whose reporter is asked
    cooldown: timedelta  # between two asks to one person

    @classmethod
    def from_settings(cls, settings: Settings) -> CsatPolicy | None:
        if settings.jerry_csat_share <= 0:
            return None
        return cls(settings.jerry_csat_share, timedelta(days=settings.jerry_csat_cooldown_days))

    def samples(self, item_id: int) -> bool:
        """Whether this item is in the sample: the same answer in every process."""
        digest = hashlib.sha256(f"csat:{item_id}".encode()).digest()
        return int.from_bytes(digest[:4], "big") / 2**32 < self.share


class CsatRefusal(KeyedRefusal):
    field = "comment"


async def maybe_ask(
    session: AsyncSession,
    item: Item,
    policy: CsatPolicy | None,
    *,
    resolved_by: str,
    now: datetime,
) -> bool:
    """Owe "did this help?" to the item's reporter if it is their turn (see the module)."""
    if policy is None or not policy.samples(item.id):
        return False
    if item.merged_into is not None or item.outcome == "duplicate":
        return False
    if item.reporter_id in (NO_REPORTER, resolved_by):
        return False
    recent = await session.execute(
        select(CsatAsk.item_id)
        .where(CsatAsk.reporter_id == item.reporter_id, CsatAsk.asked_at > now - policy.cooldown)
        .limit(1)
    )
    if recent.first() is not None or await session.get(CsatAsk, item.id) is not None:
        return False
    session.add(CsatAsk(item_id=item.id, reporter_id=item.reporter_id, asked_at=now))
    enqueue(session, ASK, item=item)
    return True


async def record(
    sessions: async_sessionmaker[AsyncSession],
    item_id: int,
    user: str,
    score: int,
    *,
    comment: str | None = None,
) -> Item:
    """The reporter's answer (the latest click stands; a comment is added to it)."""
    if score not in SCORES:
        raise CsatRefusal("csat.refused.score")
    async with sessions() as session:
        item = await get_item(session, item_id)
        ask = await session.get(CsatAsk, item_id)
        if item is None or ask is None or item.reporter_id != user:
            raise CsatRefusal("csat.refused.not_yours", id=item_id)
        answer = await session.get(CsatAnswer, item_id)
        now = utcnow()
        text = (comment or "").strip()[:COMMENT_LIMIT] or None
        new = answer is None
        if answer is None:
            answer = CsatAnswer(item_id=item_id, score=score, answered_at=now)
            session.add(answer)
        changed = new or answer.score != score or (text is not None and text != answer.comment)
        answer.score = score
        answer.team_id = item.team_id
        answer.reporter_id = None if item.anonymous else user
        answer.answered_at = now
        if text is not None:
            answer.comment = text
        if changed:
            # The event says it was answered, never by whom for an anonymous item.
            add_event(session, item, "jerry" if item.anonymous else user, "csat", score=score)
            if item.assignee_id:
                enqueue(
                    session,
                    TO_LEAD,
                    item=item,
                    recipient=item.assignee_id,
                    score=score,
                    comment=text or "",
                )
        await session.commit()
        return item
