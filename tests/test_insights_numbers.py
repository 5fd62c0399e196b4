"""The success indicators against a hand computation (bot/insights/numbers.py documents
each), on SQLite and PostgreSQL, with period boundaries in the report's timezone."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.insights.domain import Audience, Timing
from bot.insights.file_settings import MINUTES_SAVED, write_file_setting
from bot.insights.numbers import ADMIN, UnknownTeamError, audience_of, compute_insights, timing_of
from bot.insights.periods import PeriodError, current_period, parse_period, weeks_between
from bot.items.store import add_event
from models.items import Item
from models.routing import Area, Team
from models.surveys import Survey, SurveyAnswer, SurveyRound

PARIS = "Europe/Paris"
NOW = datetime(2027, 1, 10, 12, 0, tzinfo=UTC)
H = 3600.0


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


# --- periods (pure) -----------------------------------------------------------------------------


def test_periods_are_read_in_the_reports_timezone() -> None:
    q4 = parse_period("2026-Q4", PARIS)
    assert (q4.first_day, q4.last_day) == (date(2026, 10, 1), date(2026, 12, 31))
    assert q4.start == utc(2026, 9, 30, 22)  # midnight in Paris, summer time
    assert q4.end == utc(2026, 12, 31, 23)  # midnight in Paris, winter time
    assert q4.previous().key == "2026-Q3" and q4.next().key == "2027-Q1"
    november = parse_period("2026-11", PARIS)
    assert november.start == utc(2026, 10, 31, 23) and november.days == 30
    week = parse_period("2026-W48")
    assert (week.first_day, week.last_day) == (date(2026, 11, 23), date(2026, 11, 29))
    assert week.previous().key == "2026-W47"
    assert parse_period("2027-W01").previous().key == "2026-W53"
    assert current_period("quarter", utc(2026, 9, 30, 22, 30), PARIS).key == "2026-Q4"
    assert current_period("quarter", utc(2026, 9, 30, 22, 30), "UTC").key == "2026-Q3"


@pytest.mark.parametrize("text", ["2026-Q5", "2026-13", "2026-W54", "Q4", "", "2026-W00"])
def test_a_period_that_does_not_exist_is_refused(text: str) -> None:
    with pytest.raises(PeriodError):
        parse_period(text)


def test_a_timezone_that_does_not_exist_is_refused() -> None:
    with pytest.raises(PeriodError):
        parse_period("2026-Q4", "Mars/Olympus")


def test_weeks_between_covers_both_ends() -> None:
    weeks = weeks_between(utc(2026, 1, 5), utc(2026, 12, 31), "UTC")
    assert weeks[0].key == "2026-W02" and weeks[-1].key == "2026-W53" and len(weeks) == 52
    assert weeks_between(utc(2026, 2, 1), utc(2026, 1, 1)) == []


def test_median_and_90th_percentile_by_nearest_rank() -> None:
    assert timing_of([]) == Timing()
    found = timing_of([(3 * H, True), (1 * H, False), (2 * H, False)])
    assert found == Timing(count=3, median=2 * H, p90=3 * H, within_target=2 / 3)
    even = timing_of([(float(v), False) for v in (10, 20, 30, 40)])
    assert (even.median, even.p90) == (25.0, 40.0)


# --- a seeded history ---------------------------------------------------------------------------


async def _history(session: AsyncSession) -> dict[str, Any]:
    payments = Team(name="Payments", lead="U0PAY", backup="U0PAYB", position=0)
    mobile = Team(name="Mobile", lead="U0MOB", position=1)
    triage = Team(name="Triage", lead="U0OPS", is_triage=True, position=2)
    session.add_all([payments, mobile, triage])
    await session.flush()
    billing = Area(name="Billing", team_id=payments.id, position=0)
    checkout = Area(name="Checkout", team_id=payments.id, position=1)
    ios = Area(name="iOS", team_id=mobile.id, position=0)
    session.add_all([billing, checkout, ios])
    await session.flush()

    def item(number: int, created: datetime, team: Team, area: Area | None, **fields: Any) -> Item:
        values: dict[str, Any] = {
            "kind": "painpoint",
            "text": f"item {number}",
            "reporter_id": f"U0R{number}",
            "source": "command",
            "route_step": "triage",
            "team_id": team.id,
            "area_id": area.id if area else None,
            "created_at": created,
        }
        values.update(fields)
        row = Item(id=number, **values)
        session.add(row)
        return row

    def after(created: datetime, hours: float) -> datetime:
        return created + timedelta(hours=hours)

    # 2026-Q4 in Paris: from 2026-09-30 22:00 UTC.
    c1 = utc(2026, 9, 30, 22, 30)  # Oct 1 00:30 in Paris: Q4 there (Q3 in UTC)
    item(
        1,
        c1,
        payments,
        billing,
        category="bug",
        route_step="keywords",
        reporter_id="U0A",
        first_acknowledged_at=after(c1, 1),
        resolved_at=after(c1, 10),
        status="resolved",
        outcome="fixed",
    )
    c2 = utc(2026, 10, 10, 8)
    item(
        2,
        c2,
        payments,
        checkout,
        category="feature",
        route_step="chosen_area",
        first_acknowledged_at=after(c2, 3),
        sla_breached=True,
        resolved_at=after(c2, 50),
        status="resolved",
        outcome="fixed",
        customer="Acme",
        customer_at_risk=True,
        customer_outcome="kept",
        helped_deal=True,
    )
    c3 = utc(2026, 11, 2, 9)
    item(
        3,
        c3,
        payments,
        billing,
        kind="question",
        anonymous=True,
        reporter_id="U0ANON",
        first_acknowledged_at=after(c3, 2),
        first_answered_at=after(c3, 4),
        status="answered",
    )
    c4 = utc(2026, 11, 3, 9)
    item(
        4,
        c4,
        mobile,
        ios,
        kind="question",
        route_step="rule",
        similar_choice="answered",
        first_answered_at=None,
        resolved_at=after(c4, 0.1),
        status="resolved",
        outcome="answered",
    )
    await session.flush()
    c5 = utc(2026, 11, 5, 9)
    item(
        5,
        c5,
        mobile,
        ios,
        category="bug",
        route_step="keywords",
        reporter_id="U0B",
        merged_into=1,
        first_acknowledged_at=after(c5, 1),
        resolved_at=after(c5, 1),
        status="resolved",
        outcome="duplicate",
        customer="Globex",
        customer_at_risk=True,
    )
    c6 = utc(2026, 12, 31, 22, 30)  # Dec 31 23:30 in Paris: still Q4
    item(
        6,
        c6,
        mobile,
        ios,
        customer="Globex",
        customer_at_risk=True,
        sla_due_at=NOW - timedelta(hours=1),
    )
    c7 = utc(2026, 11, 20, 9)
    item(
        7,
        c7,
        payments,
        billing,
        category="bug",
        route_step="chosen_area",
        source="import",
        reporter_id="imported",
        first_acknowledged_at=after(c7, 5),
        resolved_at=after(c7, 24),
        status="resolved",
        outcome="fixed",
    )
    # 2026-Q3 in Paris.
    c8 = utc(2026, 8, 1, 9)
    item(
        8,
        c8,
        payments,
        billing,
        category="bug",
        route_step="keywords",
        first_acknowledged_at=after(c8, 0.5),
        resolved_at=after(c8, 24),
        status="resolved",
        outcome="fixed",
        customer="Initech",
        customer_at_risk=True,
        customer_outcome="lost",
    )
    c9 = utc(2026, 9, 30, 21, 59)  # Sep 30 23:59 in Paris: Q3 there
    item(9, c9, payments, checkout, kind="question", first_acknowledged_at=after(c9, 1))
    # Long ago: where the bug trend starts.
    c10 = utc(2026, 1, 5, 9)
    item(
        10,
        c10,
        payments,
        billing,
        category="bug",
        resolved_at=after(c10, 24),
        status="resolved",
        outcome="fixed",
    )
    # After the quarter: not in it.
    item(11, utc(2026, 12, 31, 23, 30), payments, billing, category="bug")
    await session.flush()
    # As the reminders tick stores it (inserting an item clears it: the tick computes it).
    await session.execute(
        update(Item).where(Item.id == 6).values(sla_due_at=NOW - timedelta(hours=1))
    )

    survey = Survey(
        name="pm-pulse",
        title="PM pulse",
        owner_channel="C0OPS",
        audience_kind="users",
        audience=["U0PM1"],
        questions=[
            {"id": "roadmap", "kind": "scale5", "text": "Roadmap known?"},
            {"id": "tasks", "kind": "text", "text": "Tasks?"},
        ],
    )
    session.add(survey)
    await session.flush()
    rounds = []
    for number, closes in ((1, utc(2026, 11, 1)), (2, utc(2026, 12, 1)), (3, utc(2027, 2, 1))):
        round_ = SurveyRound(
            survey_id=survey.id,
            number=number,
            slot=closes - timedelta(days=3),
            opened_at=closes - timedelta(days=3),
            closes_at=closes,
            status="closed" if number < 3 else "open",
            closed_at=closes if number < 3 else None,
            questions=survey.questions,
        )
        session.add(round_)
        rounds.append(round_)
    await session.flush()
    for round_, values in ((rounds[0], (3, 4)), (rounds[1], (4, 5, 5)), (rounds[2], (1,))):
        for i, value in enumerate(values):
            session.add(
                SurveyAnswer(
                    round_id=round_.id,
                    respondent=f"U0PM{i}",
                    question_id="roadmap",
                    number=float(value),
                    answered_at=round_.closes_at - timedelta(hours=1),
                )
            )
    # Stored after round 2's cutoff: not counted.
    session.add(
        SurveyAnswer(
            round_id=rounds[1].id,
            respondent="U0LATE",
            question_id="roadmap",
            number=1.0,
            answered_at=utc(2026, 12, 1, 1),
        )
    )
    await write_file_setting(
        session,
        MINUTES_SAVED,
        {"answer_reused": 60, "duplicate_absorbed": 30, "routed_directly": 6},
    )
    await session.commit()
    return {"payments": payments.id, "mobile": mobile.id, "billing": billing.id, "ios": ios.id}


async def test_every_number_of_a_quarter_against_a_hand_computation(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions() as session:
        await _history(session)
    found = await compute_insights(sessions, parse_period("2026-Q4", PARIS), ADMIN, now=NOW)
    total, before = found.total.current, found.total.previous
    assert found.previous.key == "2026-Q3"
    # Items in: 1-7 (item 1 by Paris time; item 11 is in 2027-Q1 there).
    assert total.items == 7
    assert total.by_kind == {"painpoint": 5, "question": 2}
    assert total.by_category == {"bug": 3, "feature": 1, "process": 0, "other": 0, "none": 1}
    # Timed: 1 (1h), 2 (3h, breached), 3 (2h); not 4 (past answer), 5 (merged), 7 (import).
    assert total.acknowledge == Timing(3, 2 * H, 3 * H, 2 / 3)
    assert total.first_answer == Timing(1, 4 * H, 4 * H, 1.0)
    assert total.resolve == Timing(2, 30 * H, 50 * H, None)
    assert total.sla_breaches == 1
    # Resolved in the quarter: 1, 2, 4, 7 (5 is merged: its flags went to item 1).
    assert total.resolved == 4
    assert total.deals_helped == 1
    assert total.at_risk == {"kept": 1, "lost": 0, "unknown": 0}
    assert before.items == 2 and before.acknowledge == Timing(2, 0.75 * H, 1 * H, 1.0)
    assert before.at_risk == {"kept": 0, "lost": 1, "unknown": 0}
    # Per team and area.
    teams = {row.name: row for row in found.teams}
    assert [row.name for row in found.teams] == ["Payments", "Mobile", "Triage"]
    assert teams["Payments"].current.items == 4 and teams["Mobile"].current.items == 3
    assert teams["Payments"].previous.items == 2 and teams["Triage"].current.items == 0
    assert teams["Mobile"].current.acknowledge == Timing()
    areas = {row.name: row for row in found.areas}
    assert areas["Billing"].current.items == 3 and areas["Checkout"].current.items == 1
    assert areas["iOS"].current.items == 3 and areas["Checkout"].previous.items == 1
    assert areas["Billing"].current.acknowledge == Timing(2, 1.5 * H, 2 * H, 1.0)
    # Time saved: 1 answer reused (60), 1 duplicate (30), 5 routed directly (1, 2, 4, 5, 7: 6).
    assert found.time_saved.counts == {
        "answer_reused": 1,
        "duplicate_absorbed": 1,
        "routed_directly": 5,
    }
    assert found.time_saved.hours == 2.0
    assert found.time_saved_previous.counts["routed_directly"] == 1  # item 8
    # Customers (admins): Acme kept and its deal; Initech was in Q3; Globex is open.
    assert [(c.item_id, c.customer, c.outcome, c.team) for c in found.at_risk_customers] == [
        (2, "Acme", "kept", "Payments")
    ]
    assert [(c.item_id, c.customer) for c in found.deals] == [(2, "Acme")]
    # Bug trend: every week from item 10's to the quarter's last.
    trend = {point.week: (point.opened, point.fixed) for point in found.bug_trend}
    assert found.bug_trend[0].week == "2026-W02" and found.bug_trend[-1].week == "2026-W53"
    assert trend["2026-W02"] == (1, 1)
    assert trend["2026-W31"] == (1, 1)  # item 8
    assert trend["2026-W40"] == (1, 1)  # item 1, in Paris' week
    assert trend["2026-W45"] == (1, 0)  # item 5: merged, never fixed on its own
    assert trend["2026-W47"] == (1, 1)  # item 7
    assert trend["2026-W53"] == (0, 0)  # item 11 is in that week, after the quarter
    assert sum(o for o, _ in trend.values()) == 5 and sum(f for _, f in trend.values()) == 4
    # Demand: item 1 asked by its reporter and item 5's.
    assert [(d.item_id, d.people, d.customers) for d in found.demand] == [(1, 2, ("Globex",))]
    # Surveys: round 2 (4, 5, 5) against round 1 (3, 4); the open round 3 does not count.
    [trend_row] = found.surveys
    assert (trend_row.survey, trend_row.question_id, trend_row.latest_round) == (
        "pm-pulse",
        "roadmap",
        2,
    )
    assert trend_row.latest_mean == pytest.approx(14 / 3) and trend_row.latest_count == 3
    assert trend_row.previous_mean == pytest.approx(3.5)
    assert found.late_now == {"Mobile": 1}
    # Anonymity: the anonymous reporter is counted, never carried.
    assert "U0ANON" not in repr(found)


async def test_a_lead_reads_only_their_teams_and_no_customer_names(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions() as session:
        ids = await _history(session)
        lead = await audience_of(session, "U0MOB", admins=["U0ADMIN"])
        backup = await audience_of(session, "U0PAYB", admins=["U0ADMIN"])
        stranger = await audience_of(session, "U0NOBODY", admins=["U0ADMIN"])
        admin = await audience_of(session, "U0ADMIN", admins=["U0ADMIN"])
    assert lead == Audience("U0MOB", False, (ids["mobile"],))
    assert backup.team_ids == (ids["payments"],)
    assert stranger.team_ids == () and not stranger.is_admin and admin.is_admin
    found = await compute_insights(sessions, parse_period("2026-Q4", PARIS), lead, now=NOW)
    assert found.total.current.items == 3
    assert [row.name for row in found.teams] == ["Mobile"]
    assert [row.name for row in found.areas] == ["iOS"]
    assert found.at_risk_customers == () and found.deals == ()
    assert found.demand == ()  # item 1 is Payments'
    assert found.late_now == {"Mobile": 1}
    assert "Globex" not in repr(found) and "Acme" not in repr(found)
    payments = await compute_insights(sessions, parse_period("2026-Q4", PARIS), backup, now=NOW)
    assert [(d.item_id, d.customers) for d in payments.demand] == [(1, ())]


async def test_one_team_by_name_and_an_unknown_team(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions() as session:
        await _history(session)
    q4 = parse_period("2026-Q4", PARIS)
    found = await compute_insights(sessions, q4, ADMIN, now=NOW, teams=["payments"])
    assert found.total.current.items == 4 and [t.name for t in found.teams] == ["Payments"]
    with pytest.raises(UnknownTeamError):
        await compute_insights(sessions, q4, ADMIN, now=NOW, teams=["Nope"])


async def test_an_empty_database_reads_as_zeros(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    found = await compute_insights(sessions, parse_period("2026-11"), ADMIN, now=NOW)
    assert found.total.current.items == 0 and found.bug_trend == () and found.surveys == ()
    assert found.time_saved.hours == 0


async def test_events_keep_the_items_insight_columns(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions() as session:
        team = Team(name="Payments", lead="U0PAY")
        session.add(team)
        await session.flush()
        row = Item(
            kind="question",
            text="x",
            reporter_id="U0R",
            source="dm",
            route_step="keywords",
            team_id=team.id,
        )
        session.add(row)
        await session.flush()
        add_event(session, row, "jerry", "reminder_sent", reminder="details", level=1, to="")
        add_event(session, row, "jerry", "routed")
        assert row.first_acknowledged_at is None and not row.sla_breached
        add_event(session, row, "U0PAY", "acknowledged")
        first = row.first_acknowledged_at
        add_event(session, row, "jerry", "reminder_sent", reminder="answer", level=1, to="U0PAY")
        add_event(session, row, "U0PAY", "answered")
        answered = row.first_answered_at
        add_event(session, row, "U0PAY", "answered")
        await session.commit()
        assert first is not None and answered is not None and answered >= first
        assert row.first_acknowledged_at == first and row.first_answered_at == answered
        assert row.sla_breached
