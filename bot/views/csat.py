"""Did this help? The question to the reporter (three buttons, each an emoji and words), the
thanks with "Add a comment", its form, and the answer as the lead reads it."""

from __future__ import annotations

from typing import Any

from bot.i18n import t
from bot.text import neutralize, quote, truncate
from bot.views.blocks import (
    Block,
    actions,
    button,
    context,
    encode_metadata,
    input_block,
    item_quote,
    modal,
    section,
    text_input,
)

SCORE_ACTION = "csat_score_"  # + 1 | 2 | 3; value: the item id
COMMENT_ACTION = "csat_comment"
COMMENT_CALLBACK = "csat_comment_submit"
EMOJI = {1: ":disappointed:", 2: ":neutral_face:", 3: ":slightly_smiling_face:"}


def score_label(score: int, lang: str) -> str:
    return f"{EMOJI.get(score, '')} {t(f'csat.score.{score}', lang)}".strip()


def ask(
    lang: str, *, item_id: int, kind: str, text: str, team: str | None, anonymous: bool
) -> dict[str, Any]:
    kind_word = t(f"item.kind.{kind}", lang).lower()
    line = t("csat.ask.line", lang, id=item_id, kind=kind_word, team=team or "—")
    who = t("csat.ask.anonymous" if anonymous else "csat.ask.named", lang)
    blocks: list[Block] = [
        section(f"*{line}*"),
        item_quote(text),
        actions(
            f"csat_{item_id}",
            *(
                button(score_label(score, lang), f"{SCORE_ACTION}{score}", str(item_id))
                for score in (1, 2, 3)
            ),
        ),
        context(who),
    ]
    return {"text": line, "blocks": blocks}


def thanks(lang: str, *, item_id: int, score: int) -> dict[str, Any]:
    line = t("csat.thanks", lang, answer=score_label(score, lang))
    blocks: list[Block] = [
        section(line),
        actions(
            f"csat_thanks_{item_id}",
            button(t("csat.add_comment", lang), COMMENT_ACTION, f"{item_id}:{score}"),
        ),
    ]
    return {"text": line, "blocks": blocks}


def comment_modal(item_id: int, score: int, lang: str) -> dict[str, Any]:
    return modal(
        callback_id=COMMENT_CALLBACK,
        title=t("csat.comment_form.title", lang),
        submit=t("csat.comment_form.submit", lang),
        close=t("modal.cancel", lang),
        blocks=[
            input_block(
                "comment",
                t("csat.comment_form.label", lang, id=item_id),
                text_input("value", multiline=True, max_length=2000),
            )
        ],
        private_metadata=encode_metadata({"item": item_id, "score": score}),
    )


def to_lead(
    lang: str, *, item_id: int, score: int, comment: str, reporter: str | None
) -> dict[str, Any]:
    who = f"<@{reporter}>" if reporter else t("csat.lead.anonymous", lang)
    line = t("csat.lead.line", lang, who=who, id=item_id, answer=score_label(score, lang))
    blocks: list[Block] = [section(line)]
    if comment:
        blocks.append(section(quote(truncate(neutralize(comment), 2000))))
    return {"text": line, "blocks": blocks}
