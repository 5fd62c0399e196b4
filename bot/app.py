"""The app factory: one object holding the Bolt app, the ASGI app and Jerry's services."""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from datetime import datetime, timedelta
from typing import Any

from slack_bolt.adapter.starlette.async_handler import (
    to_async_bolt_request,
    to_starlette_response,
)
from slack_bolt.async_app import AsyncApp, AsyncBoltContext
from slack_bolt.authorization import AuthorizeResult
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

import handlers
from bot.capture import delivery as capture_delivery
from bot.capture import external
from bot.capture import grouping as dm_grouping
from bot.config import Settings
from bot.csat import delivery as csat_delivery
from bot.db import database_answers
from bot.directory import Directory
from bot.help import service as first_contact
from bot.insights import report as insights_report
from bot.insights.home import WarmResult
from bot.insights.home import warm as warm_insights
from bot.insights.report import SendResult, run_due_reports
from bot.insights.themes_service import RefreshResult
from bot.intake import welcome as lead_welcome
from bot.logs import keep_people_out_of_logs, quiet_routine_logs
from bot.outbox.pressure import RequestPressure
from bot.outbox.registry import OutboxContext, OutboxRegistry
from bot.outbox.worker import DeliveryWorker
from bot.relay import conversation_delivery, follower_delivery, merge_delivery
from bot.relay import delivery as relay_delivery
from bot.relay.digest import LeadDigest
from bot.scheduler import JobFunction, Scheduler, interval
from bot.services import build_services
from bot.similar import intake as similar_intake
from bot.similar.intake import SimilarPolicy
from bot.sla import late, reminders
from bot.sla.reminders import ReminderSummary, run_reminders
from bot.slack import (
    BotIdentity,
    SignatureVerifier,
    SlackHTTPSession,
    outbox_client,
    slack_http_session,
)
from bot.summaries import replies as summary_replies
from bot.summaries.posting import PostResult, run_due_summaries
from bot.surveys import results as survey_results
from bot.surveys import rounds as survey_rounds
from bot.surveys.reminders import remind_unfinished
from bot.surveys.results import CloseSummary, SurveyContext, close_due_rounds, survey_context
from bot.surveys.rounds import RoundResult, run_due_rounds
from bot.trackers import delivery as tracker_delivery
from bot.trackers.connection import Trackers
from bot.trackers.domain import JIRA, LINEAR, TRACKERS
from bot.trackers.poller import PollResult, poll
from bot.trackers.webhooks import process_pending, receive
from bot.triage import alert_triage
from bot.updates.feeds import FetchResult, fetch_now

log = logging.getLogger("jerry")
# Slack's requests are a few kilobytes (a submitted form with its view: tens of kilobytes).
MAX_BODY_BYTES = 1_000_000
# How long a request's body may take to arrive once its headers have (bot/http_server.py
# bounds the headers).
BODY_SECONDS = 10.0
# How long Jerry waits at most between two attempts to learn who it is (auth.test).
IDENTITY_RETRY_CAP_SECONDS = 300.0
# How long a scrape of /metrics may wait on the database.
METRICS_SECONDS = 5.0


def outbox_handlers(
    surveys: SurveyContext,
    digest: LeadDigest | None = None,
    similar: SimilarPolicy | None = None,
    trackers: Trackers | None = None,
) -> OutboxRegistry:
    """Every outbox purpose, each registered by the capability that owes such messages."""
    registry = OutboxRegistry()
    relay_delivery.register_outbox(registry, digest)
    conversation_delivery.register_outbox(registry)
    follower_delivery.register_outbox(registry)  # a kept item's news, to its followers
    merge_delivery.register_outbox(registry)  # a lead's merge: its reporters, the kept item's lead
    reminders.register_outbox(registry)
    late.register_outbox(registry)
    survey_results.register_outbox(registry, surveys)
    survey_rounds.register_outbox(registry)
    summary_replies.register_outbox(registry)
    first_contact.register_outbox(registry)
    lead_welcome.register_outbox(registry)
    similar_intake.register_outbox(registry, similar)
    insights_report.register_outbox(registry)
    tracker_delivery.register_outbox(registry, trackers or Trackers(Settings()))
    capture_delivery.register_outbox(registry)  # emoji filing: the read, the receipt
    dm_grouping.register_outbox(registry)  # DMs in a row: one item when the window closes
    external.register_outbox(registry)  # Slack Connect: a lead's reply to the customer
    csat_delivery.register_outbox(registry)  # did this help? the question, the answer
    return registry


