"""Jerry's gateway to Slack's Web API: the client, and what Slack's failures mean.

The only module of the core that imports slack_sdk (an import contract checks it): the
others take the client's and the errors' names from here.

Every caller classifies a failed call the same way (`classify`) and decides by its kind:
try again later, or never (the channel or the person is gone, or the message itself is
refused).
"""

from __future__ import annotations

import enum
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.http_retry.builtin_interval_calculators import FixedValueRetryIntervalCalculator
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

from bot.config import Settings

__all__ = [
    "SLACK_FAILURES",
    "TRANSPORT_ERRORS",
    "AsyncWebClient",
    "AsyncWebhookClient",
    "BotIdentity",
    "FailureKind",
    "SignatureVerifier",
    "SlackApiError",
    "SlackFailure",
    "SlackHTTPSession",
    "classify",
    "find_posted",
    "granted_scopes",
    "kind_of",
    "outbox_client",
    "slack_client",
    "slack_http_session",
    "token_refused",
    "user_id_by_email",
    "user_standing",
]

SlackHTTPSession = aiohttp.ClientSession

# Slack could not be reached or did not answer in time.
TRANSPORT_ERRORS: tuple[type[Exception], ...] = (aiohttp.ClientError, OSError, TimeoutError)
# Everything a Web API call raises when it fails: what `classify` takes.
SLACK_FAILURES: tuple[type[Exception], ...] = (SlackApiError, *TRANSPORT_ERRORS)


def slack_client(settings: Settings) -> AsyncWebClient:
    """The Web API client; retries rate limits (honouring Retry-After), 5xx, lost connections."""
    return AsyncWebClient(
        token=settings.slack_bot_token,
        base_url=settings.slack_api_url,
        timeout=15,
        retry_handlers=[
            AsyncConnectionErrorRetryHandler(max_retry_count=2),
            AsyncRateLimitErrorRetryHandler(max_retry_count=3),
            AsyncServerErrorRetryHandler(max_retry_count=2),
        ],
    )


# The outbox's client: a call may take at most OUTBOX_TIMEOUT_SECONDS, tried at most
# 1 + OUTBOX_CONNECTION_RETRIES times (a refused connection only, retried at once), so one
# call ends well within the outbox's lease (bot/outbox/worker.py checks it). Rate limits and
# 5xx are the outbox's to retry: it reschedules the row (honouring Retry-After, per
# recipient) instead of sleeping inside a call while its lease runs out.
OUTBOX_TIMEOUT_SECONDS = 10
OUTBOX_CONNECTION_RETRIES = 1


def longest_outbox_call_seconds() -> float:
    """The longest one outbox call to Slack can take, retries included."""
    return float(OUTBOX_TIMEOUT_SECONDS * (1 + OUTBOX_CONNECTION_RETRIES) + 1)


def slack_http_session() -> aiohttp.ClientSession:
    """One pool of HTTP connections to Slack, kept for the process's life (created in a
    running loop, closed when the app stops): without it, slack_sdk opens a new session, so
    a new TCP/TLS connection, for every call."""
    return aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=OUTBOX_TIMEOUT_SECONDS))


def outbox_client(
    settings: Settings, session: aiohttp.ClientSession | None = None
) -> AsyncWebClient:
    """The client the outbox sends with: no rate-limit or 5xx retries inside a call."""
    return AsyncWebClient(
        token=settings.slack_bot_token,
        base_url=settings.slack_api_url,
        timeout=OUTBOX_TIMEOUT_SECONDS,
        session=session,
        retry_handlers=[
            # Only a connection that was never made: nothing reached Slack, so no duplicate.
            AsyncConnectionErrorRetryHandler(
                max_retry_count=OUTBOX_CONNECTION_RETRIES,
                interval_calculator=FixedValueRetryIntervalCalculator(0.5),
                error_types=[aiohttp.ClientConnectorError],
            )
        ],
    )


class FailureKind(enum.Enum):
    RETRY_LATER = "retry_later"  # 5xx, lost connection, timeout, or an answer Jerry does not know
    RATE_LIMITED = "rate_limited"
    CHANNEL_GONE = "channel_gone"  # Jerry cannot post in that channel at all
    PERSON_GONE = "person_gone"  # the person cannot be reached (deactivated, a bot …)
    PERMANENT = "permanent"  # the call itself is refused: no retry changes it


