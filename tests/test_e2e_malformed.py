"""End to end: signed requests whose payload is not what Slack documents (a field missing, of
another type, a number too large for any column, half a character) get a clear answer (a
400 naming what is malformed, logged, or a 200 that ignores them with a log line), never a
500 or a misleading "database down", and change nothing (a form naming an area no row has is
stored without the area, as if none was chosen)."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import func, select

from bot.app import JerryApp
from models.deliveries import Delivery
from models.items import Item, ItemEvent
from tests import payloads
from tests.fakeslack import BOT_USER_ID
from tests.harness import SlackDriver

pytestmark = pytest.mark.usefixtures("routed")
HUGE = 10**30
SURROGATE = "\ud800"


def intake_view() -> dict[str, Any]:
    return {
        "type": "modal",
        "callback_id": "jerry_intake",
        "private_metadata": json.dumps({"kind": "painpoint", "source": "modal"}),
        "blocks": [{"type": "input", "block_id": "text"}],
    }


def intake_values(text: Any) -> dict[str, Any]:
    return {"text": {"value": {"type": "plain_text_input", "value": text}}}


def submission(*, drop: str = "", values: Any = None, **view: Any) -> dict[str, Any]:
    body = payloads.view_submission(
        {**intake_view(), **view}, intake_values("the invoice is wrong"), user="U0REPORTER"
    )
    if values is not None:
        body["view"]["state"] = {"values": values}
    if drop:
        body["view"].pop(drop)
    return body


def mention(**event: Any) -> dict[str, Any]:
    body = payloads.app_mention(f"<@{BOT_USER_ID}> the invoice is wrong", user="U0REPORTER")
    body["event"].update(event)
    for key, value in event.items():
        if value is None:
            body["event"].pop(key)
    return body


def dm(**event: Any) -> dict[str, Any]:
    body = payloads.direct_message("the invoice is wrong", user="U0REPORTER")
    body["event"].update(event)
    return body


# name -> (how it is sent, the body)
JSON_BODIES: dict[str, Callable[[], dict[str, Any]]] = {
    "mention without channel": lambda: mention(channel=None),
    "mention with numeric text": lambda: mention(text=12345),
    "mention with text as a list": lambda: mention(text=["the", "invoice"]),
    "mention with files as a string": lambda: mention(files="F0123"),
    "mention with files of numbers": lambda: mention(files=[1, 2]),
    "mention with numeric thread_ts": lambda: mention(thread_ts=1700000000.5),
    "mention with a huge ts": lambda: mention(ts=HUGE, thread_ts=HUGE),
    "mention with half a character": lambda: mention(text=f"<@{BOT_USER_ID}> bad {SURROGATE}"),
    "mention with a huge user": lambda: mention(user=HUGE),
    "dm with numeric text": lambda: dm(text=42),
    "dm with half a character": lambda: dm(text=f"bad {SURROGATE} text"),
    "dm with files as a dict": lambda: dm(files={"id": "F1"}),
    "dm with a huge thread_ts": lambda: dm(thread_ts=HUGE),
    "event that is a string": lambda: {**mention(), "event": "app_mention"},
}
INTERACTIVE_BODIES: dict[str, Callable[[], dict[str, Any]]] = {
    "view_submission without view.type": lambda: submission(drop="type"),
    "view_submission without state": lambda: submission(drop="state"),
    "view_submission without view": lambda: {**submission(), "view": None},
    "view_submission with state a list": lambda: submission(values=[1]),
    "view_submission with numeric text": lambda: submission(values=intake_values(HUGE)),
    "view_submission with text a dict": lambda: submission(values=intake_values({"a": 1})),
    "view_submission with half a character": lambda: submission(
        values=intake_values(f"bad {SURROGATE}")
    ),
    "view_submission with metadata a number": lambda: submission(private_metadata=HUGE),
    "view_submission with a huge area": lambda: submission(
        values={
            **intake_values("the invoice"),
            "area": {"value": payloads.selected(f"area:{HUGE}")},
        }
    ),
    "block_action with a huge item number": lambda: payloads.home_block_action(
        user="U0PAYLEAD", action_id="item_acknowledge", value=str(HUGE)
    ),
    "block_action with a numeric value": lambda: {
        **payloads.home_block_action(user="U0PAYLEAD", action_id="item_acknowledge", value="1"),
        "actions": [{"action_id": "item_acknowledge", "block_id": "b", "value": HUGE}],
    },
    "shortcut with half a character": lambda: payloads.message_shortcut(
        user="U0REPORTER",
        channel="C0GENERAL",
        message={"ts": payloads.new_ts(), "text": f"bad {SURROGATE}", "user": "U0STRANGER"},
    ),
}
# Of Slack's shape, with a number no row has (it made the query fail as if the database
# were down): the area is taken as not chosen, the click is ignored with a log line.
TOO_LARGE_IDS = {"view_submission with a huge area", "block_action with a huge item number"}


async def counts(app: JerryApp) -> tuple[int, int, int]:
    async with app.sessions() as session:
        return (
            (await session.execute(select(func.count()).select_from(Item))).scalar_one(),
            (await session.execute(select(func.count()).select_from(ItemEvent))).scalar_one(),
            (await session.execute(select(func.count()).select_from(Delivery))).scalar_one(),
        )


def dumps(body: dict[str, Any]) -> bytes:
    # Slack escapes what is not ASCII; a lone surrogate travels as the escape `\ud800`.
    return json.dumps(body).encode()


@pytest.mark.parametrize("name", [*JSON_BODIES, *INTERACTIVE_BODIES])
async def test_a_malformed_payload_gets_an_answer_not_a_500_and_changes_nothing(
    slack: SlackDriver, jerry: JerryApp, name: str, caplog: pytest.LogCaptureFixture
) -> None:
    before = await counts(jerry)
    if name in JSON_BODIES:
        response = await slack.post(dumps(JSON_BODIES[name]()), "application/json")
    else:
        response = await slack.form({"payload": dumps(INTERACTIVE_BODIES[name]()).decode()})
    await slack.settle()

    if name == "view_submission with a huge area":
        # An area no row has: the item is stored without it (the keywords route it).
        assert await counts(jerry) != before
    else:
        assert await counts(jerry) == before
    # No listener failed with a traceback (what became a 500, or a misleading answer).
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], caplog.text
    if name not in TOO_LARGE_IDS:
        assert response.status_code == 400, (response.status_code, response.text)
        assert response.json()["error"] == "malformed_request"
        assert "malformed" in caplog.text
        return
    assert response.status_code == 200, (response.status_code, response.text)
    said = response.text + " ".join(str(c.args.get("text")) for c in slack.fake.calls)
    assert "database" not in said, said  # not "Jerry cannot reach its database"
    if name == "block_action with a huge item number":
        assert "no item number" in caplog.text
