"""Business-time arithmetic and SLA states: pure, no database."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.sla import business_time as sla
from bot.sla.business_time import (
    DEFAULT_HOURS,
    BusinessHours,
    SlaError,
    SlaState,
    add_business_time,
    business_hours,
    business_time_between,
    in_business_hours,
    next_business_moment,
    parse_days,
    parse_target,
    sla_state,
)

PARIS = "Europe/Paris"
NY = "America/New_York"
TOKYO = "Asia/Tokyo"


def local(tz: str, *args: int) -> datetime:
    return datetime(*args, tzinfo=ZoneInfo(tz)).astimezone(UTC)


H = timedelta(hours=1)


# --- parsing -------------------------------------------------------------------------------------


def test_parse_target_units() -> None:
    assert parse_target("1d").duration(DEFAULT_HOURS) == 9 * H
    assert parse_target("4h").duration(DEFAULT_HOURS) == 4 * H
    assert parse_target("90m").duration(DEFAULT_HOURS) == timedelta(minutes=90)
    assert parse_target("2D").duration(DEFAULT_HOURS) == 18 * H
    assert parse_target("0.5d").duration(DEFAULT_HOURS) == 4.5 * H
    assert parse_target(None).duration(DEFAULT_HOURS) == 9 * H  # default 1 business day
    assert parse_target(3).duration(DEFAULT_HOURS) == 3 * H  # a bare number is hours
    short_day = business_hours(["mon"], "10:00", "14:00")
    assert parse_target("1d").duration(short_day) == 4 * H


@pytest.mark.parametrize("bad", ["1w", "d", "-1h", "0h", "soon", "400d", True])
def test_parse_target_rejects_with_a_reason(bad: object) -> None:
    with pytest.raises(SlaError) as error:
        parse_target(bad)  # type: ignore[arg-type]
    assert str(error.value)


def test_parse_days_forms() -> None:
    assert parse_days(["mon", "tue", "wed", "thu", "fri"]) == (0, 1, 2, 3, 4)
    assert parse_days("mon-fri") == (0, 1, 2, 3, 4)
    assert parse_days(["sun", "Monday"]) == (0, 6)
    assert parse_days(None) == (0, 1, 2, 3, 4)
    for bad in (["funday"], "fri-mon", 5, ["mo"]):
        with pytest.raises(SlaError):
            parse_days(bad)


def test_business_hours_validation() -> None:
    assert business_hours(None, None, None) == DEFAULT_HOURS
    assert business_hours(["sat"], "08:30", "12:00") == BusinessHours((5,), time(8, 30), time(12))
    with pytest.raises(SlaError, match="after"):
        business_hours(None, "18:00", "09:00")
    with pytest.raises(SlaError, match="time of day"):
        business_hours(None, "9am", "18:00")
    with pytest.raises(SlaError, match="time of day"):
        business_hours(None, "09:00", "25:00")


# --- adding business time --------------------------------------------------------------------------


def test_within_one_day() -> None:
    start = local(PARIS, 2025, 3, 4, 10, 0)  # a Tuesday
    assert add_business_time(start, 4 * H, DEFAULT_HOURS, PARIS) == local(PARIS, 2025, 3, 4, 14)


def test_across_the_night() -> None:
    start = local(PARIS, 2025, 3, 4, 16, 0)  # Tuesday 16:00, 2 hours left today
    due = add_business_time(start, 4 * H, DEFAULT_HOURS, PARIS)
    assert due == local(PARIS, 2025, 3, 5, 11, 0)


def test_one_business_day_is_the_same_time_next_business_day() -> None:
    start = local(PARIS, 2025, 3, 4, 14, 30)
    due = add_business_time(start, parse_target("1d").duration(DEFAULT_HOURS), DEFAULT_HOURS, PARIS)
    assert due == local(PARIS, 2025, 3, 5, 14, 30)


def test_across_the_weekend() -> None:
    friday = local(PARIS, 2025, 3, 7, 15, 0)
    assert add_business_time(friday, 9 * H, DEFAULT_HOURS, PARIS) == local(PARIS, 2025, 3, 10, 15)
    saturday = local(PARIS, 2025, 3, 8, 11, 0)  # counted from Monday's opening
    assert add_business_time(saturday, 2 * H, DEFAULT_HOURS, PARIS) == local(PARIS, 2025, 3, 10, 11)


def test_before_opening_and_after_closing() -> None:
    early = local(PARIS, 2025, 3, 4, 6, 0)
    assert add_business_time(early, H, DEFAULT_HOURS, PARIS) == local(PARIS, 2025, 3, 4, 10)
    late = local(PARIS, 2025, 3, 4, 22, 0)
    assert add_business_time(late, H, DEFAULT_HOURS, PARIS) == local(PARIS, 2025, 3, 5, 10)


def test_exactly_at_closing_time_ends_today() -> None:
    start = local(PARIS, 2025, 3, 4, 17, 0)
    assert add_business_time(start, H, DEFAULT_HOURS, PARIS) == local(PARIS, 2025, 3, 4, 18)


def test_several_days_and_a_weekend() -> None:
    thursday = local(NY, 2025, 6, 5, 12, 0)
    due = add_business_time(thursday, 3 * 9 * H, DEFAULT_HOURS, NY)
    assert due == local(NY, 2025, 6, 10, 12, 0)  # Fri, Mon, Tue


def test_dst_spring_forward_counts_real_hours() -> None:
    # Europe/Paris moves from UTC+1 to UTC+2 on Sunday 30 March 2025.
    friday = local(PARIS, 2025, 3, 28, 17, 0)
    due = add_business_time(friday, 2 * H, DEFAULT_HOURS, PARIS)
    assert due == local(PARIS, 2025, 3, 31, 10, 0)
    assert due == datetime(2025, 3, 31, 8, 0, tzinfo=UTC)  # 10:00 local is now UTC+2


def test_dst_fall_back() -> None:
    # America/New_York goes back to UTC-5 on Sunday 2 November 2025.
    friday = local(NY, 2025, 10, 31, 17, 0)
    due = add_business_time(friday, 2 * H, DEFAULT_HOURS, NY)
    assert due == datetime(2025, 11, 3, 15, 0, tzinfo=UTC)  # Monday 10:00 EST


def test_weekend_workers_and_custom_hours() -> None:
    hours = business_hours(["sat", "sun"], "10:00", "16:00")
    friday = local(PARIS, 2025, 3, 7, 12, 0)
    assert add_business_time(friday, 8 * H, hours, PARIS) == local(PARIS, 2025, 3, 9, 12)


def test_same_utc_instant_differs_by_timezone() -> None:
    instant = datetime(2025, 3, 4, 23, 0, tzinfo=UTC)  # Paris midnight, NY 18:00, Tokyo 08:00
    assert add_business_time(instant, H, DEFAULT_HOURS, PARIS) == local(PARIS, 2025, 3, 5, 10)
    assert add_business_time(instant, H, DEFAULT_HOURS, NY) == local(NY, 2025, 3, 5, 10)
    assert add_business_time(instant, H, DEFAULT_HOURS, TOKYO) == local(TOKYO, 2025, 3, 5, 10)


def test_unknown_timezone_is_utc(caplog: pytest.LogCaptureFixture) -> None:
    start = datetime(2025, 3, 4, 17, 0, tzinfo=UTC)
    with caplog.at_level("INFO", logger="bot.sla.business_time"):
        due = add_business_time(start, 2 * H, DEFAULT_HOURS, "Mars/Olympus_Mons")
    assert due == datetime(2025, 3, 5, 10, 0, tzinfo=UTC)
    assert "unknown timezone" in caplog.text
    assert add_business_time(start, 2 * H, DEFAULT_HOURS, None) == due


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError):
        add_business_time(datetime(2025, 3, 4, 10), H, DEFAULT_HOURS, PARIS)


def test_between_is_the_inverse_of_add() -> None:
    start = local(PARIS, 2025, 3, 6, 15, 20)
    for hours in (0.5, 3, 9, 20, 47):
        amount = timedelta(hours=hours)
        end = add_business_time(start, amount, DEFAULT_HOURS, PARIS)
        assert business_time_between(start, end, DEFAULT_HOURS, PARIS) == amount
        assert business_time_between(end, start, DEFAULT_HOURS, PARIS) == -amount


def test_between_over_a_weekend_counts_nothing() -> None:
    friday_evening = local(PARIS, 2025, 3, 7, 19, 0)
    monday_morning = local(PARIS, 2025, 3, 10, 8, 0)
    assert (
        business_time_between(friday_evening, monday_morning, DEFAULT_HOURS, PARIS) == timedelta()
    )


# --- when a person may be reminded ---------------------------------------------------------------


def test_in_business_hours_in_the_recipients_timezone() -> None:
    instant = datetime(2025, 3, 4, 15, 0, tzinfo=UTC)  # Paris 16:00, NY 10:00, Tokyo 00:00
    assert in_business_hours(instant, DEFAULT_HOURS, PARIS)
    assert in_business_hours(instant, DEFAULT_HOURS, NY)
    assert not in_business_hours(instant, DEFAULT_HOURS, TOKYO)
    saturday = local(PARIS, 2025, 3, 8, 11, 0)
    assert not in_business_hours(saturday, DEFAULT_HOURS, PARIS)
    assert not in_business_hours(local(PARIS, 2025, 3, 4, 18, 0), DEFAULT_HOURS, PARIS)
    assert in_business_hours(local(PARIS, 2025, 3, 4, 9, 0), DEFAULT_HOURS, PARIS)


def test_next_business_moment() -> None:
    friday_night = local(NY, 2025, 3, 7, 23, 0)
    assert next_business_moment(friday_night, DEFAULT_HOURS, NY) == local(NY, 2025, 3, 10, 9)
    noon = local(NY, 2025, 3, 7, 12, 0)
    assert next_business_moment(noon, DEFAULT_HOURS, NY) == noon


# --- sla_state -----------------------------------------------------------------------------------


@dataclass
class FakeItem:
    created_at: datetime
    kind: str = "painpoint"
    status: str = "open"
    acknowledged_at: datetime | None = None
    answered_at: datetime | None = None
    resolved_at: datetime | None = None
    escalated_at: datetime | None = None


@dataclass
class FakeTeam:
    id: int = 1
    ack_target: str | None = "4h"
    answer_target: str | None = "2h"
    business_days: str | None = "mon,tue,wed,thu,fri"
    business_start: str | None = "09:00"
    business_end: str | None = "18:00"


CREATED = local(PARIS, 2025, 3, 4, 10, 0)  # Tuesday 10:00 Paris


def test_sla_ok_due_soon_breached() -> None:
    item, team = FakeItem(CREATED), FakeTeam()
    due = local(PARIS, 2025, 3, 4, 14, 0)
    assert sla_state(item, team, CREATED + H, PARIS) == SlaState("ok", due, H)
    # 25% of 4h is 1h: with 59 minutes left it is due soon.
    soon = due - timedelta(minutes=59)
    assert sla_state(item, team, soon, PARIS).state == "due_soon"
    assert sla_state(item, team, due - timedelta(minutes=61), PARIS).state == "ok"
    late = sla_state(item, team, due, PARIS)
    assert late.state == "breached" and late.due_at == due and late.age == 4 * H


def test_sla_due_soon_counts_business_time_not_the_night() -> None:
    item = FakeItem(local(PARIS, 2025, 3, 4, 16, 0))  # due Wednesday 11:00
    team = FakeTeam()
    evening = local(PARIS, 2025, 3, 4, 20, 0)  # 2 business hours left, wall clock 15
    assert sla_state(item, team, evening, PARIS).state == "ok"
    assert sla_state(item, team, local(PARIS, 2025, 3, 5, 10, 30), PARIS).state == "due_soon"


def test_sla_uses_the_leads_timezone() -> None:
    item, team = FakeItem(CREATED), FakeTeam()  # 09:00 UTC is 04:00 in New York
    state = sla_state(item, team, CREATED, NY)
    assert state.due_at == local(NY, 2025, 3, 4, 13, 0)


def test_sla_defaults_without_team() -> None:
    state = sla_state(FakeItem(CREATED), None, CREATED, PARIS)
    assert state.state == "ok"
    assert state.due_at == local(PARIS, 2025, 3, 5, 10, 0)  # 1 business day


def test_sla_escalated_and_none() -> None:
    team = FakeTeam()
    escalated = FakeItem(CREATED, escalated_at=CREATED + 8 * H)
    assert sla_state(escalated, team, CREATED + 9 * H, PARIS).state == "escalated"
    resolved = FakeItem(CREATED, status="resolved", resolved_at=CREATED + H)
    assert sla_state(resolved, team, CREATED + 30 * H, PARIS) == SlaState("none", None, 30 * H)
    assert sla_state(FakeItem(CREATED, status="closed"), team, CREATED, PARIS).state == "none"


def test_sla_acknowledged_question_waits_for_its_answer_target() -> None:
    team = FakeTeam()
    acked = local(PARIS, 2025, 3, 4, 17, 0)
    question = FakeItem(CREATED, kind="question", status="acknowledged", acknowledged_at=acked)
    state = sla_state(question, team, acked, PARIS)
    assert state.state == "ok" and state.due_at == local(PARIS, 2025, 3, 5, 10, 0)
    assert sla_state(question, team, local(PARIS, 2025, 3, 5, 10, 0), PARIS).state == "breached"
    # An escalation of the acknowledgement phase does not count for the answer phase.
    question.escalated_at = CREATED + H
    assert sla_state(question, team, acked, PARIS).state == "ok"
    question.answered_at, question.status = acked + H, "answered"
    assert sla_state(question, team, acked + 2 * H, PARIS) == SlaState("ok", None, 9 * H)


def test_sla_acknowledged_painpoint_waits_on_nobody() -> None:
    item = FakeItem(CREATED, status="acknowledged", acknowledged_at=CREATED + H)
    assert sla_state(item, FakeTeam(), CREATED + 50 * H, PARIS).due_at is None


def test_sla_bad_team_settings_fall_back_to_defaults() -> None:
    team = FakeTeam(ack_target="soon", business_start="late")
    state = sla_state(FakeItem(CREATED), team, CREATED, PARIS)
    assert state.due_at == local(PARIS, 2025, 3, 5, 10, 0)
    assert sla.team_hours(team) == DEFAULT_HOURS


# --- the routing file's service levels -----------------------------------------------------------


def test_routing_file_service_levels_round_trip_and_errors() -> None:
    from bot.intake.routing_file import RoutingFileError, dump, parse

    text = """\
triage:
  lead: U0PRODOPS
teams:
  - name: Payments
    lead: U0PAYLEAD
    ack_target: 4h
    answer_target: 2d
    business_hours: {days: [mon, tue, wed, thu], start: 08:30, end: "17:00"}
"""
    model = parse(text)
    team = model.teams[0]
    assert (team.ack_target, team.answer_target) == ("4h", "2d")
    assert (team.business_days, team.business_start, team.business_end) == (
        "mon,tue,wed,thu",
        "08:30",
        "17:00",
    )
    assert parse(dump(model)) == model
    bad = """\
triage:
  lead: U0PRODOPS
teams:
  - name: Payments
    lead: U0PAYLEAD
    ack_target: soon
    business_hours: {days: [mon, funday]}
  - name: Mobile
    lead: U0MOBLEAD
    business_hours: {start: "18:00", end: "09:00", lunch: 1}
"""
    with pytest.raises(RoutingFileError) as error:
        parse(bad)
    message = str(error.value)
    assert "6: teams[0].ack_target: 'soon' is not a duration" in message
    assert "7: teams[0].business_hours: 'funday' is not a day" in message
    assert "10: teams[1].business_hours.lunch: unknown key" in message
    assert "end (09:00) must be after they start (18:00)" in message
