"""Pulse surveys: who is asked (respondent keys), and starting rounds.

A respondent of an anonymous round is known only by `respondent_key`: an HMAC-SHA256 of
their Slack user id and the round, keyed with Jerry's survey secret
(`Settings.survey_secret`). The same person gets a different key in every round, so rounds
cannot be joined together either.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.exc import IntegrityError

from bot.directory import Directory
from bot.errors import KeyedRefusal
from bot.scheduler import latest_slot
from bot.services import Services
from bot.sla.reminder_store import claim_reminder
from bot.slack import SLACK_FAILURES, TRANSPORT_ERRORS, AsyncWebClient, SlackApiError, classify
from bot.surveys import store
from bot.surveys.file import parse_duration, trigger_of
from bot.surveys.keys import respondent_key
from bot.triage import alert_triage
from bot.views.survey_round import intro_message, question_message
from models.surveys import Survey, SurveyInvite, SurveyRound

# --- starting rounds --------------------------------------------------------------------------

log = logging.getLogger("jerry.surveys")

JOB_NAME = "surveys"
# How far back the scheduler looks for a survey's latest slot (one round after any downtime).
LOOKBACK = timedelta(days=400)
MEMBERS_PAGE = 200
# People asked at once (each gets a DM and its thread replies); the client retries rate limits.
POSTING_CONCURRENCY = 4
LOOKUP_CONCURRENCY = 8


class SurveyError(KeyedRefusal):
    """A problem the person can fix: a catalog key and its params (English by default)."""


@dataclass(frozen=True)
class RoundResult:
    survey: str
    # started | exists (the slot has its round already) | audience_failed | unpostable
    status: str
    slot: datetime | None = None
    round_id: int | None = None
    number: int | None = None
    invited: int = 0  # people the round reached
    failed: int = 0  # people it could not reach (skipped)
    errors: dict[str, int] = field(default_factory=dict)  # Slack error → how many people
    skipped: int = 0  # audience members left out: bots, deactivated accounts
    channel: str | None = None  # channel delivery: where the round was posted
    ts: str | None = None
    error: str | None = None


def slot_due(survey: Survey, now: datetime) -> datetime | None:
    """The survey's latest slot at or before `now`, not before its schedule was imported."""
    trigger = trigger_of(survey.schedule or {}, survey.timezone)
    after = max(survey.created_at - timedelta(microseconds=1), now - LOOKBACK)
    return latest_slot(trigger, after, now)


async def run_due_rounds(services: Services, now: datetime) -> list[RoundResult]:
    """The scheduler job: start each survey's latest slot at or before `now` that has no round
    (one round after a long downtime, none for slots before the survey's import)."""
    async with services.sessions() as session:
        surveys = await store.active_surveys(session)
    results = []
    for survey in surveys:
        slot = slot_due(survey, now)
        if slot is None:
            continue
        async with services.sessions() as session:
            if await store.round_for_slot(session, survey.id, slot) is not None:
                continue
        try:
            result = await start_round(services, survey.name, now=now, slot=slot)
        except Exception:  # one survey's trouble must not stop the others
            log.exception("survey %s: the round of %s could not start", survey.name, slot)
            continue
        if result.status != "exists":
            results.append(result)
    return results


async def _alert_audience_failed(
    services: Services, survey: Survey, slot: datetime, error: str
) -> None:
    """Tell triage once per slot: the tick tries again every minute, the alert must not."""
    async with services.sessions() as session:
        key = f"survey_audience:{survey.id}:{int(slot.timestamp())}"
        if await claim_reminder(session, key, kind="survey_audience"):
            await alert_triage(
                session,
                "survey_audience_failed",
                name=survey.name,
                audience=", ".join(survey.audience) or "—",
                error=error,
            )
        await session.commit()
    services.kick()