def scheduled_jobs(settings: Settings) -> dict[str, float]:
    """The jobs a running Jerry schedules, name → seconds between runs (a setting of 0
    turns one off); `jerry doctor` checks the same list."""
    jobs = {
        "reminders": float(settings.jerry_reminder_seconds),
        "summaries": float(settings.jerry_summary_check_seconds),
        "feeds": float(settings.jerry_feed_minutes * 60),
        "survey_results": float(settings.jerry_survey_check_seconds),
        "surveys": float(settings.jerry_survey_check_seconds),
        # The product-ops report looks for its slot as often as the summaries do.
        "insights_report": float(settings.jerry_summary_check_seconds),
        "insights_themes": float(settings.jerry_themes_minutes * 60),
        "insights_warm": float(settings.jerry_insights_warm_minutes * 60),
        # Jira and Linear: linked issues read again (only with a tracker connected), and the
        # webhook deliveries stored but not processed (a process stopped in between).
        "trackers": (
            float(settings.jerry_tracker_poll_minutes * 60) if Trackers(settings).connected else 0
        ),
        "tracker_webhooks": (
            float(settings.jerry_delivery_retry_seconds)
            if any(Trackers(settings).webhook_secret(name) for name in TRACKERS)
            else 0
        ),
    }
    return {name: seconds for name, seconds in jobs.items() if seconds > 0}


