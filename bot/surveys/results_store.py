"""Queries for closing survey rounds, reminding people who have not finished, and results.

Answers count up to the round's cutoff: when it was due to close (`closes_at`), or when it
was actually closed if that was earlier. Anything stored after that (a late reply racing the
close, or arriving before a late tick closes the round) is never counted.
"""

from __future__ import annotations

import random
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import cast

from sqlalchemy import ColumnElement, Table, and_, case, delete, func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db import affected_rows
from bot.surveys.keys import random_answer_id
from models.surveys import Survey, SurveyAnswer, SurveyInvite, SurveyRound
from models.users import SlackUser

OPEN, CLOSED = "open", "closed"


@dataclass(frozen=True)
class AnswerRow:
    respondent: str
    question_id: str
    number: float | None
    choice: str | None
    text: str | None
    answered_at: datetime


def _counted(round_: SurveyRound) -> list[ColumnElement[bool]]:
    """SQL conditions: the answers of `round_` stored before its cutoff."""
    return [SurveyAnswer.round_id == round_.id, SurveyAnswer.answered_at <= cutoff_of(round_)]


def cutoff_of(round_: SurveyRound) -> datetime:
    """When answers stop counting (for an open round too: nothing after closes_at counts)."""
    if round_.closed_at is not None and round_.closed_at < round_.closes_at:
        return round_.closed_at
    return round_.closes_at


# --- surveys and rounds -----------------------------------------------------------------------


async def survey_by_name(session: AsyncSession, name: str) -> Survey | None:
    statement = select(Survey).where(func.lower(Survey.name) == name.strip().lower())
    return (await session.execute(statement)).scalars().first()


async def survey_names(session: AsyncSession) -> list[str]:
    statement = select(Survey.name).where(Survey.archived.is_(False)).order_by(Survey.name)
    return list((await session.execute(statement)).scalars())


async def round_by_number(session: AsyncSession, survey_id: int, number: int) -> SurveyRound | None:
    statement = select(SurveyRound).where(
        SurveyRound.survey_id == survey_id, SurveyRound.number == number
    )
    return (await session.execute(statement)).scalar_one_or_none()


async def latest_round(
    session: AsyncSession, survey_id: int, *, closed_only: bool
) -> SurveyRound | None:
    statement = select(SurveyRound).where(SurveyRound.survey_id == survey_id)
    if closed_only:
        statement = statement.where(SurveyRound.status == CLOSED)
    statement = statement.order_by(SurveyRound.number.desc()).limit(1)
    return (await session.execute(statement)).scalar_one_or_none()


async def previous_rounds(
    session: AsyncSession, survey_id: int, before: int, limit: int
) -> list[SurveyRound]:
    """Up to `limit` closed rounds numbered before `before`, oldest first."""
    statement = (
        select(SurveyRound)
        .where(
            SurveyRound.survey_id == survey_id,
            SurveyRound.number < before,
            SurveyRound.status == CLOSED,
        )
        .order_by(SurveyRound.number.desc())
        .limit(limit)
    )
    return list(reversed((await session.execute(statement)).scalars().all()))


async def counted_answers(session: AsyncSession, round_: SurveyRound) -> list[AnswerRow]:
    # Plain columns, not ORM objects: thousands of rows are read once and never changed.
    statement = (
        select(
            SurveyAnswer.respondent,
            SurveyAnswer.question_id,
            SurveyAnswer.number,
            SurveyAnswer.choice,
            SurveyAnswer.text,
            SurveyAnswer.answered_at,
        )
        .where(*_counted(round_))
        .order_by(SurveyAnswer.answered_at, SurveyAnswer.id)
    )
    return [AnswerRow(*row) for row in (await session.execute(statement)).all()]


async def scale_means(
    session: AsyncSession, rounds: list[SurveyRound]
) -> dict[int, dict[str, tuple[float, int]]]:
    """round id → question id → (mean, how many answered), counted answers only."""
    if not rounds:
        return {}
    per_round = [
        and_(SurveyAnswer.round_id == r.id, SurveyAnswer.answered_at <= cutoff_of(r))
        for r in rounds
    ]
    statement = (
        select(
            SurveyAnswer.round_id,
            SurveyAnswer.question_id,
            func.avg(SurveyAnswer.number),
            func.count(SurveyAnswer.number),
        )
        .where(or_(*per_round), SurveyAnswer.number.is_not(None))
        .group_by(SurveyAnswer.round_id, SurveyAnswer.question_id)
    )
    found: dict[int, dict[str, tuple[float, int]]] = {}
    for round_id, question_id, mean, count in (await session.execute(statement)).all():
        found.setdefault(round_id, {})[question_id] = (float(mean), int(count))
    return found


async def invite_count(session: AsyncSession, round_id: int) -> int:
    statement = select(func.count()).where(SurveyInvite.round_id == round_id)
    return int((await session.execute(statement)).scalar_one())


async def invite_progress(session: AsyncSession, round_id: int) -> tuple[int, int]:
    """(finished, partial): invitees who answered every question, and some but not all."""
    finished = func.count(SurveyInvite.finished_at)
    partial = func.sum(
        case((SurveyInvite.finished_at.is_(None) & (SurveyInvite.answered > 0), 1), else_=0)
    )
    row = (
        await session.execute(select(finished, partial).where(SurveyInvite.round_id == round_id))
    ).one()
    return int(row[0] or 0), int(row[1] or 0)