async def start_round(
    services: Services, survey_name: str, *, now: datetime, slot: datetime | None = None
) -> RoundResult:
    """Start `survey_name`'s round for `slot` (default: now, as `jerry surveys run` does).

    The round and an invite per person are committed before anything is posted: (survey,
    slot) is unique, so a restart or a second process finds the slot taken and posts
    nothing. Then each person gets the intro DM and one thread reply per question (or, for
    channel delivery, one intro in the channel with the questions in its thread). Someone
    Jerry cannot DM is skipped, counted, and left out of the round.
    """
    slot = slot or now
    async with services.sessions() as session:
        survey = await store.survey_by_name(session, survey_name)
        if survey is None or survey.archived:
            if survey is not None:
                raise SurveyError("surveys.error.archived", name=survey.name)
            names = await store.survey_names(session)
            raise SurveyError(
                "surveys.error.unknown", name=survey_name, names=", ".join(names) or "—"
            )
        if await store.round_for_slot(session, survey.id, slot) is not None:
            return RoundResult(survey.name, "exists", slot)
    try:
        members = await audience_of(services.client, survey.audience_kind, list(survey.audience))
    except SlackApiError as exc:
        failure = classify(exc)
        error = failure.code
        log.warning("survey %s: its audience could not be read: %s", survey.name, error)
        if not failure.retry:  # the audience itself is wrong: product ops must fix the file
            await _alert_audience_failed(services, survey, slot, error)
        return RoundResult(survey.name, "audience_failed", slot, error=error)
    except TRANSPORT_ERRORS as exc:
        error = f"connection: {exc.__class__.__name__}"
        log.warning("survey %s: its audience could not be read: %s", survey.name, error)
        return RoundResult(survey.name, "audience_failed", slot, error=error)
    people = await _reachable(services.directory, members)
    skipped = len(members) - len(people)
    secret = services.settings.survey_secret if survey.anonymous else ""
    closes_at = now + parse_duration(survey.open_for)
    async with services.sessions() as session:
        row = await session.get(Survey, survey.id)
        assert row is not None
        round_ = await store.insert_round(session, row, slot=slot, now=now, closes_at=closes_at)
        if round_ is None:
            return RoundResult(survey.name, "exists", slot)
        keys = {
            user: respondent_key(user, round_.id, anonymous=round_.anonymous, secret=secret)
            for user in people
        }
        invites = {user: SurveyInvite(round_id=round_.id, respondent=keys[user]) for user in people}
        session.add_all(invites.values())
        round_.invited = len(invites)
        try:
            await session.commit()
        except IntegrityError:  # another process took the slot between our check and commit
            await session.rollback()
            return RoundResult(survey.name, "exists", slot)
        round_id, number = round_.id, round_.number
        invite_ids = {user: invite.id for user, invite in invites.items()}
        questions = list(round_.questions or [])
    log.info(
        "survey %s: round %d started for %s, %d people asked%s",
        survey.name,
        number,
        slot.isoformat(),
        len(invite_ids),
        f" ({skipped} bots or deactivated left out)" if skipped else "",
    )
    posting = _Posting(services, survey, round_id, number, questions, closes_at)
    if survey.deliver_in != "dm":
        return await posting.in_channel(slot, invite_ids, skipped)
    return await posting.by_dm(slot, invite_ids, skipped)


async def audience_of(client: AsyncWebClient, kind: str, ids: list[str]) -> list[str]:
    """The user ids a survey's audience names today (in order, once each)."""
    if kind == "users":
        found = list(ids)
    elif kind == "usergroup":
        found = []
        for group in ids:
            response = await client.usergroups_users_list(usergroup=group)
            found.extend(response.get("users") or [])
    elif kind == "channel":
        found = []
        for channel in ids:
            cursor = None
            while True:
                response = await client.conversations_members(
                    channel=channel, limit=MEMBERS_PAGE, cursor=cursor
                )
                found.extend(response.get("members") or [])
                cursor = (response.get("response_metadata") or {}).get("next_cursor")
                if not cursor:
                    break
    else:
        raise ValueError(f"unknown audience kind {kind!r}")
    return list(dict.fromkeys(user for user in found if user))


async def audience_groups(client: AsyncWebClient, survey: Survey) -> dict[str, list[str]]:
    """Who is in the survey's audience now, per user group or channel (users: one group),
    read as rounds read it: for results' breakdowns and anonymous rounds' reminders."""
    entries = [entry for entry in survey.audience or [] if entry]
    if survey.audience_kind == "users":
        return {"users": await audience_of(client, "users", entries)}
    return {entry: await audience_of(client, survey.audience_kind, [entry]) for entry in entries}


async def _reachable(directory: Directory, members: list[str]) -> list[str]:
    """Members minus bots and deactivated accounts (someone Slack cannot describe now stays:
    their DM says whether they can be reached)."""
    gate = asyncio.Semaphore(LOOKUP_CONCURRENCY)

    async def keep(user_id: str) -> bool:
        async with gate:
            try:
                user = await directory.user(user_id)
            except Exception:
                return True
        return user is None or not (user.deleted or user.is_bot)

    flags = await asyncio.gather(*(keep(user) for user in members))
    return [user for user, ok in zip(members, flags, strict=True) if ok]


