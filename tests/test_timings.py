"""Timings straight from the events, with controlled times (bot/sla/timings.py documents them)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.sla.timings import (
    Summary,
    Timings,
    item_timings,
    summarize,
    team_timings,
    timings_of_items,
)
from models.items import Item, ItemEvent
from models.routing import Team

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
LEAD = "U0PAYLEAD"


@dataclass(frozen=True)
class Ev:
    kind: str
    at: datetime
    actor: str = LEAD


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def minutes(value: float) -> timedelta:
    return timedelta(minutes=value)


def test_acknowledge_answer_resolve_from_creation() -> None:
    events = [
        Ev("created", at(0), "U0REPORTER"),
        Ev("routed", at(0), "jerry"),
        Ev("acknowledged", at(30)),
        Ev("answered", at(90)),
        Ev("resolved", at(240)),
    ]
    assert item_timings(events) == Timings(minutes(30), minutes(90), minutes(240))


def test_events_in_any_order_give_the_same_result() -> None:
    events = [Ev("resolved", at(240)), Ev("answered", at(90)), Ev("created", at(0))]
    assert item_timings(list(reversed(events))) == item_timings(events)


def test_an_answer_or_a_resolution_without_acknowledge_counts_as_acknowledging() -> None:
    assert item_timings([Ev("created", at(0)), Ev("answered", at(45))]).time_to_acknowledge == (
        minutes(45)
    )
    resolved_only = item_timings([Ev("created", at(0)), Ev("resolved", at(20))])
    assert resolved_only == Timings(minutes(20), None, minutes(20))


def test_jerry_never_acknowledges_and_reassignments_do_not_restart_the_clock() -> None:
    events = [
        Ev("created", at(0)),
        Ev("rerouted", at(10), "jerry"),
        Ev("reassigned", at(60)),
        Ev("acknowledged", at(120), "U0MOBLEAD"),
    ]
    assert item_timings(events).time_to_acknowledge == minutes(120)


def test_resolved_reopened_resolved_again_counts_the_final_resolution() -> None:
    events = [
        Ev("created", at(0)),
        Ev("answered", at(10)),
        Ev("resolved", at(60)),
        Ev("reopened", at(100), "U0REPORTER"),
        Ev("answered", at(130)),
        Ev("resolved", at(300)),
    ]
    timings = item_timings(events)
    assert timings.time_to_first_answer == minutes(10)  # the first answer, not the last
    assert timings.time_to_resolve == minutes(300)  # until the final resolution


def test_reopened_and_not_resolved_again_has_no_time_to_resolve() -> None:
    events = [Ev("created", at(0)), Ev("resolved", at(60)), Ev("reopened", at(100))]
    assert item_timings(events) == Timings(minutes(60), None, None)


def test_resolved_twice_without_reopen_counts_the_last() -> None:
    events = [Ev("created", at(0)), Ev("resolved", at(60)), Ev("resolved", at(90))]
    assert item_timings(events).time_to_resolve == minutes(90)


def test_without_a_created_event_the_items_creation_time_starts_the_clock() -> None:
    assert item_timings([Ev("acknowledged", at(15))], created_at=at(5)) == Timings(
        minutes(10), None, None
    )
    assert item_timings([Ev("acknowledged", at(15))]) == Timings(None, None, None)
    # Events stamped before the start are ignored.
    assert item_timings([Ev("answered", at(-5))], created_at=at(0)) == Timings(None, None, None)


def test_nothing_done_yet() -> None:
    assert item_timings([Ev("created", at(0))]) == Timings(None, None, None)


def test_summaries_median_and_nearest_rank_p90() -> None:
    assert summarize([]) == Summary(0, None, None)
    assert summarize([None, None]) == Summary(0, None, None)
    assert summarize([minutes(10)]) == Summary(1, minutes(10), minutes(10))
    values = [minutes(m) for m in (40, 10, 30, 20)]
    assert summarize([*values, None]) == Summary(4, minutes(25), minutes(40))
    ten = [minutes(m) for m in range(1, 11)]
    assert summarize(ten) == Summary(10, minutes(5.5), minutes(9))
    eleven = [minutes(m) for m in range(1, 12)]
    assert summarize(eleven) == Summary(11, minutes(6), minutes(10))


# --- from the database (SQLite and PostgreSQL) ----------------------------------------------


async def _team(session: AsyncSession, name: str) -> Team:
    team = Team(name=name, lead=LEAD)
    session.add(team)
    await session.flush()
    return team


async def _item(
    session: AsyncSession, team: Team | None, created: datetime, events: list[Ev]
) -> Item:
    item = Item(
        kind="painpoint",
        text="x",
        reporter_id="U0REPORTER",
        source="command",
        route_step="keywords",
        team_id=team.id if team else None,
        created_at=created,
    )
    session.add(item)
    await session.flush()
    session.add(ItemEvent(item_id=item.id, kind="created", actor="U0REPORTER", at=created))
    for event in events:
        session.add(ItemEvent(item_id=item.id, kind=event.kind, actor=event.actor, at=event.at))
    await session.flush()
    return item


async def test_team_timings_for_a_period_from_the_database(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions() as session:
        payments, mobile = await _team(session, "Payments"), await _team(session, "Mobile")
        a = await _item(
            session, payments, at(0), [Ev("acknowledged", at(10)), Ev("resolved", at(100))]
        )
        b = await _item(
            session,
            payments,
            at(60),
            [Ev("answered", at(90)), Ev("resolved", at(120)), Ev("reopened", at(130))],
        )
        c = await _item(session, mobile, at(120), [Ev("acknowledged", at(180))])
        # Outside the period: not counted.
        await _item(session, payments, at(-60 * 24), [Ev("acknowledged", at(0))])
        await _item(session, payments, at(60 * 24 * 8), [Ev("acknowledged", at(60 * 24 * 8 + 1))])
        await session.commit()
        ids = (a.id, b.id, c.id, payments.id, mobile.id)
    a_id, b_id, c_id, payments_id, mobile_id = ids

    per_item = await timings_of_items(sessions, [a_id, b_id, c_id])
    assert per_item[a_id] == Timings(minutes(10), None, minutes(100))
    assert per_item[b_id] == Timings(minutes(30), minutes(30), None)  # reopened since
    assert per_item[c_id] == Timings(minutes(60), None, None)

    week = await team_timings(sessions, at(0), at(60 * 24 * 7))
    assert set(week) == {payments_id, mobile_id}
    pay = week[payments_id]
    assert pay.items == 2
    assert pay.acknowledge == Summary(2, minutes(20), minutes(30))
    assert pay.first_answer == Summary(1, minutes(30), minutes(30))
    assert pay.resolve == Summary(1, minutes(100), minutes(100))
    assert week[mobile_id].acknowledge == Summary(1, minutes(60), minutes(60))

    only_mobile = await team_timings(sessions, at(0), at(60 * 24 * 7), team_ids=[mobile_id])
    assert list(only_mobile) == [mobile_id]
    assert await team_timings(sessions, at(-10), at(-5)) == {}
