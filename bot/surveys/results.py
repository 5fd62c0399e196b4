"""Closing survey rounds and their results: response rate, means, distributions, trends.

    close_due_rounds(services, now)      the scheduler's tick: close rounds whose time is up, and
                                     owe their results to the survey's owner channel
    load_results(sessions, name, …)  a round's results as plain data (the CLI, the post)
    summarize(…)                     the arithmetic, pure: tests feed it rows directly

Closing is exactly once: a conditional UPDATE (status open → closed) that one process wins,
and in the same transaction an outbox row ("survey_results") that the delivery worker sends
once (`register_outbox` gives it `deliver`). A restart or a second replica finds the round closed
and the row claimed. The post records `results_posted_at`; a duplicate row posts nothing.

What counts: answers stored before the round's cutoff (when it was due to close, or closed
if earlier). A respondent who answered every question finished; one who answered some is
partial. Response rate = finished / invited.

Free-text answers are shown without names when the round is anonymous (sorted by their
text, so not even the order says who answered first); for a named survey each answer shows
the person's Slack name (plain text, not a mention: nobody is pinged by the results).

Breakdowns: when the audience lists several user groups or channels, each scale question's
mean per group (named rounds only: in an anonymous round, who has answered is known, so a
group's answers could name a lone respondent's). The groups are those the round recorded on
each invite when it started (rounds from before that: looked up again in Slack). Each person
counts in their first group; groups with fewer than MIN_GROUP respondents are merged into
"other groups", hidden too while that stays small (`group_results`).

Anonymous rounds: closing rewrites the round's answers in a random order, with new random ids
and random ballot keys, one per row (bot/surveys/results_store.seal_anonymous_answers), so
nothing groups them by person any more; who finished comes from the invites.
"""

from __future__ import annotations

import contextlib
import logging
import math
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.errors import KeyedRefusal
from bot.i18n import t
from bot.outbox.registry import (
    OutboxContext,
    OutboxHandler,
    OutboxRegistry,
    PermanentDeliveryError,
)
from bot.outbox.store import enqueue
from bot.services import Services
from bot.slack import SLACK_FAILURES, AsyncWebClient, classify
from bot.surveys import results_store as store
from bot.surveys.file import audience_labels
from bot.surveys.results_domain import (
    MIN_GROUP,
    OTHER_GROUPS,
    SCALE_RANGES,
    ChoiceResult,
    GroupResult,
    QuestionInfo,
    QuestionResult,
    RoundResults,
    ScaleResult,
    TextAnswer,
    TextResult,
    TrendPoint,
)
from bot.triage import alert_gave_up, alert_triage
from models.base import utcnow
from models.deliveries import Delivery
from models.items import Item
from models.surveys import Survey, SurveyRound

log = logging.getLogger("jerry.surveys")

PURPOSE = "survey_results"  # the outbox row that posts a round's results
TREND_ROUNDS = 6  # the trend covers this round and up to five before it


class ResultsError(KeyedRefusal):
    """A problem the person can fix (unknown survey, no such round): a catalog key."""


# --- the arithmetic (pure) --------------------------------------------------------------------


def question_infos(raw: Iterable[Mapping[str, Any]]) -> list[QuestionInfo]:
    """The round's questions as stored (SurveyRound.questions)."""
    found = []
    for entry in raw or []:
        qid = str(entry.get("id") or "").strip()
        if not qid:
            continue
        found.append(
            QuestionInfo(
                id=qid,
                kind=str(entry.get("kind") or "text"),
                text=str(entry.get("text") or qid),
                low=entry.get("low"),
                high=entry.get("high"),
                options=tuple(str(o) for o in entry.get("options") or ()),
            )
        )
    return found


def mean_of(values: Sequence[float]) -> float | None:
    return sum(values) / len(values) if values else None


def distribution(kind: str, values: Iterable[float]) -> tuple[tuple[int, int], ...]:
    """How many answered each value of the scale (every value listed, zeros included)."""
    low, high = SCALE_RANGES[kind]
    counts = dict.fromkeys(range(low, high + 1), 0)
    for value in values:
        point = math.floor(value + 0.5)
        if point in counts:
            counts[point] += 1
    return tuple(counts.items())


