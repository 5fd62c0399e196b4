"""The "Download CSV" / "Download Markdown" buttons under a weekly summary.

The click is acknowledged at once; the file is built and uploaded after the ack (a lazy
listener) into the clicker's DM with Jerry, and the clicker is told, privately, where it is
(or why there is none).
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond

from bot.i18n import t
from bot.services import Services
from bot.summaries.download import DownloadError, send_summary_file
from bot.views.summary import DOWNLOAD_CSV, DOWNLOAD_MD
from handlers.item_buttons import tell

log = logging.getLogger("jerry.summaries")
FORMAT_OF = {DOWNLOAD_CSV: "csv", DOWNLOAD_MD: "md"}


async def ack_download(ack: AsyncAck) -> None:
    await ack()


async def download(
    body: dict[str, Any], respond: AsyncRespond, services: Services, lang: str
) -> None:
    user = (body.get("user") or {}).get("id", "")
    action = (body.get("actions") or [{}])[0]
    fmt = FORMAT_OF.get(action.get("action_id", ""), "")
    try:
        sent = await send_summary_file(
            services,
            action.get("value") or "",
            fmt,
            user_id=user,
            comment=t("summary.download.comment", lang),
            now=services.clock(),
        )
    except DownloadError as exc:
        await tell(services, body, respond, t(exc.key, lang, **exc.params))
        return
    except Exception:
        log.exception("summary download %r for %s failed", action.get("value"), user)
        await tell(services, body, respond, t("summary.download.failed", lang, error="internal"))
        return
    await tell(services, body, respond, t("summary.download.sent", lang, name=sent.file.filename))


def register(app: AsyncApp) -> None:
    for action_id in FORMAT_OF:
        app.action(action_id)(ack=ack_download, lazy=[download])
