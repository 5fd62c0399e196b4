"""A late item's message in product ops' triage channel, and the escalation DMs once the item
has moved on; both are updated in place (bot/sla/late.py)."""

from __future__ import annotations

from bot.i18n import t
from bot.sla.domain import LateItem
from bot.text import MESSAGE_TEXT_LIMIT, truncate
from bot.views.blocks import DATE_AND_TIME, actions, button, context, section, slack_date
from bot.views.demand import demand_text
from bot.views.items import Message, human_duration, kind_label, safe, target_label

TAKE, NUDGE = "late_take", "late_nudge"  # the buttons' action ids (handlers/sla.py)
PREVIEW = 300  # characters of the item's text shown under the line


def state_label(late: LateItem, lang: str) -> str:
    """Where the late item stands, in a few words ("needs an owner", "✓ answered by @dan")."""
    return t(
        f"late.state.{late.state}",
        lang,
        who=f"<@{late.who}>" if late.who else "—",
        lead=f"<@{late.lead}>",
        outcome=t(f"outcome.{late.outcome}", lang) if late.outcome else "—",
    )


def late_message(late: LateItem, lang: str) -> Message:
    """The item's one message in the triage channel: while late, why and the buttons (Take it,
    Nudge); once it moved on, who did what, without buttons."""
    state = state_label(late, lang)
    title = t(
        "late.title",
        lang,
        kind=kind_label(late.kind, lang).lower(),
        id=late.item_id,
        team=late.team,
        state=state,
    )
    # Once it moved on, the state's own "✓" says so.
    blocks = [section(f":alarm_clock: {title}" if late.late else title)]
    notes = [safe(late.text, PREVIEW)] if late.text.strip() else []
    if late.demand is not None:
        notes.append(demand_text(late.demand, lang))
    if late.late:
        detail = t(
            f"late.detail.{late.state}",
            lang,
            lead=f"<@{late.lead}>",
            waited=human_duration(late.waited_seconds, lang),
            target=target_label(late.target, lang),
        )
        if late.asked:
            detail += " " + t("late.asked", lang, to=f"<@{late.asked}>")
        blocks.append(section(detail))
        if late.nudged_by and late.nudged_at is not None:
            notes.append(
                t(
                    "late.nudged",
                    lang,
                    who=f"<@{late.nudged_by}>",
                    lead=f"<@{late.lead}>",
                    when=slack_date(late.nudged_at, DATE_AND_TIME),
                )
            )
    if notes:
        blocks.append(context(*notes))
    if late.late:
        value = str(late.item_id)
        blocks.append(
            actions(
                f"late_{late.item_id}",
                button(t("late.take", lang), TAKE, value, style="primary"),
                button(t("late.nudge", lang), NUDGE, value),
            )
        )
    text = t("late.text", lang, id=late.item_id, team=late.team, state=state)
    return {"text": truncate(text, MESSAGE_TEXT_LIMIT), "blocks": blocks}


def escalation_copy_done(card_message: Message, late: LateItem, lang: str) -> Message:
    """An escalation DM (the item's card sent to the backup or triage) once the item moved on:
    the card as it is now, without its buttons, saying who acted and that nothing more is
    needed. `card_message` is the card (bot/views/items.py `lead_dm`)."""
    line = f"{state_label(late, lang)}. {t('late.copy_done', lang)}"
    blocks = [block for block in card_message["blocks"] if block.get("type") != "actions"]
    return {"text": card_message["text"], "blocks": [section(line), *blocks][:50]}


def taken_notice(lang: str, *, item_id: int, by: str) -> Message:
    """For the lead an item was taken from (in the thread of their DM about it)."""
    line = t("late.taken_notice", lang, who=f"<@{by}>", id=item_id)
    return {"text": line, "blocks": [section(line)]}
