"""Queries about surveys, their rounds and invites (the surveys file, starting rounds, threads).

Surveys are never deleted by an import (rounds point at them): the ones a new file no longer
names are archived, and the ones it names again come back, matching names case-insensitively.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, false, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.surveys.file import QuestionSpec, SurveySpec
from bot.surveys.keys import respondent_key, thread_tag
from models.deliveries import Delivery
from models.surveys import Survey, SurveyInvite, SurveyRound

OPEN = "open"


@dataclass(frozen=True)
class ReplaceSummary:
    added: int = 0
    updated: int = 0
    archived: int = 0
    unchanged: int = 0

    def __str__(self) -> str:
        return (
            f"surveys: {self.added} added, {self.updated} updated, {self.unchanged} unchanged, "
            f"{self.archived} archived"
        )


def _key(name: str) -> str:
    return name.strip().casefold()


def spec_of(survey: Survey) -> SurveySpec:
    return SurveySpec(
        name=survey.name,
        title=survey.title,
        owner_channel=survey.owner_channel,
        audience_kind=survey.audience_kind,
        audience=tuple(survey.audience or ()),
        schedule=dict(survey.schedule or {}),
        questions=tuple(
            QuestionSpec(
                q["id"],
                q["kind"],
                q["text"],
                q.get("low"),
                q.get("high"),
                tuple(q.get("options") or ()),
                {lang: dict(texts) for lang, texts in (q.get("translations") or {}).items()},
            )
            for q in survey.questions or []
        ),
        deliver=survey.deliver_in,
        timezone=survey.timezone,
        open_for=survey.open_for,
        remind_before=survey.remind_before,
        anonymous=survey.anonymous,
        language=survey.language,
    )


def _apply(survey: Survey, spec: SurveySpec) -> None:
    survey.name = spec.name
    survey.title = spec.title
    survey.owner_channel = spec.owner_channel
    survey.audience_kind = spec.audience_kind
    survey.audience = list(spec.audience)
    survey.deliver_in = spec.deliver
    survey.schedule = dict(spec.schedule)
    survey.timezone = spec.timezone
    survey.open_for = spec.open_for
    survey.remind_before = spec.remind_before
    survey.anonymous = spec.anonymous
    survey.language = spec.language
    survey.questions = [q.as_json() for q in spec.questions]


async def load_surveys(session: AsyncSession) -> tuple[SurveySpec, ...]:
    """What the last import set (archived surveys left out), in import order."""
    rows = await session.execute(
        select(Survey).where(Survey.archived.is_(False)).order_by(Survey.id)
    )
    return tuple(spec_of(row) for row in rows.scalars())


async def replace_surveys(
    session: AsyncSession, specs: tuple[SurveySpec, ...], *, now: datetime
) -> ReplaceSummary:
    """Make `specs` the surveys, in the caller's transaction (it commits).

    `created_at` is when the survey's current schedule was imported: a survey added now, or
    whose schedule or timezone changed now, or that comes back from the archive, owes no
    round for the slots before `now`.
    """
    existing = {_key(row.name): row for row in (await session.execute(select(Survey))).scalars()}
    added = updated = unchanged = 0
    named = set()
    for spec in specs:
        key = _key(spec.name)
        named.add(key)
        row = existing.get(key)
        if row is None:
            row = Survey(name=spec.name, created_at=now, updated_at=now, archived=False)
            _apply(row, spec)
            session.add(row)
            added += 1
            continue
        before = spec_of(row)
        rescheduled = (
            before.schedule != spec.schedule or before.timezone != spec.timezone or row.archived
        )
        if before == spec and not row.archived:
            unchanged += 1
            continue
        _apply(row, spec)
        if rescheduled:
            row.created_at = now
        row.archived = False
        row.updated_at = now
        updated += 1
    archived = 0
    for key, row in existing.items():
        if key not in named and not row.archived:
            row.archived = True
            row.updated_at = now
            archived += 1
    await session.flush()
    return ReplaceSummary(added, updated, archived, unchanged)


async def survey_by_name(session: AsyncSession, name: str) -> Survey | None:
    statement = select(Survey).where(func.lower(Survey.name) == name.strip().lower())
    return (await session.execute(statement)).scalars().first()


async def active_surveys(session: AsyncSession) -> list[Survey]:
    statement = select(Survey).where(Survey.archived.is_(False)).order_by(Survey.id)
    return list((await session.execute(statement)).scalars())


async def survey_names(session: AsyncSession) -> list[str]:
    return [survey.name for survey in await active_surveys(session)]


async def round_for_slot(
    session: AsyncSession, survey_id: int, slot: datetime
) -> SurveyRound | None:
    statement = select(SurveyRound).where(
        SurveyRound.survey_id == survey_id, SurveyRound.slot == slot
    )
    return (await session.execute(statement)).scalars().first()


async def insert_round(
    session: AsyncSession, survey: Survey, *, slot: datetime, now: datetime, closes_at: datetime
) -> SurveyRound | None:
    """Insert the round of (survey, slot), numbered after the survey's last one, and flush.

    None when the slot already has a round (the caller's transaction is rolled back): an
    earlier run or another process claimed it. Two rounds racing for the same number (two
    different slots at once) retry with the next number.
    """
    survey_id = survey.id
    questions, anonymous = list(survey.questions or []), survey.anonymous
    for _attempt in range(3):
        if await round_for_slot(session, survey_id, slot) is not None:
            return None
        number = (
            await session.execute(
                select(func.coalesce(func.max(SurveyRound.number), 0)).where(
                    SurveyRound.survey_id == survey_id
                )
            )
        ).scalar_one() + 1
        row = SurveyRound(
            survey_id=survey_id,
            number=number,
            slot=slot,
            opened_at=now,
            closes_at=closes_at,
            status=OPEN,
            questions=questions,
            anonymous=anonymous,
            invited=0,
        )
        session.add(row)
        try:
            await session.flush()
            return row
        except IntegrityError:  # the slot or the number was taken meanwhile: look again
            await session.rollback()
    return None


async def rounds_of(session: AsyncSession, survey_id: int) -> list[SurveyRound]:
    statement = (
        select(SurveyRound).where(SurveyRound.survey_id == survey_id).order_by(SurveyRound.number)
    )
    return list((await session.execute(statement)).scalars())


async def invites_of(session: AsyncSession, round_id: int) -> list[SurveyInvite]:
    statement = (
        select(SurveyInvite).where(SurveyInvite.round_id == round_id).order_by(SurveyInvite.id)
    )
    return list((await session.execute(statement)).scalars())


async def link_dm_thread(
    session: AsyncSession, round_id: int, respondent: str, *, channel: str | None, ts: str
) -> None:
    """The person's intro DM is posted: their invite points at its thread (for an anonymous
    round, `ts` is the thread's keyed hash and `channel` None)."""
    await session.execute(
        update(SurveyInvite)
        .where(SurveyInvite.round_id == round_id, SurveyInvite.respondent == respondent)
        .values(channel=channel, ts=ts)
    )


async def link_channel_thread(session: AsyncSession, round_id: int, channel: str, ts: str) -> None:
    """The round's intro is posted in `channel` (a named round): everyone answers in its thread."""
    await session.execute(
        update(SurveyRound).where(SurveyRound.id == round_id).values(channel=channel, ts=ts)
    )
    await session.execute(
        update(SurveyInvite).where(SurveyInvite.round_id == round_id).values(channel=channel, ts=ts)
    )


async def drop_invites(session: AsyncSession, round_id: int, respondent: str | None) -> None:
    """Leave people Jerry could not ask out of the round (`respondent` None: everyone not yet
    asked), and count only those left."""
    statement = delete(SurveyInvite).where(
        SurveyInvite.round_id == round_id, SurveyInvite.ts.is_(None)
    )
    if respondent is not None:
        statement = statement.where(SurveyInvite.respondent == respondent)
    await session.execute(statement)
    left = select(func.count()).where(SurveyInvite.round_id == round_id).scalar_subquery()
    await session.execute(
        update(SurveyRound).where(SurveyRound.id == round_id).values(invited=left)
    )


async def asks_of(
    session: AsyncSession, round_id: int, purpose: str
) -> list[tuple[str, str | None]]:
    """(status, last error) of each outbox row asking this round."""
    round_param: Any = Delivery.params["round_id"].as_integer()
    statement = select(Delivery.status, Delivery.last_error).where(
        Delivery.purpose == purpose, round_param == round_id
    )
    return [(status, error) for status, error in (await session.execute(statement)).all()]


async def invite_for_thread(
    session: AsyncSession, channel: str, thread_ts: str, user_id: str, secret: str
) -> tuple[SurveyRound, SurveyInvite | None] | None:
    """The round whose thread `thread_ts` (in `channel`) is, and `user_id`'s invite in it.

    None when the thread is no survey's. (round, None) when it is, but `user_id` was not
    asked in that round (a stranger in a channel thread, or someone else in a DM thread).
    Anonymous invites store no channel and no ts: they are found by the keyed hash of the DM
    thread (`thread_tag`) and then by the keyed hash of `user_id`; a channel round is found
    by its channel and ts.
    """
    by_channel = (
        (
            await session.execute(
                select(SurveyRound)
                .where(SurveyRound.channel == channel, SurveyRound.ts == thread_ts)
                .order_by(SurveyRound.id.desc())
            )
        )
        .scalars()
        .first()
    )
    candidates: list[SurveyRound] = [by_channel] if by_channel is not None else []
    tag = thread_tag(secret, channel, thread_ts) if secret else None
    if not candidates:
        matching = select(SurveyInvite.round_id).where(
            or_(
                (SurveyInvite.ts == thread_ts) & (SurveyInvite.channel == channel),
                SurveyInvite.ts == tag if tag else false(),
            )
        )
        rows = await session.execute(
            select(SurveyRound).where(SurveyRound.id.in_(matching)).order_by(SurveyRound.id.desc())
        )
        candidates = list(rows.scalars())
    for round_ in candidates:
        key = respondent_key(user_id, round_.id, anonymous=round_.anonymous, secret=secret)
        invite = (
            (
                await session.execute(
                    select(SurveyInvite).where(
                        SurveyInvite.round_id == round_.id, SurveyInvite.respondent == key
                    )
                )
            )
            .scalars()
            .first()
        )
        if invite is None:
            continue
        own = (invite.ts == thread_ts and invite.channel == channel) or invite.ts == tag
        if round_.channel is None and not own:
            continue  # a DM round: the person's own thread only
        return round_, invite
    if candidates:
        return candidates[0], None
    return None
