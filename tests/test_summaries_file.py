"""The summaries file: checking it (every problem, with its line), writing it back, and
`jerry summaries import/export` on the database (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import Settings
from bot.intake.routing_cli import import_file as import_routing
from bot.summaries.cli import export_file, import_file
from bot.summaries.file import (
    FeedSpec,
    SubscriptionSpec,
    SummariesConfig,
    SummariesFileError,
    dump,
    parse,
    parse_weekday,
)
from models.summaries import SummarySubscription
from models.updates import Feed
from tests.harness import ROUTING_YAML

AREAS = ["Billing", "Checkout", "iOS app", "Android app"]
NOW = datetime(2026, 11, 18, 10, 0, tzinfo=UTC)

GOOD = """\
subscriptions:
  - name: sales-weekly
    channel: C0SALES
    areas: [billing, Checkout]
    weekday: monday
    time: "09:00"
    timezone: Europe/Paris
    language: fr
  - name: cs digest
    channel: C0CS
    weekday: fri
    time: 16:30
    timezone: America/New_York
  - name: marketing
    channel: G0MARKETING
    areas: iOS app
    weekday: 2
feeds:
  - name: web releases
    github: acme/web
    area: Checkout
  - name: changelog
    rss: https://example.com/changelog.xml
    area: billing
  - name: mobile json
    json: https://example.com/feed.json
    area: iOS app
"""


def line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


def problems(text: str, **kwargs: object) -> list[tuple[int, str, str]]:
    with pytest.raises(SummariesFileError) as caught:
        parse(text, **kwargs)  # type: ignore[arg-type]
    return [(p.line, p.field, p.message) for p in caught.value.errors]


# --- parsing ------------------------------------------------------------------------------------


def test_a_good_file_reads_with_defaults_and_the_routing_spelling_of_areas() -> None:
    config = parse(GOOD, areas=AREAS)
    assert config.subscriptions == (
        SubscriptionSpec(
            name="sales-weekly",
            channel="C0SALES",
            areas=("Billing", "Checkout"),  # as the routing model spells them
            weekday=0,
            time="09:00",
            timezone="Europe/Paris",
            language="fr",
        ),
        SubscriptionSpec(
            name="cs digest",
            channel="C0CS",
            weekday=4,
            time="16:30",  # unquoted YAML 16:30 is read as written, not as sexagesimal
            timezone="America/New_York",
        ),
        SubscriptionSpec(name="marketing", channel="G0MARKETING", areas=("iOS app",), weekday=2),
    )
    assert config.feeds == (
        FeedSpec(name="web releases", kind="github", url="acme/web", area="Checkout"),
        FeedSpec(
            name="changelog", kind="rss", url="https://example.com/changelog.xml", area="Billing"
        ),
        FeedSpec(
            name="mobile json", kind="json", url="https://example.com/feed.json", area="iOS app"
        ),
    )
    # An empty file, or one with empty lists, is a valid "nothing".
    assert parse("") == SummariesConfig()
    assert parse("subscriptions: []\nfeeds:\n") == SummariesConfig()


@pytest.mark.parametrize(
    ("text", "day"),
    [("monday", 0), ("Mon", 0), ("0", 0), ("sunday", 6), ("6", 6), ("lundi", 0), ("ven", 4)],
)
def test_weekdays_in_every_accepted_form(text: str, day: int) -> None:
    assert parse_weekday(text) == day


BAD = """\
subscriptions:
  - name: sales-weekly
    channel: "#sales"
    weekday: someday
    time: "25:00"
    timezone: Europe/Pariss
    language: de
    colour: blue
  - name: Sales-Weekly
    channel: C0SALES2
    areas: [Billing, Growth]
  - channel: C0NONAME
feeds:
  - name: both
    github: acme/web
    rss: https://example.com/x.xml
    area: Billing
  - name: bad url
    rss: ftp://example.com/x.xml
    area: Billing
  - name: bad repo
    github: not a repo
    area: Nowhere
  - name: no area
    json: https://example.com/feed.json
