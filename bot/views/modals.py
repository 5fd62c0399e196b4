"""Modals: intake (pain point / question), answer, reassign."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from bot.i18n import t
from bot.text import INPUT_INITIAL_LIMIT, PRIVATE_METADATA_LIMIT, plain
from bot.views.blocks import MAX_OPTIONS, Block, context, modal, option, plain_text, section
from bot.views.items import ItemCard, quote, safe

INTAKE_CALLBACK = "jerry_intake"
ANSWER_CALLBACK = "jerry_answer"
REASSIGN_CALLBACK = "jerry_reassign"
IMPACTS = ("low", "medium", "high", "blocking")
NOT_SURE = "not_sure"
INPUT_TEXT_LIMIT = 3000  # Slack's max_length for plain_text_input
SHARE_BLOCK, SHARE_VALUE = "share", "share_in_summary"  # the answer form's "share" tick


@dataclass(frozen=True)
class AreaChoice:
    id: int
    name: str
    team: str


@dataclass(frozen=True)
class ReassignTarget:
    value: str  # "team:3", "area:7" or "triage"
    label: str
    group: str  # "teams" | "areas" | "triage"


def encode_metadata(data: dict[str, Any]) -> str:
    """private_metadata is limited to 3000 characters: drop optional bulky keys to fit."""
    encoded = json.dumps(data, separators=(",", ":"), ensure_ascii=False)
    for bulky in ("prefill", "permalink", "response_url"):
        if len(encoded) <= PRIVATE_METADATA_LIMIT:
            break
        data = {k: v for k, v in data.items() if k != bulky}
        encoded = json.dumps(data, separators=(",", ":"), ensure_ascii=False)
    return encoded


def decode_metadata(raw: str | None) -> dict[str, Any]:
    try:
        value = json.loads(raw or "{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _input(
    block_id: str,
    label: str,
    element: dict[str, Any],
    *,
    optional: bool = False,
    hint: str | None = None,
) -> Block:
    block: Block = {
        "type": "input",
        "block_id": block_id,
        "label": plain_text(label, 2000),
        "element": element,
        "optional": optional,
    }
    if hint:
        block["hint"] = plain_text(hint, 2000)
    return block


def _text_input(
    action_id: str,
    *,
    multiline: bool,
    initial: str | None = None,
    placeholder: str | None = None,
    max_length: int = INPUT_TEXT_LIMIT,
) -> dict[str, Any]:
    element: dict[str, Any] = {
        "type": "plain_text_input",
        "action_id": action_id,
        "multiline": multiline,
        "max_length": max_length,
    }
    if initial:
        element["initial_value"] = plain(initial, min(INPUT_INITIAL_LIMIT, max_length))
    if placeholder:
        element["placeholder"] = plain_text(placeholder, 150)
    return element


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
        _input(
            "text",
            t(f"intake.text_label.{kind}", lang),
            _text_input(
                "value",
                multiline=True,
                initial=prefill,
                placeholder=t(f"intake.text_placeholder.{kind}", lang),
            ),
        ),
        _input(
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
        _input(
            "impact",
            t("intake.impact_label", lang),
            {
                "type": "static_select",
                "action_id": "value",
                "options": [option(t(f"impact.{i}", lang), i) for i in IMPACTS],
            },
            optional=True,
        ),
        _input(
            "customer",
            t("intake.customer_label", lang),
            _text_input(
                "value",
                multiline=False,
                max_length=500,
                placeholder=t("intake.customer_placeholder", lang),
            ),
            optional=True,
        ),
        _input(
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
        section(f"*#{card.id}* · {card.team}\n{quote(safe(card.text, 2500))}"),
        _input(
            "answer",
            t("answer_modal.label", lang),
            _text_input("value", multiline=True, placeholder=t("answer_modal.placeholder", lang)),
        ),
    ]
    if card.kind == "question":  # a good answer can be quoted in the weekly summary
        blocks.append(
            _input(
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
    if not card.anonymous:
        blocks.append(context(t("answer_modal.goes_to", lang, who=f"<@{card.reporter_id}>")))
    else:
        blocks.append(context(t("answer_modal.goes_to_anonymous", lang)))
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
        _input(
            "target",
            t("reassign.target_label", lang),
            {"type": "static_select", "action_id": "value", "option_groups": option_groups},
        ),
        _input(
            "note",
            t("reassign.note_label", lang),
            _text_input("value", multiline=True, max_length=1000),
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
