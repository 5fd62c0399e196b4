"""Bolt listeners only: parse Slack's payload, call the core, render a view.

Each module holds one capability's listeners as module-level functions and a `register(app)`
that wires them (the shape of Slack's Bolt templates). Every listener gets Jerry's services
and the person's language from the context (handlers/context.py); whatever it raises is
answered by the one error path (handlers/errors.py).
"""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp

from bot.services import Services
from handlers import (
    context,
    conversation,
    errors,
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


def register(app: AsyncApp, services: Services) -> None:
    context.register(app, services)
    errors.register(app, services)
    # first: survey threads' messages (its matcher asks whether the thread is a round's)
    survey_answers.register(app)
    conversation.register(app)  # then: it takes the thread messages before intake
    intake.register(app)
    items.register(app)
    lead_actions.register(app)
    users.register(app)
    home.register(app)
    updates.register(app)
    summaries.register(app)
    summary_download.register(app)
