"""The Slack user cache (`slack_users`), read without asking Slack."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from models.users import SlackUser


async def cached_user(session: AsyncSession, user_id: str) -> SlackUser | None:
    return await session.get(SlackUser, user_id)
