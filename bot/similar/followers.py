"""What the followers of a kept item hear: its reporter's news reaches every reporter of the
items merged into it (bot/similar/merge.py: an item with `merged_into = K` follows K).

Whenever K's reporter is owed news of K — the lead took it (acknowledged, or taken from the
late message, or asked its reporter for details), the lead's answer, its resolution, its
reopening — `owe_to_followers` owes each follower's reporter the same news, in THEIR own
thread of THEIR item (its reply thread, else their DM thread for it), in their language,
saying which item it is about ("Update on #12, which your pain point #45 follows"). What is
for K's reporter alone is not sent on: the lead's questions for details and their reminders,
the conversation in K's threads, the receipt.

Each delivery's item is the follower item, so the outbox's lanes (one per reporter), threads
and fallbacks (a gone thread: by DM) work as for any reporter message; its params carry the
kept item's number (`kept`) and the news (`news`). bot/relay/follower_delivery.py sends
them. A follower unmerged (or moved on to another kept item) before its news is sent does
not get it: it is not theirs any more.

A follower whose reporter is K's own reporter, or who follows K with several items, is told
once (in the thread of their oldest such item); anonymous followers get their news like
anyone and are never named to anyone; reporters who left Slack (as Jerry's cache of people
knows) and imported items without a reporter are not written to.

A follower writing under their merged item (bot/relay/conversation.py): while K is not
resolved, their message goes to K's lead, in the thread of K's card, as from a follower (the
follower hears once that it went there, "passed_on"); once K is resolved it is held, and
they are told K is resolved, with "Ask a new question" ("held").
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.items.demand import NOBODY
from bot.outbox.store import enqueue
from bot.similar.merge import followers
from models.conversation import RelayedMessage
from models.items import Item
from models.users import SlackUser

FOLLOWER_NEWS = "follower_news"  # the outbox purpose: one follower's news of their kept item

# The news a kept item's followers hear (each rendered by bot/views/followers.py):
ANSWER = "answer"  # params: answer, by, team
ACKNOWLEDGED = "acknowledged"  # params: who, team
RESOLUTION = "resolution"  # params: by, team, outcome, note, duplicate_of
REOPENED = "reopened"  # params: who, team, by_reporter, what (the lead's words only)
# Answers to a follower writing under their merged item (not owed through owe_to_followers).
PASSED_ON = "passed_on"  # their message went to the kept item's lead
HELD = "held"  # the kept item is resolved: their message was not passed on
NEWS = (ANSWER, ACKNOWLEDGED, RESOLUTION, REOPENED, PASSED_ON, HELD)


async def owe_to_followers(session: AsyncSession, item: Item, news: str, **params: Any) -> int:
    """Owe every follower of `item` (the kept item) the news `news`, with `params` (what the
    view needs, plain JSON), in the caller's transaction; how many were owed.

    Call it wherever `item`'s reporter is owed news of it (bot/relay/lead_actions.py,
    resolution.py, conversation.py, bot/sla/late_actions.py). Issue 14's "it shipped" notice
    calls it too: add its news kind to NEWS and its words to bot/views/followers.py.
    """
    if news not in NEWS:
        raise ValueError(f"unknown follower news {news!r}")
    following = await followers(session, item.id)
    if not following:
        return 0
    told: set[str] = {item.reporter_id, *NOBODY}
    gone = await _left_slack(session, {follower.reporter_id for follower in following})
    owed = 0
    for follower in following:  # oldest first: a person's oldest item carries their news
        person = follower.reporter_id
        if person in told or person in gone:
            continue
        told.add(person)
        enqueue(session, FOLLOWER_NEWS, item=follower, news=news, kept=item.id, **params)
        owed += 1
    return owed


async def _left_slack(session: AsyncSession, people: Collection[str]) -> set[str]:
    """Those of `people` Jerry knows to have left Slack (deactivated)."""
    ids = [person for person in people if person and person not in NOBODY]
    if not ids:
        return set()
    rows = await session.execute(
        select(SlackUser.id).where(SlackUser.id.in_(ids), SlackUser.deleted.is_(True))
    )
    return set(rows.scalars())


async def passed_on_before(session: AsyncSession, follower: Item, kept_id: int) -> bool:
    """Whether a message of `follower`'s reporter already went to `kept_id`'s lead (then they
    were told where it goes, and are not told again)."""
    count = await session.execute(
        select(func.count()).where(
            RelayedMessage.item_id == follower.id, RelayedMessage.to_item_id == kept_id
        )
    )
    return int(count.scalar_one()) > 1  # the one just stored counts too
