"""Modals: intake (pain point / question), answer, reassign."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bot.i18n import t
from bot.items.domain import CATEGORIES, NO_REPORTER, AreaChoice, ItemCard, ReassignTarget
from bot.text import quote
from bot.views.blocks import (
    MAX_OPTIONS,
    Block,
    context,
    encode_metadata,
    input_block,
    modal,
    option,
    plain_text,
    section,
    text_input,
)

# Re-exported: handlers read a form's metadata where they find the form.
from bot.views.blocks import decode_metadata as decode_metadata
from bot.views.items import safe

INTAKE_CALLBACK = "jerry_intake"
ANSWER_CALLBACK = "jerry_answer"
REASSIGN_CALLBACK = "jerry_reassign"
IMPACTS = ("low", "medium", "high", "blocking")
NOT_SURE = "not_sure"
SHARE_BLOCK, SHARE_VALUE = "share", "share_in_summary"  # the answer form's "share" tick


def intake_modal(
    kind: str,
    areas: Sequence[AreaChoice],
    lang: str,
    *,
    metadata: dict[str, Any],
    prefill: str | None = None,
) -> dict[str, Any]:
    """The /painpoint and /ask form, also opened by the "Send to Jerry" shortcut."""
    area_options = [option(t("intake.area_not_sure", lang), NOT_SURE)]
    area_options += [
        option(f"{area.name} ({area.team})", f"area:{area.id}") for area in areas[: MAX_OPTIONS - 1]
    ]
    blocks: list[Block] = [
        input_block(
            "text",
            t(f"intake.text_label.{kind}", lang),
            text_input(
                "value",
                multiline=True,
                initial=prefill,
                placeholder=t(f"intake.text_placeholder.{kind}", lang),
            ),
        ),
        input_block(
            "area",
            t("intake.area_label", lang),
            {
                "type": "static_select",
                "action_id": "value",
                "options": area_options,
                "initial_option": area_options[0],
            },
            hint=t("intake.area_hint", lang),
        ),
        *(
            [
                input_block(
                    "category",
                    t("intake.category_label", lang),
                    {
                        "type": "static_select",
                        "action_id": "value",
                        "options": [option(t(f"category.{c}", lang), c) for c in CATEGORIES],
                    },
                    optional=True,
                    hint=t("intake.category_hint", lang),
                )
            ]
            if kind == "painpoint"
            else []
        ),
        input_block(
            "impact",
            t("intake.impact_label", lang),
            {
                "type": "static_select",
                "action_id": "value",
                "options": [option(t(f"impact.{i}", lang), i) for i in IMPACTS],
            },
            optional=True,
        ),
        input_block(
            "customer",
            t("intake.customer_label", lang),
            text_input(
                "value",
                multiline=False,
                max_length=500,
                placeholder=t("intake.customer_placeholder", lang),
            ),
            optional=True,
        ),
        input_block(
            "flags",
            t("intake.flags_label", lang),
            {
                "type": "checkboxes",
                "action_id": "value",
                "options": [
                    option(t("intake.flag_at_risk", lang), "at_risk"),
                    option(t("intake.flag_anonymous", lang), "anonymous"),
                ],
            },
            optional=True,
        ),
    ]
    if metadata.get("permalink"):
        blocks.append(context(t("intake.from_message", lang, link=metadata["permalink"])))
    return modal(
        callback_id=INTAKE_CALLBACK,
        title=t(f"intake.title.{kind}", lang),
        submit=t("intake.submit", lang),
        close=t("modal.cancel", lang),
        blocks=blocks,
        private_metadata=encode_metadata({**metadata, "kind": kind}),
    )


def answer_modal(card: ItemCard, lang: str) -> dict[str, Any]:
    blocks: list[Block] = [
        section(
            f"*{t('item.number', lang, id=card.id)}* · {card.team}\n{quote(safe(card.text, 2500))}"
        ),
        input_block(
            "answer",
            t("answer_modal.label", lang),
            text_input("value", multiline=True, placeholder=t("answer_modal.placeholder", lang)),
        ),
    ]
    if card.kind == "question":  # a good answer can be quoted in the weekly summary
        blocks.append(
            input_block(
                SHARE_BLOCK,
                t("answer_modal.share_label", lang),
                {
                    "type": "checkboxes",
                    "action_id": "value",
                    "options": [option(t("answer_modal.share", lang), SHARE_VALUE)],
                },
                optional=True,
                hint=t("answer_modal.share_hint", lang),
            )
        )
    if card.anonymous:
        blocks.append(context(t("answer_modal.goes_to_anonymous", lang)))
    elif card.reporter_id == NO_REPORTER:
        blocks.append(context(t("answer_modal.goes_to_nobody", lang)))
    else:
        blocks.append(context(t("answer_modal.goes_to", lang, who=f"<@{card.reporter_id}>")))
    return modal(
        callback_id=ANSWER_CALLBACK,
        title=t("answer_modal.title", lang, id=card.id),
        submit=t("answer_modal.submit", lang),
        close=t("modal.cancel", lang),
        blocks=blocks,
        private_metadata=encode_metadata({"item": card.id}),
    )


def reassign_modal(card: ItemCard, targets: Sequence[ReassignTarget], lang: str) -> dict[str, Any]:
    groups: dict[str, list[dict[str, Any]]] = {}
    for target in targets:
        groups.setdefault(target.group, []).append(option(target.label, target.value))
    option_groups = []
    budget = MAX_OPTIONS
    for group in ("triage", "teams", "areas"):
        options = groups.get(group, [])[:budget]
        budget -= len(options)
        if options:
            option_groups.append(
                {"label": plain_text(t(f"reassign.group.{group}", lang), 75), "options": options}
            )
    blocks: list[Block] = [
        section(t("reassign.current", lang, id=card.id, team=card.team)),
        input_block(
            "target",
            t("reassign.target_label", lang),
            {"type": "static_select", "action_id": "value", "option_groups": option_groups},
        ),
        input_block(
            "note",
            t("reassign.note_label", lang),
            text_input("value", multiline=True, max_length=1000),
            optional=True,
        ),
    ]
    if budget <= 0 and len(targets) > MAX_OPTIONS:  # cut in order: triage, teams, then areas
        blocks.append(context(t("reassign.cut", lang, shown=MAX_OPTIONS, total=len(targets))))
    return modal(
        callback_id=REASSIGN_CALLBACK,
        title=t("reassign.title", lang, id=card.id),
        submit=t("reassign.submit", lang),
        close=t("modal.cancel", lang),
        blocks=blocks,
        private_metadata=encode_metadata({"item": card.id}),
    )
