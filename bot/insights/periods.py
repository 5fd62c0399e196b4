"""Periods the insights are read for: an ISO week ("2026-W48"), a month ("2026-11") or a
quarter ("2026-Q4"), each from midnight to midnight in a timezone (the report's).

Plain data: no I/O. `start` and `end` are aware UTC instants, `end` excluded.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

KINDS = ("week", "month", "quarter")
_WEEK = re.compile(r"^(\d{4})-W(\d{1,2})$", re.IGNORECASE)
_MONTH = re.compile(r"^(\d{4})-(\d{1,2})$")
_QUARTER = re.compile(r"^(\d{4})-Q([1-4])$", re.IGNORECASE)


class PeriodError(ValueError):
    """A period the insights cannot read; `key` names the message (i18n) and `text` what
    was given."""

    def __init__(self, key: str, text: str) -> None:
        super().__init__(f"{key}: {text}")
        self.key = key
        self.text = text


@dataclass(frozen=True)
class Period:
    kind: str  # week | month | quarter
    key: str  # "2026-W48", "2026-11", "2026-Q4"
    first_day: date  # local, included
    last_day: date  # local, included
    timezone: str
    start: datetime  # aware UTC, included
    end: datetime  # aware UTC, excluded

    @property
    def days(self) -> int:
        return (self.last_day - self.first_day).days + 1

    def previous(self) -> Period:
        return period_of(self.kind, self.first_day - timedelta(days=1), self.timezone)

    def next(self) -> Period:
        return period_of(self.kind, self.last_day + timedelta(days=1), self.timezone)

    def contains(self, instant: datetime) -> bool:
        return self.start <= instant < self.end


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise PeriodError("insights.period.bad_timezone", name) from error


def _midnight(day: date, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), tzinfo=tz).astimezone(UTC)


def _make(kind: str, key: str, first: date, after: date, timezone: str) -> Period:
    tz = zone(timezone)
    return Period(
        kind=kind,
        key=key,
        first_day=first,
        last_day=after - timedelta(days=1),
        timezone=timezone,
        start=_midnight(first, tz),
        end=_midnight(after, tz),
    )


def period_of(kind: str, day: date, timezone: str = "UTC") -> Period:
    """The week, month or quarter holding a local day."""
    if kind == "week":
        monday = day - timedelta(days=day.weekday())
        year, week, _ = monday.isocalendar()
        return _make(kind, f"{year}-W{week:02d}", monday, monday + timedelta(days=7), timezone)
    if kind == "month":
        first = day.replace(day=1)
        after = (first + timedelta(days=32)).replace(day=1)
        return _make(kind, f"{first.year}-{first.month:02d}", first, after, timezone)
    if kind == "quarter":
        quarter = (day.month - 1) // 3 + 1
        first = date(day.year, 3 * quarter - 2, 1)
        after = date(day.year + 1, 1, 1) if quarter == 4 else date(day.year, 3 * quarter + 1, 1)
        return _make(kind, f"{day.year}-Q{quarter}", first, after, timezone)
    raise PeriodError("insights.period.bad_kind", kind)


def current_period(kind: str, now: datetime, timezone: str = "UTC") -> Period:
    """The period holding `now` (an aware instant), in the timezone's calendar."""
    return period_of(kind, now.astimezone(zone(timezone)).date(), timezone)


def parse_period(text: str, timezone: str = "UTC") -> Period:
    """ "2026-Q4", "2026-11" or "2026-W48" (also "week", "month", "quarter" for the
    current one is the caller's business: see `current_period`)."""
    value = text.strip()
    if match := _QUARTER.match(value):
        return period_of("quarter", date(int(match[1]), 3 * int(match[2]) - 2, 1), timezone)
    if match := _MONTH.match(value):
        month = int(match[2])
        if not 1 <= month <= 12:
            raise PeriodError("insights.period.bad", text)
        return period_of("month", date(int(match[1]), month, 1), timezone)
    if match := _WEEK.match(value):
        try:
            monday = date.fromisocalendar(int(match[1]), int(match[2]), 1)
        except ValueError as error:
            raise PeriodError("insights.period.bad", text) from error
        return period_of("week", monday, timezone)
    raise PeriodError("insights.period.bad", text)


def weeks_between(start: datetime, end: datetime, timezone: str = "UTC") -> list[Period]:
    """Every ISO week from the one holding `start` to the one holding `end` (included)."""
    first = current_period("week", start, timezone)
    last = current_period("week", end, timezone)
    if first.start > last.start:
        return []
    weeks = [first]
    while weeks[-1].key != last.key:
        weeks.append(weeks[-1].next())
    return weeks
