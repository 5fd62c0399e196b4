"""What a weekly summary says: "This week in product" for some product areas.

`build_summary(sessions, scope, period)` returns plain data (bot/summaries/domain.py);
bot/views/summary.py renders it
(Block Kit, text, JSON, Markdown, CSV) and bot/summaries/posting.py posts it on schedule.

A post's period runs from where the previous post's stopped to the post's time
(bot/summaries/posting.py), so consecutive posts cover every moment once. How each section
is computed (every number says how):

1. **Shipped**: active "shipped" updates counted in [period.start, period.end) by one moment
   each (`shipped_counted_at`): when Jerry recorded it, but not before the start of the day
   it shipped (in the scope's timezone). So `/shipped` typed this morning is in this
   morning's post, typed after it in the next one, and a late `/shipped` about last week is
   in the next post rather than lost. A feed's entry fetched more than a day after its day
   is the feed's history (a new feed brings its whole changelog): it counts on its day,
   which earlier posts covered. Customer-facing ones first, then by day.
2. **Coming up**: active "upcoming" updates. `coming_soon`: target date before the end day
   + 6 weeks (past target dates are marked overdue: still upcoming, so not shipped);
   `coming_later`: after that, up to the end of the current half-year (Jun 30 / Dec 31).
3. **What customers are telling us**: items created in the period, per area: pain points,
   questions, how many got an answer and are resolved (today), and the top themes: the
   routing keywords that matched, then the most frequent meaningful words (a small en+fr
   stop-word list; a word must appear in two items). Nobody is ever named: no person, and
   no customer named on the period's items is a theme. Items not routed to an area (triage)
   are counted but have no themes and are not among the "most mentioned" areas: they are
   not a subject.
4. **Answered this week**: questions answered in the period whose lead ticked "share in
   the summary": the question, the answer and the team.
5. **The numbers**: items routed (created in the period and sent to a team), the median
   time to first answer of those items (bot/sla/timings.py), and items resolved in the period;
   each also for the previous period of the same length.

With a scope of some areas, only updates and items of those areas count; with every area
(empty `areas`), updates and items without an area count too.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Iterable
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.i18n import t
from bot.sla.timings import summarize, timings_of_items
from bot.summaries import queries as q
from bot.summaries.domain import (
    AreaVoice,
    Numbers,
    Period,
    SharedAnswer,
    Summary,
    SummaryScope,
    UpdateLine,
)

COMING_SOON = timedelta(weeks=6)
# A feed's entry fetched later than this after the start of its day is its history.
FEED_HISTORY_AFTER = timedelta(days=2)
TOP_THEMES = 5
MIN_THEME_ITEMS = 2  # a word must come up in this many items to be a theme


def half_end(day: date) -> date:
    """The last day of `day`'s half-year: June 30 or December 31."""
    return date(day.year, 6, 30) if day.month <= 6 else date(day.year, 12, 31)


def local_day(moment: datetime, tz: ZoneInfo) -> date:
    return moment.astimezone(tz).date()


def day_start(day: date, tz: ZoneInfo) -> datetime:
    """Midnight at the start of `day` in `tz`, in UTC."""
    return datetime.combine(day, datetime.min.time(), tzinfo=tz).astimezone(UTC)


def shipped_counted_at(row: q.UpdateRow, tz: ZoneInfo) -> datetime:
    """The one moment a shipped update counts at: the post whose period holds it shows it.

    When it was recorded, but never before its day began (a date typed ahead). A feed's
    entry fetched well after its day is old news: it counts on its day.
    """
    began = day_start(row.shipped_on, tz) if row.shipped_on else row.created_at
    if row.from_feed and row.created_at - began > FEED_HISTORY_AFTER:
        return began
    return max(began, row.created_at)


# --- themes -----------------------------------------------------------------------------

_STOP_WORDS_TEXT = """
    a about after again all also am an and any are as at be because been before being but by
    can cannot could did do does doing done dont down during each even ever every few for
    from get gets getting got had has have having he her here hers him his how however if in
    into is isnt it its just know like make many may me more most much must my need needs
    never new no not now of off on once one only or other our out over please really same see
    she should so some still such than thank thanks that the their them then there these they
    thing things this those though through to too under until up us use used using very want
    wants was way we well were what when where which while who whom why will with without
    would yes yet you your yours still again able
    au aux avec ce ces cette cet dans de des du elle elles en est et etre eux il ils je la le
    les leur leurs lui ma mais me meme mes moi mon ne nos notre nous on ou par pas pour qu que
    qui sa se ses son sur ta te tes toi ton tu un une vos votre vous ai as avons avez ont suis
    es sommes etes sont etait fait faire peut peux plus tres tout tous toute toutes comme quand
    aussi alors donc car ni si deja encore avoir bien sans chez entre depuis vers merci bonjour
    cela ceci ca quoi dont sont serait pourquoi comment
    """