class JerryApp:
    """The composition root: builds the services once, the outbox worker, the scheduler's
    jobs, the Bolt app with its listeners, and the ASGI app that serves them."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        # The scheduler's clock is "now" for every capability (tests set it).
        self.services = services = build_services(settings, clock=lambda: self.scheduler.clock())
        self.scheduler = Scheduler(services.sessions)
        self.trackers = Trackers(settings)
        # What survey results and survey reminders need besides sessions and client.
        self.survey_context = survey_context(settings, services.client)
        # The outbox sends with its own client: no retry sleeping inside a call (rate limits
        # are rescheduled per recipient), and, once started, one pool of connections.
        self._slack_http: SlackHTTPSession | None = None
        self.outbox_client = outbox_client(settings)
        # When a lead's many waiting DMs go as one digest (tests change it on a running app).
        self.lead_digest = LeadDigest(threshold=settings.jerry_digest_threshold)
        # Requests in flight: the outbox steps aside for them (acks have 3 s, deliveries minutes).
        self.pressure = RequestPressure()
        self.worker = DeliveryWorker(
            OutboxContext(
                services.sessions,
                self.outbox_client,
                Directory(services.sessions, self.outbox_client),
                settings.jerry_language,
                similar_threshold=(
                    settings.jerry_similar_suggest_threshold if settings.similar_enabled else None
                ),
                admins=frozenset(services.admins),
            ),
            outbox_handlers(self.survey_context, self.lead_digest, services.similar, self.trackers),
            retry_seconds=settings.jerry_delivery_retry_seconds,
            poll_seconds=settings.jerry_outbox_poll_seconds,
            concurrency=settings.jerry_outbox_concurrency,
            doorbell=services.outbox,
            max_backoff=timedelta(minutes=settings.jerry_outbox_max_backoff_minutes),
            alert_after=(
                timedelta(minutes=settings.jerry_outbox_alert_minutes)
                if settings.jerry_outbox_alert_minutes > 0
                else None
            ),
            alert=alert_triage,
            pressure=self.pressure,
        )
        # The services' parts the tests and the lifespan reach directly.
        self.engine, self.sessions, self.client = (
            services.engine,
            services.sessions,
            services.client,
        )
        self.directory, self.home = services.directory, services.home
        self.admins, self.language = services.admins, services.default_language
        runs: dict[str, JobFunction] = {
            "reminders": self.run_reminders,
            "summaries": self.run_summaries,
            "feeds": self.run_feeds,
            # Pulse survey results: reminders before closing, closing, results.
            "survey_results": self.run_survey_results,
            "surveys": self.run_surveys,
            "insights_report": self.run_insights_report,
            "insights_themes": self.run_insights_themes,
            "insights_warm": self.run_insights_warm,
            "trackers": self.run_tracker_poll,
            "tracker_webhooks": self.run_tracker_webhooks,
        }
        for name, seconds in scheduled_jobs(settings).items():
            self.scheduler.add_job(name, interval(seconds), runs[name])
        # Who Jerry is, learned in the background (see BotIdentity): with its own `authorize`,
        # Bolt never calls auth.test on a request's path, so Slack being down when this
        # process starts does not make it refuse every request.
        self.identity = BotIdentity(settings.slack_bot_token)
        self._identity_task: asyncio.Task[None] | None = None
        with _quiet(logging.getLogger("jerry.bolt")):  # "token is ignored": it is authorize's
            self.bolt = AsyncApp(
                # Named, so Bolt does not read the caller's file off the stack to make one up
                # (inspect.stack() reads the source of every frame: slow, for a name). Bolt
                # names its request loggers after it and sets their level from `logger`: so
                # not "jerry", which would hold all of Jerry's own loggers at WARNING.
                name="jerry.bolt",
                signing_secret=settings.slack_signing_secret,
                # Socket Mode has no signing secret (Bolt would refuse to start without one);
                # over HTTP, _slack_events checks the signature before Bolt sees the request.
                request_verification_enabled=bool(settings.slack_signing_secret),
                client=services.client,
                before_authorize=_note_bot_user,
                authorize=_authorize_with(self.identity),
                raise_error_for_unhandled_request=False,
                # Listeners finish before Slack gets its ack, so an item from a mention or a DM
                # is committed before Slack hears "ok" (Bolt would otherwise ack events first).
                process_before_response=True,
                logger=logging.getLogger("jerry.bolt"),
            )
        handlers.register(self.bolt, services)
        # None in Socket Mode (no signing secret): then no HTTP request is believed.
        self._signature = (
            SignatureVerifier(settings.slack_signing_secret)
            if settings.slack_signing_secret
            else None
        )
        self.asgi = Starlette(
            routes=[
                Route("/slack/events", self._slack_events, methods=["POST"]),
                Route("/healthz", self._healthz, methods=["GET", "HEAD"]),
                Route("/metrics", self._metrics, methods=["GET"]),
                Route("/integrations/jira", self._jira_webhook, methods=["POST"]),
                Route("/integrations/linear", self._linear_webhook, methods=["POST"]),
            ],
            lifespan=self._lifespan,
        )
        self._started = False
        # Work started after an answer (a webhook's processing): kept referenced until done.
        self._background: set[asyncio.Task[Any]] = set()

    async def start(self) -> None:
        if not self._started:
            self._started = True
            self._identity_task = asyncio.create_task(self._learn_identity())
            self._slack_http = slack_http_session()
            self.outbox_client.session = self._slack_http
            await self.worker.start()
            await self.scheduler.start()

    async def stop(self) -> None:
        if self._started:
            self._started = False
            if self._identity_task is not None:
                self._identity_task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self._identity_task
            await self.scheduler.stop()
            await self.worker.stop()
            if self._slack_http is not None:
                self.outbox_client.session = None
                await self._slack_http.close()
                self._slack_http = None
        await self.home.stop()
        await self.engine.dispose()

    async def _learn_identity(self) -> None:
        """auth.test now, then again with a growing wait until Slack answers."""
        wait = max(self.settings.jerry_delivery_retry_seconds, 0.01)
        while not await self.identity.learn(self.client):
            await asyncio.sleep(wait)
            wait = min(wait * 2, IDENTITY_RETRY_CAP_SECONDS)

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

    async def run_insights_report(self, now: datetime) -> list[SendResult]:
        """The product-ops report tick at `now`: owe each cadence's latest period not reported."""
        results = await run_due_reports(self.sessions, now)
        if any(result.outcome == "owed" for result in results):
            self.worker.kick()
        return results

    async def run_insights_themes(self, now: datetime) -> RefreshResult:
        """The themes tick at `now`: every area's themes of this quarter, month and week."""
        from bot.insights.report import report_settings
        from bot.insights.themes_service import refresh_themes

        async with self.sessions() as session:
            report = await report_settings(session)
        return await refresh_themes(
            self.sessions, now, timezone=report.timezone if report else "UTC"
        )

    async def run_insights_warm(self, now: datetime) -> WarmResult:
        """The Insights tab made ready at `now`: this quarter's numbers and charts."""
        return await warm_insights(
            self.sessions,
            self.client,
            self.admins,
            now,
            self.services.language_of,
            self.language,
        )

    async def run_tracker_poll(self, now: datetime) -> list[PollResult]:
        """The trackers' poll at `now`: linked issues that changed since the last pass."""
        results = await poll(
            self.sessions,
            self.trackers,
            now,
            timedelta(minutes=self.settings.jerry_tracker_poll_minutes or 15),
        )
        self.worker.kick()
        return results

    async def run_tracker_webhooks(self, _now: datetime) -> int:
        """Webhook deliveries stored and not processed yet (normally none: each is processed
        right after its answer)."""
        done = await process_pending(self.sessions, self.trackers.jira_base)
        if done:
            self.worker.kick()
        return done

    async def _jira_webhook(self, request: Request) -> Response:
        return await self._tracker_webhook(request, JIRA)

    async def _linear_webhook(self, request: Request) -> Response:
        return await self._tracker_webhook(request, LINEAR)

    async def _tracker_webhook(self, request: Request, tracker: str) -> Response:
        """Checked and stored before the answer, processed after it (bot/trackers/webhooks.py);
        404 when this tracker is not connected or has no webhook secret."""
        secret = self.trackers.webhook_secret(tracker)
        if secret is None:
            return JSONResponse({"error": "not_found"}, status_code=404)
        body = await _bounded_body(request)
        if isinstance(body, Response):
            return body
        try:
            received = await receive(
                self.sessions,
                tracker,
                secret,
                bytes(body),
                dict(request.headers),
                self.services.clock(),
            )
        except Exception as exc:  # the database is down: the tracker retries later
            log.warning("a %s webhook could not be stored (%s)", tracker, exc.__class__.__name__)
            return JSONResponse({"error": "unavailable"}, status_code=503)
        if received.status != 200:
            log.warning("refused a %s webhook: %s", tracker, received.detail)
            return JSONResponse({"error": received.detail}, status_code=received.status)
        if received.detail == "stored":
            task = asyncio.create_task(self.run_tracker_webhooks(self.services.clock()))
            self._background.add(task)
            task.add_done_callback(self._background.discard)
        return JSONResponse({"ok": True, "delivery": received.detail})

    async def run_survey_results(self, now: datetime) -> tuple[object, CloseSummary]:
        """The survey results tick at `now`: remind those who have not finished, close rounds
        whose time is up (their results go out through the outbox)."""
        context = self.survey_context
        reminded = await remind_unfinished(
            self.sessions,
            self.client,
            self.directory,
            now,
            audience=context.groups_of,
        )
        closed = await close_due_rounds(self.services, now)
        return reminded, closed

    async def run_surveys(self, now: datetime) -> list[RoundResult]:
        """The surveys tick at `now`: start each survey's latest slot that has no round yet."""
        return list(await run_due_rounds(self.services, now))

    async def drain(self) -> None:
        if self._background:
            await asyncio.gather(*self._background, return_exceptions=True)
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
        with self.pressure.request():
            return await self._slack_event(request)

    async def _slack_event(self, request: Request) -> Response:
        """Size first, signature second, parsing last: an unsigned or oversized body costs
        nothing (Bolt would parse any body before checking its signature)."""
        body = await _bounded_body(request)
        if isinstance(body, Response):
            return body
        try:
            signed = self._signature is not None and self._signature.is_valid_request(
                bytes(body), dict(request.headers)
            )
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
        wrong = handlers.payload_problem(bolt_request.body)
        if wrong is not None:  # signed, but not of Slack's shape: no listener should see it
            log.warning("refused a request to /slack/events whose payload is malformed: %s", wrong)
            return JSONResponse({"error": "malformed_request", "detail": wrong}, status_code=400)
        return to_starlette_response(await self.bolt.async_dispatch(bolt_request))

    async def _metrics(self, request: Request) -> Response:
        """Prometheus' text format (bot/metrics.py); 401 without the token when one is set,
        503 in one line when the database does not answer."""
        from bot.metrics import CONTENT_TYPE, render_metrics

        token = self.settings.jerry_metrics_token
        if token:
            given = request.headers.get("authorization", "")
            if not hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
                return PlainTextResponse("unauthorized\n", status_code=401)
        try:
            async with asyncio.timeout(METRICS_SECONDS):
                body = await render_metrics(self.sessions, self.services.clock())
        except Exception as exc:  # the database is down or slow: say so, never a traceback
            log.warning("GET /metrics: the database did not answer (%s)", exc.__class__.__name__)
            return PlainTextResponse("database unavailable\n", status_code=503)
        return Response(body, media_type=CONTENT_TYPE)

    async def _healthz(self, _request: Request) -> Response:
        if await database_answers(self.engine):
            return JSONResponse({"status": "ok", "database": "ok"})
        return JSONResponse({"status": "unavailable", "database": "unreachable"}, status_code=503)


