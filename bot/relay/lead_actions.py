"""What team leads do with an item, and what Jerry does when a message cannot be delivered.

Each action checks who is acting, records an event, changes the item, and owes the
messages that follow (to the reporter, and the lead's DM re-rendered), in one transaction.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.errors import Refusal
from bot.i18n import t
from bot.items.cards import load_card, may_act
from bot.items.domain import TRIAGE_TEAM_NAME, ItemCard, ReassignTarget, row_id
from bot.items.store import (
    add_event,
    claim_state,
    forget_lead_dm,
    get_item,
    team_and_area,
    triage_team,
)
from bot.outbox.store import enqueue
from bot.similar import followers
from bot.triage import alert_triage, late_item_moved
from models.base import utcnow
from models.deliveries import Delivery
from models.items import Item
from models.routing import Area, Team

ANSWER_LIMIT = 40_000


class ItemNotFoundError(Refusal):
    def __init__(self, item_id: int) -> None:
        super().__init__(item_id)
        self.item_id = item_id

    def message(self, lang: str) -> str:
        # The same words as for someone not allowed: an item number reveals nothing.
        return t("refusal.not_allowed", lang, id=self.item_id)


class NotAllowedError(Refusal):
    def __init__(self, item_id: int) -> None:
        super().__init__(item_id)
        self.item_id = item_id

    def message(self, lang: str) -> str:
        return t("refusal.not_allowed", lang, id=self.item_id)


class ChangedMeanwhileError(Refusal):
    """Another action changed the item between reading it and changing it (two clicks at
    the same moment): this one is not applied, and says so."""

    def __init__(self, item_id: int) -> None:
        super().__init__(item_id)
        self.item_id = item_id

    def message(self, lang: str) -> str:
        return t("refusal.changed_meanwhile", lang, id=self.item_id)


class InvalidActionError(ValueError):
    """The action makes no sense in the item's state (e.g. an empty answer)."""


class RefusedError(Refusal, InvalidActionError):
    """A refusal with a clear answer for the person acting: a catalog key and its params."""

    def __init__(self, key: str, field: str = "", **params: object) -> None:
        super().__init__(key)
        self.key, self.field, self.params = key, field, params

    def message(self, lang: str) -> str:
        return t(self.key, lang, **self.params)


@dataclass(frozen=True)
class ActionResult:
    card: ItemCard
    language: str


async def load_for_action(
    session: AsyncSession,
    item_id: int,
    actor: str,
    admins: Iterable[str],
    *,
    for_update: bool = True,
) -> tuple[Item, Team | None, Area | None]:
    """The item, its team and area, if `actor` may act on it (else ItemNotFound/NotAllowed).

    `for_update`: the caller is about to change it, so the item is also claimed in the state
    just read (ChangedMeanwhileError if another action changed it since)."""
    item = await get_item(session, item_id, for_update=for_update)
    if item is None:
        raise ItemNotFoundError(item_id)
    team, area = await team_and_area(session, item)
    if not may_act(item, team, actor, admins, triage_lead=await triage_lead(session)):
        raise NotAllowedError(item_id)
    if for_update and not await claim_state(session, item):
        raise ChangedMeanwhileError(item_id)
    return item, team, area


async def triage_lead(session: AsyncSession) -> str | None:
    triage = await triage_team(session)
    return triage.lead if triage is not None else None


async def check_can_act(
    sessions: async_sessionmaker[AsyncSession], item_id: int, actor: str, admins: Iterable[str]
) -> ItemCard:
    """For opening a modal: the item's card if `actor` may act on it."""
    async with sessions() as session:
        item, _, _ = await load_for_action(session, item_id, actor, admins, for_update=False)
        return await load_card(session, item)


async def open_card(
    sessions: async_sessionmaker[AsyncSession], item_id: int, actor: str, admins: Iterable[str]
) -> None:
    """`actor` clicked "Open" on an item in a digest: its card is owed to them, as a new DM
    (bot/relay/digest.py); for its lead, that card is the item's lead DM from then on."""
    async with sessions() as session:
        item, _, _ = await load_for_action(session, item_id, actor, admins, for_update=False)
        enqueue(session, "lead_dm", item=item, recipient=actor, open=True)
        await session.commit()


