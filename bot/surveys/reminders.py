"""Reminding people who have not finished a survey round, before it closes.

At `closes_at − remind_before` (the survey's `remind_before`, calendar time: "1d", "4h",
"90m"; never in the round's first half), each invitee who has not finished gets one DM:
threaded under their intro when the round was delivered by DM ("2 questions are still
unanswered; the survey closes Thu Mar 12, 10:00"), else pointing to the channel's thread.
Only in the person's business hours (Mon–Fri 09:00–18:00 in their Slack timezone,
bot/sla/business_time.py): someone whose evening it is gets it in their next business
morning, if the round is still open then. Once per person per round: the invite's
`reminded_at` is claimed with a conditional UPDATE before anything is sent (given back if
Slack or the network fails, so the next tick tries again).

Anonymous rounds keep only a keyed hash on each invite. Jerry reads the survey's audience
again, computes each member's key, and reminds the members whose key belongs to an
unfinished invite; the user id ↔ key mapping lives only in memory for that tick. Their
reminder is a new DM, not a thread reply (the thread's ts is not stored). Nothing here logs a
user id.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.i18n import normalize_language
from bot.sla import business_time as sla
from bot.slack import SLACK_FAILURES, AsyncWebClient, classify
from bot.surveys import results_store as store
from bot.surveys.keys import respondent_key, survey_secret
from bot.surveys.rounds import audience_groups
from bot.views.survey_round import reminder_message
from models.surveys import Survey, SurveyInvite, SurveyRound

log = logging.getLogger("jerry.surveys")

# The audience, group by group: {label: [user ids]} (Slack calls).
AudienceResolver = Callable[[Survey], Awaitable[dict[str, list[str]]]]


def parse_before(value: str | None) -> timedelta | None:
    """The survey's `remind_before` as written in the surveys file ("1d", "36h", "1d12h",
    "90m"; calendar time); None when unset, unreadable or zero."""
    from bot.surveys.file import parse_duration

    if not value:
        return None
    try:
        found = parse_duration(value)
    except ValueError:
        return None
    return found if found > timedelta(0) else None


def remind_at(opened: datetime, closes: datetime, before: timedelta | None) -> datetime | None:
    """When reminders start: `before` the close, but never in the first half of the round (a
    round open for less than `remind_before` does not remind people who were just asked)."""
    if before is None:
        return None
    return max(closes - before, opened + (closes - opened) / 2)


@dataclass
class RemindSummary:
    sent: int = 0
    deferred: int = 0  # due, but outside the person's business hours
    failed: int = 0


async def remind_unfinished(
    sessions: async_sessionmaker[AsyncSession],
    client: AsyncWebClient,
    directory: Any,
    now: datetime,
    *,
    audience: AudienceResolver | None = None,
) -> RemindSummary:
    """Send the reminders due at `now` (once per person per round, in business hours)."""
    summary = RemindSummary()
    async with sessions() as session:
        rounds = await store.open_rounds_with_reminders(session, now)
    for round_, survey in rounds:
        when = remind_at(round_.opened_at, round_.closes_at, parse_before(survey.remind_before))
        if when is None or now < when:
            continue
        try:
            await _remind_round(sessions, client, directory, round_, survey, now, summary, audience)
        except Exception:  # one round's trouble must not stop the others
            log.exception("reminders of survey %s round %s failed", survey.name, round_.number)
    if summary.sent or summary.failed:
        log.info(
            "survey reminders: %d sent, %d waiting for business hours, %d failed",
            summary.sent,
            summary.deferred,
            summary.failed,
        )
    return summary


async def _remind_round(
    sessions: async_sessionmaker[AsyncSession],
    client: AsyncWebClient,
    directory: Any,
    round_: SurveyRound,
    survey: Survey,
    now: datetime,
    summary: RemindSummary,
    audience: AudienceResolver | None,
) -> None:
    async with sessions() as session:
        invites = await store.unreminded_unfinished(session, round_.id)
    if not invites:
        return
    targets: list[tuple[str, SurveyInvite]] = []
    if round_.anonymous:
        secret = await survey_secret(sessions)
        resolve = audience or (lambda s: audience_groups(client, s))
        by_key = {invite.respondent: invite for invite in invites}
        seen: set[str] = set()
        for members in (await resolve(survey)).values():
            for user_id in members:
                if user_id in seen:
                    continue
                seen.add(user_id)
                key = respondent_key(user_id, round_.id, anonymous=True, secret=secret)
                if key in by_key:
                    targets.append((user_id, by_key[key]))
    else:
        targets = [(invite.respondent, invite) for invite in invites]
    questions = len(round_.questions or [])
    for user_id, invite in targets:
        user = await directory.user(user_id) if directory is not None else None
        if user is not None and (user.deleted or user.is_bot):
            continue
        # Each person in their Slack language when Jerry speaks it, else the survey's.
        lang = normalize_language(user.locale if user is not None else None, survey.language)
        tz = user.tz if user is not None else None
        if not sla.in_business_hours(now, sla.DEFAULT_HOURS, tz):
            summary.deferred += 1
            continue
        async with sessions() as session:
            if not await store.claim_invite_reminder(session, invite.id, now):
                await session.rollback()
                continue  # finished meanwhile, or another process reminded them
            await store.mark_round_reminded(session, round_.id, now)
            await session.commit()
        in_channel = round_.channel if survey.deliver_in != "dm" and round_.channel else None
        message = reminder_message(
            lang,
            left=max(questions - invite.answered, 1),
            closes_at=round_.closes_at,
            tz=tz,
            title=survey.title,
            channel=in_channel,
        )
        # Under the intro in a named round's DM; an anonymous round keeps no ts of the thread
        # (only its keyed hash): the reminder goes to the DM itself.
        thread_ts = None if in_channel or round_.anonymous else invite.ts
        try:
            await client.chat_postMessage(
                channel=(invite.channel if not in_channel else None) or user_id,
                text=message["text"],
                blocks=message["blocks"],
                thread_ts=thread_ts,
                unfurl_links=False,
                unfurl_media=False,
            )
        except SLACK_FAILURES as exc:
            failure = classify(exc)
            error = failure.code
            summary.failed += 1
            if failure.retry:  # else the person can never get it: not tried again
                async with sessions() as session:
                    await store.release_invite_reminder(session, invite.id)
                    await session.commit()
            log.warning(
                "survey %s round %s: a reminder was not sent (%s)",
                survey.name,
                round_.number,
                error,
            )
            continue
        summary.sent += 1
