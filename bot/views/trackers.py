"""Jira and Linear on Slack's surfaces: the card's "Work" lines and buttons, the "Create
issue" and "Link issue" forms, what the lead hears of their request, and the reporter's
"work started" and "You asked, it shipped" messages."""

from __future__ import annotations

from typing import Any

from bot.i18n import t
from bot.items.domain import ItemCard, LinkedIssue
from bot.text import neutralize, quote, truncate
from bot.trackers.domain import CANCELED, DONE, IN_PROGRESS, JIRA, TODO
from bot.views.blocks import (
    Block,
    actions,
    button,
    context,
    encode_metadata,
    input_block,
    item_quote,
    modal,
    option,
    section,
    text_input,
)

CREATE_ACTION = "issue_create"  # card buttons, value: the item id
LINK_ACTION = "issue_link"
UNLINK_ACTION = "issue_unlink"  # the Work line's menu, value: "<item>:<tracker>:<key>"
CREATE_CALLBACK = "issue_create_submit"
LINK_CALLBACK = "issue_link_submit"
CUSTOMER_ACTION = "shipped_customer_"  # + kept | lost | deal; value: the item id
TITLE_MAX = 255
DESCRIPTION_MAX = 3000  # a plain_text_input's most
COMMON_TYPES = ("Bug", "Task", "Story")
STAGE_EMOJI = {
    TODO: ":white_circle:",
    IN_PROGRESS: ":large_blue_circle:",
    DONE: ":white_check_mark:",
    CANCELED: ":no_entry_sign:",
}


def tracker_name(tracker: str) -> str:
    return "Jira" if tracker == JIRA else "Linear"


def issue_link(issue: LinkedIssue) -> str:
    """PAY-123 linked to the issue when Jerry knows where it is."""
    return f"<{issue.url}|{issue.key}>" if issue.url else issue.key


def issue_state(issue: LinkedIssue, lang: str) -> str:
    """Where the issue stands, in the tracker's words (its status) and Jerry's (its stage)."""
    if issue.stage is None:
        return t("trackers.state.checking", lang)
    stage = t(f"trackers.stage.{issue.stage}", lang)
    if issue.release:
        stage = t("trackers.state.released", lang, release=neutralize(issue.release))
    status = neutralize(issue.status or "")
    shown = stage if not status or status.casefold() == stage.casefold() else f"{stage} ({status})"
    return f"{STAGE_EMOJI.get(issue.stage, '')} {shown}".strip()


def issue_line(issue: LinkedIssue, lang: str) -> str:
    title = f" · {truncate(neutralize(issue.title), 120)}" if issue.title else ""
    return f"{tracker_name(issue.tracker)} {issue_link(issue)}{title} · {issue_state(issue, lang)}"


def work_blocks(card: ItemCard, lang: str) -> list[Block]:
    """The card's "Work" section: the linked issues with a menu to unlink them, and the
    buttons to create or link one (only where a tracker is connected)."""
    blocks: list[Block] = []
    if card.issues:
        lines = [f"*{t('trackers.work.title', lang)}*"]
        lines += [issue_line(issue, lang) for issue in card.issues]
        block = section("\n".join(lines), block_id=f"item_work_{card.id}")
        block["accessory"] = {
            "type": "overflow",
            "action_id": UNLINK_ACTION,
            "options": [
                option(
                    t("trackers.unlink", lang, key=issue.key),
                    f"{card.id}:{issue.tracker}:{issue.key}",
                )
                for issue in card.issues[:5]
            ],
        }
        blocks.append(block)
    return blocks


def work_buttons(card: Any, lang: str) -> list[dict[str, Any]]:
    """ "Create issue" (the team's tracker) and "Link issue", for an item still open."""
    if getattr(card, "status", "") == "resolved" or getattr(card, "merged_into", None):
        return []
    value = str(card.id)
    buttons: list[dict[str, Any]] = []
    create_in = getattr(card, "create_in", None)
    if create_in:
        buttons.append(
            button(
                t("trackers.create", lang, tracker=tracker_name(create_in)), CREATE_ACTION, value
            )
        )
    if getattr(card, "can_link", False):
        buttons.append(button(t("trackers.link", lang), LINK_ACTION, value))
    return buttons


