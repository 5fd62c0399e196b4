"""End to end: the "Download CSV" / "Download Markdown" buttons under a posted weekly summary.

The summary is posted by the scheduler's core (bot/summaries/posting.py) to the fake Slack;
a click on its button (Slack's block_actions payload, signed) makes Jerry upload the file
with slack_sdk's files_upload_v2 (files.getUploadURLExternal, the upload, then
files.completeUploadExternal) into the clicker's DM. On SQLite and PostgreSQL.
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import delete, select

from bot.app import JerryApp
from bot.summaries.content import build_summary
from bot.summaries.domain import Period
from bot.summaries.posting import post_summary, scope_of
from bot.views.summary import DOWNLOAD_CSV, DOWNLOAD_MD, summary_csv
from models.items import Item
from models.routing import Area
from models.summaries import SummaryPost, SummarySubscription
from models.updates import ProductUpdate
from tests import payloads
from tests.fakeslack import FakeSlack
from tests.french import spaced
from tests.harness import SlackDriver

pytestmark = pytest.mark.usefixtures("routed")

SALES = "C0SALES"
REPORTER, FRENCH = "U0REPORTER", "U0FRENCH"
SLOT = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)  # Monday 09:00 Paris, week 2026-W48
NOW = SLOT + timedelta(minutes=1)
WEEK = "2026-W48"


async def subscribe(jerry: JerryApp, *, language: str = "en") -> int:
    async with jerry.sessions() as session:
        subscription = SummarySubscription(
            name="Sales EMEA",
            channel=SALES,
            areas=["Billing"],
            weekday=0,
            time="09:00",
            timezone="Europe/Paris",
            language=language,
            created_at=SLOT - timedelta(days=30),
        )
        session.add(subscription)
        await session.commit()
        return subscription.id


async def week_content(jerry: JerryApp) -> None:
    """Something in each section: two shipped updates, an upcoming one, an item."""
    async with jerry.sessions() as session:
        billing = (await session.execute(select(Area).where(Area.name == "Billing"))).scalar_one()
        session.add_all(
            [
                ProductUpdate(
                    kind="shipped",
                    title="PDF invoices",
                    customer_impact="Customers download invoices as PDF",
                    area_id=billing.id,
                    shipped_on=date(2026, 11, 19),
                    created_at=datetime(2026, 11, 19, 12, 0, tzinfo=UTC),
                    audience="customer",
                    link="https://example.com/pdf",
                ),
                ProductUpdate(
                    kind="shipped",
                    title="=cmd|' /C calc'!A0",  # a formula: the CSV must defuse it
                    area_id=billing.id,
                    shipped_on=date(2026, 11, 20),
                    created_at=datetime(2026, 11, 20, 12, 0, tzinfo=UTC),
                ),
                ProductUpdate(
                    kind="upcoming",
                    title="SEPA refunds",
                    area_id=billing.id,
                    target_date=date(2026, 12, 15),
                    confidence="committed",
                ),
            ]
        )
        session.add(
            Item(
                kind="painpoint",
                text="The invoice total is wrong",
                reporter_id="U0SECRETREPORTER",
                source="command",
                area_id=billing.id,
                team_id=billing.team_id,
                route_step="keywords",
                route_detail={"keywords": ["invoice"]},
                created_at=SLOT - timedelta(days=2),
            )
        )
        await session.commit()


async def posted_summary(jerry: JerryApp, fake: FakeSlack) -> dict[str, Any]:
    result = await post_summary(jerry.services, "Sales EMEA", WEEK, now=NOW)
    assert result.status == "posted", result
    message = fake.message(SALES, result.ts or "")
    assert message is not None
    return message


async def click(
    slack: SlackDriver, message: dict[str, Any], action_id: str, *, user: str = REPORTER
) -> None:
    response = await slack.click(message, SALES, action_id, user=user)
    assert response.status_code == 200
    await slack.settle()


def last_answer(fake: FakeSlack) -> dict[str, Any]:
    assert fake.responses, "the clicker was told nothing"
    return fake.responses[-1]


def uploaded(fake: FakeSlack) -> list[dict[str, Any]]:
    return [f for f in fake.files.values() if f.get("channel")]


@pytest.fixture
def clock(jerry: JerryApp) -> None:
    jerry.scheduler.clock = lambda: NOW


@pytest.mark.usefixtures("clock")
async def test_csv_button_uploads_the_posted_summary_to_the_clickers_dm(
    jerry: JerryApp, slack: SlackDriver, fake_slack: FakeSlack
) -> None:
    subscription_id = await subscribe(jerry)
    await week_content(jerry)
    message = await posted_summary(jerry, fake_slack)

    await click(slack, message, DOWNLOAD_CSV)

    (file,) = uploaded(fake_slack)
    assert file["name"] == f"summary-sales-emea-{WEEK}.csv"
    assert file["channel"] == fake_slack.dm_channel(REPORTER)
    assert file["title"] == f"Sales EMEA {WEEK}"
    assert file["initial_comment"] == "The weekly summary you asked for."
    # Both steps of the external upload happened, through slack_sdk, into the DM's id.
    assert len(fake_slack.calls_to("files.getUploadURLExternal", ok=True)) == 1
    [complete] = fake_slack.calls_to("files.completeUploadExternal", ok=True)
    assert complete.args.get("channel_id") == fake_slack.dm_channel(REPORTER)
    content = file["content"].decode("utf-8")
    # The same summary as the one posted: the period recorded on its row.
    async with jerry.sessions() as session:
        post = (await session.execute(select(SummaryPost))).scalar_one()
        subscription = await session.get(SummarySubscription, subscription_id)
        assert subscription is not None and post.period_start and post.period_end
        scope = scope_of(subscription)
    expected = await build_summary(
        jerry.sessions, scope, Period(WEEK, post.period_start, post.period_end)
    )
    assert content == summary_csv(expected)
    rows = list(csv.DictReader(io.StringIO(content)))
    assert [r["title"] for r in rows if r["section"] == "shipped"] == [
        "PDF invoices",
        "'=cmd|' /C calc'!A0",
    ]
    assert [r["title"] for r in rows if r["section"] == "coming_soon"] == ["SEPA refunds"]
    assert [(r["area"], r["painpoints"]) for r in rows if r["section"] == "customers"] == [
        ("Billing", "1")
    ]
    assert "U0SECRETREPORTER" not in content
    answer = last_answer(fake_slack)
    assert answer["response_type"] == "ephemeral" and answer["replace_original"] is False
    assert answer["text"] == f"I sent you *summary-sales-emea-{WEEK}.csv* in our DM."
    assert fake_slack.violations == []


@pytest.mark.usefixtures("clock")
async def test_markdown_button_in_the_subscriptions_language_answer_in_the_clickers(
    jerry: JerryApp, slack: SlackDriver, fake_slack: FakeSlack
) -> None:
    await subscribe(jerry, language="fr")
    await week_content(jerry)
    message = await posted_summary(jerry, fake_slack)

    await click(slack, message, DOWNLOAD_MD, user=FRENCH)
    await click(slack, message, DOWNLOAD_MD, user=REPORTER)

    first, second = uploaded(fake_slack)
    assert first["name"] == second["name"] == f"summary-sales-emea-{WEEK}.md"
    assert first["channel"] == fake_slack.dm_channel(FRENCH)
    assert second["channel"] == fake_slack.dm_channel(REPORTER)
    text = first["content"].decode("utf-8")
    assert text == second["content"].decode("utf-8")
    assert text.startswith(spaced("# Cette semaine côté produit : Sales EMEA\n"))
    assert "- **[PDF invoices](https://example.com/pdf)** — *Billing, livré le 19 nov." in text
    assert "## Les chiffres" in text
    texts = [r["text"] for r in fake_slack.responses]
    assert f"Je vous ai envoyé *summary-sales-emea-{WEEK}.md* dans notre conversation privée." in (
        texts
    )
    assert f"I sent you *summary-sales-emea-{WEEK}.md* in our DM." in texts


@pytest.mark.usefixtures("clock")
async def test_a_week_not_posted_yet_gives_what_the_preview_gives(
    jerry: JerryApp, slack: SlackDriver, fake_slack: FakeSlack
) -> None:
    subscription_id = await subscribe(jerry)
    await week_content(jerry)
    message = await posted_summary(jerry, fake_slack)
    # The same button of another week (e.g. a preview): the period up to now.
    body = payloads.block_action(
        user=REPORTER,
        action_id=DOWNLOAD_CSV,
        value=f"{subscription_id}:2026-W47",
        channel=SALES,
        message=message,
        response_url=fake_slack.response_url(),
    )
    assert (await slack.interactive(body)).status_code == 200
    await slack.settle()
    (file,) = uploaded(fake_slack)
    assert file["name"] == "summary-sales-emea-2026-W47.csv"
    rows = list(csv.DictReader(io.StringIO(file["content"].decode("utf-8"))))
    # Week 47's period ends at its slot (16 Nov): the updates of 19-20 Nov are not in it.
    assert [r for r in rows if r["section"] == "shipped"] == []


@pytest.mark.usefixtures("clock")
@pytest.mark.parametrize(
    ("value", "answer"),
    [
        ("garbage", "This button does not name a summary Jerry knows"),
        ("7:2026-W99", "This button does not name a summary Jerry knows"),
        ("999:2026-W48", "This summary's subscription no longer exists"),
    ],
)
async def test_a_bad_or_stale_button_gets_a_clear_answer_and_no_file(
    jerry: JerryApp, slack: SlackDriver, fake_slack: FakeSlack, value: str, answer: str
) -> None:
    await subscribe(jerry)
    message = await posted_summary(jerry, fake_slack)
    body = payloads.block_action(
        user=REPORTER,
        action_id=DOWNLOAD_CSV,
        value=value,
        channel=SALES,
        message=message,
        response_url=fake_slack.response_url(),
    )
    assert (await slack.interactive(body)).status_code == 200
    await slack.settle()
    assert uploaded(fake_slack) == []
    assert last_answer(fake_slack)["text"].startswith(answer)


@pytest.mark.usefixtures("clock")
async def test_a_deleted_subscription_and_a_refused_upload_are_said(
    jerry: JerryApp, slack: SlackDriver, fake_slack: FakeSlack
) -> None:
    await subscribe(jerry)
    message = await posted_summary(jerry, fake_slack)

    fake_slack.fail_next("files.completeUploadExternal", "invalid_channel")
    await click(slack, message, DOWNLOAD_CSV)
    assert uploaded(fake_slack) == []
    assert last_answer(fake_slack)["text"].startswith(
        "Slack did not take the file (`invalid_channel`)"
    )

    # Clicked again, it works: nothing was left half-done.
    await click(slack, message, DOWNLOAD_CSV)
    assert len(uploaded(fake_slack)) == 1

    async with jerry.sessions() as session:
        await session.execute(delete(SummaryPost))
        await session.execute(delete(SummarySubscription))
        await session.commit()
    await click(slack, message, DOWNLOAD_CSV)
    assert len(uploaded(fake_slack)) == 1
    assert last_answer(fake_slack)["text"].startswith(
        "This summary's subscription no longer exists"
    )
