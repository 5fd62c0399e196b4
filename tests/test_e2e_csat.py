"""End to end (issue 15): "did this help?" after resolution — asked in the reporter's thread
(by DM for an anonymous item), sampled, with a cooldown per person; the answer and comment
reach the lead and count in the insights, never with a name for an anonymous item.
SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from bot.app import JerryApp
from bot.config import Settings
from bot.insights.numbers import ADMIN, compute_insights
from bot.insights.periods import current_period
from models.base import utcnow
from models.csat import CsatAnswer
from tests import payloads
from tests.fakeslack import FakeSlack
from tests.harness import SlackDriver
from tests.test_e2e_lead_actions import resolve
from tests.test_e2e_relay import LEAD, REPORTER, STRANGER, everything, from_modal

pytestmark = [pytest.mark.usefixtures("routed"), pytest.mark.slow]


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"jerry_csat_share": 1.0, "jerry_csat_cooldown_days": 14})


def card_thread(fake: FakeSlack) -> list[str]:
    """What was said under the lead's card (their first DM about the item)."""
    call = next(c for c in fake.dms_to(LEAD) if not c.get("thread_ts"))
    return [everything(m) for m in fake.thread(call.response["channel"], call.response["ts"])]


def asks(fake: FakeSlack) -> list[Any]:
    return [
        c
        for c in fake.calls_to("chat.postMessage", ok=True)
        if "csat_score_3" in everything(c.args)
    ]


async def click_score(
    slack: SlackDriver, call: Any, score: int, *, user: str = REPORTER
) -> dict[str, Any]:
    message = slack.fake.message(call.response["channel"], call.response["ts"])
    assert message is not None
    response = await slack.click(
        message, call.response["channel"], f"csat_score_{score}", user=user
    )
    assert response.status_code == 200
    await slack.settle()
    return message


async def test_asked_after_resolution_answered_and_told_to_the_lead(
    slack: SlackDriver, fake_slack: FakeSlack, jerry: JerryApp
) -> None:
    item = await from_modal(slack, "the refund button on invoices is broken", area="Billing")
    await resolve(slack, "fixed", note="fixed in 4.2")
    [ask] = asks(fake_slack)
    assert "did this help?" in everything(ask.args) and f"#{item.id}" in everything(ask.args)
    # A stranger's click changes nothing.
    await click_score(slack, ask, 1, user=STRANGER)
    async with jerry.sessions() as session:
        assert await session.get(CsatAnswer, item.id) is None
    await click_score(slack, ask, 3)
    async with jerry.sessions() as session:
        answer = await session.get(CsatAnswer, item.id)
        assert answer is not None and answer.score == 3 and answer.reporter_id == REPORTER
    # The thanks comes under the question, which keeps its buttons; the lead hears it.
    replaced = fake_slack.responses[-1]
    assert "Thank you" in everything(replaced) and "csat_score_1" in everything(replaced)
    said = card_thread(fake_slack)
    assert any("Yes, it helped" in text and f"<@{REPORTER}>" in text for text in said), said
    # A comment, through its form.
    body = payloads.block_action(
        user=REPORTER,
        action_id="csat_comment",
        value=f"{item.id}:3",
        channel=ask.response["channel"],
        message={"ts": ask.response["ts"], "text": "", "blocks": []},
        response_url=fake_slack.response_url(),
    )
    await slack.interactive(body)
    await slack.settle()
    view = slack.last_view()
    response = await slack.submit(
        view,
        {"comment": {"value": payloads.input_value("Quick, thanks <!channel>")}},
        user=REPORTER,
    )
    assert response.status_code == 200 and not response.content
    await slack.settle()
    async with jerry.sessions() as session:
        answer = await session.get(CsatAnswer, item.id)
        assert answer is not None and answer.comment and "Quick, thanks" in answer.comment
    said = card_thread(fake_slack)
    assert any("Quick, thanks" in text for text in said)
    assert not any("<!channel>" in text for text in said)
    # It counts in the insights of the quarter.
    insights = await compute_insights(
        jerry.sessions, current_period("quarter", utcnow(), "UTC"), ADMIN, now=utcnow()
    )
    assert insights.csat[0].answers == 1 and insights.csat[0].helped == 1
    assert [row.team for row in insights.csat] == ["", "Payments"]


async def test_anonymous_items_are_asked_by_dm_and_answered_without_a_name(
    slack: SlackDriver, fake_slack: FakeSlack, jerry: JerryApp
) -> None:
    await from_modal(slack, "the invoice totals are wrong", area="Billing", flags=("anonymous",))
    await resolve(slack, "fixed")
    [ask] = asks(fake_slack)
    assert ask["channel"] == REPORTER  # their DM with Jerry (its thread for the item)
    assert "without your name" in everything(ask.args)
    await click_score(slack, ask, 1)
    async with jerry.sessions() as session:
        answer = (await session.execute(select(CsatAnswer))).scalar_one()
        assert answer.score == 1 and answer.reporter_id is None
    said = card_thread(fake_slack)
    assert any("anonymous reporter" in text for text in said)
    assert not any(REPORTER in text for text in said)


async def test_sampling_and_the_cooldown_per_person(
    slack: SlackDriver, fake_slack: FakeSlack, jerry: JerryApp, settings: Settings
) -> None:
    await from_modal(slack, "the refund button on invoices is broken", area="Billing")
    await resolve(slack, "fixed")
    assert len(asks(fake_slack)) == 1
    # The same person, days later: not asked again within the cooldown.
    await from_modal(slack, "the invoice PDF is blank", area="Billing")
    await resolve(slack, "fixed")
    assert len(asks(fake_slack)) == 1
    # The lead resolving their own item is never asked.
    await from_modal(slack, "the invoice export is slow", area="Billing", user=LEAD)
    await resolve(slack, "fixed")
    assert len(asks(fake_slack)) == 1


async def test_nobody_is_asked_when_the_share_is_zero(
    fake_slack: FakeSlack, settings: Settings, tmp_path: Any
) -> None:
    from bot.csat.service import CsatPolicy

    assert CsatPolicy.from_settings(settings.model_copy(update={"jerry_csat_share": 0})) is None
    half = CsatPolicy(0.5, timedelta(days=14))
    sampled = sum(half.samples(item_id) for item_id in range(1, 2001))
    assert 900 < sampled < 1100  # about half, and the same in every process
    assert [half.samples(i) for i in range(1, 50)] == [half.samples(i) for i in range(1, 50)]
