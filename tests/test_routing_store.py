"""Storing the routing model: import, load, re-import (archive, move, un-archive), failures."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.intake.routing import decide
from bot.intake.routing_file import parse
from bot.intake.routing_store import (
    ReplaceSummary,
    area_by_name,
    get_team,
    list_area_choices,
    load_routing_model,
    replace_routing_model,
    team_by_name,
)
from bot.items.domain import TRIAGE_TEAM_NAME
from models.items import Item
from models.routing import Area, RoutingRule, Team

Sessions = async_sessionmaker[AsyncSession]

FIRST = parse("""\
triage: {lead: U0OPS, channel: C0OPS}
teams:
  - name: Payments
    lead: U0PAY
    backup: U0PAYB
    channel: C0PAY
    areas:
      - name: Billing
        keywords: [invoice, refund, facture]
      - name: Cards
        keywords: [credit card]
  - name: Mobile
    lead: U0MOB
    areas:
      - name: iOS app
        keywords: [ios, crash]
  - name: Growth
    lead: U0GRO
    areas:
      - name: Onboarding
        keywords: []
rules:
  - name: support crashes
    when: {channel: C0SUPPORT, pattern: "crash|freeze"}
    team: Mobile
  - name: sales
    when: {channel: C0SALES}
    area: Billing
""")


async def store(sessions: Sessions, model) -> ReplaceSummary:  # type: ignore[no-untyped-def]
    async with sessions() as session:
        summary = await replace_routing_model(session, model)
        await session.commit()
        return summary


async def load(sessions: Sessions):  # type: ignore[no-untyped-def]
    async with sessions() as session:
        return await load_routing_model(session)


async def test_nothing_imported(session: AsyncSession) -> None:
    assert await load_routing_model(session) is None
    assert await list_area_choices(session) == []


async def test_import_then_load_gives_the_same_model(sessions: Sessions) -> None:
    summary = await store(sessions, FIRST)
    assert summary == ReplaceSummary(teams_added=4, areas_added=4, rules=2)
    assert str(summary) == (
        "teams: 4 added, 0 updated, 0 archived; areas: 4 added, 0 updated, 0 archived; rules: 2"
    )
    loaded = await load(sessions)
    assert loaded.without_ids() == FIRST
    assert loaded.triage.id is not None and loaded.triage.is_triage
    assert all(team.id for team in loaded.teams)
    assert all(area.id for area in loaded.areas())
    # the loaded model decides like the parsed one
    assert decide(loaded, "Facturé").detail == decide(FIRST, "Facturé").detail
    assert decide(loaded, "crash", channel="C0SUPPORT").team.id == loaded.team("Mobile").id


async def test_importing_the_same_model_again_changes_nothing(sessions: Sessions) -> None:
    await store(sessions, FIRST)
    before = await load(sessions)
    summary = await store(sessions, FIRST)
    assert summary == ReplaceSummary(rules=2)
    assert await load(sessions) == before


async def test_removed_team_is_archived_and_keeps_its_id(sessions: Sessions) -> None:
    await store(sessions, FIRST)
    before = await load(sessions)
    growth_id = before.team("Growth").id
    onboarding_id = before.area("Onboarding").id
    async with sessions() as session:
        # an item points at the team: it must survive the import
        session.add(
            Item(
                kind="question",
                text="x",
                reporter_id="U1",
                source="dm",
                team_id=growth_id,
                area_id=onboarding_id,
                route_step="keywords",
            )
        )
        await session.commit()

    second = parse(FIRST_TEXT_WITHOUT_GROWTH)
    summary = await store(sessions, second)
    assert summary.teams_archived == 1 and summary.areas_archived == 1
    after = await load(sessions)
    assert after.team("Growth") is None and after.area("Onboarding") is None
    assert after.without_ids() == second
    async with sessions() as session:
        growth = await get_team(session, growth_id)
        assert growth is not None and growth.archived and growth.name == "Growth"
        assert await team_by_name(session, "growth") is None
        assert (await team_by_name(session, "GROWTH", include_archived=True)).id == growth_id
        assert await area_by_name(session, "onboarding") is None
        item = (await session.execute(select(Item))).scalar_one()
        assert item.team_id == growth_id

    # named again: the same rows come back
    summary = await store(sessions, FIRST)
    # Growth and Onboarding un-archived; Triage, Payments and Billing changed back
    assert summary == ReplaceSummary(teams_updated=3, areas_updated=2, rules=2)
    again = await load(sessions)
    assert again.team("Growth").id == growth_id
    assert again.area("Onboarding").id == onboarding_id
    assert again == before


FIRST_TEXT_WITHOUT_GROWTH = """\
triage: {lead: U0OPS2}
teams:
  - name: payments
    lead: U0PAY
    areas:
      - name: Billing
        keywords: [invoice]
      - name: Cards
        keywords: [credit card]
  - name: Mobile
    lead: U0MOB
    areas:
      - name: iOS app
        keywords: [ios, crash]
