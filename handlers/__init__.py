"""Bolt listeners only: parse Slack's payload, call the core, render a view."""

from __future__ import annotations

from typing import TYPE_CHECKING

from slack_bolt.async_app import AsyncApp

from handlers import intake, items

if TYPE_CHECKING:
    from bot.app import JerryApp


def register(app: AsyncApp, jerry: JerryApp) -> None:
    intake.register(app, jerry)
    items.register(app, jerry)