def trend_of(
    question: QuestionInfo,
    history: Sequence[tuple[int, Mapping[str, tuple[float, int]]]],
    current: TrendPoint | None,
) -> tuple[TrendPoint | None, tuple[TrendPoint, ...]]:
    """(the previous round's point, the trend) from earlier rounds' (number, {qid: (mean,
    count)}), oldest first, plus this round's point."""
    points = [
        TrendPoint(number, means[question.id][0], means[question.id][1])
        for number, means in history
        if question.id in means and means[question.id][1] > 0
    ]
    previous = points[-1] if points else None
    if current is not None:
        points.append(current)
    return previous, tuple(points[-TREND_ROUNDS:])


def summarize(
    *,
    survey: str,
    title: str,
    language: str,
    anonymous: bool,
    round_number: int,
    status: str,
    opened_at: datetime,
    closes_at: datetime,
    closed_at: datetime | None,
    invited: int,
    questions: Sequence[QuestionInfo],
    answers: Sequence[store.AnswerRow],
    history: Sequence[tuple[int, Mapping[str, tuple[float, int]]]] = (),
    groups: Mapping[str, frozenset[str]] | None = None,
    names: Mapping[str, str] | None = None,
    owner_channel: str = "",
    round_id: int = 0,
    timezone: str = "UTC",
    progress: tuple[int, int] | None = None,
    round_dates: Sequence[tuple[int, datetime, datetime]] = (),
) -> RoundResults:
    """A round's results from its counted answers (latest per respondent and question).

    `history`: earlier rounds' (number, {question id: (mean, count)}), oldest first.
    `groups`: group name → the user ids of its members (named rounds). `names`: respondent → name
    (named surveys only; ignored when anonymous).
    """
    ids = {q.id for q in questions}
    by_question: dict[str, dict[str, store.AnswerRow]] = {q.id: {} for q in questions}
    for answer in answers:
        if answer.question_id in ids:
            by_question[answer.question_id][answer.respondent] = answer  # the latest wins
    answered: dict[str, set[str]] = {}
    for qid, rows in by_question.items():
        for respondent in rows:
            answered.setdefault(respondent, set()).add(qid)
    finished = sum(1 for qids in answered.values() if qids >= ids) if ids else 0
    partial = len(answered) - finished
    if progress is not None:  # (finished, partial) as the invites know it (anonymous rounds)
        finished, partial = progress

    results: list[QuestionResult] = []
    for question in questions:
        rows = by_question[question.id]
        if question.kind in SCALE_RANGES:
            values = [r.number for r in rows.values() if r.number is not None]
            mean = mean_of(values)
            current = TrendPoint(round_number, mean, len(values)) if mean is not None else None
            previous, trend = trend_of(question, history, current)
            results.append(
                ScaleResult(
                    question,
                    len(values),
                    mean,
                    distribution(question.kind, values),
                    previous,
                    trend,
                )
            )
        elif question.kind == "choice":
            counts = dict.fromkeys(question.options, 0)
            for row in rows.values():
                if row.choice:
                    counts[row.choice] = counts.get(row.choice, 0) + 1
            total = sum(counts.values())
            results.append(ChoiceResult(question, total, tuple(counts.items())))
        else:
            texts = [
                TextAnswer(
                    row.text.strip(),
                    None if anonymous else (names or {}).get(respondent, respondent),
                )
                for respondent, row in rows.items()
                if row.text and row.text.strip()
            ]
            if anonymous:
                texts.sort(key=lambda a: a.text.casefold())
            else:
                texts.sort(key=lambda a: ((a.who or "").casefold(), a.text.casefold()))
            results.append(TextResult(question, tuple(texts)))

    breakdown = group_results(questions, by_question, answered, groups or {})
    return RoundResults(
        survey=survey,
        title=title,
        language=language,
        anonymous=anonymous,
        round_number=round_number,
        status=status,
        opened_at=opened_at,
        closes_at=closes_at,
        closed_at=closed_at,
        invited=invited,
        finished=finished,
        partial=partial,
        questions=tuple(results),
        groups=breakdown,
        owner_channel=owner_channel,
        round_id=round_id,
        timezone=timezone,
        round_dates=tuple(round_dates),
    )