def update_lead_dm(session: AsyncSession, item: Item) -> None:
    """Re-render the lead's DM: now, or once the DM is out (and, for an item that went late,
    its message in the triage channel and the escalation DMs)."""
    late_item_moved(session, item)
    if item.lead_dm_channel and item.lead_dm_ts:
        enqueue(
            session, "lead_dm_update", item=item, channel=item.lead_dm_channel, ts=item.lead_dm_ts
        )
    else:
        # The DM is not out yet; the update must wait for it, so it renders from the item then.
        enqueue(session, "lead_dm_update", item=item)


def retire_lead_dm(
    session: AsyncSession, item: Item, *, handed_to: str, reader: str | None
) -> None:
    """The item leaves its lead: their DM is marked handed to `handed_to` (in `reader`'s
    language) and forgotten, so the next lead gets a fresh one."""
    late_item_moved(session, item)
    if item.lead_dm_channel and item.lead_dm_ts:
        enqueue(
            session,
            "lead_dm_update",
            item=item,
            channel=item.lead_dm_channel,
            ts=item.lead_dm_ts,
            reassigned_to=handed_to,
            reader=reader,
        )
    forget_lead_dm(item)


async def acknowledge(
    sessions: async_sessionmaker[AsyncSession], item_id: int, actor: str, admins: Iterable[str]
) -> ItemCard:
    try:
        return await _acknowledge(sessions, item_id, actor, admins)
    except ChangedMeanwhileError:
        # Clicked twice, or by two people at once: acknowledged by the other click, this one
        # answers like a click on an item acknowledged already.
        async with sessions() as session:
            item, _, _ = await load_for_action(session, item_id, actor, admins, for_update=False)
            if item.status == "open":
                raise
            return await load_card(session, item)


async def _acknowledge(
    sessions: async_sessionmaker[AsyncSession], item_id: int, actor: str, admins: Iterable[str]
) -> ItemCard:
    async with sessions() as session:
        item, team, _ = await load_for_action(session, item_id, actor, admins)
        if item.status == "open":
            now = utcnow()
            item.status = "acknowledged"
            item.acknowledged_at = item.acknowledged_at or now
            item.acknowledged_by = actor
            add_event(session, item, actor, "acknowledged")
            update_lead_dm(session, item)
            enqueue(
                session,
                "reporter_notice",
                item=item,
                notice="acknowledged",
                who=actor,
                team=team.name if team else "",
            )
            await followers.owe_to_followers(
                session, item, followers.ACKNOWLEDGED, who=actor, team=team.name if team else ""
            )
        card = await load_card(session, item)
        await session.commit()
        return card


async def answer(
    sessions: async_sessionmaker[AsyncSession],
    item_id: int,
    actor: str,
    text: str,
    admins: Iterable[str],
    *,
    share: bool = False,
) -> ItemCard:
    """`share`: the lead ticked "share in the weekly summary" (questions only); the flag
    follows the latest answer."""
    text = text.strip()
    if not text:
        raise InvalidActionError("empty answer")
    text = text[:ANSWER_LIMIT]
    async with sessions() as session:
        item, team, _ = await load_for_action(session, item_id, actor, admins)
        if item.status == "resolved":  # the reporter was told it is closed: reopen first
            raise RefusedError("answer.error_resolved", "answer", id=item.id)
        now = utcnow()
        item.answer_text = text
        item.answered_by = actor
        item.answered_at = item.answered_at or now
        item.acknowledged_at = item.acknowledged_at or now
        item.acknowledged_by = item.acknowledged_by or actor
        if item.status in {"open", "acknowledged"}:
            item.status = "answered"
        item.share_in_summary = share and item.kind == "question"
        item.shared_at = now if item.share_in_summary else None
        add_event(
            session, item, actor, "answered", text=text, share_in_summary=item.share_in_summary
        )
        enqueue(session, "answer", item=item, answer=text, by=actor, team=team.name if team else "")
        await followers.owe_to_followers(
            session, item, followers.ANSWER, answer=text, who=actor, team=team.name if team else ""
        )
        update_lead_dm(session, item)
        card = await load_card(session, item)
        await session.commit()
        return card


