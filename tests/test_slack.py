"""What Slack's failures mean (bot/slack.py), without Slack."""

from __future__ import annotations

import aiohttp
import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_slack_response import AsyncSlackResponse

from bot.slack import FailureKind, classify, kind_of


def _slack_error(status: int, data: object) -> SlackApiError:
    response = AsyncSlackResponse(
        client=None,  # type: ignore[arg-type]
        http_verb="POST",
        api_url="https://slack.test/api/chat.postMessage",
        req_args={},
        data=data,  # type: ignore[arg-type]
        headers={},
        status_code=status,
    )
    return SlackApiError("failed", response)


@pytest.mark.parametrize(
    ("status", "data", "kind", "code"),
    [
        (200, {"ok": False, "error": "is_archived"}, FailureKind.CHANNEL_GONE, "is_archived"),
        (200, {"ok": False, "error": "access_denied"}, FailureKind.CHANNEL_GONE, "access_denied"),
        (200, {"ok": False, "error": "user_disabled"}, FailureKind.PERSON_GONE, "user_disabled"),
        (200, {"ok": False, "error": "invalid_blocks"}, FailureKind.PERMANENT, "invalid_blocks"),
        (429, {"ok": False, "error": "ratelimited"}, FailureKind.RATE_LIMITED, "ratelimited"),
        (503, "<html>down</html>", FailureKind.RETRY_LATER, "http_503"),
        (200, {"ok": False, "error": "something_new"}, FailureKind.RETRY_LATER, "something_new"),
    ],
)
def test_slack_answers_are_classified_once(
    status: int, data: object, kind: FailureKind, code: str
) -> None:
    failure = classify(_slack_error(status, data))
    assert (failure.kind, failure.code, failure.transport) == (kind, code, False)
    assert failure.retry == (kind in {FailureKind.RETRY_LATER, FailureKind.RATE_LIMITED})
    assert kind_of(code, status) is kind


@pytest.mark.parametrize(
    "exc", [aiohttp.ServerDisconnectedError(), TimeoutError(), ConnectionResetError()]
)
def test_transport_errors_are_retried_later(exc: Exception) -> None:
    failure = classify(exc)
    assert (failure.kind, failure.code, failure.transport, failure.retry) == (
        FailureKind.RETRY_LATER,
        exc.__class__.__name__,
        True,
        True,
    )
