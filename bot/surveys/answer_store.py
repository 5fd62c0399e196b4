"""Queries for answering surveys (in their threads or the answer form): which round a thread
belongs to, the respondent's invite, and their answers (one row per question, the latest
wins; a skipped question is a row too)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, exists, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from models.surveys import Survey, SurveyAnswer, SurveyInvite, SurveyRound


def _invite_in_thread(channel: str, thread_ts: str, tag: str) -> Any:
    """An invite whose own thread this is: a named one by its DM channel and ts, an anonymous
    one by the keyed hash of the thread (`tag`, bot/surveys/keys.thread_tag)."""
    return ((SurveyInvite.ts == thread_ts) & (SurveyInvite.channel == channel)) | (
        SurveyInvite.ts == tag
    )


async def is_survey_thread(session: AsyncSession, channel: str, thread_ts: str, tag: str) -> bool:
    """Whether (channel, thread_ts) is the thread of a survey round (DM or channel)."""
    in_channel = exists().where(SurveyRound.channel == channel, SurveyRound.ts == thread_ts)
    in_dm = exists().where(_invite_in_thread(channel, thread_ts, tag))
    return bool(await session.scalar(select(or_(in_channel, in_dm))))


async def rounds_for_thread(
    session: AsyncSession, channel: str, thread_ts: str, tag: str
) -> list[tuple[SurveyRound, Survey]]:
    """The rounds whose thread this may be: a channel round's intro, or invites' DM intros."""
    invited = select(SurveyInvite.round_id).where(_invite_in_thread(channel, thread_ts, tag))
    rows = await session.execute(
        select(SurveyRound, Survey)
        .join(Survey, Survey.id == SurveyRound.survey_id)
        .where(
            or_(
                (SurveyRound.channel == channel) & (SurveyRound.ts == thread_ts),
                SurveyRound.id.in_(invited),
            )
        )
        .order_by(SurveyRound.id)
    )
    return [(row[0], row[1]) for row in rows.all()]


async def round_with_survey(
    session: AsyncSession, round_id: int
) -> tuple[SurveyRound, Survey] | None:
    row = await session.execute(
        select(SurveyRound, Survey)
        .join(Survey, Survey.id == SurveyRound.survey_id)
        .where(SurveyRound.id == round_id)
    )
    found = row.first()
    return (found[0], found[1]) if found else None


async def invite_of(
    session: AsyncSession, round_id: int, respondent: str, *, for_update: bool = False
) -> SurveyInvite | None:
    """The respondent's invite, locked when `for_update` so one person's replies apply in
    turn: a row lock on PostgreSQL; on SQLite (no row locks, reads outside a transaction) a
    no-op UPDATE first, which takes the database's write lock before anything is read."""
    mine = (SurveyInvite.round_id == round_id) & (SurveyInvite.respondent == respondent)
    query = select(SurveyInvite).where(mine)
    if for_update:
        if session.get_bind().dialect.name == "sqlite":
            await session.execute(
                update(SurveyInvite)
                .where(mine)
                .values(round_id=SurveyInvite.round_id)
                .execution_options(synchronize_session=False)
            )
            query = query.execution_options(populate_existing=True)
        else:
            query = query.with_for_update()
    return await session.scalar(query)


async def answers_of(
    session: AsyncSession, round_id: int, respondent: str
) -> dict[str, SurveyAnswer]:
    rows = await session.scalars(
        select(SurveyAnswer).where(
            SurveyAnswer.round_id == round_id, SurveyAnswer.respondent == respondent
        )
    )
    return {row.question_id: row for row in rows}


def put_answer(
    session: AsyncSession,
    existing: dict[str, SurveyAnswer],
    *,
    round_id: int,
    respondent: str,
    question_id: str,
    number: float | None,
    choice: str | None,
    text: str | None,
    source_ts: str | None,
    now: datetime,
    answer_id: int | None = None,
    skipped: bool = False,
) -> bool:
    """Insert or replace one answer (the caller holds the invite's lock); whether it changed.
    `answer_id`: the new row's id (anonymous rounds: random), else the next in sequence.
    `skipped`: the person chose "Skip this question" (no value)."""
    row = existing.get(question_id)
    values = (number, choice, text, source_ts, skipped)
    if row is None:
        row = SurveyAnswer(round_id=round_id, respondent=respondent, question_id=question_id)
        if answer_id is not None:
            row.id = answer_id
        session.add(row)
        existing[question_id] = row
    elif (row.number, row.choice, row.text, row.source_ts, bool(row.skipped)) == values:
        return False
    row.number, row.choice, row.text = number, choice, text
    row.skipped = skipped
    row.source_ts = source_ts
    row.answered_at = now
    return True


async def remove_answers(
    session: AsyncSession, existing: dict[str, SurveyAnswer], question_ids: set[str]
) -> None:
    ids = [existing[q].id for q in question_ids if q in existing and existing[q].id is not None]
    if ids:
        await session.execute(delete(SurveyAnswer).where(SurveyAnswer.id.in_(ids)))
    for question_id in question_ids:
        existing.pop(question_id, None)
