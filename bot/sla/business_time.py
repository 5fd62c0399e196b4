"""Service-level targets in business time: pure functions, no database, no Slack.

A team has an acknowledgement target ("1d", "4h", "90m": business time), an answer target for
questions acknowledged but not answered, and business hours (days, start, end) evaluated in a
timezone: the lead's for targets, the recipient's for when a reminder may go out. "1d" is one
business day, that is as many business hours as the team's day has.

Every instant here is an aware datetime; results are in UTC.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.items.domain import IMPORT_SOURCE

log = logging.getLogger(__name__)

DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
FULL_DAY_NAMES = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
DEFAULT_DAYS = ("mon", "tue", "wed", "thu", "fri")
DEFAULT_START = "09:00"
DEFAULT_END = "18:00"
DEFAULT_ACK_TARGET = "1d"
DEFAULT_ANSWER_TARGET = "1d"
# "due soon" once less than this share of the target remains.
DUE_SOON_SHARE = 0.25
CLOSED_STATUSES = frozenset({"resolved", "closed"})

_TARGET = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([dhm])\s*$", re.IGNORECASE)
_CLOCK = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")
# Refuse absurd targets (a typo like "400d") rather than never reminding anyone.
MAX_TARGET_DAYS = 60


class SlaError(ValueError):
    """A target or business-hours value that cannot be used; the message says why."""


@dataclass(frozen=True)
class BusinessHours:
    days: tuple[int, ...] = (0, 1, 2, 3, 4)  # Monday is 0, as datetime.weekday()
    start: time = time(9, 0)
    end: time = time(18, 0)

    @property
    def day_length(self) -> timedelta:
        return datetime.combine(date.min, self.end) - datetime.combine(date.min, self.start)

    @property
    def day_names(self) -> list[str]:
        return [DAY_NAMES[day] for day in self.days]


DEFAULT_HOURS = BusinessHours()


@dataclass(frozen=True)
class Target:
    """A target in business time: whole business days plus business minutes."""

    days: float = 0
    minutes: float = 0
    text: str = ""

    def duration(self, hours: BusinessHours) -> timedelta:
        return hours.day_length * self.days + timedelta(minutes=self.minutes)


@dataclass(frozen=True)
class SlaState:
    state: str  # ok | due_soon | breached | escalated | none
    due_at: datetime | None  # UTC
    age: timedelta


# --- parsing ------------------------------------------------------------------------------------


def parse_target(value: str | int | float | None, default: str = DEFAULT_ACK_TARGET) -> Target:
    """'1d' (business days), '4h', '90m'; a bare number is hours."""
    if value is None or (isinstance(value, str) and not value.strip()):
        value = default
    if isinstance(value, bool):
        raise SlaError(f"{value!r} is not a duration: use a number with d, h or m, like 1d or 4h")
    if isinstance(value, int | float):
        value = f"{value}h"
    match = _TARGET.match(str(value))
    if not match:
        raise SlaError(f"{value!r} is not a duration: use a number with d, h or m, like 1d or 4h")
    amount, unit = float(match.group(1)), match.group(2).lower()
    if amount <= 0:
        raise SlaError(f"{value!r} must be more than zero")
    days = amount if unit == "d" else 0
    minutes = amount * 60 if unit == "h" else amount if unit == "m" else 0
    if days > MAX_TARGET_DAYS or minutes > MAX_TARGET_DAYS * 24 * 60:
        raise SlaError(f"{value!r} is too long (at most {MAX_TARGET_DAYS} business days)")
    return Target(days=days, minutes=minutes, text=str(value).strip().lower())


def parse_clock(value: str | None, default: str) -> time:
    text = (value or default).strip()
    match = _CLOCK.match(text)
    if not match:
        raise SlaError(f"{value!r} is not a time of day: use HH:MM, like 09:00")
    return time(int(match.group(1)), int(match.group(2)))


def parse_days(value: Any) -> tuple[int, ...]:
    """['mon', 'tue'] or 'mon,tue' or 'mon-fri' into weekday numbers."""
    if value is None or value == "" or value == []:
        return DEFAULT_HOURS.days
    if isinstance(value, str):
        parts = [part.strip().lower() for part in value.split(",") if part.strip()]
    elif isinstance(value, list | tuple):
        parts = [str(part).strip().lower() for part in value]
    else:
        raise SlaError(f"{value!r} is not a list of days: use [mon, tue, wed, thu, fri]")
    days: set[int] = set()
    for part in parts:
        if "-" in part:
            first, _, last = (side.strip() for side in part.partition("-"))
            if not {first, last} <= {*DAY_NAMES, *FULL_DAY_NAMES}:
                raise SlaError(f"{part!r} is not a range of days, like mon-fri")
            i, j = DAY_NAMES.index(first[:3]), DAY_NAMES.index(last[:3])
            if j < i:
                raise SlaError(f"{part!r} goes backwards: write the first day first")
            days.update(range(i, j + 1))
        elif part in DAY_NAMES or part in FULL_DAY_NAMES:
            days.add(DAY_NAMES.index(part[:3]))
        else:
            raise SlaError(f"{part!r} is not a day: use mon, tue, wed, thu, fri, sat or sun")
    if not days:
        raise SlaError("business hours need at least one day")
    return tuple(sorted(days))


def business_hours(
    days: Any = None, start: str | None = None, end: str | None = None
) -> BusinessHours:
    hours = BusinessHours(
        days=parse_days(days),
        start=parse_clock(start, DEFAULT_START),
        end=parse_clock(end, DEFAULT_END),
    )
    if hours.end <= hours.start:
        raise SlaError(f"business hours end ({end}) must be after they start ({start})")
    return hours


def format_days(days: tuple[int, ...]) -> str:
    return ",".join(DAY_NAMES[day] for day in days)


def team_hours(team: Any | None) -> BusinessHours:
    """A team's business hours (the defaults when no team, or values that no longer parse)."""
    if team is None:
        return DEFAULT_HOURS
    try:
        return business_hours(
            getattr(team, "business_days", None),
            getattr(team, "business_start", None),
            getattr(team, "business_end", None),
        )
    except SlaError:
        log.warning("team %s has unusable business hours; using the defaults", team.id)
        return DEFAULT_HOURS


