"""End to end: reminders, escalation and deactivated leads, with a controlled clock.

Items come in through the app as Slack sends them; their times are then set to known
instants and the reminders tick (`JerryApp.run_reminders(now)`) runs at chosen moments.
People (tests/harness.py): the Payments lead is in New York, its backup and product ops
(triage, channel C0PRODOPS) in Paris; Mobile's lead (Berlin) has no backup.
"""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select, update

from bot.app import JerryApp, create_app
from bot.config import Settings
from bot.intake.routing_cli import export_file, import_file
from bot.relay import resolution
from bot.relay.resolution import Resolution
from bot.sla.business_time import sla_state
from models.deliveries import Delivery
from models.items import Item, ItemEvent
from models.reminders import SentReminder
from models.routing import Team
from models.users import SlackUser
from tests import payloads
from tests.fakeslack import FakeSlack
from tests.harness import ROUTING_YAML, SlackDriver

LEAD, BACKUP, MOBILE_LEAD, TRIAGE_LEAD = "U0PAYLEAD", "U0PAYBACK", "U0MOBLEAD", "U0PRODOPS"
REPORTER, TRIAGE_CHANNEL = "U0REPORTER", "C0PRODOPS"
NY, PARIS = ZoneInfo("America/New_York"), ZoneInfo("Europe/Paris")

pytestmark = pytest.mark.usefixtures("routed")


def ny(*args: int) -> datetime:
    return datetime(*args, tzinfo=NY).astimezone(UTC)


def text_of(message: dict[str, Any]) -> str:
    return json.dumps(message, ensure_ascii=False)


async def new_item(
    slack: SlackDriver, jerry: JerryApp, text: str, created: datetime, command: str = "/painpoint"
) -> int:
    response = await slack.command(command, text, user=REPORTER)
    assert response.status_code == 200
    await slack.settle()
    async with jerry.sessions() as session:
        item = (await session.execute(select(Item).order_by(Item.id.desc()))).scalars().first()
        assert item is not None
        item.created_at = created
        await session.commit()
        return item.id


async def load(jerry: JerryApp, item_id: int) -> Item:
    async with jerry.sessions() as session:
        item = await session.get(Item, item_id)
        assert item is not None
        return item


async def tick(slack: SlackDriver, jerry: JerryApp, now: datetime):  # type: ignore[no-untyped-def]
    summary = await jerry.run_reminders(now)
    await slack.settle()
    return summary


def mentions(fake: FakeSlack, channel_or_user: str, needle: str) -> list[dict[str, Any]]:
    """Messages Jerry posted to a channel or DM whose content contains `needle`."""
    found = []
    for call in fake.posts(channel_or_user):
        message = fake.message(call.response["channel"], call.response["ts"]) or {}
        if needle in text_of(message):
            found.append(message)
    return found


async def event_kinds(jerry: JerryApp, item_id: int) -> list[str]:
    async with jerry.sessions() as session:
        statement = select(ItemEvent.kind).where(ItemEvent.item_id == item_id)
        return list((await session.execute(statement.order_by(ItemEvent.id))).scalars())


# --- reminder at the target, escalation at twice it ------------------------------------------------


async def test_reminder_at_target_threaded_under_the_leads_dm_and_sent_once(
    slack: SlackDriver, jerry: JerryApp, fake_slack: FakeSlack
) -> None:
    item_id = await new_item(slack, jerry, "the invoice total is wrong", ny(2025, 3, 4, 10, 0))
    item = await load(jerry, item_id)
    assert item.assignee_id == LEAD and item.lead_dm_ts

    # 1 business day in New York: due Wednesday 10:00.
    summary = await tick(slack, jerry, ny(2025, 3, 5, 9, 59))
    assert summary.sent == 0
    assert not mentions(fake_slack, LEAD, "Reminder")
    summary = await tick(slack, jerry, ny(2025, 3, 5, 10, 0))
    assert summary.reminders == 1
    thread = fake_slack.thread(item.lead_dm_channel or "", item.lead_dm_ts or "")
    assert len(thread) == 1
    assert f"#{item_id}" in thread[0]["text"] and "acknowledgement" in thread[0]["text"]
    assert "1 business day" in thread[0]["text"]

    for later in (ny(2025, 3, 5, 10, 1), ny(2025, 3, 5, 16, 0)):
        assert (await tick(slack, jerry, later)).sent == 0
    assert len(fake_slack.thread(item.lead_dm_channel or "", item.lead_dm_ts or "")) == 1
    assert "reminder_sent" in await event_kinds(jerry, item_id)
    async with jerry.sessions() as session:
        team = await session.get(Team, item.team_id)
        state = sla_state(
            await session.get(Item, item_id), team, ny(2025, 3, 5, 11), "America/New_York"
        )
    assert state.state == "breached"