def create_modal(
    *,
    item_id: int,
    tracker: str,
    project: str,
    issue_type: str | None,
    issue_types: list[str],
    title: str,
    description: str,
    anonymous: bool,
    lang: str,
    links_back: bool = False,
) -> dict[str, Any]:
    name = tracker_name(tracker)
    blocks: list[Block] = [
        input_block(
            "project",
            t("trackers.form.project" if tracker == JIRA else "trackers.form.team", lang),
            text_input("value", multiline=False, initial=project, max_length=30),
            hint=t("trackers.form.project_hint", lang, tracker=name),
        ),
    ]
    if tracker == JIRA:
        types = list(dict.fromkeys([*(issue_types or []), *([issue_type] if issue_type else [])]))
        types = types or list(COMMON_TYPES)
        chosen = issue_type if issue_type in types else types[0]
        options = [option(name_, name_) for name_ in types[:100]]
        blocks.append(
            input_block(
                "issue_type",
                t("trackers.form.type", lang),
                {
                    "type": "static_select",
                    "action_id": "value",
                    "options": options,
                    "initial_option": next(o for o in options if o["value"] == chosen),
                },
            )
        )
    blocks += [
        input_block(
            "title",
            t("trackers.form.title", lang),
            text_input("value", multiline=False, initial=title, max_length=TITLE_MAX),
        ),
        input_block(
            "description",
            t("trackers.form.description", lang),
            text_input("value", multiline=True, initial=description, max_length=DESCRIPTION_MAX),
            optional=True,
            hint=t("trackers.form.description_hint", lang),
        ),
        context(t("trackers.form.anonymous" if anonymous else "trackers.form.permalink", lang)),
    ]
    return modal(
        callback_id=CREATE_CALLBACK,
        title=t("trackers.form.create_title", lang, tracker=name),
        submit=t("trackers.form.create_submit", lang),
        close=t("modal.cancel", lang),
        blocks=blocks,
        private_metadata=encode_metadata({"item": item_id, "tracker": tracker}),
    )


def link_modal(item_id: int, trackers: tuple[str, ...], lang: str) -> dict[str, Any]:
    names = " / ".join(tracker_name(name) for name in trackers)
    return modal(
        callback_id=LINK_CALLBACK,
        title=t("trackers.form.link_title", lang),
        submit=t("trackers.form.link_submit", lang),
        close=t("modal.cancel", lang),
        blocks=[
            input_block(
                "reference",
                t("trackers.form.reference", lang, trackers=names),
                text_input(
                    "value",
                    multiline=False,
                    max_length=2000,
                    placeholder=t("trackers.form.reference_placeholder", lang),
                ),
                hint=t("trackers.form.reference_hint", lang),
            )
        ],
        private_metadata=encode_metadata({"item": item_id}),
    )


def lead_news(news: str, lang: str, **params: Any) -> dict[str, Any]:
    """What the lead hears of their request: created, waiting for the tracker, refused,
    not found (each a line under the item's card)."""
    params = {**params, "tracker": tracker_name(str(params.get("tracker") or JIRA))}
    if params.get("url") and params.get("key"):
        params["key"] = f"<{params['url']}|{params['key']}>"
    if "error" in params:
        params["error"] = truncate(neutralize(str(params["error"] or "")), 500)
    line = t(f"trackers.news.{news}", lang, **params)
    return {"text": line, "blocks": [section(line)]}


def work_started(
    lang: str, *, item_id: int, kind: str, about: str, **params: Any
) -> dict[str, Any]:
    """To the reporter: work on their item started in the tracker."""
    line = t(
        "trackers.notice.started",
        lang,
        id=item_id,
        kind=t(f"item.kind.{kind}", lang).lower(),
        tracker=tracker_name(str(params.get("tracker") or JIRA)),
    )
    return {"text": line, "blocks": [section(f":hammer_and_wrench: {line}"), item_quote(about)]}


def shipped_notice(
    lang: str,
    *,
    item_id: int,
    root_id: int,
    kind: str,
    about: str,
    title: str,
    note: str,
    url: str | None,
    release: str | None,
    customer_item: int | None,
    customer: str | None,
    answered: str | None = None,
) -> dict[str, Any]:
    """ "You asked, it shipped", with the release note; for an item naming a customer, the
    questions the success indicators need, each one click."""
    kind_word = t(f"item.kind.{kind}", lang).lower()
    key = "trackers.shipped.line" if item_id == root_id else "trackers.shipped.line_followed"
    line = t(key, lang, id=item_id, kind=kind_word, root=root_id)
    what = neutralize(title)
    if url:
        what = f"<{url}|{what}>"
    if release:
        what += " · " + t("trackers.shipped.release", lang, release=neutralize(release))
    blocks: list[Block] = [
        section(f":tada: *{t('trackers.shipped.title', lang)}*\n{line}"),
        item_quote(about),
        section(f"*{what}*" + (f"\n{quote(neutralize(note))}" if note.strip() else "")),
    ]
    if customer_item is not None and customer:
        who = neutralize(customer)
        if answered:
            blocks.append(context(t(f"trackers.shipped.answered_{answered}", lang, customer=who)))
        else:
            blocks.append(section(t("trackers.shipped.customer_question", lang, customer=who)))
            blocks.append(
                actions(
                    f"shipped_customer_{customer_item}",
                    *(
                        button(
                            t(f"trackers.shipped.{answer}", lang),
                            CUSTOMER_ACTION + answer,
                            str(customer_item),
                            style="primary" if answer == "kept" else None,
                        )
                        for answer in ("kept", "lost", "deal")
                    ),
                )
            )
    return {"text": truncate(f"{t('trackers.shipped.title', lang)} {line}", 3000), "blocks": blocks}
