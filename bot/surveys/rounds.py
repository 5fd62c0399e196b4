"""Pulse surveys: who is asked, starting rounds, and asking people (through the outbox).

A respondent of an anonymous round is known only by `respondent_key`: an HMAC-SHA256 of
their Slack user id and the round, keyed with the random key in `survey_secrets`
(bot/surveys/keys.py). The same person gets a different key in every round.

Asking goes through the outbox like every message Jerry owes: a round started while Slack is
down is asked when it is back, a crash mid-round resumes, a rate limit delays a person and
never drops them.
"""

from __future__ import annotations

import asyncio
import logging
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.directory import Directory, cached_user
from bot.errors import KeyedRefusal
from bot.i18n import normalize_language
from bot.outbox.registry import (
    OutboxContext,
    OutboxHandler,
    OutboxRegistry,
    PermanentDeliveryError,
    Posted,
)
from bot.outbox.store import enqueue
from bot.scheduler import latest_slot
from bot.services import Services
from bot.sla.reminder_store import claim_reminder
from bot.slack import SLACK_FAILURES, AsyncWebClient, SlackApiError, classify
from bot.surveys import store
from bot.surveys.answer_store import round_with_survey
from bot.surveys.file import audience_entries, parse_duration, trigger_of
from bot.surveys.keys import respondent_key, survey_secret, survey_secret_of, thread_tag
from bot.surveys.results_domain import LISTED_PEOPLE
from bot.triage import alert_triage
from bot.views.survey_round import round_message
from models.deliveries import Delivery
from models.items import Item
from models.surveys import Survey, SurveyInvite, SurveyRound

# --- starting rounds --------------------------------------------------------------------------

log = logging.getLogger("jerry.surveys")

JOB_NAME = "surveys"
# How far back the scheduler looks for a survey's latest slot (one round after any downtime).
LOOKBACK = timedelta(days=400)
MEMBERS_PAGE = 200
LOOKUP_CONCURRENCY = 8
LOOKUP_LIMIT = 50  # people unknown to the cache asked of Slack one by one (users.info)
ASK = "survey_ask"  # the outbox row asking one person (or one channel) a round


class SurveyError(KeyedRefusal):
    """A problem the person can fix: a catalog key and its params (English by default)."""


@dataclass(frozen=True)
class RoundResult:
    survey: str
    # started | exists (the slot has its round already) | audience_failed (Slack refuses to
    # list it: the file is wrong) | audience_unreachable (Slack down, 5xx, timeouts: try again)
    # | audience_empty (nobody Jerry can ask)
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
    services: Services, survey: Survey, slot: datetime, entry: str, error: str
) -> None:
    """Tell triage once per slot: the tick tries again every minute, the alert must not."""
    async with services.sessions() as session:
        key = f"survey_audience:{survey.id}:{int(slot.timestamp())}"
        if await claim_reminder(session, key, kind="survey_audience"):
            await alert_triage(
                session,
                "survey_audience_failed",
                name=survey.name,
                audience=entry or "—",
                error=error,
            )
        await session.commit()
    services.kick()


