"""`jerry items import FILE.csv` (issue 12): a product-ops backlog spreadsheet into Jerry, run
as an admin runs it (a real `jerry` process) on SQLite and PostgreSQL, with the fake Slack
answering users.lookupByEmail and users.info, and the running app's outbox and reminders
tick for what the import owes (or must not owe) afterwards."""

from __future__ import annotations

import asyncio
import csv
import io
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.app import JerryApp
from bot.items.domain import IMPORT_SOURCE, NO_REPORTER
from bot.outbox.store import enqueue
from bot.similar import service as similar_service
from models.base import utcnow
from models.deliveries import Delivery
from models.items import Item, ItemEvent
from models.routing import Area, Team
from tests.conftest import count_rows
from tests.fakeslack import FakeSlack
from tests.test_cli import (
    InProcessJerry,
    Jerry,
    assert_no_traceback,
    seed_routing,
    snapshot,
)

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
HEADER = "text,kind,area,reporter,customer,created_at,external_id\n"
BACKLOG = (
    HEADER
    + "The invoice PDF shows the wrong VAT rate,pain_point,billing,,ACME,2023-01-05,PB-1\n"
    + '"How do I export my cart, with taxes?",question,,rita@example.com,,'
    + "2023-02-01T10:00:00+01:00,PB-2\n"
    + "The app crashes on my iphone at login,,,U0STRANGER,,2023-03-10 08:30,PB-3\n"
    + "Something <@U0PAYLEAD> nobody routes,,,,,,PB-4\n"
)


@pytest.fixture(autouse=True)
def fresh_indexes() -> Iterator[None]:
    """The CLI runs in this process: no similarity index kept from another test's database
    (PostgreSQL's has the same address in every test)."""
    similar_service.forget_loaded()
    yield
    similar_service.forget_loaded()


def jerry_for(
    tmp_path: Path, database_url: str, fake: FakeSlack | None = None, *, process: bool = False
) -> Jerry:
    """`jerry` on the test database, running this checkout's code: in this process, or as
    a real `jerry` process (`process`)."""
    settings = {"DATABASE_URL": database_url, "PYTHONPATH": str(ROOT)}
    jerry = Jerry(tmp_path, settings) if process else InProcessJerry(tmp_path, settings)
    return jerry.with_slack(fake) if fake is not None else jerry


@pytest.fixture
async def modelled(database_url: str, tmp_path: Path) -> str:
    """The harness's routing model in the test database (no app running)."""
    await seed_routing(database_url, tmp_path)
    return database_url


