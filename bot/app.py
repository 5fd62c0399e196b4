"""The app factory: one object holding the Bolt app, the ASGI app and Jerry's services."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from datetime import datetime, timedelta

from slack_bolt.adapter.starlette.async_handler import (
    to_async_bolt_request,
    to_starlette_response,
)
from slack_bolt.async_app import AsyncApp
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

import handlers
from bot.config import Settings
from bot.db import database_answers
from bot.directory import Directory
from bot.outbox.registry import OutboxContext, OutboxRegistry
from bot.outbox.worker import DeliveryWorker
from bot.relay import conversation_delivery
from bot.relay import delivery as relay_delivery
from bot.scheduler import Scheduler, interval
from bot.services import build_services
from bot.sla import reminders
from bot.sla.reminders import ReminderSummary, run_reminders
from bot.slack import SignatureVerifier, SlackHTTPSession, outbox_client, slack_http_session
from bot.summaries.posting import PostResult, run_due_summaries
from bot.surveys import results as survey_results
from bot.surveys.reminders import remind_unfinished
from bot.surveys.results import CloseSummary, SurveyContext, close_due_rounds, survey_context
from bot.surveys.rounds import RoundResult, run_due_rounds
from bot.triage import alert_triage
from bot.updates.feeds import FetchResult, fetch_now

log = logging.getLogger("jerry")
# Slack's requests are a few kilobytes (a submitted form with its view: tens of kilobytes).
MAX_BODY_BYTES = 1_000_000


def outbox_handlers(surveys: SurveyContext) -> OutboxRegistry:
    """Every outbox purpose, each registered by the capability that owes such messages."""
    registry = OutboxRegistry()
    relay_delivery.register_outbox(registry)
    conversation_delivery.register_outbox(registry)
    reminders.register_outbox(registry)
    survey_results.register_outbox(registry, surveys)
    return registry


class JerryApp:
    """The composition root: builds the services once, the outbox worker, the scheduler's
    jobs, the Bolt app with its listeners, and the ASGI app that serves them."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        # The scheduler's clock is "now" for every capability (tests set it).
        self.services = services = build_services(settings, clock=lambda: self.scheduler.clock())
        self.scheduler = Scheduler(services.sessions)
        # What survey results and survey reminders need besides sessions and client.
        self.survey_context = survey_context(settings, services.client)
        # The outbox sends with its own client: no retry sleeping inside a call (rate limits
        # are rescheduled per recipient), and, once started, one pool of connections.
        self._slack_http: SlackHTTPSession | None = None
        self.outbox_client = outbox_client(settings)
        self.worker = DeliveryWorker(
            OutboxContext(
                services.sessions,
                self.outbox_client,
                Directory(services.sessions, self.outbox_client),
                settings.jerry_language,
            ),
            outbox_handlers(self.survey_context),
            retry_seconds=settings.jerry_delivery_retry_seconds,
            doorbell=services.outbox,
            max_backoff=timedelta(minutes=settings.jerry_outbox_max_backoff_minutes),
            alert_after=(
                timedelta(minutes=settings.jerry_outbox_alert_minutes)
                if settings.jerry_outbox_alert_minutes > 0
                else None
            ),
            alert=alert_triage,
        )
        # The services' parts the tests and the lifespan reach directly.
        self.engine, self.sessions, self.client = (
            services.engine,
            services.sessions,
            services.client,
        )
        self.directory, self.home = services.directory, services.home
        self.admins, self.language = services.admins, services.default_language
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
        # Pulse survey results: reminders before closing, closing, results (bot/surveys/results.py).
        if settings.jerry_survey_check_seconds > 0:
            # Pulse survey results: reminders before closing, closing, results.
            self.scheduler.add_job(
                "survey_results",
                interval(settings.jerry_survey_check_seconds),
                self.run_survey_results,
            )
            self.scheduler.add_job(
                "surveys", interval(settings.jerry_survey_check_seconds), self.run_surveys
            )
        self.bolt = AsyncApp(
            # The token is the client's (passing it too only makes Bolt warn that it is unused).
            signing_secret=settings.slack_signing_secret,
            client=services.client,
            raise_error_for_unhandled_request=False,
            # Listeners finish before Slack gets its ack, so an item from a mention or a DM is
            # committed before Slack hears "ok" (Bolt would otherwise ack events first).
            process_before_response=True,
            logger=logging.getLogger("jerry.bolt"),
        )
        handlers.register(self.bolt, services)
        self._signature = SignatureVerifier(settings.slack_signing_secret or "")
        self.asgi = Starlette(
            routes=[
                Route("/slack/events", self._slack_events, methods=["POST"]),
                Route("/healthz", self._healthz, methods=["GET", "HEAD"]),
            ],
            lifespan=self._lifespan,
        )
        self._started = False

    async def start(self) -> None:
        if not self._started:
            self._started = True
            self._slack_http = slack_http_session()
            self.outbox_client.session = self._slack_http
            await self.worker.start()
            await self.scheduler.start()

    async def stop(self) -> None:
        if self._started:
            self._started = False
            await self.scheduler.stop()
            await self.worker.stop()
            if self._slack_http is not None:
                self.outbox_client.session = None
                await self._slack_http.close()
                self._slack_http = None
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

    async def run_summaries(self, now: datetime) -> list[PostResult]:
        """The summaries tick at `now`: post each subscription's latest slot not posted yet."""
        return await run_due_summaries(self.services, now)

    async def run_survey_results(self, now: datetime) -> tuple[object, CloseSummary]:
        """The survey results tick at `now`: remind those who have not finished, close rounds
        whose time is up (their results go out through the outbox)."""
        context = self.survey_context
        reminded = await remind_unfinished(
            self.sessions,
            self.client,
            self.directory,
            now,
            secret=context.secret,
            audience=context.groups_of,
        )
        closed = await close_due_rounds(self.services, now)
        return reminded, closed

    async def run_surveys(self, now: datetime) -> list[RoundResult]:
        """The surveys tick at `now`: start each survey's latest slot that has no round yet."""
        return list(await run_due_rounds(self.services, now))

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
        """Size first, signature second, parsing last: an unsigned or oversized body costs
        nothing (Bolt would parse any body before checking its signature)."""
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
            return _too_large()
        body = bytearray()
        async for chunk in request.stream():
            body += chunk
            if len(body) > MAX_BODY_BYTES:
                return _too_large()
        try:
            signed = self._signature.is_valid_request(bytes(body), dict(request.headers))
        except UnicodeDecodeError:  # Slack's bodies are UTF-8: this one is nobody's request
            log.warning("refused a request to /slack/events that is not UTF-8")
            return JSONResponse({"error": "malformed_request"}, status_code=400)
        if not signed:
            return JSONResponse({"error": "invalid_signature"}, status_code=401)
        try:
            # A body that is not UTF-8, not JSON or not a JSON object makes Bolt raise:
            # answer 400, not a 500 traceback.
            bolt_request = to_async_bolt_request(request, bytes(body))
        except (ValueError, TypeError, AttributeError, RecursionError):
            log.warning("refused a malformed request to /slack/events")
            return JSONResponse({"error": "malformed_request"}, status_code=400)
        return to_starlette_response(await self.bolt.async_dispatch(bolt_request))

    async def _healthz(self, _request: Request) -> Response:
        if await database_answers(self.engine):
            return JSONResponse({"status": "ok", "database": "ok"})
        return JSONResponse({"status": "unavailable", "database": "unreachable"}, status_code=503)


def _too_large() -> Response:
    log.warning("refused a request to /slack/events over %d bytes", MAX_BODY_BYTES)
    return JSONResponse({"error": "request_too_large"}, status_code=413)


def create_app(settings: Settings) -> JerryApp:
    return JerryApp(settings)
