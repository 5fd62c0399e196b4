"""What Jerry knows about Slack users: names, language, timezone, whether they still exist.

Cached in the database (`slack_users`) so a restart or a second process does not ask
Slack again; refreshed when older than a few hours.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta

from sqlalchemy import delete, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.i18n import normalize_language
from bot.slack import (
    SLACK_FAILURES,
    AsyncWebClient,
    FailureKind,
    SlackApiError,
    classify,
    user_id_by_email,
)
from models.base import utcnow
from models.users import SlackUser

CACHE_CHUNK = 500  # ids per IN (…) when reading the cache for many people
# users.list page size: Slack takes up to 1000 and recommends 200; a round may need thousands
# of people from this Tier 2 method (~20 pages a minute), so pages of 500 (10 000 people
# within its burst of 20 pages).
USERS_PAGE = 500
USER_COLUMNS = ("id", "name", "real_name", "tz", "locale", "deleted", "is_bot", "fetched_at")


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
        self._lookups: dict[str, asyncio.Future[SlackUser | None]] = {}

    async def user(self, user_id: str, *, refresh: bool = False) -> SlackUser | None:
        """The user's record, from the cache or from users.info; None if Slack cannot say.

        Concurrent lookups of one person share a single users.info call, and no database
        transaction stays open while Slack answers.
        """
        async with self.sessions() as session:
            cached = await session.get(SlackUser, user_id)
        if cached is not None and not refresh and utcnow() - cached.fetched_at < self.ttl:
            return cached
        pending = self._lookups.get(user_id)
        if pending is None:
            pending = asyncio.ensure_future(self._fetch(user_id, cached))
            self._lookups[user_id] = pending
            pending.add_done_callback(lambda _f: self._lookups.pop(user_id, None))
        # Shielded: a caller that stops waiting (an ack in a hurry) leaves the lookup to finish.
        return await asyncio.shield(pending)

    async def _fetch(self, user_id: str, cached: SlackUser | None) -> SlackUser | None:
        try:
            response = await self.client.users_info(user=user_id, include_locale=True)
        except SlackApiError as exc:
            if classify(exc).kind is FailureKind.PERSON_GONE:
                return await self._save(user_id, _mark_gone)
            return cached  # a passing error: what we knew is still the best guess
        data = response.get("user") or {}
        return await self._save(user_id, lambda record: _apply(record, data))

    async def _save(self, user_id: str, update: Callable[[SlackUser], None]) -> SlackUser:
        for attempt in range(2):
            async with self.sessions() as session:
                record = await session.get(SlackUser, user_id) or SlackUser(id=user_id)
                update(record)
                session.add(record)
                try:
                    await session.commit()
                    return record
                except IntegrityError:  # another process stored this person first
                    await session.rollback()
                    if attempt:
                        raise
        raise AssertionError("unreachable")

    async def cached_many(self, user_ids: list[str]) -> dict[str, SlackUser]:
        """What the cache holds of these people, however old, without asking Slack (a few
        queries for thousands of people)."""
        found: dict[str, SlackUser] = {}
        async with self.sessions() as session:
            for start in range(0, len(user_ids), CACHE_CHUNK):
                chunk = user_ids[start : start + CACHE_CHUNK]
                rows = await session.execute(select(SlackUser).where(SlackUser.id.in_(chunk)))
                found.update((user.id, user) for user in rows.scalars())
        return found

    async def load_listed(self, wanted: set[str]) -> dict[str, SlackUser]:
        """One pass over `users.list` (pages of USERS_PAGE; Tier 2, ~20 pages a minute) saving
        the people in `wanted` to the cache: their language, timezone, whether they are gone
        or bots. For thousands of people at once, where one `users.info` each (Tier 4, ~100
        a minute) would take an hour. What Slack refuses midway is left as it was."""
        found: dict[str, SlackUser] = {}
        cursor: str | None = None
        try:
            while True:
                response = await self.client.users_list(
                    limit=USERS_PAGE, cursor=cursor, include_locale=True
                )
                page = {
                    str(member.get("id")): member
                    for member in response.get("members") or []
                    if member.get("id") in wanted
                }
                if page:
                    found.update(await self._save_many(page))
                cursor = (response.get("response_metadata") or {}).get("next_cursor")
                if not cursor or len(found) == len(wanted):
                    break
        except SLACK_FAILURES:
            pass  # the cache (and the people's own DMs) still say what they can
        return found

    async def _save_many(self, members: dict[str, dict]) -> dict[str, SlackUser]:
        """A page of people written at once (rows replaced in one transaction, with a few
        statements: the ORM took half a second a page)."""
        ids = list(members)
        async with self.sessions() as session:
            rows = await session.execute(
                select(SlackUser.id, SlackUser.locale).where(SlackUser.id.in_(ids))
            )
            locales = {user_id: locale for user_id, locale in rows.all()}
            records = []
            for user_id, data in members.items():
                record = SlackUser(id=user_id, locale=locales.get(user_id))
                _apply(record, data)
                records.append(record)
            values = [{c: getattr(r, c) for c in USER_COLUMNS} for r in records]
            await session.execute(delete(SlackUser).where(SlackUser.id.in_(ids)))
            await session.execute(insert(SlackUser), values)
            try:
                await session.commit()
            except IntegrityError:  # someone stored one of them meanwhile: theirs is as good
                await session.rollback()
                return {}
        return {record.id: record for record in records}

    def fresh(self, user: SlackUser) -> bool:
        return utcnow() - user.fetched_at < self.ttl

    async def language(self, user_id: str | None, default: str) -> str:
        if not user_id or not user_id.startswith(("U", "W")):
            return default
        try:
            user = await self.user(user_id)
        except Exception:
            return default
        return normalize_language(user.locale if user else None, default)

    async def spoken_language(self, user_id: str) -> str | None:
        """The person's Slack language when Jerry speaks it, else None (the caller then uses
        the language of what it answers about: a survey's, say)."""
        language = await self.language(user_id, "")
        return language or None

    async def lookup_email(self, email: str) -> str | None:
        return await user_id_by_email(self.client, email)


def _mark_gone(record: SlackUser) -> None:
    record.deleted = True
    record.fetched_at = utcnow()


def _apply(record: SlackUser, data: dict) -> None:
    profile = data.get("profile") or {}
    record.name = data.get("name")
    record.real_name = data.get("real_name") or profile.get("real_name")
    record.tz = data.get("tz")
    record.locale = data.get("locale") or record.locale
    record.deleted = bool(data.get("deleted"))
    record.is_bot = bool(data.get("is_bot"))
    record.fetched_at = utcnow()


async def cached_language(
    sessions: async_sessionmaker[AsyncSession], user_id: str, default: str
) -> str:
    """The user's language from the cache only: fast enough for code that must ack Slack."""
    async with sessions() as session:
        user = await session.get(SlackUser, user_id)
    return normalize_language(user.locale if user else None, default)


async def cached_user(session: AsyncSession, user_id: str) -> SlackUser | None:
    """The person as the cache (`slack_users`) has them, without asking Slack."""
    return await session.get(SlackUser, user_id)
