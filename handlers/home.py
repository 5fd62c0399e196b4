"""App Home listeners: the tab opened, "show more", the add-a-pain-point buttons, and the
re-publish after an action taken from the Home (or a form opened from it)."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_bolt.listener.async_listener_completion_handler import (
    AsyncListenerCompletionHandler,
)
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse
from slack_sdk.web.async_client import AsyncWebClient

from bot.db import DATABASE_ERRORS
from bot.intake import service as intake
from bot.services import Services
from bot.views import help as help_views
from bot.views import home as home_views
from bot.views import insights as insights_views
from bot.views import modals

log = logging.getLogger("jerry.home")
NEW_ITEM_ACTIONS = {
    home_views.ADD_PAINPOINT_ACTION: "painpoint",
    home_views.ASK_QUESTION_ACTION: "question",
}


def home_view_of(body: dict[str, Any]) -> dict[str, Any] | None:
    """The Home view a block action was clicked in, or None (a message, a modal)."""
    container = body.get("container") or {}
    view = body.get("view") or {}
    if body.get("type") != "block_actions" or container.get("type") != "view":
        return None
    return view if view.get("type") == "home" else None


def _user(body: dict[str, Any]) -> str | None:
    user = body.get("user")
    return user.get("id") if isinstance(user, dict) else None


class RepublishAfterAction(AsyncListenerCompletionHandler):
    """After any listener: re-publish the actor's Home if they acted from it.

    A block action clicked in the Home (the item buttons are the lead DM's listeners), or a
    form submitted by someone who was just using their Home (the form a Home button opened).
    Runs after the listener has committed; the publish itself goes on after the ack.
    """

    def __init__(self, previous: AsyncListenerCompletionHandler) -> None:
        self.previous = previous

    async def handle(self, request: AsyncBoltRequest, response: BoltResponse | None) -> None:
        await self.previous.handle(request=request, response=response)
        body = request.body if isinstance(request.body, dict) else {}
        user = _user(body)
        services: Services | None = request.context.get("services")
        if not user or services is None:
            return
        view = home_view_of(body)
        if view is not None:
            actions = body.get("actions") or [{}]
            if str(actions[0].get("action_id", "")).startswith("home_"):
                return  # the Home's own buttons publish (or open a form) themselves
            services.home.used(user)
            services.home.schedule(user, home_views.decode_offsets(view.get("private_metadata")))
        elif body.get("type") == "view_submission" and services.home.in_use(user):
            services.home.schedule(user)


async def home_opened(event: dict[str, Any], services: Services) -> None:
    user = event.get("user")
    if event.get("tab") != "home" or not user:
        return  # the Messages tab: nothing to show there
    services.home.used(user)
    services.home.opened(user)  # every list at its first page; the welcome on the first open


async def page(ack: AsyncAck, body: dict[str, Any], services: Services) -> None:
    await ack()
    user, view = _user(body), home_view_of(body)
    if not user or view is None:
        return
    services.home.used(user)
    offsets = home_views.decode_offsets(view.get("private_metadata"))
    wanted = home_views.parse_page_value((body.get("actions") or [{}])[0].get("value"))
    if wanted is None:
        log.info("ignored a Home paging button with the value %r", body.get("actions"))
    else:
        name, offset = wanted
        offsets[name] = offset
    # A bad value re-publishes the Home as it was: the person sees a fresh, working tab.
    services.home.schedule(user, offsets)


async def sort_queue(ack: AsyncAck, body: dict[str, Any], services: Services) -> None:
    """The queue's order menu: kept for the person, their Home published again."""
    await ack()
    user, view = _user(body), home_view_of(body)
    if not user or view is None:
        return
    services.home.used(user)
    offsets = home_views.decode_offsets(view.get("private_metadata"))
    action = (body.get("actions") or [{}])[0]
    selected = action.get("selected_option") if isinstance(action, dict) else None
    sort = selected.get("value") if isinstance(selected, dict) else None
    kept = False
    try:
        kept = isinstance(sort, str) and await services.home.sort_queue(user, sort, offsets)
        if not kept:
            log.info("ignored a queue order %r", sort)
    except DATABASE_ERRORS:
        log.exception("could not keep the queue order chosen by %s", user)
    if not kept:
        # The Home as it was, published again: the person sees a fresh, working tab.
        services.home.schedule(user, offsets)


async def new_item(
    ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, services: Services, lang: str
) -> None:
    await ack()
    user = _user(body)
    action = (body.get("actions") or [{}])[0].get("action_id", "")
    if not user:
        return
    services.home.used(user)
    areas = await intake.area_choices(services.sessions)
    view = modals.intake_modal(
        NEW_ITEM_ACTIONS.get(action, "painpoint"),
        areas,
        lang,
        metadata={"source": "modal", "from": "home"},
    )
    await client.views_open(trigger_id=body["trigger_id"], view=view)


async def welcome_toggle(ack: AsyncAck, body: dict[str, Any], services: Services) -> None:
    """ "How Jerry works" shows the welcome again; "Got it, hide this" collapses it."""
    await ack()
    user = _user(body)
    if not user or home_view_of(body) is None:
        return
    services.home.used(user)
    action = (body.get("actions") or [{}])[0].get("action_id")
    try:
        await services.home.show_welcome(user, action == help_views.WELCOME_SHOW_ACTION)
    except DATABASE_ERRORS:
        log.exception("could not record the welcome shown or hidden by %s", user)


async def choose_tab(ack: AsyncAck, body: dict[str, Any], services: Services) -> None:
    """ "Items" / "Insights": the tab is kept for the person and their Home published again
    (a person who may not read insights gets the items: the tab shows nothing else)."""
    await ack()
    user = _user(body)
    action = (body.get("actions") or [{}])[0].get("action_id")
    if user:
        tab = "insights" if action == insights_views.TAB_INSIGHTS_ACTION else "items"
        await services.home.choose(user, tab=tab)


async def choose_period(ack: AsyncAck, body: dict[str, Any], services: Services) -> None:
    await ack()
    user = _user(body)
    action = (body.get("actions") or [{}])[0]
    selected = (
        (action.get("selected_option") or {}).get("value") if isinstance(action, dict) else None
    )
    if not user or selected not in insights_views.PERIOD_CHOICES:
        log.info("ignored an Insights period %r", selected)  # a forged value: nothing changes
        return
    await services.home.choose(user, tab="insights", period=selected)


async def how_computed(
    ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, lang: str
) -> None:
    await ack()
    await client.views_open(trigger_id=body["trigger_id"], view=insights_views.how_modal(lang))


def register(app: AsyncApp) -> None:
    runner = app.listener_runner
    runner.listener_completion_handler = RepublishAfterAction(runner.listener_completion_handler)
    app.event("app_home_opened")(home_opened)
    app.action(home_views.MORE_ACTION)(page)
    app.action(home_views.FIRST_ACTION)(page)
    app.action(home_views.SORT_QUEUE_ACTION)(sort_queue)
    app.action(home_views.ADD_PAINPOINT_ACTION)(new_item)
    app.action(home_views.ASK_QUESTION_ACTION)(new_item)
    app.action(help_views.WELCOME_SHOW_ACTION)(welcome_toggle)
    app.action(help_views.WELCOME_HIDE_ACTION)(welcome_toggle)
    app.action(insights_views.TAB_ITEMS_ACTION)(choose_tab)
    app.action(insights_views.TAB_INSIGHTS_ACTION)(choose_tab)
    app.action(insights_views.PERIOD_ACTION)(choose_period)
    app.action(insights_views.HOW_ACTION)(how_computed)
