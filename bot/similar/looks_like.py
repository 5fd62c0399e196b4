"""What a lead's card shows of the items that look like its item ("Looks like #12 (open,
3 reporters) and #40 (resolved: fixed)"), for the person reading that card.

The items are the item's suggestions (bot/similar/suggestions.py: looked up once, kept on
the item, so the reporter and the lead see the same ones), each as it is now. The text of
one is shown only to a reader who may see it (bot/items/cards.py `may_see`): another team's
item shows its number and status, as "Duplicate of #N" does for its reporter.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy.ext.asyncio import AsyncSession

from bot.items.cards import may_see
from bot.items.demand import demand_of
from bot.items.domain import LooksLike
from bot.items.store import team_and_area, triage_team
from bot.similar.suggestions import suggestions_for
from models.items import CLOSED_STATUSES, Item

PREVIEW = 200  # characters of a suggested item's text kept for the card (the view cuts more)


def shows_looks_like(item: Item) -> bool:
    """Only an item still open (not resolved, not merged) offers to merge it."""
    return item.status not in CLOSED_STATUSES and item.merged_into is None


async def looks_like(
    session: AsyncSession,
    item: Item,
    reader: str | None,
    *,
    threshold: float,
    admins: Iterable[str],
) -> tuple[LooksLike, ...]:
    """The items like `item` as `reader` may see them, best first; () for a closed item.
    The first call for an item looks them up and stores them (in the caller's transaction)."""
    if not shows_looks_like(item):
        return ()
    found = await suggestions_for(session, item, threshold=threshold)
    if not found:
        return ()
    demand = await demand_of(session, [s.id for s in found])
    triage = await triage_team(session)
    triage_lead = triage.lead if triage is not None else None
    admins = tuple(admins or ())
    shown: list[LooksLike] = []
    for suggestion in found:
        other = await session.get(Item, suggestion.id)
        if other is None:
            continue
        team, _ = await team_and_area(session, other)
        visible = bool(reader) and may_see(
            other, team, reader or "", admins, triage_lead=triage_lead
        )
        people = demand[suggestion.id].people if suggestion.id in demand else 1
        shown.append(
            LooksLike(
                id=suggestion.id,
                kind=suggestion.kind,
                status=suggestion.status,
                outcome=suggestion.outcome,
                people=max(people, 1),
                text=suggestion.text[: PREVIEW * 2] if visible else None,
            )
        )
    return tuple(shown)
