"""Messages about one item: the lead's DM, the reporter's receipt, answers and notices."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bot.i18n import has_plural, t, tn
from bot.intake.routing import explain
from bot.items.domain import NO_REPORTER, ItemCard
from bot.sla import business_time as sla
from bot.text import (
    MESSAGE_BLOCK_LIMIT,
    MESSAGE_TEXT_LIMIT,
    SECTION_TEXT_LIMIT,
    neutralize,
    quote,
    readable,
    truncate,
)
from bot.views import lead_actions
from bot.views.blocks import (
    Block,
    actions,
    button,
    context,
    fields_section,
    header,
    item_quote,
    reporter_mention,
    section,
    slack_date,
)
from bot.views.demand import demand_field, demand_text
from bot.views.merge import looks_like_blocks
from bot.views.trackers import work_blocks, work_buttons

Message = dict[str, Any]  # {"text": fallback, "blocks": [...]}, ready for chat.postMessage

# Room kept for the quote markers and the cut marker when user text fills a section.
QUOTE_BUDGET = SECTION_TEXT_LIMIT - 200
FALLBACK_PREVIEW = 300


def safe(text: str, limit: int = QUOTE_BUDGET) -> str:
    """User text as Jerry reposts it: no broadcast pings, within the limit, cut with a marker."""
    return truncate(neutralize(text), limit, marker=" …")


def why(card: ItemCard, lang: str) -> str:
    """Why the item is where it is, in one line."""
    if card.route_step == "unrouted":
        reason = t("item.unrouted", lang)
    elif card.route_step == "reassigned":
        detail = card.route_detail
        reason = t(
            "item.reassigned_by",
            lang,
            who=f"<@{detail.get('by', '')}>",
            team=detail.get("from", ""),
        )
    else:
        detail = card.route_detail
        if card.hide_origin:
            # Like origin_label: the channel would point back at the anonymous reporter.
            detail = {k: v for k, v in detail.items() if k != "channel"}
        reason = explain(card.route_step, detail, lang)
    return t("item.why", lang, reason=reason)


def kind_label(kind: str, lang: str) -> str:
    return t(f"item.kind.{kind}", lang)


def human_duration(seconds: int | float, lang: str) -> str:
    """How long, shortly: "2 d 3 h", "4 h 10 min", "5 min" (at least a minute)."""
    minutes = int(seconds // 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    if days:
        return t("reminders.duration.days", lang, days=days, hours=hours)
    if hours:
        return t("reminders.duration.hours", lang, hours=hours, minutes=minutes)
    return t("reminders.duration.minutes", lang, minutes=max(minutes, 1))


def target_label(text: str, lang: str) -> str:
    """A team's target ("1d", "4h", "90m") in words: "1 business day", "4 business hours"."""
    try:
        target = sla.parse_target(text or None)
    except sla.SlaError:
        return text
    if target.days:
        unit, amount = "days", target.days
    elif target.minutes >= 60 and target.minutes % 60 == 0:
        unit, amount = "hours", target.minutes / 60
    else:
        unit, amount = "minutes", target.minutes
    # The plural form follows the whole number; a fraction ("1.5") reads as a plural in
    # English, and below two as a singular in French.
    count = int(amount) if amount == int(amount) else (1 if lang == "fr" and amount < 2 else 2)
    shown = f"{amount:g}" if lang != "fr" else f"{amount:g}".replace(".", ",")
    return tn(f"reminders.target.{unit}", count, lang, n=shown)


def reporter_label(card: ItemCard, lang: str) -> str:
    return t("item.anonymous", lang) if card.anonymous else reporter_mention(card.reporter_id, lang)


def origin_label(card: ItemCard, lang: str) -> str:
    """Where the item came from; anonymous items do not point back at the reporter's message."""
    parts: list[str] = []
    reveals_reporter = card.hide_origin
    if card.channel_id and not reveals_reporter and not card.channel_id.startswith("D"):
        parts.append(f"<#{card.channel_id}>")
    if card.permalink and not reveals_reporter:
        parts.append(f"<{card.permalink}|{t('item.view_message', lang)}>")
    if not parts:
        parts.append(t(f"item.source.{card.source}", lang))
    return " · ".join(parts)


FLAG_CUSTOMER = 40  # characters of a customer's name in a card's header and its notification


def flags(card: ItemCard, lang: str, *, plain_text: bool = False) -> list[str]:
    """What makes an item stand out, first in its card's header and in the notification:
    blocking, a customer at risk. `plain_text`: for a header (no Slack markup at all)."""
    shown: list[str] = []
    if card.impact == "blocking":
        shown.append(t("lead_dm.flag.blocking", lang))
    if card.customer_at_risk:
        if card.customer:
            name = readable(card.customer) if plain_text else neutralize(card.customer)
            name = truncate(name, FLAG_CUSTOMER, marker="…")
            shown.append(t("lead_dm.flag.at_risk_named", lang, customer=name))
        else:
            shown.append(t("lead_dm.flag.at_risk", lang))
    return shown


