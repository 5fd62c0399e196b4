"""Listeners of the weekly summaries: `/jerry summary preview [NAME]` (after `/jerry`'s ack,
in handlers/help.py) and the "Download CSV" / "Download Markdown" buttons under a summary.

Anyone may preview (the summary is what a revenue channel will read anyway): the ack says
"preparing", and the preview, built after the ack (a lazy listener), comes through the
command's response_url, ephemeral, one response per message the channel would get. A
download click is acknowledged at once; the file is built and uploaded after the ack into
the clicker's DM with Jerry, and the clicker is told, privately, where it is (or why not)."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond

from bot.i18n import t
from bot.services import Services
from bot.summaries.download import DownloadError, send_summary_file
from bot.summaries.posting import Preview, SummaryError, preview_for_channel
from bot.views.blocks import context
from bot.views.summary import DOWNLOAD_CSV, DOWNLOAD_MD
from handlers.item_buttons import tell

log = logging.getLogger("jerry.summaries")
SUMMARY_WORDS = {"summary", "summaries", "résumé", "resume", "résumés", "resumes"}
PREVIEW_WORDS = {"preview", "aperçu", "apercu"}


def parse_preview(text: str) -> tuple[bool, str | None]:
    """("summary preview sales weekly") → (True, "sales weekly"); (False, None) otherwise."""
    words = text.split()
    if not words or words[0].lower() not in SUMMARY_WORDS:
        return False, None
    rest = words[1:]
    if rest and rest[0].lower() in PREVIEW_WORDS:
        rest = rest[1:]
    return True, " ".join(rest) or None


async def preview(
    respond: AsyncRespond, command: dict[str, Any], services: Services, lang: str
) -> None:
    wanted, name = parse_preview(command.get("text") or "")
    if not wanted:
        return
    try:
        found = await preview_for_channel(
            services.sessions, name, channel=command.get("channel_id"), now=services.clock()
        )
    except SummaryError as exc:
        await respond(text=exc.text(lang), response_type="ephemeral", replace_original=False)
        return
    except Exception:
        log.exception("could not build a summary preview for %s", command.get("user_id"))
        await respond(
            text=t("summaries.jerry.failed", lang),
            response_type="ephemeral",
            replace_original=False,
        )
        return
    for message in _messages(found, lang):
        await respond(**message, response_type="ephemeral", replace_original=False)


def _messages(found: Preview | list[str], lang: str) -> list[dict[str, Any]]:
    if isinstance(found, list):
        if not found:
            return [{"text": t("summaries.jerry.none", lang)}]
        names = ", ".join(f"`{name}`" for name in found)
        return [{"text": t("summaries.jerry.choose", lang, names=names)}]
    from bot.views.summary import summary_messages

    note = t(
        "summaries.jerry.preview_note",
        lang,
        name=found.name,
        channel=found.channel,
    )
    messages: list[dict[str, Any]] = [{"text": note, "blocks": [context(note)]}]
    for message in summary_messages(
        found.summary, found.language, download_value=found.download_value
    ):
        messages.append({"text": message["text"], "blocks": message["blocks"]})
    return messages


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
    # `/jerry` itself is first contact's (handlers/help.py): its ack, then `preview` here.
    for action_id in FORMAT_OF:
        app.action(action_id)(ack=ack_download, lazy=[download])
