"""What the weekly summary says (bot/summaries/content.py), on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.relay import lead_actions as relay
from bot.summaries.content import (
    build_summary,
    half_end,
    iso_week_period,
    item_words,
    name_words,
    top_themes,
)
from bot.summaries.domain import Period, SummaryScope
from bot.summaries.posting import period_for
from bot.summaries.queries import VoiceTextRow
from bot.views.summary import summary_json, summary_markdown, summary_messages, summary_text
from models.items import Item, ItemEvent
from models.routing import Area, Team
from models.summaries import SummarySubscription
from models.updates import Feed, ProductUpdate
from tests.french import spaced

TZ = "Europe/Paris"
WEEK = "2026-W48"  # Monday 23 Nov 2026 to Sunday 29 Nov, Paris time
PERIOD = iso_week_period(WEEK, TZ)
MON = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)  # inside the week
ALL = SummaryScope(name="Revenue", areas=(), language="en", timezone=TZ)
BILLING = SummaryScope(name="Sales", areas=("Billing",), language="en", timezone=TZ)

Sessions = async_sessionmaker[AsyncSession]


async def model(sessions: Sessions) -> dict[str, int]:
    """Two teams, three areas; returns area name -> id (and team names -> ids)."""
    async with sessions() as session:
        payments = Team(name="Payments", lead="U0PAYLEAD", position=0)
        mobile = Team(name="Mobile", lead="U0MOBLEAD", position=1)
        session.add_all([payments, mobile])
        await session.flush()
        billing = Area(
            team_id=payments.id, name="Billing", keywords=["invoice", "refund"], position=0
        )
        checkout = Area(team_id=payments.id, name="Checkout", keywords=["cart"], position=1)
        ios = Area(team_id=mobile.id, name="iOS app", keywords=["crash"], position=0)
        session.add_all([billing, checkout, ios])
        await session.commit()
        return {
            "Billing": billing.id,
            "Checkout": checkout.id,
            "iOS app": ios.id,
            "team:Payments": payments.id,
            "team:Mobile": mobile.id,
        }


async def add_update(sessions: Sessions, **fields: Any) -> int:
    """A product update; recorded at noon (UTC) on the day it shipped unless told."""
    fields.setdefault("title", "An update")
    fields.setdefault("kind", "shipped")
    shipped_on = fields.get("shipped_on")
    fields.setdefault(
        "created_at",
        datetime.combine(shipped_on, time(12), tzinfo=UTC) if shipped_on else MON,
    )
    async with sessions() as session:
        update = ProductUpdate(**fields)
        session.add(update)
        await session.commit()
        return update.id


_counter = iter(range(1, 1_000_000))


async def add_item(
    sessions: Sessions,
    *,
    created_at: datetime,
    kind: str = "painpoint",
    text: str = "something is wrong",
    area_id: int | None = None,
    team_id: int | None = None,
    reporter: str = "U0REPORTER",
    anonymous: bool = False,
    answered_after: timedelta | None = None,
    answer: str | None = None,
    share: bool = False,
    resolved_at: datetime | None = None,
    keywords: list[str] | None = None,
    customer: str | None = None,
) -> int:
    async with sessions() as session:
        item = Item(
            kind=kind,
            text=text,
            reporter_id=reporter,
            anonymous=anonymous,
            source="command",
            intake_key=f"k{next(_counter)}",
            area_id=area_id,
            team_id=team_id,
            route_step="keywords" if keywords else "triage",
            route_detail={"keywords": keywords} if keywords else {},
            created_at=created_at,
            status="resolved" if resolved_at else "open",
            resolved_at=resolved_at,
            customer=customer,
        )
        session.add(item)
        await session.flush()
        session.add(ItemEvent(item_id=item.id, at=created_at, actor=reporter, kind="created"))
        if answered_after is not None:
            item.answered_at = created_at + answered_after
            item.answer_text = answer or "here is the answer"
            item.answered_by = "U0PAYLEAD"
            item.share_in_summary = share
            item.shared_at = item.answered_at if share else None
            session.add(
                ItemEvent(item_id=item.id, at=item.answered_at, actor="U0PAYLEAD", kind="answered")
            )
        await session.commit()
        return item.id


def test_iso_week_period_is_monday_to_monday_in_the_timezone() -> None:
    expected = Period(
        week=WEEK,
        start=datetime(2026, 11, 22, 23, 0, tzinfo=UTC),
        end=datetime(2026, 11, 29, 23, 0, tzinfo=UTC),
    )
    assert expected == PERIOD
    # The week of the switch to summer time is 167 hours long.
    march = iso_week_period("2026-W13", TZ)
    assert march.end - march.start == timedelta(hours=167)
    assert half_end(date(2026, 2, 1)) == date(2026, 6, 30)
    assert half_end(date(2026, 7, 1)) == date(2026, 12, 31)


async def test_shipped_in_the_week_customer_facing_first_withdrawn_ignored(
    sessions: Sessions,
) -> None:
    areas = await model(sessions)
    internal = await add_update(
        sessions,
        title="Faster exports",
        customer_impact="Exports take seconds",
        area_id=areas["Billing"],
        shipped_on=date(2026, 11, 23),
        link="https://example.com/exports",
    )
    customer = await add_update(
        sessions,
        title="PDF invoices",
        customer_impact="Customers download invoices as PDF",
        area_id=areas["Billing"],
        shipped_on=date(2026, 11, 27),
        audience="customer",
    )
    await add_update(  # withdrawn
        sessions,
        title="Oops",
        area_id=areas["Billing"],
        shipped_on=date(2026, 11, 24),
        status="withdrawn",
    )
    await add_update(  # the previous week (Sunday 22 Nov) and the next one (Monday 30 Nov)
        sessions, title="Old", area_id=areas["Billing"], shipped_on=date(2026, 11, 22)
    )
    await add_update(
        sessions, title="Next", area_id=areas["Billing"], shipped_on=date(2026, 11, 30)
    )
    async with sessions() as session:
        feed = Feed(name="changelog", kind="rss", url="https://example.com/feed")
        session.add(feed)
        await session.commit()
        feed_id = feed.id
    from_feed = await add_update(
        sessions,
        title="v2.3",
        area_id=areas["Checkout"],
        shipped_on=date(2026, 11, 29),
        feed_id=feed_id,
        external_id="v2.3",
    )

    summary = await build_summary(sessions, ALL, PERIOD)

    assert [u.id for u in summary.shipped] == [customer, internal, from_feed]
    first = summary.shipped[0]
    assert (first.title, first.area, first.customer_facing) == ("PDF invoices", "Billing", True)
    assert first.customer_impact == "Customers download invoices as PDF"
    assert summary.shipped[1].link == "https://example.com/exports"
    assert summary.shipped[2].from_feed and summary.shipped[2].area == "Checkout"


async def test_coming_up_six_weeks_then_later_this_half_with_overdue(sessions: Sessions) -> None:
    areas = await model(sessions)
    soon = await add_update(
        sessions,
        kind="upcoming",
        title="SSO",
        area_id=areas["Billing"],
        target_date=date(2026, 12, 10),
        confidence="committed",
    )
    late = await add_update(
        sessions,
        kind="upcoming",
        title="Dark mode",
        area_id=areas["iOS app"],
        target_date=date(2026, 11, 2),
        confidence="likely",
    )
    later = await add_update(
        sessions,
        kind="upcoming",
        title="New reports",
        area_id=areas["Billing"],
        target_date=date(2026, 12, 31),
        confidence="exploring",
    )
    await add_update(  # next half: not in this summary
        sessions,
        kind="upcoming",
        title="2027",
        area_id=areas["Billing"],
        target_date=date(2027, 1, 20),
    )
    await add_update(  # withdrawn
        sessions,
        kind="upcoming",
        title="Dropped",
        area_id=areas["Billing"],
        target_date=date(2026, 12, 1),
        status="withdrawn",
    )

    summary = await build_summary(sessions, ALL, iso_week_period("2026-W46", TZ))
    # Week 46 ends Monday 16 Nov: six weeks reach 28 Dec; later: up to 31 Dec.
    assert [(u.id, u.overdue) for u in summary.coming_soon] == [(late, True), (soon, False)]
    assert summary.coming_soon[1].confidence == "committed"
    assert [u.id for u in summary.coming_later] == [later]
    assert summary.coming_later[0].date == date(2026, 12, 31)


async def test_only_the_scope_areas_count(sessions: Sessions) -> None:
    areas = await model(sessions)
    await add_update(
        sessions, title="Billing thing", area_id=areas["Billing"], shipped_on=date(2026, 11, 24)
    )
    await add_update(
        sessions, title="iOS thing", area_id=areas["iOS app"], shipped_on=date(2026, 11, 24)
    )
    await add_update(sessions, title="No area", shipped_on=date(2026, 11, 24))
    await add_item(
        sessions, created_at=MON, area_id=areas["Billing"], team_id=areas["team:Payments"]
    )
    await add_item(sessions, created_at=MON, area_id=areas["iOS app"], team_id=areas["team:Mobile"])
    await add_item(sessions, created_at=MON)  # triage, no area

    scoped = await build_summary(sessions, BILLING, PERIOD)
    assert [u.title for u in scoped.shipped] == ["Billing thing"]
    assert [(v.area, v.total) for v in scoped.voice] == [("Billing", 1)]
    assert scoped.numbers.routed == 1

    everything = await build_summary(sessions, ALL, PERIOD)
    assert sorted(u.title for u in everything.shipped) == ["Billing thing", "No area", "iOS thing"]
    assert sorted((v.area or "", v.total) for v in everything.voice) == [
        ("", 1),
        ("Billing", 1),
        ("iOS app", 1),
    ]
    assert everything.numbers.routed == 2  # the triage-less one was not routed to a team

    unknown = await build_summary(
        sessions, SummaryScope("X", ("Billing", "Nope"), "en", TZ), PERIOD
    )
    assert unknown.unknown_areas == ("Nope",)
    assert [u.title for u in unknown.shipped] == ["Billing thing"]


async def test_what_customers_say_counts_themes_and_never_names_anyone(
    sessions: Sessions,
) -> None:
    areas = await model(sessions)
    billing, payments = areas["Billing"], areas["team:Payments"]
    texts = [
        "The invoice total is wrong for <@U0SECRET> at Acme, exports broken",
        "Refund takes forever; exports broken again",
        "Invoice PDF missing the VAT number",
        "Why is the invoice late? <https://acme.example.com|Acme portal>",
    ]
    for i, text in enumerate(texts):
        await add_item(
            sessions,
            created_at=MON + timedelta(hours=i),
            kind="question" if i % 2 else "painpoint",
            text=text,
            area_id=billing,
            team_id=payments,
            reporter=f"U0REP{i}",
            anonymous=i == 0,
            keywords=["invoice"] if "nvoice" in text else ["refund"],
            answered_after=timedelta(hours=2) if i < 3 else None,
            resolved_at=MON + timedelta(days=1) if i == 0 else None,
        )
    # Last week's and next week's items do not count.
    await add_item(sessions, created_at=PERIOD.start - timedelta(minutes=1), area_id=billing)
    await add_item(sessions, created_at=PERIOD.end, area_id=billing)

    summary = await build_summary(sessions, ALL, PERIOD)

    assert len(summary.voice) == 1
    voice = summary.voice[0]
    assert (voice.area, voice.painpoints, voice.questions) == ("Billing", 2, 2)
    assert (voice.answered, voice.resolved) == (3, 1)
    # Matched keywords first (most items first), then words found in two items or more.
    assert voice.themes == ("invoice", "refund", "broken", "exports")  # "acme" once: links skipped
    rendered = "\n".join(
        [summary_text(summary, "en"), summary_markdown(summary, "en")]
        + [str(m) for m in summary_messages(summary, "en", download_value="1:2026-W48")]
    )
    for who in ("U0REP0", "U0REP1", "U0REP2", "U0REP3", "U0SECRET", "U0REPORTER"):
        assert who not in rendered
        assert who not in str(summary_json(summary))


def test_themes_are_deterministic_and_skip_stop_words() -> None:
    assert item_words("Le paiement est refusé, <@U1> dit que c'est la facture 2026") == {
        "paiement",
        "refuse",
        "dit",
        "facture",
    }
    rows = [VoiceTextRow(1, text, {}) for text in ("zeta alpha", "alpha zeta", "beta", "beta")]
    assert top_themes(rows) == ("alpha", "beta", "zeta")
    assert top_themes(list(reversed(rows))) == ("alpha", "beta", "zeta")


async def test_answered_this_week_only_shared_answers(sessions: Sessions) -> None:
    areas = await model(sessions)
    billing, payments = areas["Billing"], areas["team:Payments"]
    shared = await add_item(
        sessions,
        created_at=MON,
        kind="question",
        text="Can we refund in EUR? <@U0BOSS|boss> asks",
        area_id=billing,
        team_id=payments,
        answered_after=timedelta(hours=3),
        answer="Yes, from *Settings › Refunds*.",
        share=True,
    )
    await add_item(  # answered, not shared
        sessions,
        created_at=MON,
        kind="question",
        text="Private question",
        area_id=billing,
        team_id=payments,
        answered_after=timedelta(hours=1),
    )
    await add_item(  # shared, but answered the week before (asked the week before)
        sessions,
        created_at=PERIOD.start - timedelta(days=3),
        kind="question",
        text="Old question",
        area_id=billing,
        team_id=payments,
        answered_after=timedelta(hours=1),
        share=True,
    )
    asked_before = await add_item(  # asked the week before, answered (and shared) this week
        sessions,
        created_at=PERIOD.start - timedelta(days=1),
        kind="question",
        text="Asked last week",
        area_id=billing,
        team_id=payments,
        answered_after=timedelta(days=2),
        answer="Done",
        share=True,
    )

    summary = await build_summary(sessions, ALL, PERIOD)

    assert [a.item_id for a in summary.shared_answers] == [shared, asked_before]
    first = summary.shared_answers[0]
    assert (first.question, first.answer) == (
        "Can we refund in EUR? @someone asks",
        "Yes, from *Settings › Refunds*.",
    )
    assert (first.team, first.area) == ("Payments", "Billing")
    text = summary_text(summary, "en")
    assert "Can we refund in EUR?" in text and "Private question" not in text


async def test_numbers_compared_with_the_previous_week(sessions: Sessions) -> None:
    areas = await model(sessions)
    billing, payments = areas["Billing"], areas["team:Payments"]
    before = PERIOD.start - timedelta(days=3)
    # Previous week: 1 routed, answered in 4 h; 1 resolved.
    await add_item(
        sessions,
        created_at=before,
        area_id=billing,
        team_id=payments,
        answered_after=timedelta(hours=4),
        resolved_at=before + timedelta(hours=5),
    )
    # This week: 3 routed, answered in 1 h, 2 h and not yet; 2 resolved this week (one of
    # them created the week before).
    await add_item(
        sessions,
        created_at=MON,
        area_id=billing,
        team_id=payments,
        answered_after=timedelta(hours=1),
        resolved_at=MON + timedelta(hours=2),
    )
    await add_item(
        sessions,
        created_at=MON,
        area_id=billing,
        team_id=payments,
        answered_after=timedelta(hours=2),
    )
    await add_item(sessions, created_at=MON, area_id=billing, team_id=payments)
    await add_item(
        sessions,
        created_at=before - timedelta(days=1),
        area_id=billing,
        team_id=payments,
        resolved_at=MON + timedelta(days=1),
    )

    summary = await build_summary(sessions, ALL, PERIOD)

    assert summary.numbers.routed == 3
    assert summary.numbers.median_first_answer == timedelta(hours=1, minutes=30)
    assert summary.numbers.answered == 2
    assert summary.numbers.resolved == 2
    assert summary.previous_numbers is not None
    assert summary.previous_numbers.routed == 2
    assert summary.previous_numbers.median_first_answer == timedelta(hours=4)
    assert summary.previous_numbers.resolved == 1
    text = summary_text(summary, "en")
    assert "Items routed: 3 (previous period: 2, +1)" in text
    assert "Median time to first answer: 1 h 30 min (previous period: 4 h 0 min)" in text
    assert "Items resolved: 2 (previous period: 1, +1)" in text


async def test_an_empty_week_says_so_kindly(sessions: Sessions) -> None:
    await model(sessions)
    summary = await build_summary(sessions, ALL, PERIOD)
    assert summary.is_empty
    assert summary.numbers.routed == 0 and summary.numbers.median_first_answer is None
    text = summary_text(summary, "en")
    assert "Nothing shipped this week" in text
    assert "Nothing announced for the next six weeks yet." in text
    assert "No pain point or question came in this week." in text
    assert "No answer was marked for sharing this week." in text
    messages = summary_messages(summary, "en", download_value="1:2026-W48")
    assert len(messages) == 2  # nothing overflows into the thread: only the method note
    assert "How these numbers are counted" in json.dumps(messages[1]["blocks"])
    post = json.dumps(messages[0]["blocks"])
    for kind_words in (
        "Nothing shipped this week",
        "Nothing announced for the next six weeks yet.",
        "Nothing announced for later this half yet.",
        "No pain point or question came in this week.",
        "No answer was marked for sharing this week.",
        "0 (previous period: 0, =)",
        "no answer yet (previous period: no answer yet)",
    ):
        assert kind_words in post


async def test_french_output(sessions: Sessions) -> None:
    areas = await model(sessions)
    await add_update(
        sessions,
        title="Factures PDF",
        area_id=areas["Billing"],
        shipped_on=date(2026, 11, 25),
        audience="customer",
    )
    await add_update(
        sessions,
        kind="upcoming",
        title="SSO",
        area_id=areas["Billing"],
        target_date=date(2026, 12, 10),
        confidence="likely",
    )
    await add_item(
        sessions,
        created_at=MON,
        area_id=areas["Billing"],
        team_id=areas["team:Payments"],
        answered_after=timedelta(minutes=30),
    )
    scope = SummaryScope(name="Ventes", areas=(), language="fr", timezone=TZ)
    summary = await build_summary(sessions, scope, PERIOD)
    text = summary_text(summary, "fr")
    assert spaced("Cette semaine côté produit : Ventes") in text
    assert "du 23 nov. au 29 nov." in text
    assert "livré le 25 nov." in text and "visible des clients" in text
    assert "prévu le 10 déc." in text and "probable" in text
    assert spaced("Délai médian de première réponse : 30 min") in text
    post = summary_messages(summary, "fr", download_value="1:2026-W48")[0]
    buttons = next(b for b in post["blocks"] if b["type"] == "actions")["elements"]
    assert [b["text"]["text"] for b in buttons] == ["Télécharger en CSV", "Télécharger en Markdown"]


async def test_a_shared_later_answer_is_quoted_in_the_week_it_was_given(
    sessions: Sessions,
) -> None:
    """Answered last week without sharing, answered better this week and shared: this week's
    summary quotes it (the item's first answer time would have hidden it)."""
    # relay.answer stamps the real time: the periods are this week and the one before.
    year, week, _ = datetime.now(UTC).astimezone(ZoneInfo(TZ)).isocalendar()
    this = iso_week_period(f"{year}-W{week:02d}", TZ)
    before = Period("previous", this.start - timedelta(days=7), this.start)
    areas = await model(sessions)
    item_id = await add_item(
        sessions,
        created_at=before.start + timedelta(days=1),
        kind="question",
        text="Can we export invoices?",
        area_id=areas["Billing"],
        team_id=areas["team:Payments"],
        answered_after=timedelta(hours=1),
        answer="Not yet",
    )
    await relay.answer(
        sessions, item_id, "U0ADMIN", "Yes: Billing › Export", ["U0ADMIN"], share=True
    )

    shared = (await build_summary(sessions, ALL, this)).shared_answers
    assert [(a.item_id, a.answer) for a in shared] == [(item_id, "Yes: Billing › Export")]
    assert (await build_summary(sessions, ALL, before)).shared_answers == []
    # Answering again without the tick takes it back out.
    await relay.answer(sessions, item_id, "U0ADMIN", "Actually, not yet", ["U0ADMIN"])
    assert (await build_summary(sessions, ALL, this)).shared_answers == []


# --- the window: from the previous post to this one, every moment once ---------------------

PARIS = ZoneInfo(TZ)


def paris(*args: int) -> datetime:
    return datetime(*args, tzinfo=PARIS).astimezone(UTC)


def monday_nine(**fields: Any) -> SummarySubscription:
    """A subscription posting on Mondays at 09:00 in Paris (not stored: its slots only)."""
    return SummarySubscription(
        name="sales", channel="C0SALES", weekday=0, time="09:00", timezone=TZ, **fields
    )


async def shipped_ids(sessions: Sessions, period: Period) -> set[int]:
    return {u.id for u in (await build_summary(sessions, ALL, period)).shipped}


async def test_two_consecutive_posts_count_each_update_once_and_lose_none(
    sessions: Sessions,
) -> None:
    areas = await model(sessions)
    billing = areas["Billing"]
    subscription = monday_nine()
    first = period_for(subscription, "2026-W49", previous_end=None)  # posts Mon Nov 30, 09:00
    second = period_for(subscription, "2026-W50", previous_end=first.end)  # Mon Dec 7, 09:00
    assert (first.start, first.end, second.end) == (
        paris(2026, 11, 23, 9, 0),
        paris(2026, 11, 30, 9, 0),
        paris(2026, 12, 7, 9, 0),
    )
    async with sessions() as session:
        feed = Feed(name="changelog", kind="rss", url="https://example.com/feed")
        session.add(feed)
        await session.commit()
        feed_id = feed.id

    async def shipped(title: str, day: date, recorded: datetime, **extra: Any) -> int:
        return await add_update(
            sessions, title=title, area_id=billing, shipped_on=day, created_at=recorded, **extra
        )

    monday = date(2026, 11, 30)
    this_morning = await shipped("Typed before the post", monday, paris(2026, 11, 30, 8, 59))
    after_post = await shipped("Typed after the post", monday, paris(2026, 11, 30, 9, 0))
    late = await shipped("Friday's, typed on Tuesday", date(2026, 11, 27), paris(2026, 12, 1, 10))
    midweek = await shipped("Wednesday's", date(2026, 11, 25), paris(2026, 11, 25, 16, 0))
    from_feed = await shipped(
        "v2.4", monday, paris(2026, 11, 30, 11, 0), feed_id=feed_id, external_id="v2.4"
    )
    await shipped(  # a feed's history, fetched weeks later: no post's news
        "v1.0", date(2026, 11, 2), paris(2026, 11, 30, 11, 0), feed_id=feed_id, external_id="v1"
    )

    in_first, in_second = await shipped_ids(sessions, first), await shipped_ids(sessions, second)
    assert in_first == {this_morning, midweek}
    assert in_second == {after_post, late, from_feed}

    # Items: just before the post in the first, at the post's time in the second.
    await add_item(sessions, created_at=paris(2026, 11, 30, 8, 59), area_id=billing)
    await add_item(sessions, created_at=paris(2026, 11, 30, 9, 0), area_id=billing)
    await add_item(sessions, created_at=paris(2026, 11, 30, 9, 1), area_id=billing)
    counts = [
        sum(v.total for v in (await build_summary(sessions, ALL, p)).voice) for p in (first, second)
    ]
    assert counts == [1, 2]


async def test_a_window_across_the_switch_to_summer_time(sessions: Sessions) -> None:
    """Paris moves to summer time on Sunday Mar 29, 2026: the window from Monday 09:00 to
    Monday 09:00 is 167 hours, and the Sunday and the Monday morning are in it."""
    areas = await model(sessions)
    subscription = monday_nine()
    w13 = period_for(subscription, "2026-W13", previous_end=None)
    w14 = period_for(subscription, "2026-W14", previous_end=w13.end)
    assert w14.end - w14.start == timedelta(hours=167)
    assert w14.end == datetime(2026, 3, 30, 7, 0, tzinfo=UTC)
    sunday_night = await add_update(
        sessions,
        area_id=areas["Billing"],
        shipped_on=date(2026, 3, 29),
        created_at=paris(2026, 3, 29, 23, 30),
    )
    monday_early = await add_update(
        sessions,
        area_id=areas["Billing"],
        shipped_on=date(2026, 3, 30),
        created_at=paris(2026, 3, 30, 8, 30),
    )
    monday_late = await add_update(
        sessions,
        area_id=areas["Billing"],
        shipped_on=date(2026, 3, 30),
        created_at=paris(2026, 3, 30, 9, 30),
    )
    w15 = period_for(subscription, "2026-W15", previous_end=w14.end)
    assert await shipped_ids(sessions, w14) == {sunday_night, monday_early}
    assert await shipped_ids(sessions, w15) == {monday_late}
    summary = await build_summary(sessions, ALL, w14)
    assert summary_text(summary, "en").splitlines()[1].startswith("Mar 23 – Mar 30 · ")


# --- themes: never a customer, never the unrouted bucket -------------------------------------


async def test_themes_never_name_a_customer_nor_come_from_unrouted_items(
    sessions: Sessions,
) -> None:
    areas = await model(sessions)
    billing, payments = areas["Billing"], areas["team:Payments"]
    for hour, text in enumerate(
        [
            "Acme cannot download the invoice archive",
            "Acme says the invoice archive times out",
            "ACMÉ asks again about the archive",
        ]
    ):
        await add_item(
            sessions,
            created_at=MON + timedelta(hours=hour),
            text=text,
            area_id=billing,
            team_id=payments,
            keywords=["invoice"],
            customer="Acme" if hour == 0 else None,
        )
    for n in range(12):  # triage: nobody owns them, their words are no subject
        await add_item(
            sessions, created_at=MON + timedelta(minutes=n), text=f"Acme dashboard slow {n}"
        )

    summary = await build_summary(sessions, ALL, PERIOD)
    by_area = {v.area: v for v in summary.voice}
    assert by_area["Billing"].themes == ("invoice", "archive")
    assert by_area[None].themes == () and by_area[None].total == 12
    rendered = summary_text(summary, "en") + json.dumps(
        summary_messages(summary, "fr", download_value=None), ensure_ascii=False
    )
    assert "acme" not in rendered.casefold() and "dashboard" not in rendered
    assert "Most mentioned: Billing (3)." in rendered
    assert spaced("Les plus cités : Billing (3).") in rendered


def test_a_customer_word_is_no_theme_even_as_a_matched_keyword() -> None:
    rows = [
        VoiceTextRow(1, "Globex export broken", {"keywords": ["globex", "export"]}),
        VoiceTextRow(1, "Globex export broken again", {"keywords": ["export"]}),
    ]
    assert top_themes(rows, never=name_words(["Globex Corp."])) == ("export", "broken")
    assert top_themes(rows) == ("export", "globex", "broken")