def lead_dm_text(card: ItemCard, lang: str, *, reassigned_to: str | None = None) -> str:
    """The card's notification text (what a phone shows): flags first, then the item in its
    state now, so an updated card never tells an old story."""
    params = {
        "id": card.id,
        "kind": kind_label(card.kind, lang).lower(),
        "team": card.team,
        "preview": safe(card.text, FALLBACK_PREVIEW),
    }
    if reassigned_to is None and card.status == "open":
        line = t("lead_dm.text.new", lang, **params)
    else:
        state = status_label(card, lang, reassigned_to)
        merged = card.merged_into is not None  # its state says into which item already
        if reassigned_to is None and card.status == "resolved" and card.outcome and not merged:
            outcome = lead_actions.outcome_label(card.outcome, lang, card.duplicate_of)
            state += f" ({outcome})"
        line = t("lead_dm.text.state", lang, state=state, **params)
    return truncate(" · ".join([*flags(card, lang), line]), MESSAGE_TEXT_LIMIT)


def external_field(card: ItemCard, lang: str) -> str:
    """Slack Connect: the organisation its words come from."""
    org = safe(card.external_org or "", 200)
    return f"*{t('item.field.external', lang)}*\n:globe_with_meridians: {org}"


def words_go_to(card: ItemCard, lang: str, *, thread_relays: bool) -> str:
    """Where what the reader writes goes: the reporter (named, or anonymous), nowhere when
    the reporter left Slack; a copy's thread (backup, triage, a reminder) is not relayed."""
    if card.reporter_id == NO_REPORTER:
        return t("lead_dm.words.no_reporter", lang)
    if card.reporter_external:
        return t("lead_dm.words.external", lang, org=safe(card.external_org or "", 200))
    who = t("lead_dm.words.anonymous", lang) if card.anonymous else f"<@{card.reporter_id}>"
    if not card.reporter_reachable:
        return t("lead_dm.words.unreachable", lang, who=who)
    if not thread_relays:
        return t("lead_dm.words.copy", lang, who=who)
    return t("lead_dm.words.thread", lang, who=who)


NOTE_PREVIEW = 400  # characters of one internal note on a card


def internal_notes_block(card: ItemCard, lang: str, *, fallback_timezone: str) -> Block | None:
    """The team's internal notes on the card: never sent to the reporter."""
    if not card.internal_notes:
        return None
    lines = [f"*:lock: {t('lead_dm.notes.title', lang)}*"]
    earlier = card.internal_note_count - len(card.internal_notes)
    if earlier > 0:
        lines.append(tn("lead_dm.notes.earlier", earlier, lang))
    for note in card.internal_notes:
        when = slack_date(note.at, fallback_timezone=fallback_timezone)
        lines.append(f"<@{note.author}> · {when}\n{quote(safe(note.text, NOTE_PREVIEW))}")
    return section(truncate("\n".join(lines), SECTION_TEXT_LIMIT))


