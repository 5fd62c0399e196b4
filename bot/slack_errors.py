"""What Slack's Web API errors mean to Jerry."""

from __future__ import annotations

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

# Slack answers that no retry will change (https://docs.slack.dev/reference/methods/chat.postMessage).
PERMANENT_ERRORS = frozenset(
    {
        "channel_not_found",
        "is_archived",
        "not_in_channel",
        "user_not_found",
        "user_disabled",
        "user_deactivated",
        "cannot_dm_bot",
        "user_not_in_channel",
        "message_not_found",
        "cant_update_message",
        "thread_not_found",
        "msg_too_long",
        "invalid_blocks",
        "invalid_arguments",
        "no_text",
        "restricted_action",
        "too_many_attachments",
        "messages_tab_disabled",
        "team_access_not_granted",
        "not_allowed_token_type",
        "invalid_blocks_format",
        "as_user_not_supported",
        "duplicate_channel_not_found",
    }
)


def slack_error(exc: SlackApiError) -> str:
    """Slack's error code, or http_<status> when the answer was not Slack's JSON (a 5xx page)."""
    data = exc.response.data
    error = data.get("error") if isinstance(data, dict) else None
    return str(error or f"http_{exc.response.status_code}")


async def user_id_by_email(client: AsyncWebClient, email: str) -> str | None:
    """users.lookupByEmail: the user's id, or None when nobody has that email."""
    try:
        response = await client.users_lookupByEmail(email=email)
    except SlackApiError as exc:
        if slack_error(exc) == "users_not_found":
            return None
        raise
    return (response.get("user") or {}).get("id")
