"""What Jerry knows about Slack users: names, language, timezone, whether they still exist.

Cached in the database (`slack_users`) so a restart or a second process does not ask
Slack again; refreshed when older than a few hours.
"""

from __future__ import annotations

from datetime import timedelta

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.i18n import normalize_language
from bot.slack_errors import user_id_by_email
from models.base import utcnow
from models.users import SlackUser

USER_GONE_ERRORS = {"user_not_found", "user_not_visible", "account_inactive_user"}


class Directory:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        client: AsyncWebClient,
        *,
        ttl: timedelta = timedelta(hours=6),
    ) -> None:
        self.sessions = sessions
        self.client = client
        self.ttl = ttl

    async def user(self, user_id: str, *, refresh: bool = False) -> SlackUser | None:
        """The user's record, from the cache or from users.info; None if Slack cannot say."""
        async with self.sessions() as session:
            cached = await session.get(SlackUser, user_id)
            if cached is not None and not refresh and utcnow() - cached.fetched_at < self.ttl:
                return cached
            try:
                response = await self.client.users_info(user=user_id, include_locale=True)
            except SlackApiError as exc:
                data = exc.response.data  # not a dict when Slack answered a 5xx page
                if isinstance(data, dict) and data.get("error") in USER_GONE_ERRORS:
                    record = cached or SlackUser(id=user_id)
                    record.deleted = True
                    record.fetched_at = utcnow()
                    session.add(record)
                    await session.commit()
                    return record
                return cached  # a passing error: what we knew is still the best guess
            data = response.get("user") or {}
            record = await _store(session, user_id, data)
            await session.commit()
            return record

    async def language(self, user_id: str | None, default: str) -> str:
        if not user_id or not user_id.startswith(("U", "W")):
            return default
        try:
            user = await self.user(user_id)
        except Exception:
            return default
        return normalize_language(user.locale if user else None, default)

    async def lookup_email(self, email: str) -> str | None:
        return await user_id_by_email(self.client, email)


async def _store(session: AsyncSession, user_id: str, data: dict) -> SlackUser:
    record = await session.get(SlackUser, user_id) or SlackUser(id=user_id)
    profile = data.get("profile") or {}
    record.name = data.get("name")
    record.real_name = data.get("real_name") or profile.get("real_name")
    record.tz = data.get("tz")
    record.locale = data.get("locale") or record.locale
    record.deleted = bool(data.get("deleted"))
    record.is_bot = bool(data.get("is_bot"))
    record.fetched_at = utcnow()
    session.add(record)
    return record


async def cached_language(
    sessions: async_sessionmaker[AsyncSession], user_id: str, default: str
) -> str:
    """The user's language from the cache only: fast enough for code that must ack Slack."""
    async with sessions() as session:
        user = await session.get(SlackUser, user_id)
    return normalize_language(user.locale if user else None, default)