def lead_dm(
    card: ItemCard,
    lang: str,
    *,
    reassigned_to: str | None = None,
    thread_relays: bool = True,
    fallback_timezone: str = "UTC",
) -> Message:
    """The DM a team lead gets for an item, with its actions; re-rendered on every change.

    `thread_relays`: replies in this message's thread reach the reporter (the item's lead
    DM); False for copies (the backup's, triage's, a reminder carrying the item).
    `fallback_timezone`: the reader's, for times shown where Slack cannot render them."""
    title = t("lead_dm.title", lang, id=card.id, kind=kind_label(card.kind, lang))
    if card.area:
        title += f" · {card.area}"
    title = " · ".join([*flags(card, lang, plain_text=True), title])
    blocks: list[Block] = [header(title), section(quote(safe(card.text)))]
    facts = [
        f"*{t('item.field.reporter', lang)}*\n{reporter_label(card, lang)}",
        f"*{t('item.field.origin', lang)}*\n{origin_label(card, lang)}",
        *(
            [f"*{t('item.field.said_by', lang)}*\n<@{card.said_by}>"]
            if card.said_by and card.said_by.startswith(("U", "W")) and not card.hide_origin
            else []
        ),
        *([external_field(card, lang)] if card.external_org else []),
        f"*{t('item.field.team', lang)}*\n{card.team}",
        f"*{t('item.field.status', lang)}*\n{status_label(card, lang, reassigned_to)}",
    ]
    if card.impact:
        facts.append(f"*{t('item.field.impact', lang)}*\n{t(f'impact.{card.impact}', lang)}")
    if card.category:
        facts.append(f"*{t('item.field.category', lang)}*\n{t(f'category.{card.category}', lang)}")
    if card.customer or card.customer_at_risk:
        customer = safe(card.customer, 500) if card.customer else t("item.customer_unnamed", lang)
        if card.customer_at_risk:
            customer += f"\n:rotating_light: {t('item.customer_at_risk', lang)}"
        facts.append(f"*{t('item.field.customer', lang)}*\n{customer}")
    if card.demand is not None:  # others asked for it too (items merged into it)
        facts.append(demand_field(card.demand, lang))
    blocks.append(fields_section(facts))
    if card.answer:
        who = f"<@{card.answered_by}>" if card.answered_by else ""
        blocks.append(
            section(f"*{t('lead_dm.answer_given', lang, who=who)}*\n{quote(safe(card.answer))}")
        )
    if reassigned_to is None:
        blocks += lead_actions.resolution_blocks(card, lang)
        blocks += work_blocks(card, lang)  # its Jira or Linear issues
        blocks += looks_like_blocks(card, lang)  # "Looks like #12": only while it is open
    notes_block = internal_notes_block(card, lang, fallback_timezone=fallback_timezone)
    if notes_block is not None:
        blocks.append(notes_block)
    # The note is Jerry's line (its mentions are Jerry's) around escaped typed text.
    note = truncate(neutralize(card.note, jerrys_mentions=True), 1000) if card.note else None
    notes = [why(card, lang)] + ([note] if note else [])
    blocks.append(context(*notes))
    if reassigned_to is None:
        words = words_go_to(card, lang, thread_relays=thread_relays)
        blocks.append(context(f":speech_balloon: {words}"))
        buttons = [*lead_actions.action_buttons(card, lang), *work_buttons(card, lang)]
        blocks.append(actions(f"item_actions_{card.id}", *buttons))
    text = lead_dm_text(card, lang, reassigned_to=reassigned_to)
    return {"text": text, "blocks": blocks}


OPEN_FROM_DIGEST = "item_open"  # a digest's button: the item's card, posted as a new DM
DIGEST_PREVIEW = 150  # characters of an item's first line in a digest
# A digest's blocks besides one per item: its title, its introduction and the "more" line.
DIGEST_FRAME_BLOCKS = 3
MAX_DIGEST_ITEMS = MESSAGE_BLOCK_LIMIT - DIGEST_FRAME_BLOCKS


def lead_digest(cards: Sequence[ItemCard], lang: str, *, more: bool = False) -> Message:
    """Many items for one lead in one DM: a line each with a button that brings its card.
    `more`: the lead has more waiting, which the next digest lists."""
    shown = cards[:MAX_DIGEST_ITEMS]
    title = tn("digest.title", len(shown), lang)
    blocks: list[Block] = [header(title), context(t("digest.intro", lang))]
    for card in shown:
        name = t("lead_dm.title", lang, id=card.id, kind=kind_label(card.kind, lang))
        facts = [f"*{name}*", reporter_label(card, lang)]
        if card.customer and not card.customer_at_risk:  # else the flag names them
            facts.append(safe(card.customer, 100))
        facts += flags(card, lang)
        lines = (card.text or "").strip().splitlines() or [""]
        preview = safe(lines[0], DIGEST_PREVIEW)
        block = section(" · ".join(facts) + (f"\n{quote(preview)}" if preview else ""))
        block["accessory"] = button(
            t("digest.open", lang, id=card.id), OPEN_FROM_DIGEST, str(card.id)
        )
        blocks.append(block)
    if more:
        blocks.append(context(t("digest.more", lang)))
    return {"text": title, "blocks": blocks}


def status_label(card: ItemCard, lang: str, reassigned_to: str | None = None) -> str:
    if reassigned_to is not None:
        return t("status.reassigned", lang, team=reassigned_to)
    if card.merged_into:
        return t("merge.status", lang, into=card.merged_into)
    label = t(f"status.{card.status}", lang)
    if card.status == "acknowledged" and card.acknowledged_by:
        label += " " + t("status.by", lang, who=f"<@{card.acknowledged_by}>")
    if card.awaiting_reporter and card.status != "resolved":
        label += " · " + t("status.awaiting_reporter", lang)
    return label


def receipt(card: ItemCard, lang: str, *, messages: int = 1) -> Message:
    """What the reporter sees right after asking: the number, and what happens next in
    human terms (which team and why is for leads and admins, not the reporter). `messages`:
    DMs joined into this one item (bot/capture/grouping.py)."""
    line = t("receipt.line", lang, kind=kind_label(card.kind, lang).lower(), id=card.id)
    # Where the answer will come: the thread asked in, the shared message's thread, or a DM.
    where = {"mention": "thread", "dm": "thread", "shortcut": "message_thread"}
    # An anonymous "Send to Jerry" is answered by DM: an answer in the thread is public.
    route = "dm" if card.anonymous and card.source == "shortcut" else where.get(card.source, "dm")
    follow = t(f"receipt.follow.{route}", lang)
    next_step = t(
        "receipt.next_unrouted" if card.route_step == "unrouted" else "receipt.next", lang
    )
    extra = [t("receipt.anonymous", lang)] if card.anonymous else []
    if messages > 1:
        extra.insert(0, tn("receipt.grouped", messages, lang))
    blocks = [
        section(f":inbox_tray: {line}"),
        item_quote(card.text),
        context(next_step, follow, *extra),
    ]
    return {"text": line, "blocks": blocks}


