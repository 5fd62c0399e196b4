"""The product-ops report: the month's and the quarter's insights, posted to product ops'
channel and by DM to the people the summaries file lists (`report:`), exactly once per
period across restarts and replicas.

- One scheduler job, "insights_report", looks every minute for the latest slot at or before
  now of each cadence set (monthly: day D of each month at HH:MM; quarterly: day D of each
  quarter's first month), in the report's timezone. The period reported is the one that
  ended before the slot (November's report on December 1st).
- A slot before the report was set up (`since`, kept across re-imports) owes nothing.
- The report is computed first (a second or so on a large database), then its row of
  `insight_reports` is claimed (a unique (period, sequence) insert) in the SAME transaction
  that owes its messages through the outbox: a second process finds the period taken; a
  crash before the commit leaves nothing claimed, so the next tick posts it; after the
  commit, the outbox delivers it (retried through Slack trouble, looked for in Slack before
  a retry posts it again).
- Each recipient (the channel, each person) is one delivery: the post, its thread replies,
  the bug trend chart, then the method note last, resuming where an interrupted attempt
  stopped. A listed email is looked up (users.lookupByEmail) when its DM is sent.
"""

from __future__ import annotations

import asyncio
import base64
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, time
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.insights.charts import bug_trend_spec, chart_filename, draw
from bot.insights.domain import Insights
from bot.insights.file_settings import REPORT, read_file_setting
from bot.insights.numbers import ADMIN, compute_insights
from bot.insights.periods import Period, period_of, zone
from bot.outbox.registry import (
    OutboxContext,
    OutboxHandler,
    OutboxRegistry,
    PermanentDeliveryError,
    Posted,
)
from bot.outbox.store import enqueue
from bot.slack import SLACK_FAILURES, classify, user_id_by_email
from bot.triage import alert_triage
from bot.views.insights_report import report_post, report_thread
from models.base import utcnow
from models.deliveries import Delivery
from models.insights import InsightReport
from models.items import Item

log = logging.getLogger("jerry.insights")

JOB_NAME = "insights_report"
PURPOSE = "insights_report"  # the outbox row posting the report to one recipient
CADENCES = {"monthly": "month", "quarterly": "quarter"}


@dataclass(frozen=True)
class ReportSettings:
    channel: str
    dm: tuple[str, ...]
    timezone: str
    language: str
    schedules: dict[str, tuple[int, time]]  # cadence -> (day, local time)
    since: datetime | None

    @classmethod
    def from_setting(cls, value: Mapping[str, Any]) -> ReportSettings:
        schedules = {}
        for cadence in CADENCES:
            raw = value.get(cadence)
            if isinstance(raw, dict):
                hour, minute = (int(part) for part in str(raw.get("time", "09:00")).split(":"))
                schedules[cadence] = (int(raw.get("day", 1)), time(hour, minute))
        since = value.get("since")
        return cls(
            channel=str(value.get("channel") or ""),
            dm=tuple(str(person) for person in value.get("dm") or ()),
            timezone=str(value.get("timezone") or "UTC"),
            language=str(value.get("language") or "en"),
            schedules=schedules,
            since=datetime.fromisoformat(since) if isinstance(since, str) else None,
        )


async def report_settings(session: AsyncSession) -> ReportSettings | None:
    stored = await read_file_setting(session, REPORT)
    if not stored or not stored.get("channel"):
        return None
    return ReportSettings.from_setting(stored)


def period_key(period: Period) -> str:
    return f"{period.kind}:{period.key}"


def latest_slot(
    kind: str, day: int, at: time, timezone: str, now: datetime
) -> tuple[datetime, Period]:
    """The latest slot at or before `now` of a monthly or quarterly cadence, and the period
    it reports (the one that ended before it)."""
    tz = zone(timezone)
    local = now.astimezone(tz).date()
    holding = period_of(kind, local, timezone)
    for _ in range(2):
        slot_day = holding.first_day.replace(day=day)
        slot = datetime.combine(slot_day, at, tzinfo=tz).astimezone(UTC)
        if slot <= now:
            return slot, holding.previous()
        holding = holding.previous()
    raise AssertionError("unreachable: the period before always has its slot in the past")


def next_slot(kind: str, day: int, at: time, timezone: str, now: datetime) -> datetime:
    """When the next report of a cadence goes out (for previews and the README)."""
    tz = zone(timezone)
    holding = period_of(kind, now.astimezone(tz).date(), timezone)
    for _ in range(3):
        slot = datetime.combine(holding.first_day.replace(day=day), at, tzinfo=tz)
        if slot.astimezone(UTC) > now:
            return slot.astimezone(UTC)
        holding = holding.next()
    raise AssertionError("unreachable")