async def reassign_targets(
    sessions: async_sessionmaker[AsyncSession], lang: str
) -> list[ReassignTarget]:
    async with sessions() as session:
        teams = (
            (
                await session.execute(
                    select(Team)
                    .where(Team.archived.is_(False))
                    .order_by(Team.is_triage.desc(), Team.position)
                )
            )
            .scalars()
            .all()
        )
        targets: list[ReassignTarget] = []
        for team in teams:
            if team.is_triage:
                targets.append(ReassignTarget("triage", t("reassign.to_triage", lang), "triage"))
                continue
            targets.append(ReassignTarget(f"team:{team.id}", team.name, "teams"))
        for team in teams:
            for area in team.areas:
                if not area.archived:
                    targets.append(
                        ReassignTarget(f"area:{area.id}", f"{area.name} ({team.name})", "areas")
                    )
        return targets


async def _resolve_target(session: AsyncSession, target: str) -> tuple[Team, Area | None]:
    kind, _, raw_id = target.partition(":")
    if kind == "triage":
        team = await triage_team(session)
        if team is None:
            raise InvalidActionError("no triage")
        return team, None
    if kind == "team" and (number := row_id(raw_id)) is not None:
        team = await session.get(Team, number)
        if team is not None and not team.archived:
            return team, None
    if kind == "area" and (number := row_id(raw_id)) is not None:
        area = await session.get(Area, number)
        if area is not None and not area.archived:
            return await session.get_one(Team, area.team_id), area
    raise InvalidActionError(f"unknown target {target!r}")


def _move(
    session: AsyncSession,
    item: Item,
    team: Team,
    area: Area | None,
    actor: str,
    note: str | None,
    *,
    old_team: str,
    reason: str,
) -> None:
    """Hand the item to another team: new lead DM, old DM marked."""
    old_reader = item.assignee_id  # the old DM stays in its reader's language
    item.team_id = team.id
    item.area_id = area.id if area else None
    item.assignee_id = team.lead
    item.assigned_at = utcnow()
    item.route_step = "reassigned" if reason == "reassigned" else item.route_step
    item.route_detail = (
        {"by": actor, "from": old_team, "note": note or ""}
        if reason == "reassigned"
        else {**(item.route_detail or {}), "rerouted": reason}
    )
    if item.status == "acknowledged":
        item.status = "open"
    add_event(
        session,
        item,
        actor,
        reason,
        from_team=old_team,
        to_team=team.name,
        area=area.name if area else None,
        note=note or "",
    )
    retire_lead_dm(session, item, handed_to=team.name, reader=old_reader)
    enqueue(
        session,
        "lead_dm",
        item=item,
        recipient=team.lead,
        note=note or "",
        moved_by=actor,
        from_team=old_team,
        reason=reason,
    )


async def reassign(
    sessions: async_sessionmaker[AsyncSession],
    item_id: int,
    actor: str,
    target: str,
    note: str | None,
    admins: Iterable[str],
) -> ItemCard:
    async with sessions() as session:
        item, team, area = await load_for_action(session, item_id, actor, admins)
        if item.status == "resolved":
            raise RefusedError("reassign.error_resolved", "target", id=item.id)
        new_team, new_area = await _resolve_target(session, target)
        old_team = team.name if team else TRIAGE_TEAM_NAME
        note = (note or "").strip()[:1000] or None
        if new_team.id == item.team_id and item.assignee_id == new_team.lead:
            if new_area is None or (area is not None and new_area.id == area.id):
                raise RefusedError("reassign.error_same", "target", id=item.id, team=new_team.name)
            # Another area of the same team: the same lead keeps it; the DM changes in place.
            item.area_id = new_area.id
            add_event(
                session,
                item,
                actor,
                "area_changed",
                team=new_team.name,
                from_area=area.name if area else None,
                to_area=new_area.name,
                note=note or "",
            )
            update_lead_dm(session, item)
            card = await load_card(session, item)
            await session.commit()
            return card
        # The reporter is not told: a move between teams is product's plumbing; they hear
        # when a person takes it (acknowledged, asked, answered).
        _move(
            session, item, new_team, new_area, actor, note, old_team=old_team, reason="reassigned"
        )
        card = await load_card(session, item)
        await session.commit()
        return card