def suppressed(counts: Mapping[str, int]) -> set[str]:
    """Which cells of a breakdown to hide so that none with 1 to MIN_GROUP - 1 people can be
    read, directly or as the total minus the cells shown: the small cells, then (while what
    they hold together is still small) the smallest shown cell too."""
    hidden = {name for name, n in counts.items() if 0 < n < MIN_GROUP}
    while 0 < sum(counts[name] for name in hidden) < MIN_GROUP:
        shown = [(n, name) for name, n in counts.items() if name not in hidden and n > 0]
        if not shown:
            break
        hidden.add(min(shown)[1])
    return hidden


def group_results(
    questions: Sequence[QuestionInfo],
    by_question: Mapping[str, Mapping[str, store.AnswerRow]],
    answered: Mapping[str, set[str]],
    groups: Mapping[str, frozenset[str]],
) -> tuple[GroupResult, ...]:
    """Each group's means, k-anonymity style (k = MIN_GROUP).

    Each respondent counts in one group: the first of the audience (file order) that lists
    them, so the groups never overlap and no two of them differ by one person. Groups with
    fewer than MIN_GROUP respondents are merged into one "other groups" line (hidden too if
    it is still that small, with the smallest group shown if needed so that the total minus
    the groups shown gives nobody away). Per question, a mean over fewer than MIN_GROUP answers
    is left out the same way.
    """
    if len(groups) < 2:
        return ()  # a single group is the whole round
    home: dict[str, str] = {}
    for name, members in groups.items():
        for respondent in answered:
            if respondent in members:
                home.setdefault(respondent, name)
    cells = {name: {r for r, group in home.items() if group == name} for name in groups}
    small = suppressed({name: len(people) for name, people in cells.items()})
    merged = tuple(name for name in groups if name in small)
    shown: dict[str, set[str]] = {name: cells[name] for name in groups if name not in small}
    if merged:
        shown[OTHER_GROUPS] = set().union(*(cells[name] for name in merged))
    scales = [q for q in questions if q.kind in SCALE_RANGES]
    values: dict[str, dict[str, list[float]]] = {name: {} for name in shown}
    for question in scales:
        for name, people in shown.items():
            values[name][question.id] = [
                row.number
                for respondent, row in by_question[question.id].items()
                if respondent in people and row.number is not None
            ]
    left_out = {q.id: suppressed({name: len(values[name][q.id]) for name in shown}) for q in scales}
    if merged and not any(shown[name] for name in shown if name != OTHER_GROUPS):
        # Everyone is in the merged line: it would be the round's total, told as a group.
        respondents = len(shown[OTHER_GROUPS])
        return (GroupResult(OTHER_GROUPS, respondents, True, (), merged),)
    found = []
    for name, people in shown.items():
        hidden = 0 < len(people) < MIN_GROUP
        means = tuple(
            (q.id, None if hidden or name in left_out[q.id] else mean_of(values[name][q.id]))
            for q in scales
        )
        found.append(
            GroupResult(
                name,
                len(people),
                hidden,
                () if hidden else means,
                merged if name == OTHER_GROUPS else (),
            )
        )
    return tuple(found)


# --- loading ----------------------------------------------------------------------------------

# Who is in the audience, group by group: {group label: [user ids]} (Slack calls; may raise).
GroupResolver = Callable[[Survey], Awaitable[dict[str, list[str]]]]