async def _bounded_body(request: Request) -> bytes | Response:
    """The request's body, or the answer when it is too large (413) or dribbled (408): the
    size is checked before reading, and reading is cut at the limit and at BODY_SECONDS (a
    client dribbling its body holds a connection; Slack and the trackers send it at once)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        return _too_large()
    body = bytearray()
    try:
        async with asyncio.timeout(BODY_SECONDS):
            async for chunk in request.stream():
                body += chunk
                if len(body) > MAX_BODY_BYTES:
                    return _too_large()
    except TimeoutError:
        log.warning(
            "refused a request to %s whose body took over %ss", request.url.path, BODY_SECONDS
        )
        return JSONResponse({"error": "request_timeout"}, status_code=408)
    return bytes(body)


BOT_USER_HINT = "jerry_bot_user_hint"


async def _note_bot_user(
    body: dict[str, Any], context: AsyncBoltContext, next: Callable[[], Awaitable[Any]]
) -> Any:
    """Before authorize: an event names the bot user it is for (its `authorizations`), which
    stands for Jerry's user id while auth.test has not answered."""
    authorizations = body.get("authorizations")
    for authorization in authorizations if isinstance(authorizations, list) else []:
        if isinstance(authorization, dict) and authorization.get("is_bot"):
            user = authorization.get("user_id")
            if isinstance(user, str):
                context[BOT_USER_HINT] = user
                break
    return await next()