async def test_escalation_at_twice_the_target_to_backup_and_triage_channel(
    slack: SlackDriver, jerry: JerryApp, fake_slack: FakeSlack
) -> None:
    item_id = await new_item(slack, jerry, "refund never arrived", ny(2025, 3, 4, 10, 0))
    await tick(slack, jerry, ny(2025, 3, 5, 10, 0))  # the reminder
    assert not fake_slack.dms_to(BACKUP)
    # Thursday 10:00 New York is 16:00 in Paris: the backup is at work.
    summary = await tick(slack, jerry, ny(2025, 3, 6, 10, 0))
    assert summary.escalations == 1
    asked = mentions(fake_slack, BACKUP, "As the team's backup")
    assert len(asked) == 1
    buttons = [
        element["action_id"]
        for block in asked[0]["blocks"]
        if block["type"] == "actions"
        for element in block["elements"]
    ]
    assert {"item_answer", "item_acknowledge"} <= set(buttons)
    alerts = mentions(fake_slack, TRIAGE_CHANNEL, f"#{item_id}")
    assert len(alerts) == 1 and alerts[0]["text"].startswith(f"Late: #{item_id}")
    assert BACKUP in text_of(alerts[0])  # whom Jerry asked to take it
    item = await load(jerry, item_id)
    assert item.escalated_at == ny(2025, 3, 6, 10, 0)
    assert item.assignee_id == LEAD  # asked, not moved
    async with jerry.sessions() as session:
        team = await session.get(Team, item.team_id)
    assert sla_state(item, team, ny(2025, 3, 6, 11), "America/New_York").state == "escalated"

    # Once only; and the backup's button works (backups may act).
    assert (await tick(slack, jerry, ny(2025, 3, 7, 10, 0))).sent == 0
    assert len(mentions(fake_slack, BACKUP, "As the team's backup")) == 1
    call = [c for c in fake_slack.dms_to(BACKUP)][-1]
    response = await slack.click(
        asked[0], call.response["channel"], "item_acknowledge", user=BACKUP
    )
    assert response.status_code == 200
    await slack.settle()
    assert (await load(jerry, item_id)).acknowledged_by == BACKUP
    assert (await tick(slack, jerry, ny(2025, 3, 10, 10, 0))).sent == 0


async def test_no_backup_goes_to_triage_lead_and_channel(
    slack: SlackDriver, jerry: JerryApp, fake_slack: FakeSlack
) -> None:
    item_id = await new_item(slack, jerry, "the android app is slow", ny(2025, 3, 4, 10, 0))
    assert (await load(jerry, item_id)).assignee_id == MOBILE_LEAD
    # Created Tuesday 16:00 in Berlin (Mobile's lead): twice 1 business day is Thursday 16:00.
    assert (await tick(slack, jerry, ny(2025, 3, 6, 9, 59))).escalations == 0
    summary = await tick(slack, jerry, ny(2025, 3, 6, 10, 0))  # 16:00 in Paris too
    assert summary.escalations == 1
    assert len(mentions(fake_slack, TRIAGE_LEAD, "has no backup")) == 1
    assert len(mentions(fake_slack, TRIAGE_CHANNEL, f"#{item_id}")) == 1


# --- the recipient's night and weekend -------------------------------------------------------------