async def _round_of(
    session: AsyncSession, name: str, number: int | None
) -> tuple[Survey, SurveyRound]:
    survey = await store.survey_by_name(session, name)
    if survey is None:
        names = await store.survey_names(session)
        raise ResultsError("survey_results.error.unknown", name=name, names=", ".join(names) or "—")
    if number is not None:
        round_ = await store.round_by_number(session, survey.id, number)
        if round_ is None:
            raise ResultsError("survey_results.error.no_round", name=survey.name, number=number)
    else:
        round_ = await store.latest_round(session, survey.id, closed_only=True)
        if round_ is None:
            round_ = await store.latest_round(session, survey.id, closed_only=False)
        if round_ is None:
            raise ResultsError("survey_results.error.no_rounds", name=survey.name)
    return survey, round_


async def load_results(
    sessions: async_sessionmaker[AsyncSession],
    name: str,
    number: int | None = None,
    *,
    groups_of: GroupResolver | None = None,
    directory: Any | None = None,
) -> RoundResults:
    """Results of round `number` of survey `name` (default: the latest closed round, else the
    open one, whose figures are "so far")."""
    async with sessions() as session:
        _survey, round_ = await _round_of(session, name, number)
    return await results_of_round(sessions, round_.id, groups_of=groups_of, directory=directory)


async def results_of_round(
    sessions: async_sessionmaker[AsyncSession],
    round_id: int,
    *,
    groups_of: GroupResolver | None = None,
    directory: Any | None = None,
) -> RoundResults:
    """The results of one round; `directory` (bot/directory.py) names respondents of named
    rounds (else the user cache)."""
    async with sessions() as session:
        round_ = await session.get(SurveyRound, round_id)
        if round_ is None:
            raise ResultsError("survey_results.error.gone")
        survey = await session.get(Survey, round_.survey_id)
        assert survey is not None
        answers = await store.counted_answers(session, round_)
        earlier = await store.previous_rounds(session, survey.id, round_.number, TREND_ROUNDS - 1)
        means = await store.scale_means(session, earlier)
        invited = round_.invited or await store.invite_count(session, round_.id)
        # An anonymous round's answer rows are not grouped by person once closed: who finished
        # is the invites' to say.
        progress = await store.invite_progress(session, round_.id) if round_.anonymous else None
        respondents = sorted({a.respondent for a in answers})
        # Named rounds: every respondent's cached name in one query (anonymous rounds hold
        # keyed hashes: nobody to name).
        cached = {} if round_.anonymous else await store.respondent_users(session, round_)
        recorded = {} if round_.anonymous else await store.invite_groups(session, round_.id)
    names: dict[str, str] = {}
    if not round_.anonymous:
        for respondent in respondents:
            user = cached.get(respondent)
            if directory is not None and user is None:
                # Only people the cache has never seen cost a lookup (a name seen hours ago
                # is still their name); Slack unavailable: the id.
                with contextlib.suppress(Exception):
                    user = await directory.user(respondent) or user
            if user is not None:
                names[respondent] = user.real_name or user.name or respondent
    groups = _in_file_order(survey, recorded) if len(recorded) > 1 else {}
    groups = groups or await _groups(survey, round_, groups_of)
    return summarize(
        survey=survey.name,
        title=survey.title,
        language=survey.language,
        anonymous=round_.anonymous,
        round_number=round_.number,
        status=round_.status,
        opened_at=round_.opened_at,
        closes_at=round_.closes_at,
        closed_at=round_.closed_at,
        invited=invited,
        questions=question_infos(round_.questions),
        answers=answers,
        history=[(r.number, means.get(r.id, {})) for r in earlier],
        groups=groups,
        names=names,
        owner_channel=survey.owner_channel,
        round_id=round_.id,
        timezone=survey.timezone,
        progress=progress,
        round_dates=[(r.number, r.opened_at, store.cutoff_of(r)) for r in [*earlier, round_]],
    )


def _in_file_order(survey: Survey, recorded: Mapping[str, set[str]]) -> dict[str, frozenset[str]]:
    """The recorded groups in the order the audience lists them (each person counts in their
    first); groups the file no longer lists come last."""
    order = audience_labels(survey.audience_kind, list(survey.audience or []))
    ranked = sorted(recorded, key=lambda g: (order.index(g) if g in order else len(order), g))
    return {label: frozenset(recorded[label]) for label in ranked}