def _authorize_with(
    identity: BotIdentity,
) -> Callable[[str | None, str | None, AsyncBoltContext], Awaitable[AuthorizeResult]]:
    """Bolt's authorize: the one token, and Jerry's identity as known so far (a plain
    function: Bolt passes arguments by their names)."""

    async def authorize(
        enterprise_id: str | None, team_id: str | None, context: AsyncBoltContext
    ) -> AuthorizeResult:
        return AuthorizeResult(
            enterprise_id=identity.enterprise_id or enterprise_id,
            team_id=identity.team_id or team_id,
            bot_token=identity.token,
            bot_user_id=identity.user_id or context.get(BOT_USER_HINT),
            bot_id=identity.bot_id,
        )

    return authorize


@contextlib.contextmanager
def _quiet(logger: logging.Logger) -> Iterator[None]:
    disabled, logger.disabled = logger.disabled, True
    try:
        yield
    finally:
        logger.disabled = disabled


def _too_large() -> Response:
    log.warning("refused a request to /slack/events over %d bytes", MAX_BODY_BYTES)
    return JSONResponse({"error": "request_too_large"}, status_code=413)


def create_app(settings: Settings) -> JerryApp:
    keep_people_out_of_logs()
    quiet_routine_logs()
    return JerryApp(settings)
