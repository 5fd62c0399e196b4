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
    capture,
    context,
    csat,
    errors,
    help,
    home,
    insights,
    intake,
    matching,
    merge,
    relay,
    similar,
    sla,
    summaries,
    surveys,
    trackers,
    updates,
)
from handlers.shape import problem as payload_problem

__all__ = ["payload_problem", "register"]


def register(app: AsyncApp, services: Services) -> None:
    context.register(app, services)
    errors.register(app, services)
    # Message events go to the first listener that matches: survey threads' messages first
    # (its matcher asks whether the thread is a round's), then item threads' (relay), then
    # intake (a new DM or a mention). The other listeners match distinct ids.
    surveys.register(app)
    relay.register(app)
    merge.register(app)
    intake.register(app)
    help.register(app)
    similar.register(app)
    sla.register(app)
    home.register(app)
    updates.register(app)
    summaries.register(app)
    insights.register(app)
    trackers.register(app)
    capture.register(app)
    csat.register(app)
    matching.speed_up(app)