# Slack's error codes by kind (https://docs.slack.dev/reference/methods/chat.postMessage).
CHANNEL_GONE_ERRORS = frozenset(
    {
        "channel_not_found",
        "is_archived",
        "not_in_channel",
        "restricted_action",
        "team_access_not_granted",
        "ekm_access_denied",
        "access_denied",
    }
)
PERSON_GONE_ERRORS = frozenset(
    {
        "user_not_found",
        "user_disabled",
        "user_deactivated",
        "cannot_dm_bot",
        "user_not_visible",
        "account_inactive_user",
    }
)
PERMANENT_ERRORS = frozenset(
    {
        "user_not_in_channel",
        "message_not_found",
        "cant_update_message",
        "thread_not_found",
        "msg_too_long",
        "invalid_blocks",
        "invalid_arguments",
        "no_text",
        "too_many_attachments",
        "messages_tab_disabled",
        "not_allowed_token_type",
        "invalid_blocks_format",
        "as_user_not_supported",
        "duplicate_channel_not_found",
        # A survey's audience that no longer exists (usergroups.users.list, users.info).
        "no_such_subteam",
        "invalid_users",
    }
)
RATE_LIMITED_ERRORS = frozenset({"ratelimited", "rate_limited"})
# What Slack answers when the token itself is bad (auth.test): no wait or retry fixes it,
# unlike an outage (https://docs.slack.dev/reference/methods/auth.test).
BAD_TOKEN_ERRORS = frozenset(
    {
        "invalid_auth",
        "not_authed",
        "account_inactive",
        "token_revoked",
        "token_expired",
        "no_permission",
        "not_allowed_token_type",
        "missing_scope",
        "org_login_required",
        "team_access_not_granted",
        "two_factor_setup_required",
        "enterprise_is_restricted",
    }
)
# How long the check at start waits for auth.test: an outage must not hold the start long.
TOKEN_CHECK_SECONDS = 5


@dataclass(frozen=True)
class SlackFailure:
    kind: FailureKind
    # Slack's error code, http_<status> when the answer was not Slack's JSON (a 5xx page),
    # or the exception's class name when Slack was not reached (`transport`).
    code: str
    transport: bool = False
    # Seconds Slack asked to wait (its Retry-After header on a 429).
    retry_after: float | None = None
    # Whether the request may have reached Slack (the answer was lost or late): a message
    # sent again could be a duplicate.
    unsure: bool = False

    @property
    def retry(self) -> bool:
        """Whether trying again later may succeed."""
        return self.kind in {FailureKind.RETRY_LATER, FailureKind.RATE_LIMITED}


def kind_of(code: str, status: int | None = None) -> FailureKind:
    """The kind of Slack's error `code` (also of an error stored earlier)."""
    if code in CHANNEL_GONE_ERRORS:
        return FailureKind.CHANNEL_GONE
    if code in PERSON_GONE_ERRORS:
        return FailureKind.PERSON_GONE
    if code in PERMANENT_ERRORS:
        return FailureKind.PERMANENT
    if code in RATE_LIMITED_ERRORS or status == 429:
        return FailureKind.RATE_LIMITED
    # 5xx, and codes Jerry does not know: a retry costs little, a lost message much.
    return FailureKind.RETRY_LATER


def classify(exc: Exception) -> SlackFailure:
    """What a failed Web API call (SlackApiError, or one of TRANSPORT_ERRORS) means."""
    if isinstance(exc, SlackApiError):
        data = exc.response.data
        error = data.get("error") if isinstance(data, dict) else None
        status = exc.response.status_code
        code = str(error or f"http_{status}")
        return SlackFailure(kind_of(code, status), code, retry_after=_retry_after(exc))
    # A refused connection never reached Slack; a timeout or a dropped answer may have.
    unsure = not isinstance(exc, aiohttp.ClientConnectorError | ConnectionRefusedError)
    return SlackFailure(
        FailureKind.RETRY_LATER, exc.__class__.__name__, transport=True, unsure=unsure
    )


def _retry_after(exc: SlackApiError) -> float | None:
    headers = exc.response.headers or {}
    value = headers.get("Retry-After") or headers.get("retry-after")
    if isinstance(value, list):
        value = value[0] if value else None
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None