"""


def test_every_problem_is_reported_with_its_line_and_field() -> None:
    found = problems(BAD, areas=AREAS)
    where = {(line, field) for line, field, _ in found}
    expected = {
        (line_of(BAD, '"#sales"'), "subscriptions[0].channel"),
        (line_of(BAD, "someday"), "subscriptions[0].weekday"),
        (line_of(BAD, "25:00"), "subscriptions[0].time"),
        (line_of(BAD, "Pariss"), "subscriptions[0].timezone"),
        (line_of(BAD, "language: de"), "subscriptions[0].language"),
        (line_of(BAD, "colour"), "subscriptions[0].colour"),
        (line_of(BAD, "Sales-Weekly"), "subscriptions[1].name"),  # names are case-insensitive
        (line_of(BAD, "Growth"), "subscriptions[1].areas[1]"),
        (line_of(BAD, "C0NONAME"), "subscriptions[2].name"),
        (line_of(BAD, "name: both"), "feeds[0]"),
        (line_of(BAD, "ftp://"), "feeds[1].rss"),
        (line_of(BAD, "not a repo"), "feeds[2].github"),
        (line_of(BAD, "Nowhere"), "feeds[2].area"),
        (line_of(BAD, "name: no area"), "feeds[3].area"),
    }
    assert where == expected, sorted(found)
    messages = {field: message for _, field, message in found}
    assert "not a channel name" in messages["subscriptions[0].channel"]
    assert "IANA" in messages["subscriptions[0].timezone"]
    assert messages["subscriptions[1].areas[1]"] == "no area is named “Growth” in the routing model"
    assert "line 2" in messages["subscriptions[1].name"]
    assert "exactly one source" in messages["feeds[0]"] and "github, rss" in messages["feeds[0]"]
    # The error text names the file and the line, one problem a line, in line order.
    with pytest.raises(SummariesFileError) as caught:
        parse(BAD, "summaries.yml", areas=AREAS)
    lines = str(caught.value).splitlines()
    assert len(lines) == len(expected)
    assert lines[0].startswith(f"summaries.yml:{line_of(BAD, '#sales')}: subscriptions[0].channel")
    assert [int(line.split(":")[1]) for line in lines] == sorted(
        int(line.split(":")[1]) for line in lines
    )


def test_without_the_routing_model_areas_are_not_checked_but_yaml_and_shapes_are() -> None:
    assert parse(GOOD).subscriptions[0].areas == ("billing", "Checkout")  # kept as written
    assert problems("subscriptions:\n  - name: x\n    channel: [C0X\n")[0][2].startswith(
        "not valid YAML"
    )
    assert problems("- just\n- a list\n") == [
        (1, "(top level)", "must be a mapping of `key: value` lines")
    ]
    assert problems("subscriptions: {name: x}\n") == [
        (1, "subscriptions", "must be a list of subscriptions")
    ]
    assert problems("subscriptions:\n  - name: x\n") == [
        (2, "subscriptions[0].channel", "is required")
    ]


def test_dump_writes_a_file_that_reads_back_the_same() -> None:
    config = parse(GOOD, areas=AREAS)
    text = dump(config)
    assert text.startswith("# Jerry's weekly summaries")
    assert "weekday: monday" in text and "areas: [Billing, Checkout]" in text
    assert parse(text, areas=AREAS) == config
    assert dump(parse(text, areas=AREAS)) == text


# --- import / export on the database ----------------------------------------------------------


@pytest.fixture
async def admin_settings(database_url: str, tmp_path: Path) -> Settings:
    settings = Settings(_env_file=None, database_url=database_url)  # type: ignore[call-arg]
    routing = tmp_path / "routing.yml"
    routing.write_text(ROUTING_YAML, encoding="utf-8")
    assert await import_routing(settings, routing) == 0
    return settings


async def rows(sessions: async_sessionmaker[AsyncSession]) -> tuple[list, list]:
    async with sessions() as session:
        subs = (
            await session.execute(select(SummarySubscription).order_by(SummarySubscription.id))
        ).scalars()
        feeds = (await session.execute(select(Feed).order_by(Feed.id))).scalars()
        return (
            [
                (s.name, s.channel, s.areas, s.weekday, s.time, s.timezone, s.language, s.status)
                for s in subs
            ],
            [(f.name, f.kind, f.url, f.area_id, f.archived) for f in feeds],
        )


async def test_import_export_round_trip_archives_and_reactivates(
    admin_settings: Settings,
    sessions: async_sessionmaker[AsyncSession],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    path = tmp_path / "summaries.yml"
    path.write_text(GOOD, encoding="utf-8")
    assert await import_file(admin_settings, path, now=NOW) == 0
    assert (
        "subscriptions: 3 added, 0 updated, 0 archived; feeds: 3 added" in capsys.readouterr().out
    )
    subs, feeds = await rows(sessions)
    assert [s[0] for s in subs] == ["sales-weekly", "cs digest", "marketing"]
    assert subs[0] == (
        "sales-weekly",
        "C0SALES",
        ["Billing", "Checkout"],
        0,
        "09:00",
        "Europe/Paris",
        "fr",
        "active",
    )
    assert [f[:3] for f in feeds] == [
        ("web releases", "github", "acme/web"),
        ("changelog", "rss", "https://example.com/changelog.xml"),
        ("mobile json", "json", "https://example.com/feed.json"),
    ]
    async with sessions() as session:
        created = (await session.execute(select(SummarySubscription.created_at))).scalars().all()
    assert set(created) == {NOW}  # owed nothing before the import

    out = tmp_path / "out.yml"
    assert await export_file(admin_settings, out) == 0
    exported = out.read_text(encoding="utf-8")
    assert parse(exported, areas=AREAS) == parse(GOOD, areas=AREAS)
    capsys.readouterr()
    assert await import_file(admin_settings, out, now=NOW) == 0
    assert "3 added" not in capsys.readouterr().out
    assert await rows(sessions) == (subs, feeds)  # importing the export changes nothing

    # One subscription and one feed fewer: archived, not deleted; an unpostable one named
    # again is active again.
    async with sessions() as session:
        row = (
            await session.execute(
                select(SummarySubscription).where(SummarySubscription.name == "sales-weekly")
            )
        ).scalar_one()
        row.status, row.status_reason = "unpostable", "is_archived"
        await session.commit()
    smaller = (
        GOOD.split("  - name: marketing")[0]
        + "feeds:\n"
        + GOOD.split("feeds:\n")[1].split("  - name: mobile json")[0]
    )
    path.write_text(smaller, encoding="utf-8")
    assert await import_file(admin_settings, path, now=NOW) == 0
    printed = capsys.readouterr().out
    assert "1 archived" in printed and "active again: sales-weekly" in printed
    subs, feeds = await rows(sessions)
    assert [(s[0], s[-1]) for s in subs] == [
        ("sales-weekly", "active"),
        ("cs digest", "active"),
        ("marketing", "archived"),
    ]
    assert [(f[0], f[-1]) for f in feeds] == [
        ("web releases", False),
        ("changelog", False),
        ("mobile json", True),
    ]
    assert await export_file(admin_settings, out) == 0
    assert "marketing" not in out.read_text() and "mobile json" not in out.read_text()
    # Named again: back, with the same row (and id).
    path.write_text(GOOD, encoding="utf-8")
    assert await import_file(admin_settings, path, now=NOW) == 0
    assert "active again: marketing" in capsys.readouterr().out
    subs, feeds = await rows(sessions)
    assert len(subs) == 3 and all(s[-1] == "active" for s in subs)
    assert len(feeds) == 3 and not any(f[-1] for f in feeds)


async def test_an_invalid_file_or_a_dry_run_changes_nothing(
    admin_settings: Settings,
    sessions: async_sessionmaker[AsyncSession],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    path = tmp_path / "summaries.yml"
    path.write_text(GOOD, encoding="utf-8")
    assert await import_file(admin_settings, path, now=NOW) == 0
    before = await rows(sessions)
    capsys.readouterr()

    path.write_text(BAD, encoding="utf-8")
    assert await import_file(admin_settings, path, now=NOW) == 1
    err = capsys.readouterr().err
    assert f"{path}:{line_of(BAD, 'Growth')}: subscriptions[1].areas[1]: no area is named" in err
    assert "the summaries were not changed" in err
    assert await rows(sessions) == before

    path.write_text(GOOD.replace("name: cs digest", "name: renamed"), encoding="utf-8")
    assert await import_file(admin_settings, path, dry_run=True, now=NOW) == 0
    assert "would import" in capsys.readouterr().out
    assert await rows(sessions) == before


REPORT_BAD = """\
report:
  channel: "#product-ops"
  dm: [U0CPO, not-a-person]
  timezone: Mars/Olympus
  language: de
  monthly: {day: 31, time: "25:00"}
  quarterly: {day: 1, when: soon}
  colour: blue