async def test_escalation_waits_for_the_backups_morning(
    slack: SlackDriver, jerry: JerryApp, fake_slack: FakeSlack
) -> None:
    item_id = await new_item(slack, jerry, "invoice PDF is blank", ny(2025, 3, 4, 13, 0))
    # Thursday 13:00 New York (twice the target) is 19:00 in Paris: the backup is off.
    summary = await tick(slack, jerry, ny(2025, 3, 6, 13, 0))
    assert summary.escalations == 0 and summary.deferred >= 1
    assert summary.reminders == 1  # the lead, at work in New York, is reminded meanwhile
    for night in (ny(2025, 3, 6, 17, 59), ny(2025, 3, 6, 21, 0), ny(2025, 3, 7, 2, 59)):
        assert (await tick(slack, jerry, night)).escalations == 0
    assert not mentions(fake_slack, BACKUP, "backup")
    assert not mentions(fake_slack, TRIAGE_CHANNEL, f"#{item_id}")
    # 09:00 in Paris.
    assert (await tick(slack, jerry, ny(2025, 3, 7, 3, 0))).escalations == 1
    assert len(mentions(fake_slack, BACKUP, "As the team's backup")) == 1
    assert (await tick(slack, jerry, ny(2025, 3, 7, 4, 0))).sent == 0


async def test_reminder_due_friday_evening_waits_for_monday_morning(
    slack: SlackDriver, jerry: JerryApp, fake_slack: FakeSlack
) -> None:
    item_id = await new_item(slack, jerry, "billing export broken", ny(2025, 3, 6, 17, 30))
    # Due Friday 17:30 New York; the lead is not reminded at the weekend or before 09:00.
    for moment in (ny(2025, 3, 7, 18, 0), ny(2025, 3, 8, 12, 0), ny(2025, 3, 10, 8, 59)):
        summary = await tick(slack, jerry, moment)
        assert summary.sent == 0, moment
    item = await load(jerry, item_id)
    assert not fake_slack.thread(item.lead_dm_channel or "", item.lead_dm_ts or "")
    assert (await tick(slack, jerry, ny(2025, 3, 10, 9, 0))).reminders == 1
    assert len(fake_slack.thread(item.lead_dm_channel or "", item.lead_dm_ts or "")) == 1


# --- restarts and replicas -------------------------------------------------------------------------


async def test_restart_in_the_middle_does_not_resend(
    slack: SlackDriver, jerry: JerryApp, fake_slack: FakeSlack, settings: Settings
) -> None:
    item_id = await new_item(slack, jerry, "invoice missing VAT", ny(2025, 3, 4, 10, 0))
    assert (await tick(slack, jerry, ny(2025, 3, 5, 10, 0))).reminders == 1
    await jerry.stop()  # the process goes away; a new one starts on the same database
    second = create_app(settings)
    await second.start()
    try:
        assert (await second.run_reminders(ny(2025, 3, 5, 15, 0))).sent == 0
        summary = await second.run_reminders(ny(2025, 3, 6, 10, 0))
        assert summary.escalations == 1 and summary.reminders == 0
        await second.drain()
        assert (await second.run_reminders(ny(2025, 3, 6, 11, 0))).sent == 0
    finally:
        await second.stop()
    item = await load_with(settings, item_id)
    assert len(fake_slack.thread(item.lead_dm_channel or "", item.lead_dm_ts or "")) == 1
    assert len(mentions(fake_slack, BACKUP, "As the team's backup")) == 1


async def load_with(settings: Settings, item_id: int) -> Item:
    app = create_app(settings)
    try:
        return await load(app, item_id)
    finally:
        await app.stop()


async def test_two_replicas_racing_send_each_reminder_once(
    slack: SlackDriver, jerry: JerryApp, fake_slack: FakeSlack, settings: Settings
) -> None:
    ids = [
        await new_item(slack, jerry, f"refund problem {n}", ny(2025, 3, 4, 10, 0)) for n in range(4)
    ]
    other = create_app(settings)
    await other.start()
    try:
        for moment in (ny(2025, 3, 5, 10, 0), ny(2025, 3, 6, 10, 0)):
            first, second = await asyncio.gather(
                jerry.run_reminders(moment), other.run_reminders(moment)
            )
            assert first.sent + second.sent == len(ids), (first, second)
            await slack.settle()
            await other.drain()
    finally:
        await other.stop()
    async with jerry.sessions() as session:
        sent = list((await session.execute(select(SentReminder.key))).scalars())
        deliveries = list(
            (
                await session.execute(
                    select(Delivery.purpose, Delivery.item_id).where(
                        Delivery.purpose.in_(["reminder", "escalation"])
                    )
                )
            ).all()
        )
    assert len(sent) == 2 * len(ids) and len(set(sent)) == len(sent)
    assert sorted(deliveries) == sorted(
        [("reminder", i) for i in ids] + [("escalation", i) for i in ids]
    )
    assert len(mentions(fake_slack, BACKUP, "As the team's backup")) == len(ids)


