"""The listeners' one error path (handlers/errors.py): whatever a listener raises, Slack gets a
200 and the person a clear answer in their language, never a 500 and never silence."""

from __future__ import annotations

from typing import Any

import pytest

from bot.app import JerryApp
from tests import payloads
from tests.fakeslack import TEAM_ID, FakeSlack
from tests.harness import SlackDriver
from tests.test_e2e_relay import LEAD, lead_dm, painpoint

pytestmark = [pytest.mark.usefixtures("routed"), pytest.mark.slow]

CLICK_AGAIN = {
    "en": "Slack took too long to open that form, so it did not open. Click the button again.",
    "fr": "Slack a mis trop de temps à ouvrir ce formulaire, qui ne s’est pas ouvert. "
    "Cliquez à nouveau sur le bouton.",
}


def _speaks(fake: FakeSlack, user: str, lang: str) -> None:
    fake.add_user(user, locale="fr-FR" if lang == "fr" else "en-US")


@pytest.mark.parametrize("lang", ["en", "fr"])
@pytest.mark.parametrize(
    "action_id", ["item_answer", "item_reassign", "item_resolve", "item_ask_details"]
)
async def test_a_form_whose_trigger_expired_asks_to_click_again(
    slack: SlackDriver, fake_slack: FakeSlack, action_id: str, lang: str
) -> None:
    _speaks(fake_slack, LEAD, lang)
    await painpoint(slack, "the invoice total is wrong")
    channel, _, message = lead_dm(fake_slack)
    fake_slack.fail_next("views.open", "expired_trigger_id")
    told = len(fake_slack.responses)

    response = await slack.click(message, channel, action_id, user=LEAD)

    assert response.status_code == 200
    assert [c.ok for c in fake_slack.calls_to("views.open")][-1] is False
    assert [
        (r["text"], r["response_type"], r["replace_original"]) for r in fake_slack.responses[told:]
    ] == [(CLICK_AGAIN[lang], "ephemeral", False)]


@pytest.mark.parametrize("command", ["/painpoint", "/ask", "/shipped", "/upcoming"])
async def test_a_slash_command_form_that_cannot_open_says_so(
    slack: SlackDriver, fake_slack: FakeSlack, command: str
) -> None:
    fake_slack.fail_next("views.open", "exchanged_trigger_id")
    told = len(fake_slack.responses)

    response = await slack.command(command, "")

    assert response.status_code == 200
    assert [r["text"] for r in fake_slack.responses[told:]] == [CLICK_AGAIN["en"]]


async def test_the_shortcut_form_that_cannot_open_says_so(
    slack: SlackDriver, fake_slack: FakeSlack
) -> None:
    fake_slack.fail_next("views.open", "expired_trigger_id")
    told = len(fake_slack.responses)

    response, _ = await slack.shortcut("the export is slow", user="U0REPORTER", author="U0OTHER")

    assert response.status_code == 200
    assert [r["text"] for r in fake_slack.responses[told:]] == [CLICK_AGAIN["en"]]


async def test_a_home_button_whose_form_cannot_open_tells_the_person_by_dm(
    slack: SlackDriver, fake_slack: FakeSlack
) -> None:
    fake_slack.fail_next("views.open", "expired_trigger_id")
    body = payloads.sample("block_actions.message_button.json")
    body.update(
        user={"id": "U0REPORTER", "username": "reporter", "team_id": TEAM_ID},
        api_app_id=payloads.APP_ID,
        team={"id": TEAM_ID, "domain": "jerry-test"},
        container={"type": "view", "view_id": "V0HOME"},
        view={"id": "V0HOME", "type": "home", "private_metadata": ""},
        actions=[
            {
                "action_id": "home_add_painpoint",
                "block_id": "home_actions",
                "type": "button",
                "value": "painpoint",
                "action_ts": "1700000000.000001",
            }
        ],
        trigger_id="13345224609.738474920.8088930838d88f008e0",
    )
    for key in ("channel", "message", "response_url", "state"):
        body.pop(key, None)

    response = await slack.interactive(body)
    await slack.settle()

    assert response.status_code == 200
    assert [c["text"] for c in fake_slack.dms_to("U0REPORTER")] == [CLICK_AGAIN["en"]]


async def test_an_unexpected_failure_is_answered_and_logged(
    slack: SlackDriver,
    fake_slack: FakeSlack,
    jerry: JerryApp,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    await painpoint(slack, "the invoice total is wrong")
    channel, _, message = lead_dm(fake_slack)

    async def broken(*_args: Any, **_kwargs: Any) -> None:
        raise RuntimeError("a bug")

    monkeypatch.setattr("bot.relay.lead_actions.acknowledge", broken)
    told = len(fake_slack.responses)

    response = await slack.click(message, channel, "item_acknowledge", user=LEAD)

    assert response.status_code == 200
    assert [r["text"] for r in fake_slack.responses[told:]] == [
        "Something went wrong on Jerry’s side and nothing was changed. Please try again; "
        "if it keeps happening, tell product ops."
    ]
    assert any("a listener failed" in r.message and r.exc_info for r in caplog.records)


async def test_a_refused_click_from_a_stranger_is_answered_privately(
    slack: SlackDriver, fake_slack: FakeSlack
) -> None:
    item = await painpoint(slack, "the invoice total is wrong")
    channel, _, message = lead_dm(fake_slack)
    told = len(fake_slack.responses)

    response = await slack.click(message, channel, "item_acknowledge", user="U0STRANGER")

    assert response.status_code == 200
    assert [r["text"] for r in fake_slack.responses[told:]] == [
        f"Only the team lead, the backup or a Jerry admin can act on #{item.id}. "
        "Nothing was changed."
    ]