STOP_WORDS = frozenset(_STOP_WORDS_TEXT.split())
_USER_MENTION = re.compile(r"<@[UW][A-Z0-9]+(?:\|[^>]*)?>")
_SLACK_TOKEN = re.compile(r"<[^>]*>|&[a-z]+;|`[^`]*`")
_WORD = re.compile(r"[^\W\d_]{3,}")


def without_people(text: str, lang: str) -> str:
    """A reporter's text with the people it mentions replaced by "someone": a summary read
    by a whole channel names nobody."""
    return _USER_MENTION.sub(t("summary.someone", lang), text)


def fold(word: str) -> str:
    """Lowercase without accents: "Facturé" and "facture" are one theme."""
    decomposed = unicodedata.normalize("NFKD", word.lower())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def item_words(text: str) -> set[str]:
    """The meaningful words of one item: no links, mentions, code, stop words or numbers."""
    plain = _SLACK_TOKEN.sub(" ", text)
    return {w for w in (fold(m) for m in _WORD.findall(plain)) if w not in STOP_WORDS}


def name_words(names: Iterable[str]) -> frozenset[str]:
    """The words of some names ("Acme Corp" → acme, corp), folded like themes."""
    return frozenset(fold(w) for name in names for w in _WORD.findall(name))


def top_themes(
    rows: list[q.VoiceTextRow],
    limit: int = TOP_THEMES,
    *,
    never: frozenset[str] = frozenset(),
) -> tuple[str, ...]:
    """The matched routing keywords (most items first), then the most frequent words.

    Deterministic: ties break alphabetically. A word counts once per item, and must come up
    in at least MIN_THEME_ITEMS items, so one person's wording never becomes a theme. No
    theme holds a word of `never` (the customers' names, folded).
    """
    keywords: Counter[str] = Counter()
    words: Counter[str] = Counter()
    for row in rows:
        for keyword in dict.fromkeys(str(k) for k in row.route_detail.get("keywords") or ()):
            if not never & name_words([keyword]):
                keywords[keyword] += 1
        words.update(item_words(row.text) - never)
    themes: list[str] = [k for k, _ in sorted(keywords.items(), key=lambda kv: (-kv[1], kv[0]))]
    taken = {fold(k) for k in themes}
    for word, count in sorted(words.items(), key=lambda kv: (-kv[1], kv[0])):
        if len(themes) >= limit or count < MIN_THEME_ITEMS:
            break
        if word not in taken:
            themes.append(word)
            taken.add(word)
    return tuple(themes[:limit])


# --- the summary --------------------------------------------------------------------------


def _line(row: q.UpdateRow, names: dict[int, str], *, overdue: bool = False) -> UpdateLine:
    return UpdateLine(
        id=row.id,
        title=row.title,
        customer_impact=row.customer_impact,
        area=names.get(row.area_id) if row.area_id is not None else None,
        link=row.link,
        date=row.shipped_on if row.kind == "shipped" else row.target_date,
        confidence=row.confidence,
        customer_facing=row.audience == "customer",
        overdue=overdue,
        from_feed=row.from_feed,
    )


async def _numbers(
    sessions: async_sessionmaker[AsyncSession],
    area_ids: list[int] | None,
    start: datetime,
    end: datetime,
) -> Numbers:
    async with sessions() as session:
        rows = await q.number_rows(session, area_ids, start, end)
    timings = await timings_of_items(sessions, rows.item_ids) if rows.item_ids else {}
    first = summarize(t.time_to_first_answer for t in timings.values())
    return Numbers(
        routed=rows.routed,
        median_first_answer=first.median,
        answered=first.count,
        resolved=rows.resolved,
    )


