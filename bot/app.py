"""The app factory: one object holding the Bolt app, the ASGI app and Jerry's services."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator

from slack_bolt.adapter.starlette.async_handler import AsyncSlackRequestHandler
from slack_bolt.async_app import AsyncApp
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bot.config import Settings
from bot.delivery import DeliveryWorker
from bot.directory import Directory, cached_language
from models.db import create_engine, database_answers, session_factory

log = logging.getLogger("jerry")


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


class JerryApp:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.admins = frozenset(settings.jerry_admins)
        self.language = settings.jerry_language
        self.engine = create_engine(settings.database_url)
        self.sessions = session_factory(self.engine)
        self.client = slack_client(settings)
        self.directory = Directory(self.sessions, self.client)
        self.worker = DeliveryWorker(
            self.sessions,
            self.client,
            self.directory,
            default_language=self.language,
            retry_seconds=settings.jerry_delivery_retry_seconds,
        )
        self.bolt = AsyncApp(
            token=settings.slack_bot_token,
            signing_secret=settings.slack_signing_secret,
            client=self.client,
            raise_error_for_unhandled_request=False,
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
        try:
            return await cached_language(self.sessions, user_id, self.language)
        except Exception:
            return self.language

    async def start(self) -> None:
        if not self._started:
            self._started = True
            await self.worker.start()

    async def stop(self) -> None:
        if self._started:
            self._started = False
            await self.worker.stop()
        await self.engine.dispose()

    async def drain(self) -> None:
        await self.worker.drain()

    @contextlib.asynccontextmanager
    async def _lifespan(self, _app: Starlette) -> AsyncIterator[None]:
        await self.start()
        try:
            yield
        finally:
            await self.stop()

    async def _slack_events(self, request: Request) -> Response:
        return await self._slack_handler.handle(request)

    async def _healthz(self, _request: Request) -> Response:
        if await database_answers(self.engine):
            return JSONResponse({"status": "ok", "database": "ok"})
        return JSONResponse({"status": "unavailable", "database": "unreachable"}, status_code=503)


def create_app(settings: Settings) -> JerryApp:
    return JerryApp(settings)
