"""The welcome DM of a lead or backup, owed when a routing import first names them for a team.

`owe_welcomes` runs in the import's transaction: each (person, team) pair it has not seen
before is remembered in `lead_welcomes` and owes that person one "lead_welcome" delivery (all
their new teams in one DM). A re-import owes nothing; a person named for another team later
gets a short "you now also own …". Product ops' triage lead is not welcomed: product ops
writes the routing file. The outbox renders the DM when it sends it, in the person's Slack
language, from the teams as they are then.
"""

from __future__ import annotations

import logging

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.intake.routing import RoutingModel
from bot.outbox.registry import (
    OutboxContext,
    OutboxHandler,
    OutboxRegistry,
    PermanentDeliveryError,
    Posted,
)
from bot.outbox.store import enqueue
from bot.views.welcome import WelcomeTeam, lead_welcome
from models.base import utcnow
from models.deliveries import Delivery
from models.items import Item
from models.routing import LeadWelcome, Team

log = logging.getLogger("jerry.routing")

WELCOME = "lead_welcome"  # the outbox row welcoming one person to their new team(s)


async def owe_welcomes(session: AsyncSession, model: RoutingModel) -> int:
    """Owe a welcome DM to every lead and backup of `model` (as stored: teams with ids) not
    yet welcomed for that team; how many people are owed one. In the caller's transaction."""
    rows = await session.execute(select(LeadWelcome.user_id, LeadWelcome.team_id))
    welcomed = {(user_id, team_id) for user_id, team_id in rows}
    welcomed_before = {user_id for user_id, _team in welcomed}
    new_teams: dict[str, list[dict[str, object]]] = {}
    now = utcnow()
    for spec in model.teams:
        if spec.id is None:
            continue
        for role, user_id in (("lead", spec.lead), ("backup", spec.backup)):
            if not user_id or (user_id, spec.id) in welcomed:
                continue
            welcomed.add((user_id, spec.id))
            session.add(LeadWelcome(user_id=user_id, team_id=spec.id, role=role, owed_at=now))
            new_teams.setdefault(user_id, []).append({"team_id": spec.id, "role": role})
    for user_id, teams in new_teams.items():
        enqueue(session, WELCOME, recipient=user_id, teams=teams, also=user_id in welcomed_before)
    return len(new_teams)


async def welcome_teams(
    session: AsyncSession, entries: list[dict[str, object]]
) -> list[WelcomeTeam]:
    """The teams of a welcome delivery as they are now (an archived one left out)."""
    teams = []
    for entry in entries:
        team = await session.get(Team, int(str(entry.get("team_id") or 0)))
        if team is None or team.archived:
            continue
        teams.append(
            WelcomeTeam(
                name=team.name,
                role=str(entry.get("role") or "lead"),
                areas=tuple(
                    (area.name, tuple(area.keywords or ()))
                    for area in team.areas
                    if not area.archived
                ),
                ack_target=team.ack_target,
                answer_target=team.answer_target,
            )
        )
    return teams


def register_outbox(registry: OutboxRegistry) -> None:
    """The "lead_welcome" rows: one person's welcome DM."""

    async def send(
        outbox: OutboxContext, session: AsyncSession, delivery: Delivery, item: Item | None
    ) -> Posted:
        params = delivery.params or {}
        recipient = delivery.recipient or ""
        teams = await welcome_teams(session, list(params.get("teams") or []))
        if not teams:  # every team was archived since the import: nothing left to welcome to
            raise PermanentDeliveryError("teams_archived")
        lang = await outbox.directory.language(recipient, outbox.default_language)
        message = lead_welcome(teams, lang, also=bool(params.get("also")))
        return await outbox.post(recipient, message)

    async def not_sent(
        session: AsyncSession, delivery: Delivery, item: Item | None, error: str
    ) -> None:
        # A courtesy: the items themselves still reach the person (or their backup), and
        # `jerry doctor` names a lead Slack will not let Jerry reach.
        log.warning("the welcome DM to %s was not sent: %s", delivery.recipient, error)

    registry.register(WELCOME, OutboxHandler(send=send, undeliverable=not_sent, gave_up=not_sent))
