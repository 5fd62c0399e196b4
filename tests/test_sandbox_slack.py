"""The sandbox's local Slack refuses what Slack refuses, so the sandbox never shows what Slack
would not: through the real `slack_sdk` client over HTTP, and through the page's platform
(clicks, forms) before anything reaches Jerry."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.sandbox.platform import Refused, SlackPlatform
from bot.sandbox.workspace import SandboxSlack

pytestmark = pytest.mark.slow

TOKEN = "xoxb-sandbox-test"
LEAD = "U0LEAD"


@pytest.fixture
async def local() -> AsyncIterator[SandboxSlack]:
    slack = SandboxSlack(token=TOKEN)
    slack.add_user(LEAD, "leo", real_name="Leo Garcia")
    slack.add_channel("C0SALES", "sales")
    await slack.start()
    slack.base_url = slack.base_url or f"http://127.0.0.1:{slack.port}"
    yield slack
    await slack.stop()


@pytest.fixture
async def client(local: SandboxSlack) -> AsyncWebClient:
    return AsyncWebClient(token=TOKEN, base_url=f"http://127.0.0.1:{local.port}/api/")


def button(action_id: str, label: str = "Answer") -> dict[str, Any]:
    return {
        "type": "button",
        "action_id": action_id,
        "value": "1",
        "text": {"type": "plain_text", "text": label},
    }


def modal(**extra: Any) -> dict[str, Any]:
    view = {
        "type": "modal",
        "callback_id": "jerry_answer",
        "title": {"type": "plain_text", "text": "Answer #1"},
        "submit": {"type": "plain_text", "text": "Send"},
        "blocks": [
            {
                "type": "input",
                "block_id": "answer",
                "label": {"type": "plain_text", "text": "Your answer"},
                "element": {"type": "plain_text_input", "action_id": "value"},
            }
        ],
    }
    view.update(extra)
    return view


async def refused(call: Any) -> str:
    with pytest.raises(SlackApiError) as caught:
        await call
    return str(caught.value.response["error"])


async def test_a_message_of_blocks_needs_its_text_fallback(
    local: SandboxSlack, client: AsyncWebClient
) -> None:
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "*#1* new pain point"}}]
    with pytest.warns(UserWarning, match="top-level `text` argument is missing"):  # slack_sdk's
        answer = await refused(client.chat_postMessage(channel="C0SALES", blocks=blocks))
    assert answer == "no_text"
    assert "blocks without the text fallback" in local.violations[-1]
    sent = await client.chat_postMessage(channel="C0SALES", blocks=blocks, text="#1 new pain point")
    assert sent["ok"] and local.message("C0SALES", sent["ts"]) is not None


@pytest.mark.parametrize(
    ("blocks", "problem"),
    [
        ([{"type": "divider"}] * 51, "at most 50"),
        ([{"type": "carousel"}], "unknown block type"),
        (
            [{"type": "actions", "elements": [{"type": "slider", "action_id": "x"}]}],
            "unknown element",
        ),
        ([{"type": "actions", "elements": [button("a", "x" * 76)]}], "button text"),
        ([{"type": "actions", "elements": [button("a"), button("a", "Again")]}], "unique within"),
        (
            [{"type": "divider", "block_id": "same"}, {"type": "divider", "block_id": "same"}],
            "block_id must be unique",
        ),
        ([{"type": "section", "text": {"type": "mrkdwn", "text": "x" * 3001}}], "section text"),
        ([{"type": "image", "image_url": "http://127.0.0.1/chart.png"}], "alt_text"),
    ],
)
async def test_blocks_slack_refuses_are_refused(
    client: AsyncWebClient, blocks: list[dict[str, Any]], problem: str
) -> None:
    with pytest.raises(SlackApiError) as caught:
        await client.chat_postMessage(channel="C0SALES", text="fallback", blocks=blocks)
    assert caught.value.response["error"] == "invalid_blocks"
    assert problem in " ".join(caught.value.response["errors"])


@pytest.mark.parametrize(
    ("change", "why"),
    [
        ({"submit": None}, "inputs without submit"),
        ({"title": {"type": "plain_text", "text": "A title longer than 24 chars"}}, "title"),
        ({"close": {"type": "plain_text", "text": "Cancel and forget everything"}}, "close"),
        ({"callback_id": "x" * 256}, "callback_id"),
        ({"type": "dialog"}, "not a view type"),
    ],
)
async def test_invalid_views_are_refused(
    local: SandboxSlack, client: AsyncWebClient, change: dict[str, Any], why: str
) -> None:
    view = modal(**change)
    if view.get("submit") is None:
        view.pop("submit")
    trigger = local.new_trigger(LEAD)
    assert await refused(client.views_open(trigger_id=trigger, view=view)) == "invalid_arguments", (
        why
    )
    assert local.top_modal(LEAD) is None


async def test_a_view_opens_for_the_person_whose_trigger_it_is_and_only_once(
    local: SandboxSlack, client: AsyncWebClient
) -> None:
    trigger = local.new_trigger(LEAD)
    opened = await client.views_open(trigger_id=trigger, view=modal())
    assert local.top_modal(LEAD) == opened["view"]
    assert (
        await refused(client.views_open(trigger_id=trigger, view=modal())) == "expired_trigger_id"
    )
    assert (
        await refused(client.views_open(trigger_id="made.up", view=modal())) == "expired_trigger_id"
    )


async def test_the_page_cannot_click_what_the_message_does_not_show(local: SandboxSlack) -> None:
    posted = local.api_chat_postMessage(
        {
            "channel": "C0SALES",
            "text": "#1 new pain point",
            "blocks": [
                {"type": "actions", "block_id": "item_1", "elements": [button("item_answer")]}
            ],
        }
    )
    # Nothing listens at this address: a refusal must come before anything is sent to Jerry.
    platform = SlackPlatform(local, "http://127.0.0.1:9", "secret")
    try:
        for action_id, block_id in (("item_delete", "item_1"), ("item_answer", "item_2")):
            with pytest.raises(Refused, match="unknown_action"):
                await platform.action(
                    LEAD,
                    {"action_id": action_id, "block_id": block_id, "type": "button"},
                    where="message",
                    channel="C0SALES",
                    ts=posted["ts"],
                )
        with pytest.raises(Refused, match="message_gone"):
            await platform.action(
                LEAD, {"action_id": "item_answer"}, where="message", channel="C0SALES", ts="1.2"
            )
    finally:
        await platform.aclose()


async def test_a_form_with_a_required_input_left_empty_never_reaches_jerry(
    local: SandboxSlack, client: AsyncWebClient
) -> None:
    opened = await client.views_open(trigger_id=local.new_trigger(LEAD), view=modal())
    platform = SlackPlatform(local, "http://127.0.0.1:9", "secret")
    try:
        empty = {"answer": {"value": {"type": "plain_text_input", "value": ""}}}
        answer = await platform.submit(LEAD, opened["view"]["id"], empty)
        assert answer.errors == {"answer": "Please fill out this field."}
        assert local.top_modal(LEAD) is not None  # still open, as Slack keeps it
        with pytest.raises(Refused, match="form_closed"):
            await platform.submit("U0SOMEONE", opened["view"]["id"], empty)
    finally:
        await platform.aclose()


async def test_what_jerry_answers_through_a_response_url_lands_where_slack_puts_it(
    local: SandboxSlack,
) -> None:
    import httpx

    from bot.sandbox.workspace import ResponseTarget

    original = local.post_as(LEAD, "C0SALES", "the refund fails")
    ephemeral_url = local.new_response_url(ResponseTarget(user=LEAD, channel="C0SALES"))
    replace_url = local.new_response_url(
        ResponseTarget(user=LEAD, channel="C0SALES", message_ts=original["ts"])
    )
    async with httpx.AsyncClient() as http:
        assert (await http.post(ephemeral_url, json={"text": "Thanks! #1"})).status_code == 200
        refused_blocks = {"blocks": [{"type": "divider"}]}
        assert (await http.post(ephemeral_url, json=refused_blocks)).status_code == 400
        assert (await http.post(replace_url, json={"delete_original": True})).status_code == 200
        gone = await http.post(local.base_url + "/response/r999", json={"text": "x"})
        assert gone.status_code == 404
    assert [m["text"] for m in local.ephemerals_for(LEAD, "C0SALES")] == ["Thanks! #1"]
    assert local.message("C0SALES", original["ts"]) is None