class _Posting:
    def __init__(
        self,
        services: Services,
        survey: Survey,
        round_id: int,
        number: int,
        questions: list[dict[str, Any]],
        closes_at: datetime,
    ) -> None:
        self.services = services
        self.survey = survey
        self.round_id = round_id
        self.number = number
        self.questions = questions
        self.closes_at = closes_at
        self.lang = survey.language

    def _intro(self, *, in_channel: bool) -> dict[str, Any]:
        return intro_message(
            title=self.survey.title,
            count=len(self.questions),
            closes_at=self.closes_at,
            timezone=self.survey.timezone,
            anonymous=self.survey.anonymous,
            in_channel=in_channel,
            lang=self.lang,
        )

    async def _thread(self, channel: str) -> tuple[str, dict[str, str]]:
        """Post the intro in `channel` and each question in its thread: (ts, {question: ts})."""
        client = self.services.client
        intro = self._intro(in_channel=not channel.startswith("D"))
        response = await client.chat_postMessage(
            channel=channel, text=intro["text"], blocks=intro["blocks"], unfurl_links=False
        )
        ts = response["ts"]
        question_ts: dict[str, str] = {}
        for n, question in enumerate(self.questions, start=1):
            message = question_message(
                question, n=n, count=len(self.questions), round_id=self.round_id, lang=self.lang
            )
            reply = await client.chat_postMessage(
                channel=response.get("channel") or channel,
                thread_ts=ts,
                text=message["text"],
                blocks=message["blocks"],
                unfurl_links=False,
            )
            question_ts[question["id"]] = reply["ts"]
        return ts, question_ts

    async def in_channel(
        self, slot: datetime, invite_ids: dict[str, int], skipped: int
    ) -> RoundResult:
        channel = self.survey.deliver_in
        try:
            ts, question_ts = await self._thread(channel)
        except SLACK_FAILURES as exc:
            error = classify(exc).code
            log.warning(
                "survey %s round %d: cannot post in %s: %s",
                self.survey.name,
                self.number,
                channel,
                error,
            )
            async with self.services.sessions() as session:
                await alert_triage(
                    session,
                    "survey_unpostable",
                    name=self.survey.name,
                    channel=channel,
                    error=error,
                )
                await session.commit()
            self.services.kick()
            return RoundResult(
                self.survey.name,
                "unpostable",
                slot,
                self.round_id,
                self.number,
                invited=0,
                failed=len(invite_ids),
                errors={error: len(invite_ids)},
                skipped=skipped,
                channel=channel,
                error=error,
            )
        async with self.services.sessions() as session:
            round_ = await session.get(SurveyRound, self.round_id)
            assert round_ is not None
            round_.channel, round_.ts = channel, ts
            for invite in await store.invites_of(session, self.round_id):
                invite.ts, invite.question_ts = ts, dict(question_ts)
                invite.channel = None if self.survey.anonymous else channel
            await session.commit()
        log.info(
            "survey %s round %d posted in %s (%d questions)",
            self.survey.name,
            self.number,
            channel,
            len(question_ts),
        )
        return RoundResult(
            self.survey.name,
            "started",
            slot,
            self.round_id,
            self.number,
            invited=len(invite_ids),
            skipped=skipped,
            channel=channel,
            ts=ts,
        )

    async def by_dm(self, slot: datetime, invite_ids: dict[str, int], skipped: int) -> RoundResult:
        gate = asyncio.Semaphore(POSTING_CONCURRENCY)
        errors: dict[str, int] = {}

        async def ask(user_id: str, invite_id: int) -> bool:
            async with gate:
                error = await self._ask(user_id, invite_id)
            if error is not None:
                errors[error] = errors.get(error, 0) + 1
            return error is None

        asked = await asyncio.gather(*(ask(u, i) for u, i in invite_ids.items()))
        reached = sum(asked)
        failed = len(asked) - reached
        if failed:
            async with self.services.sessions() as session:
                round_ = await session.get(SurveyRound, self.round_id)
                assert round_ is not None
                round_.invited = reached
                await session.commit()
        log.info(
            "survey %s round %d: %d people asked by DM, %d could not be reached %s",
            self.survey.name,
            self.number,
            reached,
            failed,
            errors or "",
        )
        return RoundResult(
            self.survey.name,
            "started",
            slot,
            self.round_id,
            self.number,
            invited=reached,
            failed=failed,
            errors=errors,
            skipped=skipped,
        )

    async def _ask(self, user_id: str, invite_id: int) -> str | None:
        """DM one person the round; None when done, else why not (their invite is dropped)."""
        client = self.services.client
        try:
            opened = await client.conversations_open(users=user_id)
            channel = (opened.get("channel") or {}).get("id") or user_id
            ts, question_ts = await self._thread(channel)
        except SlackApiError as exc:
            error = classify(exc).code
        except TRANSPORT_ERRORS as exc:
            error = f"connection: {exc.__class__.__name__}"
        else:
            async with self.services.sessions() as session:
                invite = await session.get(SurveyInvite, invite_id)
                assert invite is not None
                invite.ts, invite.question_ts = ts, question_ts
                invite.channel = None if self.survey.anonymous else channel
                await session.commit()
            return None
        who = "someone" if self.survey.anonymous else user_id
        log.warning(
            "survey %s round %d: %s could not be asked (%s); skipped",
            self.survey.name,
            self.number,
            who,
            error,
        )
        async with self.services.sessions() as session:
            invite = await session.get(SurveyInvite, invite_id)
            if invite is not None and invite.ts is None:
                await session.delete(invite)
                await session.commit()
        return error