async def start_round(
    services: Services, survey_name: str, *, now: datetime, slot: datetime | None = None
) -> RoundResult:
    """Start `survey_name`'s round for `slot` (default: now, as `jerry surveys run` does).

    The round, an invite per person and what Jerry owes them (one outbox row per person, or
    one for the channel) are committed together: (survey, slot) is unique, so a restart or a
    second process finds the slot taken and owes nothing twice. The outbox then asks each
    person (the intro DM and one thread reply per question), retrying Slack's outages and
    rate limits until it can, and resuming a thread half posted. Someone Slack will never let
    Jerry DM is left out of the round (their invite dropped, the round's count lowered).
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
        if survey.anonymous and survey.deliver_in != "dm":
            # Refused at import since; a survey imported before cannot promise anonymity.
            raise SurveyError("surveys.error.anonymous_channel", name=survey.name)
        if await store.round_for_slot(session, survey.id, slot) is not None:
            return RoundResult(survey.name, "exists", slot)
    try:
        groups_of = await audience_members(
            services.client, survey.audience_kind, list(survey.audience)
        )
    except AudienceUnreadable as exc:
        # Nothing is recorded: a round half read would ask only part of its audience.
        if isinstance(exc.cause, SlackApiError):
            failure = classify(exc.cause)
            error, unreachable = failure.code, failure.retry
        else:
            error, unreachable = f"connection: {exc.cause.__class__.__name__}", True
        log.warning("survey %s: its audience could not be read: %s", survey.name, error)
        if not unreachable:  # the audience itself is wrong: product ops must fix the file
            await _alert_audience_failed(services, survey, slot, exc.entry, error)
        return RoundResult(
            survey.name,
            "audience_unreachable" if unreachable else "audience_failed",
            slot,
            error=f"{exc.entry}: {error}",
        )
    members = list(groups_of)
    people = await _reachable(services.directory, members)
    skipped = len(members) - len(people)
    if not people:  # a round nobody is asked would stay open, empty, until it closes
        log.warning("survey %s: its audience has nobody Jerry can ask", survey.name)
        entries = ", ".join(
            entry for _kind, entry in audience_entries(survey.audience_kind, list(survey.audience))
        )
        await _alert_audience_failed(services, survey, slot, entries, "nobody_to_ask")
        return RoundResult(survey.name, "audience_empty", slot, skipped=skipped)
    secret = await survey_secret(services.sessions) if survey.anonymous else ""
    if survey.anonymous:
        # Invites and asks in no particular order: their ids say nothing of the audience's.
        people = list(people)
        random.SystemRandom().shuffle(people)
    closes_at = now + parse_duration(survey.open_for)
    in_channel = survey.deliver_in != "dm"
    async with services.sessions() as session:
        row = await session.get(Survey, survey.id)
        assert row is not None
        round_ = await store.insert_round(session, row, slot=slot, now=now, closes_at=closes_at)
        if round_ is None:
            return RoundResult(survey.name, "exists", slot)
        session.add_all(
            SurveyInvite(
                round_id=round_.id,
                respondent=respondent_key(
                    user, round_.id, anonymous=round_.anonymous, secret=secret
                ),
                # Which groups asked them: named rounds only (no invite of an anonymous round
                # says more than "asked").
                groups=None if round_.anonymous else groups_of[user],
            )
            for user in people
        )
        round_.invited = len(people)
        if in_channel:
            enqueue(session, ASK, recipient=survey.deliver_in, round_id=round_.id)
        else:
            for user in people:
                enqueue(session, ASK, recipient=user, round_id=round_.id)
        try:
            await session.commit()
        except IntegrityError:  # another process took the slot between our check and commit
            await session.rollback()
            return RoundResult(survey.name, "exists", slot)
        round_id, number = round_.id, round_.number
    services.kick()
    log.info(
        "survey %s: round %d started for %s, %d people to ask%s%s",
        survey.name,
        number,
        slot.isoformat(),
        len(people),
        f" in {survey.deliver_in}" if in_channel else " by DM",
        f" ({skipped} bots or deactivated left out)" if skipped else "",
    )
    return RoundResult(
        survey.name,
        "started",
        slot,
        round_id,
        number,
        invited=len(people),
        skipped=skipped,
        channel=survey.deliver_in if in_channel else None,
    )


class AudienceUnreadable(Exception):
    """Slack did not list the members of one of the audience's user groups or channels."""

    def __init__(self, entry: str, cause: Exception) -> None:
        super().__init__(f"{entry}: {cause}")
        self.entry = entry  # the user group or channel id
        self.cause = cause  # SlackApiError, or a transport error (TRANSPORT_ERRORS)


async def members_of(client: AsyncWebClient, kind: str, entry: str) -> list[str]:
    """The user ids of one audience entry today: a user group's or channel's members (page by
    page), or the listed person. Raises AudienceUnreadable when Slack does not answer."""
    if kind == "users":
        return [entry]
    found: list[str] = []
    try:
        if kind == "usergroup":
            response = await client.usergroups_users_list(usergroup=entry)
            found.extend(response.get("users") or [])
        elif kind == "channel":
            cursor = None
            while True:
                response = await client.conversations_members(
                    channel=entry, limit=MEMBERS_PAGE, cursor=cursor
                )
                found.extend(response.get("members") or [])
                cursor = (response.get("response_metadata") or {}).get("next_cursor")
                if not cursor:
                    break
        else:
            raise ValueError(f"unknown audience kind {kind!r}")
    except SLACK_FAILURES as exc:
        raise AudienceUnreadable(entry, exc) from exc
    return found