async def find_posted(
    client: AsyncWebClient,
    channel: str,
    *,
    oldest: datetime,
    event_type: str,
    payload: dict[str, Any],
    thread_ts: str | None = None,
    pages: int = 5,
) -> dict[str, Any] | None:
    """The message in `channel` (a thread's replies with `thread_ts`) posted since `oldest`
    whose metadata (https://api.slack.com/metadata) has `event_type` and contains `payload`;
    None if there is none in the first `pages` pages (200 messages each).

    How a post whose answer was lost (a timeout, a process gone mid-send) is recognised in
    Slack instead of being posted a second time. Needs the channels:history scopes."""
    cursor = None
    for _page in range(pages):
        arguments: dict[str, Any] = {
            "channel": channel,
            "oldest": f"{oldest.timestamp():.6f}",
            "include_all_metadata": True,
            "limit": 200,
            "cursor": cursor,
        }
        if thread_ts:
            response = await client.conversations_replies(ts=thread_ts, **arguments)
        else:
            response = await client.conversations_history(**arguments)
        for message in response.get("messages") or []:
            metadata = message.get("metadata") or {}
            found = metadata.get("event_payload") or {}
            if metadata.get("event_type") == event_type and all(
                found.get(key) == value for key, value in payload.items()
            ):
                return dict(message)
        cursor = (response.get("response_metadata") or {}).get("next_cursor")
        if not cursor:
            return None
    return None


log = logging.getLogger("jerry.slack")


@dataclass
class BotIdentity:
    """Who Jerry is in the workspace (auth.test): its user id, bot id and team.

    Learned in the background, never on a request's path: a process that starts while
    Slack's API is down still takes requests (Bolt would otherwise call auth.test on the
    first request and refuse every request while it fails). Until it is known, requests
    carry what Slack tells anyway: an event's `authorizations` name the bot user."""

    token: str | None
    user_id: str | None = None
    bot_id: str | None = None
    team_id: str | None = None
    enterprise_id: str | None = None
    known: bool = False

    async def learn(self, client: AsyncWebClient) -> bool:
        """Ask auth.test once; True when the identity is known (now or before)."""
        if self.known:
            return True
        try:
            response = await client.auth_test()
        except SLACK_FAILURES as exc:
            failure = classify(exc)
            if failure.retry:
                log.warning(
                    "Slack did not say who Jerry is (auth.test: %s); asking again later",
                    failure.code,
                )
            else:
                log.error(
                    "Slack refuses Jerry's token (auth.test: %s): requests are stored, nothing "
                    "can be sent until SLACK_BOT_TOKEN is fixed",
                    failure.code,
                )
            return False
        self.user_id = response.get("user_id")
        self.bot_id = response.get("bot_id")
        self.team_id = response.get("team_id")
        self.enterprise_id = response.get("enterprise_id")
        self.known = True
        log.info("Slack says Jerry is %s (bot %s) in %s", self.user_id, self.bot_id, self.team_id)
        return True


async def token_refused(token: str | None, base_url: str) -> str | None:
    """Slack's error code when it says `token` is bad (one of BAD_TOKEN_ERRORS); None when
    the token works or Slack did not answer (an outage: the caller starts anyway and keeps
    asking, see BotIdentity)."""
    client = AsyncWebClient(token=token, base_url=base_url, timeout=TOKEN_CHECK_SECONDS)
    try:
        await client.auth_test()
    except SlackApiError as exc:
        code = classify(exc).code
        return code if code in BAD_TOKEN_ERRORS else None
    except TRANSPORT_ERRORS:
        return None
    return None


async def user_id_by_email(client: AsyncWebClient, email: str) -> str | None:
    """users.lookupByEmail: the user's id, or None when nobody has that email."""
    try:
        response = await client.users_lookupByEmail(email=email)
    except SlackApiError as exc:
        if classify(exc).code == "users_not_found":
            return None
        raise
    return (response.get("user") or {}).get("id")


# What users.info says of someone Jerry is to send to: `user_standing`'s answers.
ACTIVE, UNKNOWN, DEACTIVATED, A_BOT = "active", "unknown", "deactivated", "bot"


async def user_standing(client: AsyncWebClient, user_id: str) -> str:
    """ACTIVE, UNKNOWN (Slack does not know the id), DEACTIVATED, or A_BOT (users.info);
    other failures (Slack unreachable, a bad token) are raised."""
    try:
        response = await client.users_info(user=user_id)
    except SlackApiError as exc:
        if classify(exc).code == "user_not_found":
            return UNKNOWN
        raise
    user = response.get("user") or {}
    if user.get("deleted"):
        return DEACTIVATED
    if user.get("is_bot") or user.get("id") == "USLACKBOT":
        return A_BOT
    return ACTIVE


def granted_scopes(headers: Any) -> set[str] | None:
    """The scopes a Web API response says the token has (its x-oauth-scopes header), or None
    when the header is absent."""
    value = None
    for name, header in dict(headers or {}).items():
        if str(name).lower() == "x-oauth-scopes":
            value = header
    if isinstance(value, list):
        value = ",".join(value)
    if value is None:
        return None
    return {scope.strip() for scope in str(value).split(",") if scope.strip()}
