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
    "reopen_offer",
    "reporter_reopened",
    "conversation_to_reporter",
    "conversation_question",
    "conversation_to_lead",
    "conversation_question_note",
    "conversation_update",
    "reminder",
    "escalation",
    "late_message",
    "late_update",
    "late_notice",
    "survey_results",
    "survey_ask",
    "summary_reply",
    "dm_reply",
    "triage_item_copy",
    "internal_note_kept",
    "lead_welcome",
    "mention_reply",
    "follower_news",
    # issue 12, a lead's merge (bot/relay/lead_merge.py)
    "merge_notice",
    "merge_lead_notice",
    "similar_check",
    "similar_offer",
    "similar_index",
    "similar_lead_notice",
    # issue 13, the product-ops report to its channel and people (bot/insights/report.py)
    "insights_report",
    # issue 14, Jira and Linear (bot/trackers/delivery.py)
    "tracker_create",
    "tracker_check",
    "tracker_news",
    "tracker_status_notice",
    "shipped_notice",
    # issue 15, emoji filing (bot/capture/delivery.py)
    "reaction_filing",
    "reaction_receipt",
    "reaction_notice",
    # issue 15, did this help? (bot/csat/delivery.py)
    "csat_ask",
    "csat_lead",
    # issue 15, DMs in a row and Slack Connect (bot/capture/grouping.py, external.py)
    "dm_group_file",
    "customer_reply",
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


def test_the_outbox_client_never_sleeps_on_a_rate_limit_and_ends_within_the_lease() -> None:
    """A 429 waited out inside a call (137 s) outlived the lease: another process re-sent."""
    from slack_sdk.http_retry.builtin_async_handlers import (
        AsyncConnectionErrorRetryHandler,
        AsyncRateLimitErrorRetryHandler,
        AsyncServerErrorRetryHandler,
    )

    from bot.config import Settings
    from bot.outbox.worker import LEASE, MAX_CALLS_PER_ATTEMPT
    from bot.slack import (
        OUTBOX_CONNECTION_RETRIES,
        OUTBOX_TIMEOUT_SECONDS,
        longest_outbox_call_seconds,
        outbox_client,
    )

    client = outbox_client(Settings(_env_file=None, slack_bot_token="xoxb-x"))  # type: ignore[call-arg]
    kinds = [type(handler) for handler in client.retry_handlers]
    assert AsyncRateLimitErrorRetryHandler not in kinds
    assert AsyncServerErrorRetryHandler not in kinds
    assert kinds == [AsyncConnectionErrorRetryHandler]
    assert client.retry_handlers[0].max_retry_count == OUTBOX_CONNECTION_RETRIES
    assert client.timeout == OUTBOX_TIMEOUT_SECONDS
    longest_attempt = MAX_CALLS_PER_ATTEMPT * longest_outbox_call_seconds()
    assert longest_attempt >= MAX_CALLS_PER_ATTEMPT * OUTBOX_TIMEOUT_SECONDS * (
        1 + OUTBOX_CONNECTION_RETRIES
    )
    assert LEASE.total_seconds() > longest_attempt
