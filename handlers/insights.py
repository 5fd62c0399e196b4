"""The product-ops report's download buttons (CSV, Markdown): acknowledged at once; the file
is built and shared in the clicker's DM with Jerry after the ack. Only admins and the people
the report is sent to may download it (it names customers)."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond

from bot.i18n import t
from bot.insights.report import DownloadRefused, report_file
from bot.services import Services
from bot.slack import SLACK_FAILURES, classify
from bot.views.insights_report import DOWNLOAD_ACTION, DOWNLOAD_FORMATS
from handlers.item_buttons import tell

log = logging.getLogger("jerry.insights")


async def ack_download(ack: AsyncAck) -> None:
    await ack()


async def download(
    body: dict[str, Any], respond: AsyncRespond, services: Services, lang: str
) -> None:
    user = (body.get("user") or {}).get("id", "")
    action = (body.get("actions") or [{}])[0]
    try:
        file = await report_file(
            services.sessions,
            action.get("value") or "",
            user_id=user,
            admins=services.admins,
            now=services.clock(),
        )
        # Files are shared to a conversation id: the DM's, which conversations.open gives.
        opened = await services.client.conversations_open(users=user)
        await services.client.files_upload_v2(
            filename=file.filename,
            content=file.content.encode("utf-8"),
            title=file.title,
            channel=opened["channel"]["id"],
        )
    except DownloadRefused as refused:
        await tell(services, body, respond, t(refused.key, lang, **refused.params))
        return
    except SLACK_FAILURES as exc:
        error = classify(exc).code
        log.warning("insights report download for %s refused: %s", user, error)
        await tell(services, body, respond, t("insights.report.download.failed", lang, error=error))
        return
    fmt = "CSV" if file.filename.endswith(".csv") else "Markdown"
    await tell(
        services,
        body,
        respond,
        t("insights.report.download.sent", lang, period=file.period_label, format=fmt),
    )


def register(app: AsyncApp) -> None:
    for fmt in DOWNLOAD_FORMATS:
        app.action(f"{DOWNLOAD_ACTION}_{fmt}")(ack=ack_download, lazy=[download])