# --- questions ---------------------------------------------------------------------------------


async def test_acknowledged_question_gets_reminded_on_its_answer_target(
    slack: SlackDriver, jerry: JerryApp, fake_slack: FakeSlack
) -> None:
    item_id = await new_item(
        slack, jerry, "how do I get a refund on an invoice?", ny(2025, 3, 3, 10, 0), "/ask"
    )
    async with jerry.sessions() as session:
        item = await session.get(Item, item_id)
        assert item is not None and item.kind == "question"
        item.status, item.acknowledged_at, item.acknowledged_by = (
            "acknowledged",
            ny(2025, 3, 4, 12, 0),
            LEAD,
        )
        await session.commit()
    # Acknowledged: the acknowledgement target no longer applies; the answer target (1d) does.
    assert (await tick(slack, jerry, ny(2025, 3, 5, 11, 59))).sent == 0
    summary = await tick(slack, jerry, ny(2025, 3, 5, 12, 0))
    assert summary.reminders == 1
    assert len(mentions(fake_slack, LEAD, "still has no answer")) == 1
    # Twice the target is Thursday 12:00 in New York, 18:00 in Paris: the backup has left.
    assert (await tick(slack, jerry, ny(2025, 3, 6, 12, 0))).escalations == 0
    assert (await tick(slack, jerry, ny(2025, 3, 7, 11, 0))).escalations == 1
    assert len(mentions(fake_slack, BACKUP, "can you answer it")) == 1


async def test_question_asked_to_the_reporter_reminds_the_reporter(
    slack: SlackDriver, jerry: JerryApp, fake_slack: FakeSlack
) -> None:
    item_id = await new_item(slack, jerry, "invoice looks odd", ny(2025, 3, 3, 10, 0))
    asked_at = datetime(2025, 3, 4, 10, 0, tzinfo=PARIS).astimezone(UTC)
    async with jerry.sessions() as session:
        item = await session.get(Item, item_id)
        assert item is not None
        item.status, item.acknowledged_at = "acknowledged", asked_at
        session.add(
            ItemEvent(
                item_id=item_id,
                actor=LEAD,
                kind="details_requested",  # as bot/relay/conversation.py records it
                detail={"question": "Which customer?"},
                at=asked_at,
            )
        )
        await session.commit()
    posted_before = len(fake_slack.calls_to("chat.postMessage", ok=True))
    # The reporter is in Paris: 1 business day later is Wednesday 10:00 Paris.
    summary = await tick(slack, jerry, datetime(2025, 3, 5, 9, 0, tzinfo=PARIS))
    assert summary.reporter_reminders == 0
    summary = await tick(slack, jerry, datetime(2025, 3, 5, 10, 0, tzinfo=PARIS))
    assert summary.reporter_reminders == 1
    new_posts = fake_slack.calls_to("chat.postMessage", ok=True)[posted_before:]
    texts = [c["text"] for c in new_posts]
    assert any(
        "still waiting for your reply" in text and "Which customer?" in text for text in texts
    )
    assert (await tick(slack, jerry, datetime(2025, 3, 5, 11, 0, tzinfo=PARIS))).sent == 0
    # The reporter answers: nothing more.
    async with jerry.sessions() as session:
        session.add(ItemEvent(item_id=item_id, actor=REPORTER, kind="details_given", detail={}))
        await session.commit()
    assert (await tick(slack, jerry, datetime(2025, 3, 7, 11, 0, tzinfo=PARIS))).sent == 0


# --- leads who have left -------------------------------------------------------------------------


async def deactivate(jerry: JerryApp, fake: FakeSlack, user_id: str) -> None:
    """Slack now says the person is deactivated; Jerry's cached profile is old enough to renew."""
    fake.users[user_id].deleted = True
    async with jerry.sessions() as session:
        await session.execute(
            update(SlackUser)
            .where(SlackUser.id == user_id)
            .values(fetched_at=datetime(2020, 1, 1, tzinfo=UTC))
        )
        await session.commit()