async def move_to_area(
    session: AsyncSession, item: Item, team: Team | None, area: Area, actor: str
) -> None:
    """Move the item to `area` as its reporter asked (bot/capture: "Change area"), in the
    caller's transaction: another area of its team changes its card in place; another team's
    lead gets it as a reassigned item."""
    new_team = await session.get_one(Team, area.team_id)
    if team is not None and new_team.id == team.id:
        old_area = await session.get(Area, item.area_id) if item.area_id else None
        item.area_id = area.id
        add_event(
            session,
            item,
            actor,
            "area_changed",
            team=team.name,
            from_area=old_area.name if old_area else None,
            to_area=area.name,
            note="",
        )
        update_lead_dm(session, item)
        return
    old_team = team.name if team else TRIAGE_TEAM_NAME
    _move(session, item, new_team, area, actor, None, old_team=old_team, reason="reassigned")


# --- when Slack says a message can never be delivered ---------------------------------------


async def lead_unreachable(
    session: AsyncSession, delivery: Delivery, item: Item, error: str
) -> None:
    """The lead's DM failed for good: the backup takes the item, else triage, with a note."""
    team, _ = await team_and_area(session, item)
    failed_user = delivery.recipient or ""
    tried = set((delivery.params or {}).get("tried", [])) | {failed_user}
    target: Team | None = None
    recipient: str | None = None
    if team is not None and team.backup and team.backup not in tried and not team.is_triage:
        target, recipient = team, team.backup
    else:
        triage = await triage_team(session)
        if triage is not None and triage.lead not in tried:
            target, recipient = triage, triage.lead
    add_event(session, item, "jerry", "delivery_failed", to=failed_user, error=error)
    if target is None or recipient is None:
        # Nobody left to DM: say so where product ops will see it.
        await alert_triage(session, "undeliverable", item=item.id, who=failed_user, error=error)
        return
    hand_over(
        session,
        item,
        target,
        recipient,
        old_team=team.name if team else TRIAGE_TEAM_NAME,
        failed=failed_user,
        error=error,
        tried=sorted(tried),
        rerouted="unreachable",
    )
    if target.is_triage:
        await alert_triage(
            session,
            "lead_unreachable",
            item=item.id,
            who=failed_user,
            error=error,
            exclude=recipient,
        )


def hand_over(
    session: AsyncSession,
    item: Item,
    target: Team,
    recipient: str,
    *,
    old_team: str,
    failed: str,
    error: str,
    tried: list[str],
    rerouted: str,
    **event_detail: object,
) -> None:
    """The item's lead cannot be reached (`failed`, `error`): `recipient` of `target` (the
    backup's team, or triage) gets it, with a lead DM that says why."""
    late_item_moved(session, item)
    item.team_id = target.id
    if target.is_triage:
        item.area_id = None
    item.assignee_id = recipient
    item.assigned_at = utcnow()
    item.route_detail = {**(item.route_detail or {}), "rerouted": rerouted}
    add_event(
        session,
        item,
        "jerry",
        "rerouted",
        from_team=old_team,
        to_team=target.name,
        to=recipient,
        error=error,
        **event_detail,
    )
    enqueue(
        session,
        "lead_dm",
        item=item,
        recipient=recipient,
        failed=failed,
        error=error,
        tried=tried,
        reason="unreachable",
    )
