"""Feeds, end to end: Jerry's real httpx client fetches from a fake feed server on 127.0.0.1
(GitHub releases, RSS, Atom, JSON Feed), stores shipped product updates once, makes
conditional requests, and tells the triage channel (through the fake Slack) once when a feed
starts failing and once when it works again. Every test runs on SQLite and PostgreSQL, with a
controlled clock.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.app import JerryApp, create_app
from bot.config import Settings
from bot.db import create_engine, session_factory
from bot.updates.feed_store import feed_updates
from bot.updates.feeds import (
    IMPACT_LIMIT,
    USER_AGENT,
    FetchResult,
    feed_client,
    fetch_all,
)
from models.routing import Area
from models.updates import Feed, ProductUpdate
from tests.fakefeeds import FakeFeeds, atom, json_feed, release, rss
from tests.fakeslack import FakeSlack
from tests.test_cli import Jerry

pytestmark = pytest.mark.usefixtures("routed")
NOW = datetime(2026, 3, 4, 8, 0, tzinfo=UTC)
TRIAGE_CHANNEL = "C0PRODOPS"
TOKEN = "ghp_testtoken"


@pytest.fixture
async def feed_server() -> AsyncIterator[FakeFeeds]:
    server = FakeFeeds()
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
def settings(settings: Settings, feed_server: FakeFeeds) -> Settings:
    """The harness's settings, with GitHub's API at the fake feed server and short timeouts."""
    return settings.model_copy(
        update={
            "jerry_github_api_url": feed_server.base,
            "jerry_github_token": TOKEN,
            "jerry_feed_timeout_seconds": 0.5,
        }
    )


# --- helpers --------------------------------------------------------------------------------


async def add_feed(
    jerry: JerryApp, name: str, kind: str, url: str, *, area: str | None = "Billing", **kw: object
) -> Feed:
    async with jerry.sessions() as session:
        area_id = None
        if area is not None:
            area_id = (await session.execute(select(Area.id).where(Area.name == area))).scalar_one()
        feed = Feed(name=name, kind=kind, url=url, area_id=area_id, **kw)
        session.add(feed)
        await session.commit()
        return feed


async def fetch(jerry: JerryApp, now: datetime = NOW) -> dict[str, FetchResult]:
    settings = jerry.settings
    async with feed_client(settings) as client:
        results = await fetch_all(
            jerry.sessions,
            client,
            github_api=settings.jerry_github_api_url,
            now=now,
            github_token=settings.jerry_github_token,
        )
    return {result.feed: result for result in results}


async def updates(jerry: JerryApp, feed: Feed) -> list[ProductUpdate]:
    async with jerry.sessions() as session:
        return await feed_updates(session, feed.id)


async def feed_row(jerry: JerryApp, feed: Feed) -> Feed:
    async with jerry.sessions() as session:
        row = await session.get(Feed, feed.id)
        assert row is not None
        return row


async def triage_texts(jerry: JerryApp, fake_slack: FakeSlack) -> list[str]:
    """What the triage channel was told (after the outbox has sent everything owed)."""
    jerry.worker.kick()
    await jerry.drain()
    return [call["text"] for call in fake_slack.posts(TRIAGE_CHANNEL)]


def feed_alerts(texts: list[str], name: str) -> tuple[list[str], list[str]]:
    failing = [text for text in texts if f"*{name}* cannot be fetched" in text]
    recovered = [text for text in texts if f"*{name}* works again" in text]
    return failing, recovered


# --- each format ------------------------------------------------------------------------------


async def test_github_releases_drafts_skipped_prereleases_marked(
    jerry: JerryApp, feed_server: FakeFeeds
) -> None:
    long_notes = "Invoices now show the VAT number. " * 100
    path = feed_server.github_releases(
        "acme/app",
        [
            release(3, "v2.0.0-rc1", name="Two point oh (RC)", prerelease=True, body="Try it out"),
            release(2, "v1.1.0", name=None, body=long_notes, published_at="2026-03-03T23:30:00Z"),
            release(1, "v1.0.0", name="First release", body="@channel it is out <!here>"),
            release(4, "v2.1.0", name="Not yet", draft=True, published_at=None),
        ],
    )
    feed = await add_feed(jerry, "App releases", "github", "acme/app")

    result = (await fetch(jerry))["App releases"]

    assert result.outcome == "fetched" and result.new == 3 and result.error is None
    rows = {row.external_id: row for row in await updates(jerry, feed)}
    assert set(rows) == {"1", "2", "3"}  # the draft is not there
    first, second, rc = rows["1"], rows["2"], rows["3"]
    assert first.title == "First release" and second.title == "v1.1.0"  # name, else tag
    assert first.link == "https://github.com/acme/app/releases/tag/v1.0.0"
    assert second.shipped_on == date(2026, 3, 3) and first.shipped_on == date(2026, 3, 2)
    assert (first.audience, second.audience, rc.audience) == ("customer", "customer", "internal")
    assert {row.kind for row in rows.values()} == {"shipped"}
    assert {row.status for row in rows.values()} == {"active"}
    assert {row.area_id for row in rows.values()} == {feed.area_id}
    assert {row.author_id for row in rows.values()} == {None}
    # The notes are cut cleanly, and no broadcast survives.
    assert second.customer_impact is not None
    assert len(second.customer_impact) <= IMPACT_LIMIT and second.customer_impact.endswith("…")
    assert second.customer_impact.startswith("Invoices now show the VAT number.")
    assert first.customer_impact is not None
    assert "<!here>" not in first.customer_impact and "@channel" not in first.customer_impact
    # GitHub is asked as its API wants, with Jerry's User-Agent and the token.
    sent = feed_server.requests_to(path)[-1].headers
    assert sent["User-Agent"] == USER_AGENT and USER_AGENT.startswith("Jerry/")
    assert sent["Authorization"] == f"Bearer {TOKEN}"
    assert sent["Accept"] == "application/vnd.github+json"


async def test_rss_ids_from_guid_link_or_hash_html_text_unicode_and_time_zones(
    jerry: JerryApp, feed_server: FakeFeeds
) -> None:
    feed_server.set_body(
        "/changelog.xml",
        rss(
            [
                {
                    "title": "Facturé en euros — 請求書 🎉",
                    "link": "https://example.com/notes/1",
                    "guid": "urn:note:1",
                    "description": "<p>Invoices in <b>EUR</b> &amp; more.</p><ul><li>one</li>"
                    "<li>two</li></ul>",
                    "pubDate": "Tue, 03 Mar 2026 23:30:00 -0800",  # Wednesday in UTC
                },
                {
                    "title": "Checkout is faster",
                    "link": "https://example.com/notes/2",
                    "pubDate": "Mon, 02 Mar 2026 01:30:00 +0200",  # still Sunday in UTC
                },
                {"title": "No id, no link", "description": "Only a title and text"},
            ]
        ),
        "application/rss+xml",
    )
    feed = await add_feed(jerry, "Changelog", "rss", feed_server.url("/changelog.xml"))

    result = (await fetch(jerry))["Changelog"]

    assert result.outcome == "fetched" and result.new == 3
    rows = await updates(jerry, feed)
    by_title = {row.title: row for row in rows}
    accented = by_title["Facturé en euros — 請求書 🎉"]
    assert accented.external_id == "urn:note:1"
    assert accented.shipped_on == date(2026, 3, 4)
    assert accented.customer_impact == "Invoices in EUR &amp; more.\n• one\n• two"
    checkout = by_title["Checkout is faster"]
    assert checkout.external_id == "https://example.com/notes/2"  # no guid: the link
    assert checkout.shipped_on == date(2026, 3, 1)
    bare = by_title["No id, no link"]
    assert bare.external_id.startswith("sha256:") and bare.link is None
    assert bare.shipped_on == NOW.date()  # no date: the day Jerry first saw it


async def test_rss_in_latin_1_is_read_as_such(jerry: JerryApp, feed_server: FakeFeeds) -> None:
    feed_server.set_body(
        "/latin.xml",
        rss([{"title": "Relevé de facture amélioré", "guid": "l1"}], encoding="iso-8859-1"),
        "application/rss+xml",
    )
    feed = await add_feed(jerry, "Latin", "rss", feed_server.url("/latin.xml"))
    assert (await fetch(jerry))["Latin"].new == 1
    assert [row.title for row in await updates(jerry, feed)] == ["Relevé de facture amélioré"]


async def test_atom_entries_with_offsets_and_html_content(
    jerry: JerryApp, feed_server: FakeFeeds
) -> None:
    feed_server.set_body(
        "/notes.atom",
        atom(
            [
                {
                    "id": "tag:example.com,2026:notes/7",
                    "title": "Refunds in one click",
                    "link": "https://example.com/notes/7",
                    "updated": "2026-03-02T01:00:00+02:00",
                    "content": "<p>Support can refund <em>without</em> finance.</p>",
                },
                {
                    "id": "tag:example.com,2026:notes/8",
                    "title": "Dark mode",
                    "published": "2026-03-03T12:00:00Z",
                    "updated": "2026-03-05T12:00:00Z",
                    "summary": "Easier on the eyes",
                },
            ]
        ),
        "application/atom+xml",
    )
    feed = await add_feed(jerry, "Notes", "rss", feed_server.url("/notes.atom"), area="Checkout")

    assert (await fetch(jerry))["Notes"].new == 2
    rows = {row.external_id: row for row in await updates(jerry, feed)}
    refunds = rows["tag:example.com,2026:notes/7"]
    assert refunds.shipped_on == date(2026, 3, 1)  # 01:00 at +02:00 is the day before in UTC
    assert refunds.customer_impact == "Support can refund without finance."
    assert refunds.link == "https://example.com/notes/7"
    assert rows["tag:example.com,2026:notes/8"].shipped_on == date(2026, 3, 3)  # published wins


async def test_json_feed_items(jerry: JerryApp, feed_server: FakeFeeds) -> None:
    feed_server.set_body(
        "/feed.json",
        json_feed(
            [
                {
                    "id": 42,
                    "title": "Export to CSV",
                    "url": "https://example.com/42",
                    "content_text": "Sales can export their pipeline.",
                    "date_published": "2026-03-03T22:15:00-05:00",
                },
                {
                    "id": "note-43",
                    "content_html": "<p>Faster search</p><p>Ten times faster.</p>",
                    "summary": "Search is faster",
                    "date_published": "2026-03-02T09:00:00Z",
                },
                {"id": "note-44", "title": "Ünïcödé ✓"},
            ]
        ),
        "application/feed+json",
    )
    feed = await add_feed(jerry, "JSON", "json", feed_server.url("/feed.json"), area=None)

    assert (await fetch(jerry))["JSON"].new == 3
    rows = {row.external_id: row for row in await updates(jerry, feed)}
    csv = rows["42"]
    assert (csv.title, csv.link) == ("Export to CSV", "https://example.com/42")
    assert csv.customer_impact == "Sales can export their pipeline."
    assert csv.shipped_on == date(2026, 3, 4) and csv.area_id is None
    search = rows["note-43"]
    assert search.title == "Search is faster" and search.customer_impact == "Search is faster"
    assert rows["note-44"].title == "Ünïcödé ✓" and rows["note-44"].shipped_on == NOW.date()


# --- conditional requests and deduplication ---------------------------------------------------


async def test_second_fetch_is_conditional_304_changes_nothing_new_entries_added_once(
    jerry: JerryApp, feed_server: FakeFeeds
) -> None:
    items = [{"title": "One", "guid": "1"}, {"title": "Two", "guid": "2"}]
    first = feed_server.set_body("/c.xml", rss(items), "application/rss+xml")
    feed = await add_feed(jerry, "C", "rss", feed_server.url("/c.xml"))

    assert (await fetch(jerry))["C"].new == 2
    stored = await feed_row(jerry, feed)
    assert (stored.etag, stored.last_modified) == (first.etag, first.last_modified)
    assert stored.checked_at == NOW

    later = NOW + timedelta(hours=1)
    result = (await fetch(jerry, later))["C"]
    assert result.outcome == "unchanged" and result.new == 0
    request = feed_server.requests_to("/c.xml")[-1]
    assert request.headers["If-None-Match"] == first.etag
    assert request.headers["If-Modified-Since"] == first.last_modified
    assert request.status == 304
    stored = await feed_row(jerry, feed)
    assert stored.etag == first.etag and stored.checked_at == later
    assert len(await updates(jerry, feed)) == 2

    # The feed changes: the whole feed comes again, only the new entry is added.
    second = feed_server.set_body(
        "/c.xml", rss([{"title": "Three", "guid": "3"}, *items]), "application/rss+xml"
    )
    result = (await fetch(jerry, later + timedelta(hours=1)))["C"]
    assert result.outcome == "fetched" and result.new == 1 and len(result.entries) == 3
    assert sorted(row.title for row in await updates(jerry, feed)) == ["One", "Three", "Two"]
    assert (await feed_row(jerry, feed)).etag == second.etag


async def test_a_withdrawn_entry_is_not_brought_back(
    jerry: JerryApp, feed_server: FakeFeeds
) -> None:
    feed_server.set_body("/w.json", json_feed([{"id": "a", "title": "Oops"}]), "application/json")
    feed = await add_feed(jerry, "W", "json", feed_server.url("/w.json"))
    await fetch(jerry)
    async with jerry.sessions() as session:
        row = (await session.execute(select(ProductUpdate))).scalar_one()
        row.status = "withdrawn"
        await session.commit()
    # The server forgets its validators: the full feed comes back, the entry stays withdrawn.
    async with jerry.sessions() as session:
        stored = await session.get(Feed, feed.id)
        assert stored is not None
        stored.etag = stored.last_modified = None
        await session.commit()
    assert (await fetch(jerry))["W"].new == 0
    assert [row.status for row in await updates(jerry, feed)] == ["withdrawn"]


async def test_two_processes_fetching_together_store_each_entry_once_and_alert_once(
    jerry: JerryApp, feed_server: FakeFeeds, fake_slack: FakeSlack, database_url: str
) -> None:
    items = [{"title": f"Entry {n}", "guid": f"e{n}"} for n in range(60)]
    feed_server.set_body("/big.xml", rss(items), "application/rss+xml")
    feed_server.fail("/broken.xml", "500")
    feed = await add_feed(jerry, "Big", "rss", feed_server.url("/big.xml"))
    await add_feed(jerry, "Broken", "rss", feed_server.url("/broken.xml"))
    engines = [create_engine(database_url) for _ in range(2)]  # two "processes"
    try:

        async def process(sessions: async_sessionmaker[AsyncSession]) -> list[FetchResult]:
            async with httpx.AsyncClient(timeout=5) as client:
                return await fetch_all(sessions, client, github_api=feed_server.base, now=NOW)

        runs = await asyncio.gather(*(process(session_factory(engine)) for engine in engines))
    finally:
        for engine in engines:
            await engine.dispose()

    big = [result for run in runs for result in run if result.feed == "Big"]
    assert [result.outcome for result in big] == ["fetched", "fetched"]
    assert sum(result.new for result in big) == 60  # however the two interleaved
    assert len(await updates(jerry, feed)) == 60
    broken = [result for run in runs for result in run if result.feed == "Broken"]
    assert [result.outcome for result in broken] == ["failed", "failed"]
    assert sorted(str(result.alert) for result in broken) == ["None", "feed_failing"]
    failing, _ = feed_alerts(await triage_texts(jerry, fake_slack), "Broken")
    assert len(failing) == 1


async def test_archived_feeds_are_not_fetched(jerry: JerryApp, feed_server: FakeFeeds) -> None:
    feed_server.set_body("/old.xml", rss([{"title": "x", "guid": "x"}]), "application/rss+xml")
    await add_feed(jerry, "Old", "rss", feed_server.url("/old.xml"), archived=True)
    assert await fetch(jerry) == {}
    assert feed_server.requests_to("/old.xml") == []


# --- failures -------------------------------------------------------------------------------

FAILURE_CASES = {
    # kind: (feed kind, what the error says)
    "500": ("rss", "HTTP 500 Internal Server Error"),
    "hang": ("rss", "timed out (timeout 0.5 s)"),
    "trickle": ("rss", "timed out (timeout 0.5 s)"),
    "invalid_xml": ("rss", "not an RSS or Atom feed (invalid XML"),
    "invalid_json": ("json", "invalid JSON"),
    "rate_limit": ("github", "rate limited by GitHub until 2030-03-17 17:46 UTC"),
    "huge": ("rss", "larger than 5 MB"),
    "huge_declared": ("json", "larger than 5 MB"),
}


@pytest.mark.parametrize("kind", sorted(FAILURE_CASES))
async def test_a_failure_is_told_to_triage_once_and_the_recovery_once(
    jerry: JerryApp, feed_server: FakeFeeds, fake_slack: FakeSlack, kind: str
) -> None:
    feed_kind, expected = FAILURE_CASES[kind]
    if feed_kind == "github":
        path = feed_server.github_releases("acme/app", [release(1, "v1.0.0")])
        url = "acme/app"
    elif feed_kind == "json":
        path = "/feed.json"
        feed_server.set_body(path, json_feed([{"id": "1", "title": "One"}]), "application/json")
        url = feed_server.url(path)
    else:
        path = "/feed.xml"
        feed_server.set_body(path, rss([{"title": "One", "guid": "1"}]), "application/rss+xml")
        url = feed_server.url(path)
    feed = await add_feed(jerry, "Flaky", feed_kind, url)
    feed_server.fail(path, kind)

    first = (await fetch(jerry))["Flaky"]
    assert first.outcome == "failed" and first.alert == "feed_failing"
    assert first.error is not None and expected in first.error, first.error
    stored = await feed_row(jerry, feed)
    assert stored.failures == 1 and stored.last_error == first.error and stored.checked_at == NOW
    assert stored.etag is None  # nothing was read: no validators to keep
    assert await updates(jerry, feed) == []

    again = (await fetch(jerry, NOW + timedelta(hours=1)))["Flaky"]
    assert again.outcome == "failed" and again.alert is None
    assert (await feed_row(jerry, feed)).failures == 2
    failing, recovered = feed_alerts(await triage_texts(jerry, fake_slack), "Flaky")
    assert len(failing) == 1 and not recovered
    assert expected.split(" (")[0] in failing[0]

    feed_server.heal(path)
    healed = (await fetch(jerry, NOW + timedelta(hours=2)))["Flaky"]
    assert healed.outcome == "fetched" and healed.new == 1 and healed.alert == "feed_recovered"
    stored = await feed_row(jerry, feed)
    assert (stored.failures, stored.last_error) == (0, None)
    assert (await fetch(jerry, NOW + timedelta(hours=3)))["Flaky"].outcome == "unchanged"
    failing, recovered = feed_alerts(await triage_texts(jerry, fake_slack), "Flaky")
    assert (len(failing), len(recovered)) == (1, 1)


async def test_a_failing_feed_does_not_stop_the_others(
    jerry: JerryApp, feed_server: FakeFeeds, fake_slack: FakeSlack
) -> None:
    feed_server.set_body("/a.xml", rss([{"title": "A1", "guid": "a1"}]), "application/rss+xml")
    feed_server.set_body("/slow.xml", rss([{"title": "S", "guid": "s"}]), "application/rss+xml")
    feed_server.fail("/slow.xml", "hang")
    feed_server.github_releases("acme/app", [release(9, "v9")])
    a = await add_feed(jerry, "A", "rss", feed_server.url("/a.xml"))
    await add_feed(jerry, "Slow", "rss", feed_server.url("/slow.xml"))
    await add_feed(jerry, "Missing", "rss", feed_server.url("/nowhere.xml"))
    await add_feed(jerry, "Bad address", "rss", "ftp://example.com/feed")
    gh = await add_feed(jerry, "GitHub", "github", "https://github.com/acme/app")

    results = await fetch(jerry)

    assert list(results) == ["A", "Bad address", "GitHub", "Missing", "Slow"]  # by name
    assert results["A"].new == 1 and results["GitHub"].new == 1
    assert [row.title for row in await updates(jerry, a)] == ["A1"]
    assert [row.title for row in await updates(jerry, gh)] == ["v9"]
    assert results["Missing"].error == "HTTP 404 Not Found"
    assert results["Bad address"].error is not None
    assert results["Bad address"].error.startswith("invalid address")
    assert results["Slow"].error is not None and "timed out" in results["Slow"].error
    texts = await triage_texts(jerry, fake_slack)
    for name in ("Slow", "Missing", "Bad address"):
        assert len(feed_alerts(texts, name)[0]) == 1, texts


async def test_without_a_triage_channel_the_triage_lead_is_told(
    jerry: JerryApp, feed_server: FakeFeeds, sessions: async_sessionmaker[AsyncSession]
) -> None:
    feed_server.fail("/x.xml", "500")
    feed = await add_feed(jerry, "X", "rss", feed_server.url("/x.xml"))
    async with sessions() as session:
        from models.routing import Team

        triage = (await session.execute(select(Team).where(Team.is_triage))).scalar_one()
        triage.channel = None
        await session.commit()
    await fetch(jerry)
    assert (await feed_row(jerry, feed)).failures == 1
    # Without a channel the triage lead is told instead (alert_triage's rule).
    async with sessions() as session:
        from models.deliveries import Delivery

        rows = (await session.execute(select(Delivery))).scalars().all()
    assert [(row.purpose, row.recipient) for row in rows] == [("triage_alert", "U0PRODOPS")]


# --- the scheduler job and the CLI --------------------------------------------------------------


async def test_the_feeds_job_runs_fetch_all_on_its_schedule(
    settings: Settings, feed_server: FakeFeeds, jerry: JerryApp, fake_slack: FakeSlack
) -> None:
    feed_server.set_body("/j.json", json_feed([{"id": "1", "title": "One"}]), "application/json")
    feed = await add_feed(jerry, "J", "json", feed_server.url("/j.json"))
    assert "feeds" not in jerry.scheduler.jobs  # JERRY_FEED_MINUTES=0 turns it off
    app = create_app(settings.model_copy(update={"jerry_feed_minutes": 30}))
    try:
        assert "feeds" in app.scheduler.jobs
        start = datetime(2026, 3, 4, 8, 10, tzinfo=UTC)
        assert "feeds" not in await app.scheduler.run_pending(start)  # first time: registered
        assert feed_server.requests_to("/j.json") == []
        assert "feeds" not in await app.scheduler.run_pending(start + timedelta(minutes=15))
        tick = datetime(2026, 3, 4, 8, 31, tzinfo=UTC)
        assert "feeds" in await app.scheduler.run_pending(tick)
        rows = await updates(jerry, feed)
        assert [(row.title, row.created_at) for row in rows] == [("One", tick)]
        assert (await feed_row(jerry, feed)).checked_at == tick
        # The next slot asks conditionally; a failure goes to the outbox and is sent.
        feed_server.fail("/j.json", "500")
        assert "feeds" in await app.scheduler.run_pending(tick + timedelta(minutes=30))
        assert (await feed_row(jerry, feed)).failures == 1
        assert feed_server.requests_to("/j.json")[0].headers.get("If-None-Match") is None
        assert "feeds" not in await app.scheduler.run_pending(tick + timedelta(minutes=31))
    finally:
        await app.stop()
    failing, _ = feed_alerts(await triage_texts(jerry, fake_slack), "J")
    assert len(failing) == 1


async def test_jerry_summaries_fetch_prints_each_feed(
    jerry: JerryApp, feed_server: FakeFeeds, database_url: str, tmp_path: Path
) -> None:
    cli = Jerry(
        tmp_path,
        {
            "DATABASE_URL": database_url,
            "JERRY_GITHUB_API_URL": feed_server.base,
            "JERRY_FEED_TIMEOUT_SECONDS": "2",
        },
    )
    empty = await cli("summaries", "fetch")
    assert empty.ok and "No feeds to fetch" in empty.stdout, str(empty)

    feed_server.set_body(
        "/n.xml", rss([{"title": "N1", "guid": "1"}, {"title": "N2", "guid": "2"}]), "text/xml"
    )
    feed_server.github_releases("acme/app", [release(5, "v5")])
    feed_server.fail("/down.xml", "500")
    await add_feed(jerry, "News", "rss", feed_server.url("/n.xml"))
    await add_feed(jerry, "Releases", "github", "acme/app")
    await add_feed(jerry, "Down", "rss", feed_server.url("/down.xml"))

    first = await cli("summaries", "fetch")
    assert first.returncode == 1, str(first)  # one feed failed
    assert first.stdout.splitlines() == [
        "Down: error: HTTP 500 Internal Server Error",
        "News: 2 new entries (2 in the feed)",
        "Releases: 1 new entry (1 in the feed)",
    ], str(first)
    assert "Traceback" not in first.stderr
    assert feed_server.requests_to("/repos/acme/app/releases")[-1].headers["User-Agent"] == (
        USER_AGENT
    )

    feed_server.heal("/down.xml")
    feed_server.set_body("/down.xml", rss([]), "application/rss+xml")
    second = await cli("summaries", "fetch")
    assert second.ok, str(second)
    assert second.stdout.splitlines() == [
        "Down: 0 new entries (0 in the feed)",
        "News: unchanged (304 Not Modified)",
        "Releases: unchanged (304 Not Modified)",
    ], str(second)
    async with jerry.sessions() as session:
        total = (await session.execute(select(func.count(ProductUpdate.id)))).scalar_one()
    assert total == 3


# --- with the other parts: the summaries file names the feeds, the summary shows them -------


async def test_feeds_from_the_summaries_file_reach_the_weekly_summary(
    jerry: JerryApp, settings: Settings, feed_server: FakeFeeds, tmp_path: Path
) -> None:
    from bot.summaries.cli import import_file
    from bot.summaries.content import build_summary, iso_week_period
    from bot.summaries.domain import SummaryScope

    feed_server.github_releases(
        "acme/app",
        [
            release(1, "v1.0.0", name="Invoices in PDF", body="Customers can download them"),
            release(2, "v1.1.0-beta", name="Beta", prerelease=True),
            release(3, "v0.9.0", name="Last week's", published_at="2026-02-27T10:00:00Z"),
        ],
    )
    feed_server.set_body(
        "/mobile.xml",
        rss([{"title": "Offline mode", "guid": "m1", "pubDate": "Tue, 03 Mar 2026 09:00:00 GMT"}]),
        "application/rss+xml",
    )
    path = tmp_path / "summaries.yml"
    path.write_text(
        "subscriptions:\n"
        "  - name: sales\n    channel: C0SALES\n    areas: [Billing]\n"
        "feeds:\n"
        "  - name: app releases\n    github: acme/app\n    area: Billing\n"
        f"  - name: mobile notes\n    rss: {feed_server.url('/mobile.xml')}\n    area: iOS app\n",
        encoding="utf-8",
    )
    assert await import_file(settings, path) == 0

    results = await jerry.run_feeds(NOW)
    assert {result.feed: result.new for result in results} == {
        "app releases": 3,
        "mobile notes": 1,
    }
    summary = await build_summary(
        jerry.sessions,
        SummaryScope(name="sales", areas=("Billing",), language="en", timezone="UTC"),
        iso_week_period("2026-W10", "UTC"),
    )
    shipped = {line.title: line for line in summary.shipped}
    assert set(shipped) == {"Invoices in PDF", "Beta"}  # Billing only, this week only
    pdf = shipped["Invoices in PDF"]
    assert pdf.customer_facing and not shipped["Beta"].customer_facing and pdf.from_feed
    assert pdf.link == "https://github.com/acme/app/releases/tag/v1.0.0"
    assert pdf.customer_impact == "Customers can download them" and pdf.area == "Billing"