@dataclass(frozen=True)
class SendResult:
    period: str
    outcome: str  # owed | taken | none
    recipients: int = 0


def _chart_param(insights: Insights, lang: str) -> dict[str, Any] | None:
    spec = bug_trend_spec(insights, lang)
    if spec is None:
        return None
    png = draw(spec)
    return {
        "png": base64.b64encode(png).decode("ascii"),
        "filename": chart_filename(spec, insights),
        "title": spec.title,
        "alt_text": spec.alt_text,
    }


async def owe_report(
    sessions: async_sessionmaker[AsyncSession],
    settings: ReportSettings,
    period: Period,
    *,
    now: datetime,
    again: bool = False,
) -> SendResult:
    """Compute the report of `period` and owe it to every recipient, once: "taken" when the
    period was claimed already (without `again`, which adds a sequence)."""
    key = period_key(period)
    insights = await compute_insights(sessions, period, ADMIN, now=now)
    lang = settings.language
    messages = [report_post(insights, lang), *report_thread(insights, lang)]
    chart = await asyncio.to_thread(_chart_param, insights, lang)
    async with sessions() as session:
        sequence = 0
        if again:
            latest = await session.scalar(
                select(func.max(InsightReport.sequence)).where(InsightReport.period == key)
            )
            sequence = 0 if latest is None else latest + 1
        report = InsightReport(period=key, sequence=sequence, status="claimed", claimed_at=now)
        session.add(report)
        try:
            await session.flush()
        except IntegrityError:
            await session.rollback()
            return SendResult(key, "taken")
        recipients = [settings.channel, *settings.dm]
        for recipient in recipients:
            enqueue(
                session,
                PURPOSE,
                recipient=recipient,
                report_id=report.id,
                language=lang,
                dm=recipient != settings.channel,
                messages=messages,
                chart=chart,
            )
        await session.commit()
    log.info("insights report %s owed to %d recipients", key, len(recipients))
    return SendResult(key, "owed", len(recipients))


async def run_due_reports(
    sessions: async_sessionmaker[AsyncSession], now: datetime
) -> list[SendResult]:
    """The scheduler's tick: owe each cadence's latest slot not reported yet."""
    async with sessions() as session:
        settings = await report_settings(session)
    if settings is None:
        return []
    results = []
    for cadence, (day, at) in settings.schedules.items():
        kind = CADENCES[cadence]
        slot, period = latest_slot(kind, day, at, settings.timezone, now)
        if settings.since is not None and slot < settings.since:
            continue  # set up after this slot: it owes nothing
        async with sessions() as session:
            claimed = await session.scalar(
                select(func.count()).where(InsightReport.period == period_key(period))
            )
        if claimed:
            continue
        results.append(await owe_report(sessions, settings, period, now=now))
    return results


# --- the outbox ---------------------------------------------------------------------------------


async def _save_progress(
    outbox: OutboxContext, delivery: Delivery, params: dict[str, Any], done: dict[str, Any]
) -> None:
    # In a session of its own, now: a crash or a failure on the next message must not lose
    # what Slack already has.
    async with outbox.sessions() as own:
        await own.execute(
            update(Delivery)
            .where(Delivery.id == delivery.id)
            .values(params={**params, "_progress": done})
        )
        await own.commit()


async def deliver(outbox: OutboxContext, session: AsyncSession, delivery: Delivery) -> Posted:
    params: dict[str, Any] = dict(delivery.params or {})
    report = await session.get(InsightReport, int(params.get("report_id") or 0))
    if report is None:
        raise PermanentDeliveryError("report_missing")
    recipient = delivery.recipient or ""
    if "@" in recipient:
        found = await user_id_by_email(outbox.client, recipient)
        if found is None:
            raise PermanentDeliveryError("users_not_found")
        recipient = found
    messages: list[dict[str, Any]] = list(params.get("messages") or [])
    if not messages:
        raise PermanentDeliveryError("no_message")
    progress: dict[str, Any] = dict(params.get("_progress") or {})
    if not progress.get("ts"):
        channel, ts = await outbox.post(recipient, messages[0], part=1)
        progress.update(channel=channel, ts=ts, done=1)
        await _save_progress(outbox, delivery, params, progress)
    channel, ts = progress["channel"], progress["ts"]
    # The replies, the chart, and the method note last.
    for part, message in enumerate(messages[1:-1], start=2):
        if part <= int(progress.get("done", 1)):
            continue
        await outbox.post(channel, message, thread_ts=ts, part=part)
        progress["done"] = part
        await _save_progress(outbox, delivery, params, progress)
    chart = params.get("chart")
    if chart and not progress.get("chart"):
        progress["chart"] = await _upload_chart(outbox, chart, channel, ts)
        await _save_progress(outbox, delivery, params, progress)
    last = len(messages)
    if last > 1 and int(progress.get("done", 1)) < last:
        await outbox.post(channel, messages[-1], thread_ts=ts, part=last)
        progress["done"] = last
    delivery.params = {**params, "_progress": progress}
    if not params.get("dm"):
        report.status, report.posted_at = "posted", utcnow()
        report.channel, report.ts = channel, ts
    return channel, ts