async def invite_groups(session: AsyncSession, round_id: int) -> dict[str, set[str]]:
    """A named round's groups as its invites recorded them: group → its respondents."""
    statement = select(SurveyInvite.respondent, SurveyInvite.groups).where(
        SurveyInvite.round_id == round_id, SurveyInvite.groups.is_not(None)
    )
    found: dict[str, set[str]] = {}
    for respondent, groups in (await session.execute(statement)).all():
        for label in groups or []:
            found.setdefault(label, set()).add(respondent)
    return found


async def seal_anonymous_answers(session: AsyncSession, round_id: int) -> None:
    """An anonymous round closes: write its answers again in a random order, with new random
    ids and a random ballot key per row, no message hash, in the closing transaction.

    While the round was open, a person's rows shared a ballot key (an edit must find them);
    now nothing groups them by person, nor orders them by arrival (the rows are new, inserted
    shuffled: on PostgreSQL they share one transaction id, on SQLite their rowid is random).
    """
    table = cast(Table, SurveyAnswer.__table__)
    rows = [
        dict(row._mapping)
        for row in (await session.execute(select(table).where(table.c.round_id == round_id))).all()
    ]
    if not rows:
        return
    random.SystemRandom().shuffle(rows)
    for row in rows:
        row.update(
            id=random_answer_id(),
            respondent="r:" + secrets.token_hex(16),
            source_ts=None,
        )
    await session.execute(delete(table).where(table.c.round_id == round_id))
    await session.execute(insert(table), rows)


async def respondent_users(session: AsyncSession, round_: SurveyRound) -> dict[str, SlackUser]:
    """The cached Slack users who answered `round_` (a named round), in one query."""
    answered = select(SurveyAnswer.respondent).where(SurveyAnswer.round_id == round_.id)
    statement = select(SlackUser).where(SlackUser.id.in_(answered))
    return {user.id: user for user in (await session.execute(statement)).scalars()}


async def invites_of(session: AsyncSession, round_id: int) -> list[SurveyInvite]:
    statement = select(SurveyInvite).where(SurveyInvite.round_id == round_id)
    return list((await session.execute(statement.order_by(SurveyInvite.id))).scalars())


# --- closing ----------------------------------------------------------------------------------


async def rounds_due_to_close(session: AsyncSession, now: datetime) -> list[SurveyRound]:
    statement = (
        select(SurveyRound)
        .where(SurveyRound.status == OPEN, SurveyRound.closes_at <= now)
        .order_by(SurveyRound.closes_at, SurveyRound.id)
    )
    return list((await session.execute(statement)).scalars())


async def close_round(session: AsyncSession, round_id: int, now: datetime) -> bool:
    """Close the round if it is still open (a conditional UPDATE: one process wins)."""
    result = await session.execute(
        update(SurveyRound)
        .where(SurveyRound.id == round_id, SurveyRound.status == OPEN)
        .values(status=CLOSED, closed_at=now)
    )
    return affected_rows(result) == 1


async def mark_results_posted(session: AsyncSession, round_id: int, now: datetime) -> bool:
    """Record that the results went out; False if they already had."""
    result = await session.execute(
        update(SurveyRound)
        .where(SurveyRound.id == round_id, SurveyRound.results_posted_at.is_(None))
        .values(results_posted_at=now)
    )
    return affected_rows(result) == 1


# --- reminders --------------------------------------------------------------------------------


async def open_rounds_with_reminders(
    session: AsyncSession, now: datetime
) -> list[tuple[SurveyRound, Survey]]:
    statement = (
        select(SurveyRound, Survey)
        .join(Survey, Survey.id == SurveyRound.survey_id)
        .where(
            SurveyRound.status == OPEN,
            SurveyRound.closes_at > now,
            Survey.remind_before.is_not(None),
        )
        .order_by(SurveyRound.id)
    )
    return [(r, s) for r, s in (await session.execute(statement)).all()]


async def unreminded_unfinished(session: AsyncSession, round_id: int) -> list[SurveyInvite]:
    statement = select(SurveyInvite).where(
        SurveyInvite.round_id == round_id,
        SurveyInvite.finished_at.is_(None),
        SurveyInvite.reminded_at.is_(None),
    )
    return list((await session.execute(statement.order_by(SurveyInvite.id))).scalars())


async def claim_invite_reminder(session: AsyncSession, invite_id: int, now: datetime) -> bool:
    """Take the one reminder this invite may get (conditional UPDATE: once per person)."""
    result = await session.execute(
        update(SurveyInvite)
        .where(
            SurveyInvite.id == invite_id,
            SurveyInvite.reminded_at.is_(None),
            SurveyInvite.finished_at.is_(None),
        )
        .values(reminded_at=now)
    )
    return affected_rows(result) == 1


async def release_invite_reminder(session: AsyncSession, invite_id: int) -> None:
    """The reminder could not be sent (Slack trouble): the next tick may try again."""
    await session.execute(
        update(SurveyInvite).where(SurveyInvite.id == invite_id).values(reminded_at=None)
    )


async def mark_round_reminded(session: AsyncSession, round_id: int, now: datetime) -> None:
    """The round's first reminder went out (kept for the record; people have their own)."""
    await session.execute(
        update(SurveyRound)
        .where(SurveyRound.id == round_id, SurveyRound.reminded_at.is_(None))
        .values(reminded_at=now)
    )