async def audience_members(
    client: AsyncWebClient, kind: str, audience: list[str]
) -> dict[str, list[str]]:
    """Who a survey's audience names today: user id → the audience's groups they are in (the
    labels of bot/surveys/file.audience_labels, in file order). Each person once, however
    many groups list them; in the order the groups list them."""
    found: dict[str, list[str]] = {}
    for entry_kind, entry in audience_entries(kind, audience):
        label = LISTED_PEOPLE if entry_kind == "users" else entry
        for user in await members_of(client, entry_kind, entry):
            if user and label not in found.setdefault(user, []):
                found[user].append(label)
    return found


async def audience_groups(client: AsyncWebClient, survey: Survey) -> dict[str, list[str]]:
    """Who is in the survey's audience now, per user group or channel (people listed by id:
    one group), read as rounds read it: for anonymous rounds' reminders."""
    groups: dict[str, list[str]] = {}
    members = await audience_members(client, survey.audience_kind, list(survey.audience or []))
    for user, labels in members.items():
        for label in labels:
            groups.setdefault(label, []).append(user)
    return groups


async def _reachable(directory: Directory, members: list[str]) -> list[str]:
    """Members minus bots and deactivated accounts, as the cache knows them.

    People the cache does not know (or knew too long ago) are asked of Slack one by one
    (users.info) only while they are few: users.info is a Tier 4 method (about 100 a minute),
    so for thousands of new people it would hold the round back for an hour. Beyond
    LOOKUP_LIMIT, one `users.list` pass (500 people a page) fills the cache instead: each
    person's language (their ask is written in it), timezone, and whether they are gone.
    Whoever it misses stays in the round (a stale record still counts), and their DM says
    whether they can be reached: Slack's refusal leaves them out of the round then."""
    known = await directory.cached_many(members)
    unsure = [user for user in members if user not in known or not directory.fresh(known[user])]
    if len(unsure) > LOOKUP_LIMIT:
        known.update(await directory.load_listed(set(unsure)))
    else:
        gate = asyncio.Semaphore(LOOKUP_CONCURRENCY)

        async def look_up(user_id: str) -> None:
            async with gate:
                try:
                    user = await directory.user(user_id)
                except Exception:  # someone Slack cannot describe now stays
                    return
            if user is not None:
                known[user_id] = user

        await asyncio.gather(*(look_up(user) for user in unsure))
    return [
        user
        for user in members
        if user not in known or not (known[user].deleted or known[user].is_bot)
    ]


# --- asking (the outbox sends each "survey_ask" row) --------------------------------------------


def register_outbox(registry: OutboxRegistry) -> None:
    """The "survey_ask" rows: one person's intro DM and questions, or a channel's thread."""

    async def send(
        outbox: OutboxContext, session: AsyncSession, delivery: Delivery, item: Item | None
    ) -> Posted:
        return await ask(outbox, session, delivery)

    async def undeliverable(
        session: AsyncSession, delivery: Delivery, item: Item | None, error: str
    ) -> None:
        await _not_asked(session, delivery, error, alert=False)

    async def gave_up(
        session: AsyncSession, delivery: Delivery, item: Item | None, error: str
    ) -> None:
        await _not_asked(session, delivery, error, alert=True)

    registry.register(ASK, OutboxHandler(send=send, undeliverable=undeliverable, gave_up=gave_up))


async def ask(outbox: OutboxContext, session: AsyncSession, delivery: Delivery) -> Posted:
    """Post the round's one message (its questions and the Answer button) to the delivery's
    recipient (a user id: their DM, no `conversations.open`; or the channel).

    A person is asked in their Slack language, read from the cache only (filled at the
    round's start by one `users.list` pass when many people were unknown): no Slack call per
    person here, so a large round goes at Slack's posting pace. A channel round speaks the
    survey's language (each person's form then speaks theirs).

    Everything is read and written in the outbox's own session for this delivery (one
    transaction, committed with the delivery's "sent" a moment later: a large round goes at
    Slack's pace, not the database's): the invite linked to the message, so replies and the
    form count. A process that dies after posting leaves the delivery unsure, and its retry
    finds the message in Slack rather than posting it again. For an anonymous round, what
    stays once asked names neither the person nor their thread (the delivery's recipient is
    cleared; the invite keeps a keyed hash of the thread).
    """
    params = dict(delivery.params or {})
    round_id = int(params.get("round_id") or 0)
    recipient = delivery.recipient or ""
    pair = await round_with_survey(session, round_id)
    if pair is None:
        raise PermanentDeliveryError("round_missing")
    round_, survey = pair
    if round_.status != "open":  # closed by the results tick while this waited
        raise PermanentDeliveryError("round_closed")
    in_channel = not recipient.startswith(("U", "W"))
    anonymous = round_.anonymous
    secret = await survey_secret(outbox.sessions) if anonymous else ""
    respondent = respondent_key(recipient, round_id, anonymous=anonymous, secret=secret)
    lang = survey.language
    if not in_channel:
        person = await cached_user(session, recipient)
        lang = normalize_language(person.locale if person else None, survey.language)
    message = round_message(
        title=survey.title,
        questions=list(round_.questions or []),
        round_id=round_id,
        closes_at=round_.closes_at,
        timezone=survey.timezone,
        anonymous=anonymous,
        in_channel=in_channel,
        lang=lang,
    )
    # A delivery an earlier version began has its message's place saved: the person has it.
    earlier = params.get("_progress") or {}
    posted: Posted = (
        (str(earlier["channel"]), str(earlier["ts"]))
        if earlier.get("ts")
        else await outbox.post(recipient, message, part=1)
    )
    channel, ts = posted
    if not channel or not ts:
        raise PermanentDeliveryError("no_ts")
    await _link_thread(session, round_, respondent, channel, ts, in_channel, secret)
    if not anonymous:
        return channel, ts
    # Asked: nothing here may say whom, nor where their thread is.
    delivery.params = {"round_id": round_id}
    delivery.recipient = None
    delivery.lane = None
    return None, None


