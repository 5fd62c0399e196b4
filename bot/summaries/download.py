"""The "Download CSV" / "Download Markdown" buttons of a weekly summary.

The button carries "subscription_id:week". The file is the same summary the channel got:
the period the posted summary covered (recorded on its SummaryPost row), or, for a week not
posted (yet), the period a preview would use (bot/summaries/posting.py). It is uploaded with
Slack's external upload (files.getUploadURLExternal, then files.completeUploadExternal)
and shared in the DM between Jerry and the person who clicked.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.services import Services
from bot.slack import TRANSPORT_ERRORS, SlackApiError, classify
from bot.summaries import queries as q
from bot.summaries.content import build_summary
from bot.summaries.domain import Period, Summary
from bot.summaries.posting import SummaryError, parse_week, preview_summary, scope_of
from bot.views.summary import summary_csv, summary_markdown

log = logging.getLogger("jerry.summaries")

FORMATS = ("csv", "md")
_VALUE = re.compile(r"^(\d{1,12}):(\S{1,12})$")


class DownloadError(Exception):
    """Why there is no file: a catalog key and its params (the handler says it)."""

    def __init__(self, key: str, **params: object) -> None:
        self.key, self.params = key, params
        super().__init__(key)


@dataclass(frozen=True)
class SummaryFile:
    filename: str  # summary-<name>-<week>.csv|md
    title: str
    content: str
    language: str
    week: str


@dataclass(frozen=True)
class Sent:
    file: SummaryFile
    file_id: str | None


def parse_value(value: str | None) -> tuple[int, str]:
    """ "7:2026-W48" → (7, "2026-W48"); DownloadError for anything else."""
    match = _VALUE.match((value or "").strip())
    if not match:
        raise DownloadError("summary.download.bad_value")
    try:
        return int(match.group(1)), parse_week(match.group(2))
    except SummaryError as exc:
        raise DownloadError("summary.download.bad_value") from exc


def slug(name: str) -> str:
    """A file-name-safe form of a subscription's name ("Sales EMEA" → "sales-emea")."""
    cleaned = re.sub(r"[^\w]+", "-", name.casefold(), flags=re.UNICODE).strip("-_")
    return cleaned[:60] or "summary"


async def summary_for_download(
    sessions: async_sessionmaker[AsyncSession], value: str, *, now: datetime
) -> tuple[Summary, str]:
    """The summary a download button stands for, and the subscription's language."""
    subscription_id, week = parse_value(value)
    async with sessions() as session:
        subscription = await q.subscription_by_id(session, subscription_id)
        if subscription is None:
            raise DownloadError("summary.download.gone")
        posted = await q.posted_period(session, subscription_id, week)
        name, language = subscription.name, subscription.language
        scope = scope_of(subscription)
    if posted is not None:
        summary = await build_summary(sessions, scope, Period(week, posted[0], posted[1]))
    else:
        try:
            summary = (await preview_summary(sessions, name, week=week, now=now)).summary
        except SummaryError as exc:
            raise DownloadError("summary.download.gone") from exc
    return summary, language


async def summary_file(
    sessions: async_sessionmaker[AsyncSession], value: str, fmt: str, *, now: datetime
) -> SummaryFile:
    """The CSV or Markdown file of the summary `value` ("subscription_id:week") names."""
    if fmt not in FORMATS:
        raise DownloadError("summary.download.bad_value")
    summary, language = await summary_for_download(sessions, value, now=now)
    content = summary_csv(summary) if fmt == "csv" else summary_markdown(summary, language)
    week = summary.period.week
    return SummaryFile(
        filename=f"summary-{slug(summary.scope.name)}-{week}.{fmt}",
        title=f"{summary.scope.name} {week}",
        content=content,
        language=language,
        week=week,
    )


async def send_summary_file(
    services: Services,
    value: str,
    fmt: str,
    *,
    user_id: str,
    comment: str | None = None,
    now: datetime,
) -> Sent:
    """Build the file and share it in the DM between Jerry and `user_id`.

    DownloadError("summary.download.failed", error=...) when Slack refuses the upload.
    """
    file = await summary_file(services.sessions, value, fmt, now=now)
    try:
        # Files are shared to a conversation id: the DM's, which conversations.open gives.
        opened = await services.client.conversations_open(users=user_id)
        response = await services.client.files_upload_v2(
            filename=file.filename,
            content=file.content.encode("utf-8"),
            title=file.title,
            channel=opened["channel"]["id"],
            initial_comment=comment,
        )
    except SlackApiError as exc:
        error = classify(exc).code
        log.warning("summary download %s for %s refused: %s", value, user_id, error)
        raise DownloadError("summary.download.failed", error=error) from exc
    except TRANSPORT_ERRORS as exc:
        log.warning("summary download %s for %s failed: %s", value, user_id, exc)
        raise DownloadError("summary.download.failed", error=exc.__class__.__name__) from exc
    files = response.get("files") or []
    file_id = files[0].get("id") if files and isinstance(files[0], dict) else None
    return Sent(file=file, file_id=file_id)
