"""Bolt listeners only: parse Slack's payload, call the core, render a view."""

from __future__ import annotations

from typing import TYPE_CHECKING

from slack_bolt.async_app import AsyncApp

from handlers import (
    conversation,
    home,
    intake,
    items,
    lead_actions,
    summaries,
    summary_download,
    survey_answers,
    updates,
    users,
)

if TYPE_CHECKING:
    from bot.app import JerryApp


def register(app: AsyncApp, jerry: JerryApp) -> None:
    # first: survey threads' messages (its matcher asks whether the thread is a round's)
    survey_answers.register(app, jerry)
    conversation.register(app, jerry)  # then: it takes the thread messages before intake
    intake.register(app, jerry)
    items.register(app, jerry)
    lead_actions.register(app, jerry)
    users.register(app, jerry)
    home.register(app, jerry)
    updates.register(app, jerry)
    summaries.register(app, jerry)
    summary_download.register(app, jerry)
