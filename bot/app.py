"""The app factory: one object holding the Bolt app, the ASGI app and Jerry's services."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator
from datetime import datetime

from slack_bolt.adapter.starlette.async_handler import (
    AsyncSlackRequestHandler,
    to_async_bolt_request,
)
from slack_bolt.async_app import AsyncApp
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bot import conversation_delivery, intake, relay_delivery, reminders, survey_results
from bot.config import Settings
from bot.delivery import DeliveryWorker
from bot.directory import Directory
from bot.feeds import FetchResult, fetch_now
from bot.home import HomePublisher
from bot.i18n import normalize_language
from bot.intake import IntakeRequest, IntakeResult, IntakeWriter
from bot.outbox import OutboxContext, OutboxRegistry
from bot.reminders import ReminderSummary, run_reminders
from bot.scheduler import Scheduler, interval
from bot.slack import slack_client
from bot.survey_results import SurveyContext, survey_context
from models.db import create_engine, database_answers, session_factory
from models.routing_store import RoutingModelCache
from models.users import SlackUser

log = logging.getLogger("jerry")
# How long an ack may wait for Slack to say which language a first-time user speaks.
FIRST_LOOKUP_SECONDS = 1.0
# How long a person's language is remembered in memory before the cache is asked again.
LANGUAGE_MEMORY_SECONDS = 600.0


def outbox_handlers(surveys: SurveyContext) -> OutboxRegistry:
    """Every outbox purpose, each registered by the capability that owes such messages."""
    registry = OutboxRegistry()
    relay_delivery.register_outbox(registry)
    conversation_delivery.register_outbox(registry)
    reminders.register_outbox(registry)
    survey_results.register_outbox(registry, surveys)
    return registry


class JerryApp:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.admins = frozenset(settings.jerry_admins)
        self.language = settings.jerry_language
        self.engine = create_engine(settings.database_url)
        self.sessions = session_factory(self.engine)
        self.client = slack_client(settings)
        self.directory = Directory(self.sessions, self.client)
        self.routing = RoutingModelCache(self.sessions)
        self.intake_writer = IntakeWriter(self.sessions)
        self.home = HomePublisher(
            self.sessions, self.client, admins=self.admins, language=self.user_language
        )
        # user id -> (language, when to look again): saves a query on every ack.
        self._languages: dict[str, tuple[str, float]] = {}
        # What survey results and survey reminders need besides sessions and client.
        self.survey_context = survey_context(settings, self.client)
        self.worker = DeliveryWorker(
            OutboxContext(self.sessions, self.client, self.directory, self.language),
            outbox_handlers(self.survey_context),
            retry_seconds=settings.jerry_delivery_retry_seconds,
        )
        self.scheduler = Scheduler(self.sessions)
        if settings.jerry_reminder_seconds > 0:
            self.scheduler.add_job(
                "reminders", interval(settings.jerry_reminder_seconds), self.run_reminders
            )
        if settings.jerry_summary_check_seconds > 0:
            self.scheduler.add_job(
                "summaries", interval(settings.jerry_summary_check_seconds), self.run_summaries
            )
        if settings.jerry_feed_minutes > 0:
            self.scheduler.add_job(
                "feeds", interval(settings.jerry_feed_minutes * 60), self.run_feeds
            )
        # Pulse survey results: reminders before closing, closing, results (bot/survey_results.py).
        if settings.jerry_survey_check_seconds > 0:
            self.scheduler.add_job(
                "survey_results",
                interval(settings.jerry_survey_check_seconds),
                self.run_survey_results,
            )
        if settings.jerry_survey_check_seconds > 0:
            self.scheduler.add_job(
                "surveys", interval(settings.jerry_survey_check_seconds), self.run_surveys
            )
        self.bolt = AsyncApp(
            # The token is the client's (passing it too only makes Bolt warn that it is unused).
            signing_secret=settings.slack_signing_secret,
            client=self.client,
            raise_error_for_unhandled_request=False,
            # Listeners finish before Slack gets its ack, so an item from a mention or a DM is
            # committed before Slack hears "ok" (Bolt would otherwise ack events first).
            process_before_response=True,
            logger=logging.getLogger("jerry.bolt"),
        )
        from handlers import register

        register(self.bolt, self)
        self._slack_handler = AsyncSlackRequestHandler(self.bolt)
        self.asgi = Starlette(
            routes=[
                Route("/slack/events", self._slack_events, methods=["POST"]),
                Route("/healthz", self._healthz, methods=["GET", "HEAD"]),
            ],
            lifespan=self._lifespan,
        )
        self._started = False

    async def user_language(self, user_id: str) -> str:
        """The person's Slack language: from memory, the cache, or (first time) asked of Slack
        briefly, since an ack is waiting; the default when Slack is slow or the database is
        down."""
        now = time.monotonic()
        remembered = self._languages.get(user_id)
        if remembered is not None and remembered[1] > now:
            return remembered[0]
        try:
            async with self.sessions() as session:
                user = await session.get(SlackUser, user_id)
            if user is not None:
                language = normalize_language(user.locale, self.language)
            else:
                # The lookup goes on (and is cached) if the ack cannot wait for it.
                lookup = asyncio.ensure_future(self.directory.language(user_id, self.language))
                language = await asyncio.wait_for(
                    asyncio.shield(lookup), timeout=FIRST_LOOKUP_SECONDS
                )
        except Exception:
            return self.language
        self._languages[user_id] = (language, now + LANGUAGE_MEMORY_SECONDS)
        return language

    async def submit(self, request: IntakeRequest, language: str) -> IntakeResult:
        """Store and route an item with this app's shared caches and group-commit writer."""
        return await intake.submit(
            self.sessions,
            request,
            default_language=self.language,
            language=language,
            routing=self.routing,
            writer=self.intake_writer,
        )

    async def start(self) -> None:
        if not self._started:
            self._started = True
            await self.worker.start()
            await self.scheduler.start()

    async def stop(self) -> None:
        if self._started:
            self._started = False
            await self.scheduler.stop()
            await self.worker.stop()
        await self.home.stop()
        await self.engine.dispose()

    async def run_reminders(self, now: datetime) -> ReminderSummary:
        """The reminders tick at `now` (the scheduler's job; tests call it with their clock)."""
        summary = await run_reminders(self.sessions, self.directory, now)
        if summary.sent or summary.items_moved or summary.leads_gone:
            self.worker.kick()
        return summary

    async def run_feeds(self, now: datetime) -> list[FetchResult]:
        """The feeds tick at `now`: fetch every feed (the scheduler's job; tests pass a clock)."""
        results = await fetch_now(self.sessions, self.settings, now=now)
        if any(result.alert for result in results):
            self.worker.kick()
        return results

    async def run_summaries(self, now: datetime) -> list[object]:
        """The summaries tick at `now`: post each subscription's latest slot not posted yet."""
        from bot.summary_posting import run_due_summaries

        return await run_due_summaries(self, now)

    async def run_survey_results(self, now: datetime) -> object:
        """The survey results tick at `now`: remind those who have not finished, close rounds
        whose time is up (their results go out through the outbox)."""
        from bot.survey_reminders import remind_unfinished
        from bot.survey_results import close_due_rounds

        context = self.survey_context
        reminded = await remind_unfinished(
            self.sessions,
            self.client,
            self.directory,
            now,
            secret=context.secret,
            audience=context.groups_of,
        )
        closed = await close_due_rounds(self, now)
        return reminded, closed

    async def run_surveys(self, now: datetime) -> list[object]:
        """The surveys tick at `now`: start each survey's latest slot that has no round yet."""
        from bot.surveys import run_due_rounds

        return list(await run_due_rounds(self, now))

    async def drain(self) -> None:
        await self.scheduler.settle()
        await self.worker.drain()
        await self.home.drain()

    @contextlib.asynccontextmanager
    async def _lifespan(self, _app: Starlette) -> AsyncIterator[None]:
        await self.start()
        try:
            yield
        finally:
            await self.stop()

    async def _slack_events(self, request: Request) -> Response:
        try:
            # Bolt parses before it checks the signature, and a body that is not UTF-8, not
            # JSON or not a JSON object makes it raise: answer 400, not a 500 traceback.
            to_async_bolt_request(request, await request.body())
        except (ValueError, TypeError, AttributeError):
            log.warning("refused a malformed request to /slack/events")
            return JSONResponse({"error": "malformed_request"}, status_code=400)
        return await self._slack_handler.handle(request)

    async def _healthz(self, _request: Request) -> Response:
        if await database_answers(self.engine):
            return JSONResponse({"status": "ok", "database": "ok"})
        return JSONResponse({"status": "unavailable", "database": "unreachable"}, status_code=503)


def create_app(settings: Settings) -> JerryApp:
    return JerryApp(settings)
