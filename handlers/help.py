"""First-contact listeners: `/jerry` (help, its subcommands, or what exists), the help card's
buttons, "file it anyway" under a one-word command, and the "send this to product?" prompt
under a few words sent by DM.

`/painpoint help` and a DM of "hi" are recognised where those arrive (handlers/intake.py);
`/jerry summary preview` is the summaries' (handlers/summaries.py), after this ack.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot.help import service as first_contact
from bot.help.words import GREETINGS, HELP_WORDS, closest, normalize
from bot.i18n import t
from bot.intake import service as intake
from bot.intake.service import IntakeRequest
from bot.services import Services
from bot.views import help as views
from bot.views import modals
from handlers import summaries

log = logging.getLogger("jerry.help")
COMMAND = "/jerry"
# What `/jerry` understands as its first word (besides help): for "Did you mean …?".
SUBCOMMAND_WORDS = ["summary", "help", "aide"]


def home_link(body: dict[str, Any]) -> str | None:
    """The deep link to Jerry's Home, from the workspace and app ids of any Slack payload."""
    team = body.get("team_id") or (body.get("team") or {}).get("id")
    if not team and isinstance(body.get("user"), dict):
        team = body["user"].get("team_id")
    return views.home_url(team, body.get("api_app_id"))


def jerry_answer(text: str, lang: str, home: str | None) -> dict[str, Any]:
    """`/jerry TEXT` other than a summary preview: the help card, or what exists."""
    words = normalize(text)
    if not words or words in HELP_WORDS or words in GREETINGS:
        return views.jerry_help(lang, home=home)
    first = text.split()[0]
    suggestion = closest(first, SUBCOMMAND_WORDS)
    if suggestion == "summary":
        rest = text.split()[1:]
        if rest and rest[0].lower() in summaries.PREVIEW_WORDS:
            rest = rest[1:]
        suggestion = " ".join(["summary", "preview", *rest])
    return views.jerry_unknown(text.strip(), lang, suggestion=suggestion, home=home)


async def jerry(ack: AsyncAck, body: dict[str, Any], command: dict[str, Any], lang: str) -> None:
    text = command.get("text") or ""
    wanted, _ = summaries.parse_preview(text)
    if wanted:
        await ack(text=t("summaries.jerry.working", lang), response_type="ephemeral")
        return
    answer = jerry_answer(text, lang, home_link(body))
    await ack(text=answer["text"], blocks=answer["blocks"], response_type="ephemeral")


async def open_form(
    ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, services: Services, lang: str
) -> None:
    """The help card's "Report a pain point" / "Ask a question": the intake form."""
    await ack()
    action = (body.get("actions") or [{}])[0].get("action_id")
    kind = "question" if action == views.HELP_QUESTION_ACTION else "painpoint"
    areas = await intake.area_choices(services.sessions)
    metadata = {
        "source": "modal",
        "channel": (body.get("channel") or {}).get("id"),
        "response_url": body.get("response_url"),
    }
    await client.views_open(
        trigger_id=body["trigger_id"],
        view=modals.intake_modal(kind, areas, lang, metadata=metadata),
    )


async def link_clicked(ack: AsyncAck) -> None:
    """ "My items" is a link to the Home: Slack still tells Jerry of the click."""
    await ack()


async def file_anyway(ack: AsyncAck, body: dict[str, Any], services: Services, lang: str) -> None:
    """A one-word command Jerry took for a command word, filed as typed after all."""
    await ack()
    parsed = views.parse_file_anyway((body.get("actions") or [{}])[0].get("value"))
    user = (body.get("user") or {}).get("id")
    if parsed is None or not user:
        log.info("ignored a file-anyway click without its word")
        return
    kind, text, key = parsed
    # One item per card, however often the button is clicked.
    key = (
        key or f"action:{(body.get('container') or {}).get('message_ts') or body.get('trigger_id')}"
    )
    request = IntakeRequest(
        kind="question" if kind == "question" else "painpoint",
        text=text,
        reporter_id=user,
        source="command",
        receipt="response_url",
        intake_key=key,
        channel_id=(body.get("channel") or {}).get("id"),
        response_url=body.get("response_url"),
    )
    await services.submit(request, lang)
    services.kick()


async def prompt_clicked(
    ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond, services: Services, lang: str
) -> None:
    """Send as a question / as a pain point / No thanks, under a few words sent by DM."""
    await ack()
    action = (body.get("actions") or [{}])[0]
    choice = views.PROMPT_ACTIONS.get(action.get("action_id", ""), "declined")
    outcome = await first_contact.decide_prompt(
        services.sessions,
        services.submit,
        key=str(action.get("value") or ""),
        user_id=(body.get("user") or {}).get("id", ""),
        choice=choice,  # type: ignore[arg-type]
        lang=lang,
    )
    if outcome.item_id is not None:
        services.kick()
    answer = views.short_prompt_decided(
        outcome.text, outcome.decision, lang, item_id=outcome.item_id
    )
    await respond(text=answer["text"], blocks=answer["blocks"], replace_original=True)


def register(app: AsyncApp) -> None:
    app.command(COMMAND)(ack=jerry, lazy=[summaries.preview])
    app.action(views.HELP_PAINPOINT_ACTION)(open_form)
    app.action(views.HELP_QUESTION_ACTION)(open_form)
    app.action(views.HELP_HOME_ACTION)(link_clicked)
    app.action(views.FILE_ANYWAY_ACTION)(file_anyway)
    for action_id in views.PROMPT_ACTIONS:
        app.action(action_id)(prompt_clicked)