async def _link_thread(
    session: AsyncSession,
    round_: SurveyRound,
    respondent: str,
    channel: str,
    ts: str,
    in_channel: bool,
    secret: str,
) -> None:
    """The intro is posted: replies in its thread count from now on."""
    if in_channel:
        await store.link_channel_thread(session, round_.id, channel, ts)
    elif round_.anonymous:
        await store.link_dm_thread(
            session, round_.id, respondent, channel=None, ts=thread_tag(secret, channel, ts)
        )
    else:
        await store.link_dm_thread(session, round_.id, respondent, channel=channel, ts=ts)


async def _not_asked(session: AsyncSession, delivery: Delivery, error: str, *, alert: bool) -> None:
    """Slack will never take this round's ask (the person is gone or refuses DMs, Jerry is not
    in the channel), or the outbox gave up: the person is left out of the round if nothing was
    posted to them, and triage hears of a channel it cannot post in, or of giving up."""
    params = delivery.params or {}
    round_id = int(params.get("round_id") or 0)
    pair = await round_with_survey(session, round_id)
    if pair is None:
        return
    round_, survey = pair
    recipient = delivery.recipient or ""
    in_channel = not recipient.startswith(("U", "W"))
    asked = bool((params.get("_progress") or {}).get("ts"))
    who = "someone" if round_.anonymous else recipient
    log.warning(
        "survey %s round %d: %s could not be asked (%s)%s",
        survey.name,
        round_.number,
        f"the channel {recipient}" if in_channel else who,
        error,
        "" if asked else "; left out of the round",
    )
    if in_channel:
        await alert_triage(
            session, "survey_unpostable", name=survey.name, channel=recipient, error=error
        )
        if not asked:
            await store.drop_invites(session, round_id, None)
        return
    if not asked:
        secret = await survey_secret_of(session) if round_.anonymous else ""
        respondent = respondent_key(recipient, round_id, anonymous=round_.anonymous, secret=secret)
        await store.drop_invites(session, round_id, respondent)
    if alert:
        await alert_triage(
            session,
            "survey_ask_failed",
            name=survey.name,
            number=round_.number,
            who="—" if round_.anonymous else f"<@{recipient}>",
            error=error,
        )


# --- what a round's asks became (for `jerry surveys run`) ------------------------------------


@dataclass(frozen=True)
class AskProgress:
    asked: int = 0  # sent: the person (or the channel) has every question
    queued: int = 0  # still owed: the outbox retries (Slack down, rate limited)
    failed: int = 0  # Slack refused for good, or the outbox gave up
    errors: dict[str, int] = field(default_factory=dict)  # last error → how many rows

    @property
    def done(self) -> bool:
        return self.queued == 0


async def ask_progress(sessions: async_sessionmaker[AsyncSession], round_id: int) -> AskProgress:
    async with sessions() as session:
        rows = await store.asks_of(session, round_id, ASK)
    asked = queued = failed = 0
    errors: dict[str, int] = {}
    for status, error in rows:
        if status == "sent":
            asked += 1
            continue
        if status == "failed":
            failed += 1
        else:
            queued += 1
        if error:
            errors[error] = errors.get(error, 0) + 1
    return AskProgress(asked, queued, failed, errors)
