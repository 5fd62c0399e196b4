"""End to end: lead actions that race. Each action changes the item only if it is still in
the state it was read in (a conditional UPDATE), on SQLite as on PostgreSQL: simultaneous
clicks record one event and send one notice; of two different actions, one applies and the
other is told why nothing was done."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from bot.app import JerryApp
from tests import payloads
from tests.harness import SlackDriver
from tests.test_e2e_lead_actions import open_resolve
from tests.test_e2e_relay import (
    LEAD,
    REPORTER,
    event_kinds,
    lead_dm,
    load_item,
    open_reassign,
    painpoint,
    reassign_options,
)

pytestmark = pytest.mark.usefixtures("routed")


async def test_five_simultaneous_acknowledge_clicks_record_one_event_and_one_notice(
    slack: SlackDriver, jerry: JerryApp
) -> None:
    item = await painpoint(slack, "the invoice total is wrong")
    channel, _, message = lead_dm(slack.fake)

    responses = await asyncio.gather(
        *(slack.click(message, channel, "item_acknowledge", user=LEAD) for _ in range(5))
    )
    await slack.settle()

    assert [r.status_code for r in responses] == [200] * 5
    assert (await event_kinds(jerry, item.id)).count("acknowledged") == 1
    assert len(slack.fake.dms_to(REPORTER)) == 1
    stored = await load_item(jerry, item.id)
    assert (stored.status, stored.acknowledged_by) == ("acknowledged", LEAD)


def _said(slack: SlackDriver, response: httpx.Response) -> str:
    """What a form submission was answered: its form error, else nothing."""
    if not response.content:
        return ""
    body: dict[str, Any] = response.json()
    return " ".join(body.get("errors", {}).values())


async def test_a_reassign_and_a_resolve_racing_apply_one_and_refuse_the_other(
    slack: SlackDriver, jerry: JerryApp
) -> None:
    item = await painpoint(slack, "the invoice total is wrong")
    reassign_view = await open_reassign(slack)
    resolve_view = await open_resolve(slack)
    choices = {k: v for group in reassign_options(reassign_view).values() for k, v in group.items()}

    reassigned, resolved = await asyncio.gather(
        slack.submit(
            reassign_view,
            {
                "target": {"value": payloads.selected(choices["Mobile"])},
                "note": {"value": payloads.input_value("")},
            },
            user=LEAD,
        ),
        slack.submit(
            resolve_view,
            {
                "outcome": {"value": payloads.selected("fixed")},
                "duplicate": {"value": payloads.input_value("")},
                "note": {"value": payloads.input_value("")},
            },
            user=LEAD,
        ),
    )
    await slack.settle()

    assert reassigned.status_code == 200 and resolved.status_code == 200
    kinds = await event_kinds(jerry, item.id)
    applied = [kind for kind in ("reassigned", "resolved") if kind in kinds]
    assert len(applied) == 1, kinds
    stored = await load_item(jerry, item.id)
    if applied == ["resolved"]:
        assert stored.status == "resolved" and stored.assignee_id == LEAD
        refused = _said(slack, reassigned)
    else:
        assert stored.status == "open" and stored.assignee_id == "U0MOBLEAD"
        refused = _said(slack, resolved)
    # The other form says why nothing was done: resolved meanwhile, changed meanwhile, or
    # (reassigned first, on PostgreSQL, whose FOR UPDATE makes the resolve read the new team)
    # no longer this lead's to act on.
    reasons = ("is resolved", "changed by someone else", "Only the team lead")
    assert f"#{item.id}" in refused and any(r in refused for r in reasons), refused