def team_target(team: Any | None, which: str) -> Target:
    """`which` is "ack" or "answer"."""
    default = DEFAULT_ACK_TARGET if which == "ack" else DEFAULT_ANSWER_TARGET
    value = getattr(team, f"{which}_target", None) if team is not None else None
    try:
        return parse_target(value, default)
    except SlaError:
        log.warning("team %s has an unusable %s target %r", getattr(team, "id", "?"), which, value)
        return parse_target(default)


# --- timezones ----------------------------------------------------------------------------------


def zone(tz: str | None) -> ZoneInfo:
    """The named timezone; unknown or missing gives UTC (and says so in the logs)."""
    if tz:
        try:
            return ZoneInfo(tz)
        except (ZoneInfoNotFoundError, ValueError):
            log.info("unknown timezone %r: using UTC", tz)
    else:
        log.debug("no timezone known: using UTC")
    return ZoneInfo("UTC")


def _aware(instant: datetime) -> datetime:
    if instant.tzinfo is None:
        raise ValueError("naive datetime given to business-time arithmetic")
    return instant.astimezone(UTC)


def _window(day: date, hours: BusinessHours, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """The business window of a local day, as UTC instants (DST-safe: real elapsed time)."""
    start = datetime.combine(day, hours.start, tzinfo=tz).astimezone(UTC)
    end = datetime.combine(day, hours.end, tzinfo=tz).astimezone(UTC)
    return start, end


# --- business-time arithmetic -------------------------------------------------------------------


def add_business_time(
    start: datetime, amount: timedelta, hours: BusinessHours, tz: str | None
) -> datetime:
    """The instant `amount` of business time after `start`, counted in `tz`'s business hours."""
    cursor = _aware(start)
    remaining = amount
    zone_info = zone(tz)
    day = cursor.astimezone(zone_info).date() - timedelta(days=1)
    # Bounded: at most a week of empty days per business day needed, plus slack.
    for _ in range(8 * (int(amount / max(hours.day_length, timedelta(minutes=1))) + 2) + 14):
        if day.weekday() in hours.days:
            opens, closes = _window(day, hours, zone_info)
            if cursor < opens:
                cursor = opens
            if cursor < closes:
                available = closes - cursor
                if remaining <= available:
                    return cursor + remaining
                remaining -= available
                cursor = closes
        day += timedelta(days=1)
    raise SlaError("business hours leave no time to count in")  # unreachable with a valid day


def business_time_between(
    start: datetime, end: datetime, hours: BusinessHours, tz: str | None
) -> timedelta:
    """Business time from `start` to `end` (negative when `end` is before `start`)."""
    start, end = _aware(start), _aware(end)
    if end < start:
        return -business_time_between(end, start, hours, tz)
    zone_info = zone(tz)
    total = timedelta()
    day = start.astimezone(zone_info).date() - timedelta(days=1)
    last = end.astimezone(zone_info).date() + timedelta(days=1)
    while day <= last:
        if day.weekday() in hours.days:
            opens, closes = _window(day, hours, zone_info)
            lo, hi = max(opens, start), min(closes, end)
            if hi > lo:
                total += hi - lo
        day += timedelta(days=1)
    return total


def in_business_hours(instant: datetime, hours: BusinessHours, tz: str | None) -> bool:
    instant = _aware(instant)
    zone_info = zone(tz)
    local_day = instant.astimezone(zone_info).date()
    for day in (local_day - timedelta(days=1), local_day):
        if day.weekday() in hours.days:
            opens, closes = _window(day, hours, zone_info)
            if opens <= instant < closes:
                return True
    return False


def next_business_moment(instant: datetime, hours: BusinessHours, tz: str | None) -> datetime:
    """`instant` if it is in business hours, else when business hours next open."""
    if in_business_hours(instant, hours, tz):
        return _aware(instant)
    return add_business_time(instant, timedelta(0), hours, tz)


# --- the state of an item -----------------------------------------------------------------------


@dataclass(frozen=True)
class Phase:
    """What the item waits for now: the lead's acknowledgement or the answer to a question."""

    kind: str  # ack | answer
    since: datetime
    target: Target


def current_phase(item: Any, team: Any | None) -> Phase | None:
    """None when nothing waits on the lead (closed, answered, an acknowledged pain point, or
    a backlog item imported silently that nobody has taken up yet: `silently_imported`)."""
    if item.status in CLOSED_STATUSES or item.resolved_at is not None:
        return None
    # A new lead (reassigned, handed over, reopened) gets the whole target again.
    assigned = getattr(item, "assigned_at", None) or item.created_at
    if item.acknowledged_at is None and item.status == "open":
        if silently_imported(item):
            return None
        return Phase("ack", assigned, team_target(team, "ack"))
    if item.kind == "question" and item.answered_at is None and item.status != "answered":
        since = max(_aware(item.acknowledged_at or item.created_at), _aware(assigned))
        return Phase("answer", since, team_target(team, "answer"))
    return None


def silently_imported(item: Any) -> bool:
    """A backlog item `jerry items import` brought in without telling its lead (no
    --route): its lead was never asked, so no target runs until someone acts on it (they
    acknowledge it, and a question's answer target starts then; or it is reassigned, taken
    or reopened, which sets `assigned_at` and starts every target afresh). Imported with
    --route, `assigned_at` is the import's time: the targets count from there, never from
    the row's old `created_at`. Either way, importing old items owes nothing late."""
    return (
        getattr(item, "source", None) == IMPORT_SOURCE
        and getattr(item, "assigned_at", None) is None
    )


def due_at(item: Any, team: Any | None, lead_tz: str | None) -> datetime | None:
    phase = current_phase(item, team)
    if phase is None:
        return None
    hours = team_hours(team)
    return add_business_time(phase.since, phase.target.duration(hours), hours, lead_tz)


def sla_state(item: Any, team: Any | None, now: datetime, lead_tz: str | None) -> SlaState:
    """Where an item stands against its team's target, in the lead's business hours.

    "none" for resolved or closed items; "ok", "due_soon" (less than a quarter of the target
    left), "breached" (past due), "escalated" (past due and the backup was asked); an item
    waiting on nobody (an acknowledged pain point, an answered question) is "ok", no due date.
    """
    now = _aware(now)
    age = max(now - _aware(item.created_at), timedelta(0))
    if item.status in CLOSED_STATUSES or item.resolved_at is not None:
        return SlaState("none", None, age)
    phase = current_phase(item, team)
    if phase is None:
        return SlaState("ok", None, age)
    hours = team_hours(team)
    target = phase.target.duration(hours)
    due = add_business_time(phase.since, target, hours, lead_tz)
    escalated_at = getattr(item, "escalated_at", None)
    if escalated_at is not None and _aware(escalated_at) >= _aware(phase.since):
        return SlaState("escalated", due, age)
    if now >= due:
        return SlaState("breached", due, age)
    left = business_time_between(now, due, hours, lead_tz)
    if left < target * DUE_SOON_SHARE:
        return SlaState("due_soon", due, age)
    return SlaState("ok", due, age)