async def _groups(
    survey: Survey, round_: SurveyRound, groups_of: GroupResolver | None
) -> dict[str, frozenset[str]]:
    labels = audience_labels(survey.audience_kind, list(survey.audience or []))
    if groups_of is None or len(labels) < 2:
        return {}
    if round_.anonymous:
        # A group's answers would be a subset of answers whose members' having answered is
        # known (reminders need it): a group with one respondent would name their answers.
        return {}
    try:
        members = await groups_of(survey)
    except Exception:  # a breakdown is a bonus: the results go out without it
        log.warning("survey %s: no breakdown (the audience could not be read)", survey.name)
        return {}
    return {label: frozenset(users) for label, users in members.items()}


# --- closing and posting ----------------------------------------------------------------------


@dataclass(frozen=True)
class SurveyContext:
    """What results and reminders need beyond the database and Slack client."""

    groups_of: GroupResolver | None  # reads the audience's members, group by group


def survey_context(settings: Any, client: AsyncWebClient) -> SurveyContext:
    from bot.surveys.rounds import audience_groups

    async def groups_of(survey: Survey) -> dict[str, list[str]]:
        return await audience_groups(client, survey)

    return SurveyContext(groups_of)


@dataclass
class CloseSummary:
    closed: list[tuple[str, int]] = field(default_factory=list)  # (survey, round number)


async def close_due_rounds(services: Services, now: datetime) -> CloseSummary:
    """Close every open round whose closing time has passed, and owe its results.

    The UPDATE that closes a round and the outbox row that posts its results commit
    together; another process (or this one after a restart) finds it closed already.
    """
    summary = CloseSummary()
    async with services.sessions() as session:
        due = [(r.id, r.survey_id, r.number) for r in await store.rounds_due_to_close(session, now)]
    for round_id, survey_id, number in due:
        async with services.sessions() as session:
            if not await store.close_round(session, round_id, now):
                await session.rollback()
                continue  # another process closed it
            survey = await session.get(Survey, survey_id)
            assert survey is not None
            round_ = await session.get(SurveyRound, round_id)
            if round_ is not None and round_.anonymous:
                await store.seal_anonymous_answers(session, round_id)
            enqueue(session, PURPOSE, recipient=survey.owner_channel, round_id=round_id)
            await session.commit()
            summary.closed.append((survey.name, number))
        log.info("closed survey round %s #%s", survey.name, number)
    if summary.closed:
        services.kick()
    return summary


@dataclass(frozen=True)
class Posted:
    channel: str | None
    ts: str | None
    replies: int
    chart_file: str | None


# Saves a results delivery's progress (what is posted so far) where a retry finds it.
SaveProgress = Callable[[dict[str, Any]], Awaitable[None]]


async def post_results(
    outbox: OutboxContext,
    results: RoundResults,
    *,
    channel: str,
    progress: dict[str, Any],
    save: SaveProgress,
) -> Posted:
    """Post the results (the main message, overflow in its thread), then the trend chart.

    Every message is owed like the main one: what is posted is saved in `progress` as it
    goes, and a failure raises, so the outbox retries the delivery later (honouring Slack's
    Retry-After) and the retry posts only what is missing (each message keeps its part
    number, looked for in Slack when a send was unsure). The chart is best effort, once.
    """
    from bot.views.survey_results import results_messages

    messages = results_messages(results, results.language)
    if not progress.get("ts"):
        where, ts = await outbox.post(channel, messages[0], part=1)
        progress.update(channel=where or channel, ts=ts, replies=0)
        await save(progress)
    where, ts = str(progress["channel"]), str(progress["ts"])
    for part, message in enumerate(messages[1:], start=2):
        if part - 1 <= int(progress.get("replies") or 0):
            continue
        await outbox.post(where, message, thread_ts=ts, part=part)
        progress["replies"] = part - 1
        await save(progress)
    chart_file = None
    if not progress.get("chart"):
        chart_file = await upload_chart(outbox.client, results, channel=where, thread_ts=ts)
        progress["chart"] = True
        await save(progress)
    return Posted(where, ts, int(progress.get("replies") or 0), chart_file)


