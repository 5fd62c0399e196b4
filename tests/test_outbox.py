"""The outbox's registry: every purpose has one handler."""

from __future__ import annotations

import pytest

from bot.app import outbox_handlers
from bot.outbox.registry import OutboxHandler, OutboxRegistry, nothing_more
from bot.surveys.results import SurveyContext

# Every purpose the outbox holds rows for (stored strings: renaming one strands its rows).
STORED_PURPOSES = {
    "triage_alert",
    "lead_dm",
    "lead_dm_update",
    "lead_notice",
    "receipt",
    "answer",
    "reporter_notice",
    "resolution",
    "conversation_to_reporter",
    "conversation_question",
    "conversation_to_lead",
    "conversation_question_note",
    "conversation_update",
    "reminder",
    "escalation",
    "survey_results",
    "survey_ask",
}


def test_every_stored_purpose_has_a_handler() -> None:
    assert outbox_handlers(SurveyContext(None)).purposes == STORED_PURPOSES


def test_a_purpose_is_registered_once() -> None:
    async def send(*_: object) -> tuple[None, None]:
        return None, None

    registry = OutboxRegistry()
    handler = OutboxHandler(send=send, undeliverable=nothing_more, gave_up=nothing_more)
    registry.register("receipt", handler)
    with pytest.raises(ValueError, match="twice"):
        registry.register("receipt", handler)
