"""The product-ops report's download buttons (CSV, Markdown): acknowledged at once; the file
is built and shared in the clicker's DM with Jerry after the ack. Only admins and the people
the report is sent to may download it (it names customers)."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot.i18n import t
from bot.insights import themes_service as themes
from bot.insights.report import DownloadRefused, report_file
from bot.services import Services
from bot.slack import SLACK_FAILURES, classify
from bot.views import insights as insights_views
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


# --- themes: a lead's rename, merge and "move an item out" ---------------------------------------


async def theme_menu(
    ack: AsyncAck,
    body: dict[str, Any],
    client: AsyncWebClient,
    respond: AsyncRespond,
    services: Services,
    lang: str,
) -> None:
    """The theme's overflow menu in the Insights tab: the form for what was picked."""
    await ack()
    user = (body.get("user") or {}).get("id", "")
    action = (body.get("actions") or [{}])[0]
    picked = insights_views.parse_theme_menu((action.get("selected_option") or {}).get("value"))
    if picked is None:
        log.info("ignored a theme menu value %r", action.get("selected_option"))
        return
    what, theme_id = picked
    try:
        await themes.check_editable(services.sessions, theme_id, user, services.admins)
    except themes.ThemeRefused as refused:
        await tell(services, body, respond, t(refused.key, lang, **refused.params))
        return
    async with services.sessions() as session:
        found = await themes.theme_with_siblings(session, theme_id)
    if found is None:
        await tell(services, body, respond, t("insights.theme.gone", lang))
        return
    theme, siblings, texts = found
    label = theme.custom_label or theme.label
    if what == "rename":
        view = insights_views.theme_rename_modal(theme.id, label, lang)
    elif what == "merge":
        others = [(s.id, s.custom_label or s.label) for s in siblings]
        view = insights_views.theme_merge_modal(theme.id, label, others, lang)
    else:
        items = [(i, texts.get(i, "")) for i in theme.members or ()]
        view = insights_views.theme_move_modal(theme.id, label, items, lang)
    await client.views_open(trigger_id=body["trigger_id"], view=view)


def _selected(view: dict[str, Any], block: str) -> str | None:
    value = (view.get("state", {}).get("values", {}).get(block, {}).get("value")) or {}
    return (value.get("selected_option") or {}).get("value") or value.get("value")


async def theme_submitted(
    ack: AsyncAck, body: dict[str, Any], view: dict[str, Any], services: Services, lang: str
) -> None:
    user = (body.get("user") or {}).get("id", "")
    raw_id = view.get("private_metadata") or ""
    callback = view.get("callback_id")
    field = {"jerry_theme_rename": "name", "jerry_theme_merge": "other"}.get(callback or "", "item")
    if not raw_id.isdigit():
        await ack(response_action="errors", errors={field: t("insights.theme.gone", lang)})
        return
    theme_id = int(raw_id)
    chosen = _selected(view, field) or ""
    try:
        if callback == insights_views.THEME_RENAME_CALLBACK:
            await themes.rename_theme(
                services.sessions, theme_id, chosen, actor=user, admins=services.admins
            )
        elif not chosen.isdigit():
            raise themes.ThemeRefused(
                "insights.theme.bad_merge" if field == "other" else "insights.theme.gone"
            )
        elif callback == insights_views.THEME_MERGE_CALLBACK:
            await themes.merge_themes(
                services.sessions, theme_id, int(chosen), actor=user, admins=services.admins
            )
        else:
            await themes.move_out(
                services.sessions, theme_id, int(chosen), actor=user, admins=services.admins
            )
    except themes.ThemeRefused as refused:
        await ack(response_action="errors", errors={field: t(refused.key, lang, **refused.params)})
        return
    await ack()
    services.home.schedule(user)


def register(app: AsyncApp) -> None:
    for fmt in DOWNLOAD_FORMATS:
        app.action(f"{DOWNLOAD_ACTION}_{fmt}")(ack=ack_download, lazy=[download])
    app.action(insights_views.THEME_MENU_ACTION)(theme_menu)
    for callback in (
        insights_views.THEME_RENAME_CALLBACK,
        insights_views.THEME_MERGE_CALLBACK,
        insights_views.THEME_MOVE_CALLBACK,
    ):
        app.view(callback)(theme_submitted)