async def upload_chart(
    client: AsyncWebClient, results: RoundResults, *, channel: str, thread_ts: str | None
) -> str | None:
    """The trend chart in the results' thread; None (and a log line) if it cannot be made."""
    import asyncio

    from bot.surveys.chart import chart_filename, trend_chart_png

    try:
        png = await asyncio.to_thread(trend_chart_png, results)
    except Exception:
        log.exception("survey %s: the trend chart could not be drawn", results.survey)
        return None
    if png is None:
        return None
    try:
        response = await client.files_upload_v2(
            content=png,
            filename=chart_filename(results),
            title=t("survey_results.chart.title", results.language, title=results.title),
            channel=channel,
            thread_ts=thread_ts,
        )
    except SLACK_FAILURES as exc:
        error = classify(exc).code
        log.warning("survey %s: the trend chart was not uploaded: %s", results.survey, error)
        return None
    files = response.get("files") or []
    return files[0].get("id") if files and isinstance(files[0], dict) else None


def register_outbox(registry: OutboxRegistry, context: SurveyContext) -> None:
    """The "survey_results" rows, posted with `context` (anonymous hashes, the audience)."""

    async def send(
        outbox: OutboxContext, session: AsyncSession, delivery: Delivery, item: Item | None
    ) -> tuple[str | None, str | None]:
        return await deliver(outbox, context, session, delivery, now=utcnow())

    async def failed(
        session: AsyncSession, delivery: Delivery, item: Item | None, error: str
    ) -> None:
        await undeliverable(session, delivery.params or {}, error)

    registry.register(
        PURPOSE, OutboxHandler(send=send, undeliverable=failed, gave_up=alert_gave_up)
    )


async def deliver(
    outbox: OutboxContext,
    context: SurveyContext,
    session: AsyncSession,
    delivery: Delivery,
    *,
    now: datetime,
) -> tuple[str | None, str | None]:
    """The outbox sends a "survey_results" row: post the round's results once.

    Raises what Slack raised for any of its messages (the outbox retries or fails it; a
    retry resumes where the last attempt stopped).
    """
    params: dict[str, Any] = dict(delivery.params or {})
    round_id = int(params.get("round_id") or 0)
    round_ = await session.get(SurveyRound, round_id)
    if round_ is None:
        raise PermanentDeliveryError("round_missing")
    if round_.results_posted_at is not None:
        log.info("survey round %s: results already posted", round_id)
        return None, None
    survey = await session.get(Survey, round_.survey_id)
    assert survey is not None
    results = await results_of_round(
        outbox.sessions,
        round_id,
        groups_of=context.groups_of,
        directory=outbox.directory,
    )
    progress: dict[str, Any] = dict(params.get("_progress") or {})

    async def save(done: dict[str, Any]) -> None:
        # Written now, in a session of its own: a crash or a failure on the next message
        # must not lose what Slack already has.
        async with outbox.sessions() as own:
            await own.execute(
                update(Delivery)
                .where(Delivery.id == delivery.id)
                .values(params={**params, "_progress": done})
            )
            await own.commit()

    posted = await post_results(
        outbox, results, channel=survey.owner_channel, progress=progress, save=save
    )
    delivery.params = {**params, "_progress": progress}
    await store.mark_results_posted(session, round_id, now)
    log.info(
        "posted results of survey %s round %s (%d thread replies, chart %s)",
        survey.name,
        round_.number,
        posted.replies,
        "uploaded" if posted.chart_file else "none",
    )
    return posted.channel, posted.ts


async def undeliverable(session: AsyncSession, params: Mapping[str, Any], error: str) -> None:
    """Results Slack will never take (the owner channel is gone or Jerry is not in it)."""
    round_ = await session.get(SurveyRound, int(params.get("round_id") or 0))
    survey = await session.get(Survey, round_.survey_id) if round_ is not None else None
    await alert_triage(
        session,
        "survey_results_failed",
        name=survey.name if survey else "?",
        number=round_.number if round_ else 0,
        channel=survey.owner_channel if survey else "",
        error=error,
    )