"""


def test_the_report_section_every_problem_with_its_line() -> None:
    found = problems(REPORT_BAD, areas=AREAS)
    where = {(line, field) for line, field, _ in found}
    assert where == {
        (2, "report.channel"),
        (3, "report.dm[1]"),
        (4, "report.timezone"),
        (5, "report.language"),
        (6, "report.monthly.day"),
        (6, "report.monthly.time"),
        (7, "report.quarterly.when"),
        (8, "report.colour"),
    }, sorted(found)
    messages = {field: message for _, field, message in found}
    assert messages["report.monthly.day"] == "must be a day of the month, 1 to 28"


def test_the_report_section_reads_with_defaults_and_writes_back() -> None:
    from bot.summaries.file import ReportSchedule, ReportSpec

    only_monthly = parse("report:\n  channel: C0OPS\n  monthly: {day: 3}\n", areas=AREAS)
    assert only_monthly.report == ReportSpec(
        channel="C0OPS", monthly=ReportSchedule(3, "09:00"), quarterly=None
    )
    both = parse("report: {channel: C0OPS, dm: cpo@example.com, language: FR}\n", areas=AREAS)
    assert both.report == ReportSpec(channel="C0OPS", dm=("cpo@example.com",), language="fr")
    assert parse(dump(both), areas=AREAS) == both
    assert parse(dump(only_monthly), areas=AREAS) == only_monthly