"""


async def test_updates_keep_ids_and_names_match_case_insensitively(sessions: Sessions) -> None:
    await store(sessions, FIRST)
    before = await load(sessions)
    await store(sessions, parse(FIRST_TEXT_WITHOUT_GROWTH))
    after = await load(sessions)
    payments = after.team("Payments")
    assert payments.name == "payments"  # renamed to the file's spelling
    assert payments.id == before.team("Payments").id
    assert (payments.backup, payments.channel) == (None, None)
    assert after.area("Billing").keywords == ("invoice",)
    assert after.triage.lead == "U0OPS2" and after.triage.channel is None
    assert after.triage.id == before.triage.id
    assert after.rules == ()


async def test_an_area_moves_to_another_team(sessions: Sessions) -> None:
    await store(sessions, FIRST)
    before = await load(sessions)
    moved = parse("""\
triage: {lead: U0OPS, channel: C0OPS}
teams:
  - name: Mobile
    lead: U0MOB
    areas:
      - name: iOS app
        keywords: [ios, crash]
      - name: cards
        keywords: [credit card, wallet]
  - name: Payments
    lead: U0PAY
    areas:
      - name: Billing
        keywords: [invoice, refund, facture]
  - name: Web
    lead: U0WEB
    areas:
      - name: Onboarding
        keywords: [signup]
""")
    summary = await store(sessions, moved)
    assert summary.teams_added == 1 and summary.teams_archived == 1  # Web in, Growth out
    assert summary.areas_added == 0 and summary.areas_archived == 0
    after = await load(sessions)
    assert after.without_ids() == moved
    assert after.area("Cards").id == before.area("Cards").id
    assert after.area("Cards").team == "Mobile"
    assert after.area("Onboarding").id == before.area("Onboarding").id
    assert after.area("Onboarding").team == "Web"
    assert [t.name for t in after.teams] == ["Mobile", "Payments", "Web"]
    async with sessions() as session:
        assert await list_area_choices(session) == [
            (after.area("iOS app").id, "iOS app", "Mobile"),
            (after.area("cards").id, "cards", "Mobile"),
            (after.area("Billing").id, "Billing", "Payments"),
            (after.area("Onboarding").id, "Onboarding", "Web"),
        ]
        cards = await area_by_name(session, "CARDS")
        assert cards is not None and cards.team.name == "Mobile"


async def test_rules_are_replaced(sessions: Sessions) -> None:
    await store(sessions, FIRST)
    replaced = parse("""\
triage: {lead: U0OPS}
teams:
  - name: Mobile
    lead: U0MOB
    areas:
      - name: iOS app
rules:
  - name: security goes to triage
    when: {pattern: "security"}
    team: triage
  - name: ios channel
    when: {channel: C0IOS}
    area: iOS app