async def test_deactivated_lead_items_go_to_backup_with_one_triage_alert(
    slack: SlackDriver, jerry: JerryApp, fake_slack: FakeSlack
) -> None:
    first = await new_item(slack, jerry, "invoice one", ny(2025, 3, 4, 10, 0))
    second = await new_item(slack, jerry, "invoice two", ny(2025, 3, 4, 11, 0))
    await deactivate(jerry, fake_slack, LEAD)
    summary = await tick(slack, jerry, ny(2025, 3, 4, 12, 0))
    assert summary.leads_gone == [LEAD] and summary.items_moved == 2
    for item_id in (first, second):
        item = await load(jerry, item_id)
        assert item.assignee_id == BACKUP and item.lead_dm_ts
        assert "rerouted" in await event_kinds(jerry, item_id)
    notes = mentions(fake_slack, BACKUP, "could not reach")
    assert len(notes) == 2
    alerts = mentions(fake_slack, TRIAGE_CHANNEL, "deactivated or has left")
    assert len(alerts) == 1 and "Payments" in alerts[0]["text"]
    # A later tick moves nothing more and alerts no more.
    summary = await tick(slack, jerry, ny(2025, 3, 4, 13, 0))
    assert summary.items_moved == 0
    assert len(mentions(fake_slack, TRIAGE_CHANNEL, "deactivated or has left")) == 1


async def test_deactivated_lead_without_backup_goes_to_triage(
    slack: SlackDriver, jerry: JerryApp, fake_slack: FakeSlack
) -> None:
    item_id = await new_item(slack, jerry, "the iphone app crashes", ny(2025, 3, 4, 10, 0))
    await deactivate(jerry, fake_slack, MOBILE_LEAD)
    summary = await tick(slack, jerry, ny(2025, 3, 4, 12, 0))
    assert summary.items_moved == 1
    item = await load(jerry, item_id)
    async with jerry.sessions() as session:
        team = await session.get(Team, item.team_id)
    assert item.assignee_id == TRIAGE_LEAD and team is not None and team.is_triage
    assert len(mentions(fake_slack, TRIAGE_LEAD, "could not reach")) == 1
    assert len(mentions(fake_slack, TRIAGE_CHANNEL, "deactivated or has left")) == 1


async def test_reminder_to_a_lead_who_left_hands_the_item_over(
    slack: SlackDriver, jerry: JerryApp, fake_slack: FakeSlack
) -> None:
    """The DM fails (user_disabled) before the tick noticed: the outbox hands the item over."""
    item_id = await new_item(slack, jerry, "invoice is late", ny(2025, 3, 4, 10, 0))
    fake_slack.fail_next("chat.postMessage", "user_disabled", when=lambda a: True)
    summary = await jerry.run_reminders(ny(2025, 3, 5, 10, 0))
    assert summary.reminders == 1
    await slack.settle()
    assert (await load(jerry, item_id)).assignee_id == BACKUP
    assert len(mentions(fake_slack, BACKUP, "could not reach")) == 1


# --- settings from the routing file -----------------------------------------------------------------


async def test_routing_file_targets_and_business_hours(
    slack: SlackDriver, jerry: JerryApp, fake_slack: FakeSlack, settings: Settings, tmp_path: Path
) -> None:
    yaml_text = ROUTING_YAML.replace(
        "    channel: C0PAYTEAM\n",
        "    channel: C0PAYTEAM\n    ack_target: 2h\n"
        '    business_hours: {days: [mon, tue, wed, thu, fri], start: "10:00", end: "16:00"}\n',
    )
    path = tmp_path / "routing.yml"
    path.write_text(yaml_text, encoding="utf-8")
    assert await import_file(settings, path) == 0
    item_id = await new_item(slack, jerry, "invoice rounding", ny(2025, 3, 4, 15, 0))
    # One business hour on Tuesday (15:00-16:00), one on Wednesday from 10:00: due 11:00.
    assert (await tick(slack, jerry, ny(2025, 3, 5, 10, 59))).sent == 0
    assert (await tick(slack, jerry, ny(2025, 3, 5, 11, 0))).reminders == 1
    text = mentions(fake_slack, LEAD, "Reminder")[0]["text"]
    assert f"#{item_id}" in text and "2 business hours" in text

    out = tmp_path / "export.yml"
    assert await export_file(settings, out) == 0
    exported = out.read_text(encoding="utf-8")
    assert "ack_target: 2h" in exported and "start: '10:00'" in exported