def answer_to_reporter(card: ItemCard, lang: str, *, answer: str, by: str, team: str) -> Message:
    """The lead's answer, carried back to the reporter by Jerry."""
    line = t(
        "answer.line",
        lang,
        who=f"<@{by}>",
        team=team,
        kind=kind_label(card.kind, lang).lower(),
        id=card.id,
    )
    blocks = [section(line), item_quote(card.text), section(quote(safe(answer)))]
    return {"text": truncate(f"{line}\n{neutralize(answer)}", MESSAGE_TEXT_LIMIT), "blocks": blocks}


# Notices about the item's journey inside product (moved between teams, routed late from
# triage): not the reporter's concern, so they are no longer sent. Kept here so that such a
# notice still owed from before is dropped rather than sent.
INTERNAL_NOTICES = frozenset({"reassigned", "routed_late"})


def reporter_notice(card: ItemCard, lang: str, notice: str, **params: str) -> Message:
    """Status news for the reporter (acknowledged, reopened, a reminder to reply …)."""
    params = {"team": card.team, **params}  # where the item is now, unless the caller says
    what = params.pop("what", "")
    line = t(
        f"notice.{notice}", lang, id=card.id, kind=kind_label(card.kind, lang).lower(), **params
    )
    blocks: list[Block] = [section(line), item_quote(card.text)]
    if what:  # the lead's "what is still wrong" when they reopen it
        blocks.append(section(quote(safe(what, 2000))))
    return {"text": line, "blocks": blocks}


def with_fallback_note(message: Message, lang: str, channel: str) -> Message:
    """`message` sent by DM because it could not go to `channel`: it says so at the end."""
    note = t("notice.fallback_dm", lang, channel=f"<#{channel}>")
    return {**message, "blocks": [*message["blocks"], context(note)][:50]}


def reminder_in_thread(line: str) -> Message:
    """A reminder under the item's DM to the lead, whose buttons are right above."""
    return {"text": line, "blocks": [section(line)]}


def reminder_with_item(card: ItemCard, lang: str, line: str) -> Message:
    """A reminder with no DM to thread under (it never went out): the line above the item
    and its actions (its thread is not the item's conversation)."""
    message = lead_dm(card, lang, thread_relays=False)
    return {**message, "text": line, "blocks": [section(line), *message["blocks"]][:50]}


def triage_alert(lang: str, alert: str, **params: Any) -> Message:
    """A short alert for product ops' triage channel or lead."""
    key = f"alert.{alert}"
    if has_plural(key):  # an alert about a number of things ("3 open items handed to …")
        count = params.pop("count")
        line = tn(key, count, lang, **params)
    else:
        line = t(key, lang, **params)
    return {"text": line, "blocks": [section(f":warning: {line}")]}


def refusal(lang: str, item_id: int) -> str:
    return t("refusal.not_allowed", lang, id=item_id)


def triage_copy(card: ItemCard, lang: str) -> Message:
    """Product ops hears at once of a blocking item or a customer at risk: one message in
    the triage channel as it arrives at its lead."""
    standing_out = flags(card, lang)
    lead = f"<@{card.assignee_id}>" if card.assignee_id else "—"
    params = {"id": card.id, "kind": kind_label(card.kind, lang).lower(), "team": card.team}
    line = t("triage_copy.line", lang, lead=lead, **params)
    preview = safe(card.text, FALLBACK_PREVIEW)
    shown = [
        ("item.field.reporter", reporter_label(card, lang)),
        ("item.field.origin", origin_label(card, lang)),
    ]
    if card.customer:
        shown.append(("item.field.customer", safe(card.customer, 200)))
    if card.demand is not None:
        shown.append(("demand.label", demand_text(card.demand, lang)))
    facts = [t("triage_copy.fact", lang, label=t(key, lang), value=value) for key, value in shown]
    blocks: list[Block] = [
        section(f"*{' · '.join(standing_out)}*\n{line}"),
        section(quote(safe(card.text, 1500))),
        context(*facts, why(card, lang)),
    ]
    text = " · ".join([*standing_out, t("lead_dm.text.new", lang, preview=preview, **params)])
    return {"text": truncate(text, MESSAGE_TEXT_LIMIT), "blocks": blocks}