""")
    summary = await store(sessions, replaced)
    assert summary.rules == 2
    after = await load(sessions)
    assert after.without_ids() == replaced
    assert decide(after, "a security problem").team.is_triage
    async with sessions() as session:
        rows = (await session.execute(select(RoutingRule).order_by(RoutingRule.position))).scalars()
        rows = list(rows)
        assert [r.name for r in rows] == ["security goes to triage", "ios channel"]
        assert rows[0].team_id == after.triage.id and rows[0].area_id is None
        assert rows[1].area_id == after.area("iOS app").id and rows[1].team_id is None
    summary = await store(sessions, parse("triage: {lead: U0OPS}\nteams: []\n"))
    assert summary.rules == 0 and summary.teams_archived == 1
    after = await load(sessions)
    assert after.rules == () and after.teams == ()
    assert after.triage.name == TRIAGE_TEAM_NAME


async def test_a_failure_midway_leaves_the_previous_model(
    sessions: Sessions, monkeypatch: pytest.MonkeyPatch
) -> None:
    await store(sessions, FIRST)
    before = await load(sessions)

    # Fail after the teams and areas were written, while the rules are being replaced.
    original = AsyncSession.execute
    calls = {"n": 0}

    async def failing_execute(self, statement, *args, **kwargs):  # type: ignore[no-untyped-def]
        if getattr(statement, "is_delete", False):
            calls["n"] += 1
            raise RuntimeError("the database went away")
        return await original(self, statement, *args, **kwargs)

    monkeypatch.setattr(AsyncSession, "execute", failing_execute)
    with pytest.raises(RuntimeError):
        async with sessions() as session:
            await replace_routing_model(session, parse(FIRST_TEXT_WITHOUT_GROWTH))
            await session.commit()
    monkeypatch.undo()
    assert calls["n"] == 1
    assert await load(sessions) == before

    # A failure in the caller's own transaction, after the replace: nothing is kept either.
    with pytest.raises(RuntimeError):
        async with sessions() as session:
            await replace_routing_model(session, parse(FIRST_TEXT_WITHOUT_GROWTH))
            assert (await load_routing_model(session)).team("Growth") is None  # sees its own
            raise RuntimeError("something else failed")
    assert await load(sessions) == before


async def test_a_model_the_database_cannot_hold_is_refused_before_writing(
    sessions: Sessions,
) -> None:
    await store(sessions, FIRST)
    before = await load(sessions)
    unresolved = parse("triage: {lead: ops@example.com}\n")
    async with sessions() as session:
        with pytest.raises(ValueError, match="email"):
            await replace_routing_model(session, unresolved)
        assert not session.new and not session.dirty
        await session.commit()
    assert await load(sessions) == before


async def test_first_import_routes_in_the_same_session(session: AsyncSession) -> None:
    # What `jerry routing import` does: replace, flush, load, in one transaction.
    await replace_routing_model(session, FIRST)
    loaded = await load_routing_model(session)
    assert loaded is not None and loaded.without_ids() == FIRST
    await replace_routing_model(session, parse(FIRST_TEXT_WITHOUT_GROWTH))
    loaded = await load_routing_model(session)
    assert loaded.without_ids() == parse(FIRST_TEXT_WITHOUT_GROWTH)
    triage = await team_by_name(session, "TRIAGE")
    assert triage is not None and triage.is_triage and triage.id == loaded.triage.id
    assert (await get_team(session, loaded.team("Mobile").id)).name == "Mobile"
    teams = (await session.execute(select(Team).order_by(Team.id))).scalars().all()
    assert [(t.name, t.archived) for t in teams] == [
        ("Triage", False),
        ("payments", False),
        ("Mobile", False),
        ("Growth", True),
    ]
    areas = (await session.execute(select(Area).order_by(Area.id))).scalars().all()
    assert [(a.name, a.archived) for a in areas] == [
        ("Billing", False),
        ("Cards", False),
        ("iOS app", False),
        ("Onboarding", True),
    ]
    await session.rollback()
    assert await load_routing_model(session) is None


async def test_the_insights_minutes_saved_are_kept_and_replaced(sessions: Sessions) -> None:
    from dataclasses import replace

    from bot.insights.file_settings import minutes_saved

    with_minutes = replace(FIRST, minutes_saved=(("answer_reused", 45), ("routed_directly", 5)))
    await store(sessions, with_minutes)
    assert (await load(sessions)).minutes_saved == with_minutes.minutes_saved
    async with sessions() as session:
        assert await minutes_saved(session) == {
            "answer_reused": 45,
            "duplicate_absorbed": 20,
            "routed_directly": 5,
        }
    await store(sessions, FIRST)  # the section removed: the defaults again
    assert (await load(sessions)).minutes_saved is None
    async with sessions() as session:
        assert await minutes_saved(session) == {
            "answer_reused": 30,
            "duplicate_absorbed": 20,
            "routed_directly": 15,
        }
