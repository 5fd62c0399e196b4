"""Issue 11: a routing import welcomes each lead and backup once, through the outbox, in their
Slack language; a re-import welcomes nobody; a new team later gets a short "you now also own".
And the import checks with Slack (users.info) that every person it names is an active person.
SQLite and PostgreSQL, the running app's outbox, the fake Slack."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.app import JerryApp
from bot.config import Settings
from bot.intake.routing_cli import import_file, slack_people_check
from models.deliveries import Delivery
from models.routing import LeadWelcome
from tests.fakeslack import Call, FakeSlack
from tests.french import spaced
from tests.harness import ROUTING_YAML, SlackDriver

pytestmark = pytest.mark.slow

# The harness's model, with a French backup for Mobile.
WELCOMED = ROUTING_YAML.replace(
    "    lead: U0MOBLEAD\n", "    lead: U0MOBLEAD\n    backup: U0FRENCH\n    ack_target: 4h\n"
)
GROWTH = """\
  - name: Growth
    lead: U0PAYLEAD
    areas:
      - name: Onboarding
        keywords: [signup, onboarding]
"""
WITH_GROWTH = WELCOMED.replace("rules:\n", GROWTH + "rules:\n")


def text_of(call: Call) -> str:
    return json.dumps(call.args.get("blocks"), ensure_ascii=False) + call.args.get("text", "")


async def imported(settings: Settings, tmp_path: Path, text: str, name: str) -> None:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    assert (
        await import_file(settings, path, people_check=slack_people_check(settings), welcome=True)
        == 0
    )


async def welcome_rows(jerry: JerryApp) -> list[Delivery]:
    async with jerry.sessions() as session:
        rows = await session.scalars(
            select(Delivery).where(Delivery.purpose == "lead_welcome").order_by(Delivery.id)
        )
        return list(rows)


async def test_each_lead_and_backup_is_welcomed_once_and_again_only_for_a_new_team(
    slack: SlackDriver,
    fake_slack: FakeSlack,
    jerry: JerryApp,
    settings: Settings,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    await imported(settings, tmp_path, WELCOMED, "routing.yml")
    assert "4 leads or backups are owed a welcome DM" in capsys.readouterr().out
    await slack.settle()

    people = ("U0PAYLEAD", "U0PAYBACK", "U0MOBLEAD", "U0FRENCH")
    for user in people:
        assert len(fake_slack.dms_to(user)) == 1, user
    # Product ops wrote the file: its triage lead is not welcomed.
    assert fake_slack.dms_to("U0PRODOPS") == []
    # Through the outbox: one delivery each, sent.
    rows = await welcome_rows(jerry)
    assert sorted(row.recipient or "" for row in rows) == sorted(people)
    assert {row.status for row in rows} == {"sent"}

    lead = text_of(fake_slack.dms_to("U0PAYLEAD")[0])
    assert "Welcome to Jerry" in lead and "*Payments*: you are its lead" in lead
    assert "Billing: invoice, billing, refund, facture" in lead
    assert "acknowledge each item within 1 business day" in lead
    for button in ("Acknowledge", "Answer", "Ask for details", "Reassign", "Resolve"):
        assert f"*{button}*" in lead
    assert "thread under an item’s DM goes to the reporter" in lead
    backup = text_of(fake_slack.dms_to("U0PAYBACK")[0])
    assert "*Payments*: you are its backup" in backup and "twice the target" in backup
    # In the person's Slack language, with the team's own target.
    french = text_of(fake_slack.dms_to("U0FRENCH")[0])
    assert (
        "Bienvenue dans Jerry" in french
        and spaced("*Mobile* : vous en êtes le suppléant") in french
    )
    assert "sous 4 heures ouvrées" in french

    # The same file again: nobody is welcomed twice.
    await imported(settings, tmp_path, WELCOMED, "again.yml")
    assert "welcome" not in capsys.readouterr().out
    await slack.settle()
    assert len(await welcome_rows(jerry)) == 4
    for user in people:
        assert len(fake_slack.dms_to(user)) == 1, user

    # A new team for the Payments lead: one short "also own" DM, without the buttons again.
    await imported(settings, tmp_path, WITH_GROWTH, "growth.yml")
    await slack.settle()
    dms = fake_slack.dms_to("U0PAYLEAD")
    assert len(dms) == 2
    also = text_of(dms[1])
    assert "You now also own *Growth* in Jerry" in also and "Onboarding: signup" in also
    assert "Ask for details" not in also
    for user in people[1:]:
        assert len(fake_slack.dms_to(user)) == 1, user
    async with jerry.sessions() as session:
        remembered = (await session.execute(select(LeadWelcome.user_id))).scalars().all()
    assert sorted(remembered) == sorted([*people, "U0PAYLEAD"])


async def test_a_dry_run_welcomes_nobody(
    slack: SlackDriver,
    fake_slack: FakeSlack,
    jerry: JerryApp,
    settings: Settings,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    path = tmp_path / "routing.yml"
    path.write_text(WELCOMED, encoding="utf-8")
    assert await import_file(settings, path, dry_run=True, welcome=True) == 0
    assert "4 leads or backups would get a welcome DM" in capsys.readouterr().out
    await slack.settle()
    assert await welcome_rows(jerry) == []
    assert fake_slack.dms_to("U0PAYLEAD") == []


# --- people checked with Slack at import ----------------------------------------------------


async def test_unknown_deactivated_or_bot_people_are_refused_with_their_line_and_team(
    jerry: JerryApp,
    fake_slack: FakeSlack,
    settings: Settings,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    fake_slack.add_user("U0GONE", "gone", deleted=True)
    fake_slack.add_user("U0ROBOT", "robot", is_bot=True)
    text = (
        ROUTING_YAML.replace("backup: U0PAYBACK", "backup: U0NOBODY")
        .replace("lead: U0MOBLEAD", "lead: U0GONE")
        .replace("lead: U0PRODOPS", "lead: U0ROBOT")
    )
    path = tmp_path / "routing.yml"
    path.write_text(text, encoding="utf-8")
    for dry_run in (True, False):
        status = await import_file(
            settings, path, dry_run=dry_run, people_check=slack_people_check(settings)
        )
        assert status == 1
        err = capsys.readouterr().err
        lines = text.splitlines()
        robot = lines.index("  lead: U0ROBOT") + 1
        nobody = lines.index("    backup: U0NOBODY") + 1
        gone = lines.index("    lead: U0GONE") + 1
        assert (
            f"routing.yml:{robot}: triage.lead: product ops’ triage lead, U0ROBOT, is a bot" in err
        ), err
        assert (
            f"routing.yml:{nobody}: teams[0].backup: the backup of Payments, U0NOBODY, "
            "is not a user Slack knows" in err
        ), err
        assert (
            f"routing.yml:{gone}: teams[1].lead: the lead of Mobile, U0GONE, is deactivated" in err
        ), err
        assert "3 problems; the routing model was not changed" in err
    async with jerry.sessions() as session:
        assert (await session.execute(select(LeadWelcome))).first() is None
    from tests.test_cli import stored_model

    assert await stored_model(settings.database_url) is None


async def test_slack_unreachable_while_checking_people_changes_nothing(
    jerry: JerryApp, fake_slack: FakeSlack, settings: Settings, tmp_path: Path
) -> None:
    from bot.admin_files import CommandError

    path = tmp_path / "routing.yml"
    path.write_text(ROUTING_YAML, encoding="utf-8")
    fake_slack.outage_status = 503
    try:
        with pytest.raises(CommandError, match=r"users\.info: http_503.*--no-check"):
            await import_file(settings, path, people_check=slack_people_check(settings))
    finally:
        fake_slack.outage_status = None
    from tests.test_cli import stored_model

    assert await stored_model(settings.database_url) is None
