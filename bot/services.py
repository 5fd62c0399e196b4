"""The services Jerry's capabilities and listeners are given.

One `Services` object is built by `build_services`, once: by the composition root
(`bot/app.py`) for the running bot, or by a CLI command for its own run; and passed
explicitly: to the core's functions as an argument, to Bolt listeners through the request
context (`handlers/context.py`). Nothing looks services up elsewhere, and nothing sets them later.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.config import Settings
from bot.csat.service import CsatPolicy
from bot.db import create_engine, session_factory
from bot.directory import Directory
from bot.home.service import HomePublisher
from bot.i18n import normalize_language
from bot.intake import service as intake
from bot.intake.routing_store import RoutingModelCache
from bot.intake.service import IntakeRequest, IntakeResult, IntakeWriter
from bot.items.cards import connect_trackers
from bot.outbox.registry import Doorbell
from bot.similar.intake import SimilarPolicy
from bot.slack import AsyncWebClient, slack_client
from bot.trackers.connection import Trackers
from models.base import utcnow
from models.users import SlackUser

# How long an ack may wait for Slack to say which language a first-time user speaks (the
# default of JERRY_LANGUAGE_LOOKUP_SECONDS).
FIRST_LOOKUP_SECONDS = 1.0
# How long a person's language is remembered in memory before the cache is asked again.
LANGUAGE_MEMORY_SECONDS = 600.0


class Languages:
    """Each person's Slack language, remembered briefly: it is asked on every ack."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        directory: Directory,
        default: str,
        *,
        first_lookup_seconds: float = FIRST_LOOKUP_SECONDS,
    ) -> None:
        self.sessions = sessions
        self.directory = directory
        self.default = default
        self.first_lookup_seconds = first_lookup_seconds
        # user id -> (language, when to look again): saves a query on every ack.
        self._remembered: dict[str, tuple[str, float]] = {}

    async def of(self, user_id: str) -> str:
        """From memory, the cache, or (first time) asked of Slack briefly, since an ack is
        waiting; the default when Slack is slow or the database is down."""
        now = time.monotonic()
        remembered = self._remembered.get(user_id)
        if remembered is not None and remembered[1] > now:
            return remembered[0]
        try:
            async with self.sessions() as session:
                user = await session.get(SlackUser, user_id)
            if user is not None:
                language = normalize_language(user.locale, self.default)
            else:
                # The lookup goes on (and is cached) if the ack cannot wait for it.
                lookup = asyncio.ensure_future(self.directory.language(user_id, self.default))
                language = await asyncio.wait_for(
                    asyncio.shield(lookup), timeout=self.first_lookup_seconds
                )
        except Exception:
            return self.default
        self._remembered[user_id] = (language, now + LANGUAGE_MEMORY_SECONDS)
        return language


@dataclass(frozen=True)
class Services:
    """The database, Slack, people, intake, the App Home and the outbox, with the settings
    they were built from."""

    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    client: AsyncWebClient
    directory: Directory
    languages: Languages
    outbox: Doorbell
    # "Now", for everything that compares with a schedule (tests drive it).
    clock: Callable[[], datetime]
    # Intake's shared routing model (cached) and group-commit writer.
    routing: RoutingModelCache
    intake_writer: IntakeWriter
    home: HomePublisher

    def __copy__(self) -> Services:
        return self

    def __deepcopy__(self, _memo: dict[int, object]) -> Services:
        # Shared by every request: Bolt copies a request's context for its lazy listeners.
        return self

    @cached_property
    def admins(self) -> frozenset[str]:
        return frozenset(self.settings.jerry_admins)

    @cached_property
    def similar(self) -> SimilarPolicy | None:
        """Similar items at intake (None: off)."""
        return SimilarPolicy.from_settings(self.settings)

    @cached_property
    def csat(self) -> CsatPolicy | None:
        """Who is asked "did this help?" after a resolution (None: nobody)."""
        return CsatPolicy.from_settings(self.settings)

    @cached_property
    def trackers(self) -> Trackers:
        """Jira and Linear, as the settings connect them (bot/trackers)."""
        return Trackers(self.settings)

    @property
    def default_language(self) -> str:
        return self.settings.jerry_language

    def kick(self) -> None:
        """Something new is owed: the outbox sends it now rather than at its next pass."""
        self.outbox.kick()

    async def language_of(self, user_id: str) -> str:
        return await self.languages.of(user_id)

    async def submit(self, request: IntakeRequest, language: str) -> IntakeResult:
        """Store and route an item with the shared routing cache and group-commit writer."""
        return await intake.submit(
            self.sessions,
            request,
            default_language=self.default_language,
            language=language,
            routing=self.routing,
            writer=self.intake_writer,
            similar=self.similar,
        )


def build_services(
    settings: Settings,
    *,
    clock: Callable[[], datetime] = utcnow,
) -> Services:
    """Jerry's services, once: for the running bot (`JerryApp`) or for one CLI command."""
    # What cards offer ("Create issue", "Link issue"): the trackers these settings connect.
    connect_trackers(Trackers(settings).connected)
    engine = create_engine(settings.database_url)
    sessions = session_factory(engine)
    client = slack_client(settings)
    directory = Directory(sessions, client)
    languages = Languages(
        sessions,
        directory,
        settings.jerry_language,
        first_lookup_seconds=settings.jerry_language_lookup_seconds,
    )
    return Services(
        settings=settings,
        engine=engine,
        sessions=sessions,
        client=client,
        directory=directory,
        languages=languages,
        outbox=Doorbell(),
        clock=clock,
        routing=RoutingModelCache(sessions),
        intake_writer=IntakeWriter(sessions),
        home=HomePublisher(sessions, client, admins=settings.jerry_admins, language=languages.of),
    )