def write(tmp_path: Path, name: str, text: str, *, encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


async def imported_items(sessions: async_sessionmaker[AsyncSession]) -> list[Item]:
    async with sessions() as session:
        return list(await session.scalars(select(Item).order_by(Item.id)))


async def names(sessions: async_sessionmaker[AsyncSession], item: Item) -> tuple[str, str | None]:
    async with sessions() as session:
        team = await session.get(Team, item.team_id)
        area = await session.get(Area, item.area_id) if item.area_id else None
        assert team is not None
        return team.name, area.name if area else None


# --- a valid file -----------------------------------------------------------------------------


async def test_a_backlog_is_imported_routed_silently_indexed_and_only_once(
    modelled: str,
    fake_slack: FakeSlack,
    tmp_path: Path,
    sessions: async_sessionmaker[AsyncSession],
    engine: AsyncEngine,
) -> None:
    jerry = jerry_for(tmp_path, modelled, fake_slack, process=True)
    write(tmp_path, "backlog.csv", BACKLOG)
    started = utcnow()

    run = await jerry("items", "import", "backlog.csv")
    assert run.ok, str(run)
    assert_no_traceback(run)
    assert run.stdout.splitlines() == [
        "jerry: imported 4 items from backlog.csv",
        "Routed silently (no DM to anyone): 1 to Billing, 1 to Checkout, 1 to iOS app, 1 to Triage",
    ]
    # The email asked once (users.lookupByEmail), the user id checked (users.info).
    assert [c.args["email"] for c in fake_slack.calls_to("users.lookupByEmail")] == [
        "rita@example.com"
    ]
    assert [c.args["user"] for c in fake_slack.calls_to("users.info")] == ["U0STRANGER"]

    items = await imported_items(sessions)
    assert [item.intake_key for item in items] == [
        "import:PB-1",
        "import:PB-2",
        "import:PB-3",
        "import:PB-4",
    ]
    vat, export, crash, nobody = items
    assert {item.source for item in items} == {IMPORT_SOURCE}
    assert {item.status for item in items} == {"open"}
    assert (vat.kind, export.kind, crash.kind) == ("painpoint", "question", "painpoint")
    assert await names(sessions, vat) == ("Payments", "Billing")
    assert vat.route_step == "chosen_area" and vat.chosen_area_id == vat.area_id
    assert await names(sessions, export) == ("Payments", "Checkout")  # keyword "cart"
    assert await names(sessions, crash) == ("Mobile", "iOS app")
    assert await names(sessions, nobody) == ("Triage", None)
    assert vat.assignee_id == "U0PAYLEAD" and crash.assignee_id == "U0MOBLEAD"
    # Reporters: nobody, the email's person, the id as written.
    assert [item.reporter_id for item in items] == [
        NO_REPORTER,
        "U0REPORTER",
        "U0STRANGER",
        NO_REPORTER,
    ]
    assert vat.customer == "ACME" and export.customer is None
    # Created when the file says (naive: UTC), else at the import; nothing assigned yet.
    assert vat.created_at == datetime(2023, 1, 5, tzinfo=UTC)
    assert export.created_at == datetime(2023, 2, 1, 9, 0, tzinfo=UTC)
    assert crash.created_at == datetime(2023, 3, 10, 8, 30, tzinfo=UTC)
    assert nobody.created_at >= started - timedelta(seconds=5)
    assert {item.assigned_at for item in items} == {None}
    # The text as Slack-formatted text: a mention typed in the sheet stays text.
    assert nobody.text == "Something &lt;@U0PAYLEAD&gt; nobody routes"

    async with sessions() as session:
        events = list(await session.scalars(select(ItemEvent).order_by(ItemEvent.id)))
    assert [(e.item_id, e.kind) for e in events[:2]] == [(vat.id, "imported"), (vat.id, "routed")]
    assert events[0].actor == "jerry"
    assert events[0].detail == {"file": "backlog.csv", "line": 2, "external_id": "PB-1"}
    assert events[2].detail["line"] == 3 and events[4].detail["line"] == 4
    assert events[1].detail["silent"] is True and events[1].detail["area"] == "Billing"
    assert len(events) == 8
    # Nothing owed to anyone, and nothing sent.
    assert await count_rows(engine, "deliveries") == 0
    assert not fake_slack.calls_to("chat.postMessage")
    assert await count_rows(engine, "similar_entries") == 4

    found = await jerry("items", "similar", "wrong VAT on the invoice", "--limit", "1")
    assert found.ok, str(found)
    assert found.stdout.startswith(f"#{vat.id}  0.") and "The invoice PDF" in found.stdout

    # Again: every row is there already; nothing added, nobody asked again.
    before = await snapshot(modelled)
    again = await jerry("items", "import", "backlog.csv")
    assert again.ok, str(again)
    assert (
        again.stdout.strip()
        == "jerry: imported 0 items from backlog.csv (4 already there, skipped)"
    )
    assert await snapshot(modelled) == before


async def test_french_excel_semicolons_bom_crlf_and_french_output(
    modelled: str, fake_slack: FakeSlack, tmp_path: Path, sessions: async_sessionmaker[AsyncSession]
) -> None:
    jerry = jerry_for(tmp_path, modelled, fake_slack).with_settings(JERRY_LANGUAGE="fr")
    sheet = (
        "text;kind;area;external_id\r\n"
        "La facture est fausse, encore;;BILLING;F-1\r\n"
        "Écran figé sur l’app;question;ios APP;F-2\r\n"
        ";;;\r\n"  # a blank row, as spreadsheets leave at the end
    )
    write(tmp_path, "excel.csv", "\ufeff" + sheet, encoding="utf-8")
    run = await jerry("items", "import", "excel.csv")
    assert run.ok, str(run)
    assert run.stdout.splitlines() == [
        "jerry\u00a0: 2 demandes importées depuis excel.csv",
        "Routées sans prévenir personne (aucun message privé)\u00a0: 1 vers Billing, 1 vers iOS app",
    ]
    items = await imported_items(sessions)
    assert [item.text for item in items] == [
        "La facture est fausse, encore",
        "Écran figé sur l’app",
    ]
    assert [item.intake_key for item in items] == ["import:F-1", "import:F-2"]
    assert [item.language for item in items] == ["fr", "fr"]
    again = await jerry("items", "import", "excel.csv")
    assert again.stdout.strip() == (
        "jerry\u00a0: 0 demande importée depuis excel.csv (2 déjà présentes, ignorées)"
    ), str(again)


# --- invalid files ----------------------------------------------------------------------------

BAD_ROWS = (
    HEADER
    + "Fine row,,,,,,OK-1\n"  # line 2
    + " ,,,,,,E-1\n"  # line 3: no text
    + "An idea,idea,,,,,E-2\n"  # line 4: unknown kind
    + "Wrong area,,Bilingg,,,,E-3\n"  # line 5
    + "Bad date,,,,,2023-13-01,E-4\n"  # line 6
    + "Future,,,,,2999-01-01T00:00:00Z,E-5\n"  # line 7
    + "Who?,,,bob,,,E-6\n"  # line 8: neither an id nor an email
    + "Unknown email,,,nobody@example.com,,,E-7\n"  # line 9: Slack does not know it
    + "Twice,,,,,,OK-1\n"  # line 10: the external_id of line 2
    + "Another fine row,question,checkout,bea@example.com,,2024-05-01,OK-2\n"  # line 11
)


async def test_bad_rows_are_each_named_by_line_and_column_and_nothing_is_imported(
    modelled: str,
    fake_slack: FakeSlack,
    tmp_path: Path,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    jerry = jerry_for(tmp_path, modelled, fake_slack)
    write(tmp_path, "bad.csv", BAD_ROWS)
    before = await snapshot(modelled)
    run = await jerry("items", "import", "bad.csv")
    assert run.returncode == 1, str(run)
    assert_no_traceback(run)
    assert not run.stdout
    lines = run.stderr.splitlines()
    assert lines == [
        "bad.csv, line 3, column text: the text is empty",
        "bad.csv, line 4, column kind: unknown kind “idea”: use pain_point, question "
        "(empty: pain_point)",
        "bad.csv, line 5, column area: unknown area “Bilingg”: the areas are Billing, Checkout, "
        "iOS app, Android app",
        "bad.csv, line 6, column created_at: “2023-13-01” is not an ISO 8601 date or date and "
        "time (2024-03-05, 2024-03-05T14:30, 2024-03-05T14:30+01:00)",
        "bad.csv, line 7, column created_at: 2999-01-01T00:00:00Z is in the future",
        "bad.csv, line 8, column reporter: “bob” is neither a Slack user id (U… or W…) nor an email",
        "bad.csv, line 9, column reporter: Slack knows nobody with the email nobody@example.com",
        "bad.csv, line 10, column external_id: external_id “OK-1” is on line 2 already",
        "jerry: bad.csv has 8 problems; nothing was imported (fix them, or import the valid rows "
        "with --skip-invalid)",
    ]
    assert await snapshot(modelled) == before

    # --skip-invalid: the valid rows go in, each skipped line said with its reason.
    skipped = await jerry("items", "import", "bad.csv", "--skip-invalid")
    assert skipped.ok, str(skipped)
    out = skipped.stdout.splitlines()
    assert out[0] == "skipped: bad.csv, line 3, column text: the text is empty"
    assert len([line for line in out if line.startswith("skipped: ")]) == 8
    assert out[-2] == "jerry: imported 2 items from bad.csv; 8 invalid lines skipped"
    assert out[-1] == "Routed silently (no DM to anyone): 1 to Checkout, 1 to Triage"
    items = await imported_items(sessions)
    assert [(i.intake_key, i.reporter_id) for i in items] == [
        ("import:OK-1", NO_REPORTER),
        ("import:OK-2", "U0PAYBACK"),  # bea@example.com
    ]


async def test_files_that_are_not_a_backlog_are_refused_in_one_line_each(
    modelled: str, tmp_path: Path, engine: AsyncEngine
) -> None:
    jerry = jerry_for(tmp_path, modelled)  # no Slack: none of these needs it
    write(tmp_path, "columns.csv", "text,kind,Priority,owner\nx,,high,\n")
    write(tmp_path, "notext.csv", "title,kind\nx,question\n")
    write(tmp_path, "latin1.csv", "text\nt\u00e9l\u00e9phone en panne\n", encoding="latin-1")
    (tmp_path / "book.csv").write_bytes(b"PK\x03\x04\x14\x00\x06\x00 an xlsx workbook")
    write(tmp_path, "quote.csv", 'text\nfine\n"never closed\nmore\n')
    write(tmp_path, "empty.csv", "")
    runs = await asyncio.gather(
        jerry("items", "import", "columns.csv"),
        jerry("items", "import", "notext.csv", "--skip-invalid"),
        jerry("items", "import", "latin1.csv"),
        jerry("items", "import", "book.csv"),
        jerry("items", "import", "quote.csv"),
        jerry("items", "import", "empty.csv"),
        jerry("items", "import", "missing.csv"),
    )
    for run in runs:
        assert run.returncode == 1, str(run)
        assert_no_traceback(run)
    columns, notext, latin1, book, quote, empty, missing = (run.stderr for run in runs)
    assert columns.splitlines()[0] == (
        "columns.csv, line 1: unknown column “Priority”, “owner”: the columns are text, kind, "
        "area, reporter, customer, created_at, external_id, category"
    )
    assert "no “text” column" in notext
    assert "latin1.csv: is not UTF-8 text (line 2 holds a byte that is not)" in latin1
    assert "is a spreadsheet workbook, not CSV" in book
    assert 'quote.csv, line 3: a quote (`"`) opened here is never closed' in quote
    assert "empty.csv: is empty" in empty
    assert missing.strip() == "jerry: cannot read missing.csv: there is no such file"
    for stderr in (columns, notext, latin1, book, quote, empty):
        assert stderr.splitlines()[-1].startswith("jerry: nothing was imported from ")
    assert await count_rows(engine, "items") == 0

    # Usage errors are argparse's: exit status 2.
    usage, unknown_option = await asyncio.gather(
        jerry("items", "import"), jerry("items", "import", "x.csv", "--format", "json")
    )
    assert usage.returncode == 2 and "required: file" in usage.stderr, str(usage)
    assert unknown_option.returncode == 2, str(unknown_option)


async def test_no_routing_model_and_no_token_are_said_in_one_line(
    database_url: str, tmp_path: Path, engine: AsyncEngine
) -> None:
    jerry = jerry_for(tmp_path, database_url)
    write(tmp_path, "backlog.csv", BACKLOG)
    no_model = await jerry("items", "import", "backlog.csv")
    assert no_model.returncode == 1, str(no_model)
    assert "there is no routing model yet" in no_model.stderr
    await seed_routing(database_url, tmp_path)
    no_token = await jerry("items", "import", "backlog.csv")
    assert no_token.returncode == 2 and "SLACK_BOT_TOKEN is not set" in no_token.stderr, str(
        no_token
    )
    assert await count_rows(engine, "items") == 0


# --- what an import owes, with the running app -------------------------------------------------


async def test_route_owes_each_lead_their_dm_and_no_reporter_anything(
    routed: JerryApp,
    fake_slack: FakeSlack,
    database_url: str,
    tmp_path: Path,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    jerry = jerry_for(tmp_path, database_url, fake_slack)
    write(tmp_path, "backlog.csv", BACKLOG)
    fake_slack.calls.clear()
    run = await jerry("items", "import", "backlog.csv", "--route", "--no-check")
    assert run.ok, str(run)
    assert run.stdout.splitlines()[-1].startswith(
        "Routed, each lead owed their usual DM (the running bot sends them; reporters get no "
        "receipt): 1 to Billing"
    )
    # --no-check: the reporter's id taken as written (the app asks about others for itself).
    assert not [c for c in fake_slack.calls_to("users.info") if c.args["user"] == "U0STRANGER"]
    routed.worker.kick()
    await routed.drain()
    payments = " ".join(str(c.args) for c in fake_slack.dms_to("U0PAYLEAD"))
    assert "The invoice PDF shows the wrong VAT rate" in payments
    assert "How do I export my cart" in payments
    assert "no reporter (imported)" in payments and "<@imported>" not in payments
    assert "iphone" in " ".join(str(c.args) for c in fake_slack.dms_to("U0MOBLEAD"))
    assert "nobody routes" in " ".join(
        str(c.args) for c in fake_slack.posts("C0PRODOPS")
    ) + " ".join(str(c.args) for c in fake_slack.dms_to("U0PRODOPS"))
    # Reporters asked nothing just now: no receipt, no DM.
    assert not fake_slack.dms_to("U0REPORTER") and not fake_slack.dms_to("U0STRANGER")
    items = await imported_items(sessions)
    assert all(item.assigned_at is not None for item in items)  # the targets count from now

    # An answer to an item imported without a reporter goes to nobody: no Slack call at all.
    nobody = next(item for item in items if item.reporter_id == NO_REPORTER)
    async with sessions() as session:
        delivery = enqueue(
            session, "answer", item=nobody, answer="Fixed", by="U0PAYLEAD", team="Payments"
        )
        await session.commit()
    fake_slack.calls.clear()
    routed.worker.kick()
    await routed.drain()
    async with sessions() as session:
        sent = await session.get(Delivery, delivery.id)
        assert sent is not None and sent.status == "sent"
    assert not any(
        c.args.get("channel") == NO_REPORTER or c.args.get("users") == NO_REPORTER
        for c in fake_slack.calls
    )


def business_afternoon(day: datetime) -> datetime:
    """The next Wednesday from `day`, 15:00 UTC: business hours in New York, Paris, Berlin."""
    day = day + timedelta(days=(2 - day.weekday()) % 7)
    return day.replace(hour=15, minute=0, second=0, microsecond=0)


OLD = HEADER + "".join(
    f"Old problem number {n} about invoices,{'question' if n % 2 else 'pain_point'},,,,"
    f"2022-0{1 + n % 9}-1{n % 10},OLD-{n}\n"
    for n in range(40)
)


async def test_old_items_imported_owe_nothing_late_at_the_next_tick_nor_later_when_silent(
    routed: JerryApp,
    fake_slack: FakeSlack,
    database_url: str,
    tmp_path: Path,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    jerry = jerry_for(tmp_path, database_url, fake_slack)
    write(tmp_path, "old.csv", OLD)
    write(tmp_path, "routed.csv", OLD.replace("OLD-", "ROUTED-"))
    silent, told = await jerry("items", "import", "old.csv"), None
    assert silent.ok, str(silent)
    told = await jerry("items", "import", "routed.csv", "--route")
    assert told.ok, str(told)
    routed.worker.kick()
    await routed.drain()
    fake_slack.calls.clear()

    # The tick right after: items two years old, nothing late (no reminder, no escalation,
    # no late message for product ops).
    summary = await routed.run_reminders(utcnow() + timedelta(minutes=1))
    assert (summary.reminders, summary.escalations, summary.deferred) == (0, 0, 0), summary
    # A month on, the items imported silently still owe nothing (nobody was asked); those
    # told with --route are reminded as any item is, counted from the import.
    later = await routed.run_reminders(business_afternoon(utcnow() + timedelta(days=30)))
    await routed.drain()
    async with sessions() as session:
        items = {item.id: item for item in await session.scalars(select(Item))}
        owed = list(
            await session.scalars(
                select(Delivery).where(
                    Delivery.purpose.in_(("reminder", "escalation", "late_message"))
                )
            )
        )
    silent_ids = {i for i, item in items.items() if item.intake_key.startswith("import:OLD-")}
    assert len(silent_ids) == 40
    assert not [d for d in owed if d.item_id in silent_ids]
    assert later.sent > 0 and all(d.item_id not in silent_ids for d in owed)
    assert {items[i].sla_due_at for i in silent_ids} == {None}
    assert {items[i].next_reminder_at for i in silent_ids} == {None}

    # Acknowledged later, a silently imported question's answer target starts then.
    question = next(i for i in sorted(silent_ids) if items[i].kind == "question")
    async with sessions() as session:
        item = await session.get(Item, question)
        assert item is not None
        item.status, item.acknowledged_at = "acknowledged", utcnow()
        item.acknowledged_by = "U0PAYLEAD"
        await session.commit()
    await routed.run_reminders(utcnow() + timedelta(minutes=1))
    async with sessions() as session:
        item = await session.get(Item, question)
        assert item is not None and item.sla_due_at is not None
        assert item.sla_due_at > utcnow()


# --- scale ------------------------------------------------------------------------------------


def big_sheet(rows: int) -> str:
    words = [
        "invoice",
        "refund",
        "checkout",
        "cart",
        "payment",
        "iphone",
        "crash",
        "android",
        "export",
        "dashboard",
    ]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["text", "kind", "area", "reporter", "customer", "created_at", "external_id"])
    for n in range(rows):
        text = " ".join(words[(n * k) % len(words)] for k in range(1, 8)) + f" (case {n})"
        writer.writerow(
            [
                text,
                "question" if n % 3 == 0 else "pain_point",
                ["", "Billing", "Checkout", "iOS app", "Android app"][n % 5],
                "U0REPORTER" if n % 2 else "",
                "ACME" if n % 7 == 0 else "",
                f"2023-{1 + n % 12:02d}-{1 + n % 28:02d}T10:00:00Z",
                f"BIG-{n}",
            ]
        )
    return out.getvalue()


async def test_ten_thousand_rows(
    modelled: str,
    tmp_path: Path,
    engine: AsyncEngine,
    capsys: pytest.CaptureFixture[str],
) -> None:
    jerry = jerry_for(tmp_path, modelled)
    write(tmp_path, "big.csv", big_sheet(10_000))
    started = time.monotonic()
    run = await jerry("items", "import", "big.csv", "--no-check")
    took = time.monotonic() - started
    assert run.ok, str(run)
    assert run.stdout.startswith("jerry: imported 10,000 items from big.csv"), run.stdout
    assert await count_rows(engine, "items") == 10_000
    assert await count_rows(engine, "similar_entries") == 10_000
    assert await count_rows(engine, "item_events") == 20_000
    assert await count_rows(engine, "deliveries") == 0
    again = await jerry("items", "import", "big.csv", "--no-check")
    assert "(10,000 already there, skipped)" in again.stdout, str(again)
    with capsys.disabled():  # measured, reported, never asserted
        print(f"\n10,000 rows imported in {took:.1f} s on {engine.dialect.name}")


async def test_a_category_column_in_english_or_french(
    modelled: str, tmp_path: Path, sessions: async_sessionmaker[AsyncSession]
) -> None:
    jerry = jerry_for(tmp_path, modelled)
    write(
        tmp_path,
        "kinds.csv",
        "text,kind,category\n"
        "the invoice total is wrong,pain_point,Bug\n"
        "export every invoice as one CSV,pain_point,Nouvelle fonctionnalité\n"
        "who approves refunds?,question,process\n"
        "onboarding takes a week,pain_point,\n",
    )
    run = await jerry("items", "import", "kinds.csv", "--no-check")
    assert run.ok, str(run)
    assert [i.category for i in await imported_items(sessions)] == ["bug", "feature", None, None]
    write(tmp_path, "bad.csv", "text,category\nthe export is slow,outage\n")
    bad = await jerry("items", "import", "bad.csv", "--no-check")
    assert bad.returncode == 1
    assert bad.stderr.splitlines()[0] == (
        "bad.csv, line 2, column category: unknown kind of problem “outage”: use bug, feature, "
        "process, other (or leave it empty)"
    )