async def build_summary(
    sessions: async_sessionmaker[AsyncSession], scope: SummaryScope, period: Period
) -> Summary:
    tz = ZoneInfo(scope.timezone)
    first_day, end_day = local_day(period.start, tz), local_day(period.end, tz)
    if end_day <= first_day:  # a period shorter than a day still covers its day
        end_day = first_day + timedelta(days=1)
    soon_until = end_day + COMING_SOON
    later_until = half_end(end_day)

    async with sessions() as session:
        all_areas = await q.areas(session)
        names = {a.id: a.name for a in all_areas}
        area_ids: list[int] | None = None
        unknown: tuple[str, ...] = ()
        if scope.areas:
            by_name = {a.name.casefold(): a.id for a in all_areas}
            area_ids = [by_name[n.casefold()] for n in scope.areas if n.casefold() in by_name]
            unknown = tuple(n for n in scope.areas if n.casefold() not in by_name)

        shipped_rows = await q.shipped_updates(
            session, area_ids, first_day, end_day, period.start, period.end
        )
        upcoming_rows = await q.upcoming_updates(session, area_ids, max(later_until, soon_until))
        counts = await q.voice_counts(session, area_ids, period.start, period.end)
        texts = await q.voice_texts(session, area_ids, period.start, period.end)
        shared_rows = await q.shared_answers(session, area_ids, period.start, period.end)
        customers = name_words(await q.customer_names(session, period.start, period.end))
        asked = await q.asked_for(session, [r.id for r in shipped_rows])

    shipped = sorted(
        (
            _line(r, names)
            for r in shipped_rows
            if period.start <= shipped_counted_at(r, tz) < period.end
        ),
        key=lambda u: (not u.customer_facing, u.date or first_day, u.id),
    )
    because_asked = sorted(
        (
            replace(line, asked_people=asked[line.id][0], asked_customers=asked[line.id][1])
            for line in shipped
            if line.id in asked and asked[line.id][0]
        ),
        key=lambda u: (-u.asked_people, -u.asked_customers, u.id),
    )
    coming_soon = [
        _line(r, names, overdue=r.target_date is not None and r.target_date < end_day)
        for r in upcoming_rows
        if r.target_date is not None and r.target_date < soon_until
    ]
    coming_later = [
        _line(r, names)
        for r in upcoming_rows
        if r.target_date is not None and soon_until <= r.target_date <= later_until
    ]

    texts_by_area: dict[int | None, list[q.VoiceTextRow]] = {}
    for row in texts:
        texts_by_area.setdefault(row.area_id, []).append(row)
    position = {a.id: i for i, a in enumerate(all_areas)}
    voice = [
        AreaVoice(
            area=names.get(c.area_id) if c.area_id is not None else None,
            painpoints=c.painpoints,
            questions=c.questions,
            answered=c.answered,
            resolved=c.resolved,
            # Not routed to an area: no subject, so no themes (its words are anything).
            themes=(
                top_themes(texts_by_area.get(c.area_id, []), never=customers)
                if c.area_id is not None
                else ()
            ),
        )
        for c in sorted(
            counts,
            key=lambda c: (
                -(c.painpoints + c.questions),
                position.get(c.area_id, len(position)) if c.area_id is not None else 1 << 30,
            ),
        )
        if c.painpoints + c.questions
    ]
    shared = [
        SharedAnswer(
            item_id=r.item_id,
            question=without_people(r.text, scope.language),
            answer=r.answer,
            team=r.team,
            area=names.get(r.area_id) if r.area_id is not None else None,
            answered_at=r.answered_at,
        )
        for r in shared_rows
    ]

    length = period.end - period.start
    numbers = await _numbers(sessions, area_ids, period.start, period.end)
    previous = await _numbers(sessions, area_ids, period.start - length, period.start)
    return Summary(
        scope=scope,
        period=period,
        shipped=shipped,
        coming_soon=coming_soon,
        coming_later=coming_later,
        voice=voice,
        shared_answers=shared,
        numbers=numbers,
        previous_numbers=previous,
        unknown_areas=unknown,
        because_asked=because_asked,
    )


def iso_week_period(week: str, timezone: str) -> Period:
    """The ISO week "2026-W48": Monday 00:00 to the next Monday 00:00 in `timezone` (UTC)."""
    match = re.fullmatch(r"(\d{4})-W(\d{2})", week.strip())
    if not match:
        raise ValueError(f"not an ISO week (like 2026-W48): {week!r}")
    monday = date.fromisocalendar(int(match.group(1)), int(match.group(2)), 1)
    tz = ZoneInfo(timezone)
    start = datetime.combine(monday, datetime.min.time(), tzinfo=tz)
    end = datetime.combine(monday + timedelta(days=7), datetime.min.time(), tzinfo=tz)
    return Period(week=week.strip(), start=start.astimezone(UTC), end=end.astimezone(UTC))