async def test_user_change_event_hands_a_departed_leads_items_over_at_once(
    slack: SlackDriver, jerry: JerryApp, fake_slack: FakeSlack
) -> None:
    item_id = await new_item(slack, jerry, "invoice one", ny(2025, 3, 4, 10, 0))
    # A profile change that does not say "deleted" (Slack sometimes leaves it out) moves nothing.
    for deleted in (None, False):
        response = await slack.event(payloads.user_change(LEAD, deleted=deleted))
        assert response.status_code == 200
    await slack.settle()
    assert (await load(jerry, item_id)).assignee_id == LEAD

    body = payloads.user_change(LEAD, deleted=True)
    assert (await slack.event(body)).status_code == 200
    # Slack retries the same event: nothing moves twice, triage hears once.
    retry = {"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"}
    assert (await slack.event(body, headers=retry)).status_code == 200
    await slack.settle()
    item = await load(jerry, item_id)
    assert item.assignee_id == BACKUP and item.lead_dm_ts
    assert len(mentions(fake_slack, BACKUP, "could not reach")) == 1
    assert len(mentions(fake_slack, TRIAGE_CHANNEL, "deactivated or has left")) == 1
    async with jerry.sessions() as session:
        assert (await session.get(SlackUser, LEAD)).deleted  # type: ignore[union-attr]
    # The next tick finds nothing left to move.
    summary = await tick(slack, jerry, ny(2025, 3, 4, 12, 0))
    assert summary.items_moved == 0


async def test_triage_lead_asked_for_an_item_without_backup_may_act_on_it(
    slack: SlackDriver, jerry: JerryApp, fake_slack: FakeSlack
) -> None:
    item_id = await new_item(slack, jerry, "the android app is slow", ny(2025, 3, 4, 10, 0))
    await tick(slack, jerry, ny(2025, 3, 6, 10, 0))
    [asked] = mentions(fake_slack, TRIAGE_LEAD, "has no backup")
    call = fake_slack.dms_to(TRIAGE_LEAD)[-1]
    response = await slack.click(
        asked, call.response["channel"], "item_acknowledge", user=TRIAGE_LEAD
    )
    assert response.status_code == 200
    await slack.settle()
    item = await load(jerry, item_id)
    assert item.acknowledged_by == TRIAGE_LEAD and item.status == "acknowledged"
    assert not mentions(fake_slack, TRIAGE_LEAD, "Nothing was changed")


async def test_a_reopened_item_must_be_acknowledged_again_counting_from_the_reopening(
    slack: SlackDriver, jerry: JerryApp, fake_slack: FakeSlack
) -> None:
    item_id = await new_item(slack, jerry, "the invoice total is wrong", ny(2025, 3, 4, 10, 0))
    await resolution.resolve(jerry.sessions, item_id, LEAD, Resolution("fixed"), jerry.admins)
    await slack.settle()
    # Resolved: nothing waits, nothing is reminded however old the item is.
    assert (await tick(slack, jerry, ny(2025, 3, 6, 10, 0))).sent == 0

    reopened_at = ny(2025, 3, 10, 10, 0)  # a Monday
    await resolution.reopen(jerry.sessions, item_id, REPORTER, jerry.admins, now=reopened_at)
    await slack.settle()
    item = await load(jerry, item_id)
    assert item.status == "open" and item.acknowledged_at is None
    assert item.assigned_at == reopened_at
    async with jerry.sessions() as session:
        team = await session.get(Team, item.team_id)
    # The App Home and the reminders agree: one business day from the reopening.
    state = sla_state(item, team, ny(2025, 3, 10, 12, 0), "America/New_York")
    assert state.state == "ok" and state.due_at == ny(2025, 3, 11, 10, 0)
    assert (await tick(slack, jerry, ny(2025, 3, 11, 9, 59))).reminders == 0
    assert (await tick(slack, jerry, ny(2025, 3, 11, 10, 0))).reminders == 1