async def _upload_chart(
    outbox: OutboxContext, chart: Mapping[str, Any], channel: str, ts: str
) -> str:
    """The chart in the thread, with its words; "failed" when Slack will not take it (the
    report stands without it: its words are in the post)."""
    try:
        response = await outbox.client.files_upload_v2(
            content=base64.b64decode(chart["png"]),
            filename=chart["filename"],
            title=chart["title"],
            alt_txt=chart["alt_text"],
            initial_comment=chart["alt_text"],
            channel=channel,
            thread_ts=ts,
        )
    except SLACK_FAILURES as exc:
        log.warning("insights report chart not uploaded: %s", classify(exc).code)
        return "failed"
    files = response.get("files") or []
    return str(files[0].get("id")) if files and isinstance(files[0], dict) else "uploaded"


def register_outbox(registry: OutboxRegistry) -> None:
    async def send(
        outbox: OutboxContext, session: AsyncSession, delivery: Delivery, item: Item | None
    ) -> Posted:
        return await deliver(outbox, session, delivery)

    async def failed(
        session: AsyncSession, delivery: Delivery, item: Item | None, error: str
    ) -> None:
        params = delivery.params or {}
        report = await session.get(InsightReport, int(params.get("report_id") or 0))
        period = report.period if report else "?"
        if report is not None and not params.get("dm"):
            report.status, report.error = "failed", error
        log.warning("insights report %s to %s not delivered: %s", period, delivery.recipient, error)
        await alert_triage(
            session,
            "insights_report_failed",
            period=period.partition(":")[2],
            recipient=delivery.recipient or "",
            error=error,
        )

    registry.register(PURPOSE, OutboxHandler(send=send, undeliverable=failed, gave_up=failed))


# --- downloads -----------------------------------------------------------------------------------


class DownloadRefused(Exception):
    """`key` names what the person is told (i18n); nothing was sent."""

    def __init__(self, key: str, **params: object) -> None:
        super().__init__(key)
        self.key = key
        self.params = params


@dataclass(frozen=True)
class ReportFile:
    filename: str
    title: str
    content: str
    period_label: str


async def report_file(
    sessions: async_sessionmaker[AsyncSession],
    value: str,
    *,
    user_id: str,
    admins: frozenset[str],
    now: datetime,
) -> ReportFile:
    """The CSV or Markdown of the report a download button names, for someone who may read
    it (an admin, or a person the report is sent to): DownloadRefused otherwise."""
    from bot.insights.export import insights_csv
    from bot.insights.periods import PeriodError, parse_period
    from bot.views.insights_report import parse_download_value, report_markdown
    from bot.views.insights_words import period_label

    parsed = parse_download_value(value)
    if parsed is None:
        raise DownloadRefused("insights.report.download.bad")
    fmt, kind, key = parsed
    async with sessions() as session:
        settings = await report_settings(session)
    listed = settings is not None and user_id in settings.dm
    if user_id not in admins and not listed:
        raise DownloadRefused("insights.report.download.refused")
    timezone = settings.timezone if settings else "UTC"
    lang = settings.language if settings else "en"
    try:
        period = parse_period(key, timezone)
    except PeriodError as error:
        raise DownloadRefused("insights.report.download.bad") from error
    if period.kind != kind:
        raise DownloadRefused("insights.report.download.bad")
    insights = await compute_insights(sessions, period, ADMIN, now=now)
    content = insights_csv(insights) if fmt == "csv" else report_markdown(insights, lang)
    label = period_label(period.kind, period.key, lang)
    return ReportFile(
        filename=f"product-ops-report-{period.key}.{fmt}",
        title=label,
        content=content,
        period_label=label,
    )
