"""Answering a survey in its thread: replies, edits, deletions and one-click buttons.

A reply in a round's thread (the DM thread under the intro, or the channel thread of a
channel round) is read against the round's questions (bot/surveys/answers.py) and stored as
SurveyAnswer rows, one per question and respondent, the latest winning. The invite is found
by the user id, or for anonymous rounds by its keyed hash (bot/surveys/keys.respondent_key)
and the keyed hash of the DM thread. An anonymous round's answer rows carry a ballot key
computed from the user id and the thread's ts (which is stored nowhere), a random id, the
round's opening as their time and a keyed hash of the message: nothing links them to the
invite in the database. Nothing here stores or logs a user id or DM channel of an anonymous
round.

* Only the invitee counts: anyone else writing in the thread (a channel thread: anyone not
  invited) is ignored silently.
* An edit replaces what that message answered (rows carry the message ts, `source_ts`):
  its new answers are written (the latest wins), answers it no longer gives are removed.
* A deleted message takes its answers with it (while the round is open): the person took
  them back. Nothing is said in the thread.
* Slack retrying an event writes nothing twice (rows are keyed by question; an unchanged
  answer is not rewritten) and the confirmation is not posted twice: the reaction on the
  person's message is added first, and Slack answering `already_reacted` means the
  confirmation was already given.
* After the round closed (status closed, or its closing time passed), nothing is counted
  and the person is told, once per message (the same reaction rule).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, TypedDict

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.slack import AsyncWebClient, SlackApiError, classify
from bot.surveys.answer_store import (
    answers_of,
    invite_of,
    is_survey_thread,
    put_answer,
    remove_answers,
    round_with_survey,
    rounds_for_thread,
)
from bot.surveys.answers import (
    Given,
    Parsed,
    ParsedAnswer,
    Problem,
    Question,
    parse_answer,
    parse_reply,
    questions_of,
)
from bot.surveys.keys import (
    ballot_key,
    message_tag,
    random_answer_id,
    respondent_key,
    survey_secret,
    thread_tag,
)
from bot.views import survey_answers as views
from bot.views.survey_form import done_message
from models.surveys import Survey, SurveyAnswer, SurveyInvite, SurveyRound

log = logging.getLogger("jerry.surveys")

REACTION_OK = "white_check_mark"
REACTION_UNCLEAR = "question"
REACTION_CLOSED = "lock"
RACE_ATTEMPTS = 3
BUTTON_SOURCE = "button"  # SurveyAnswer.source_ts of a one-click answer: no message to edit
FORM_SOURCE = "form"  # SurveyAnswer.source_ts of an answer given in the answer form


class ReplyStatus(StrEnum):
    RECORDED = "recorded"  # at least one answer understood (and stored)
    NOT_UNDERSTOOD = "not_understood"  # the respondent wrote, nothing could be read
    UNCHANGED = "unchanged"  # an edit that changes no answer: nothing to say
    DELETED = "deleted"  # a deleted message's answers were removed
    CLOSED = "closed"  # the round is closed: nothing counted, the person is told
    STRANGER = "stranger"  # not the respondent: ignored
    NOT_A_SURVEY = "not_a_survey"


@dataclass(frozen=True)
class ReplyOutcome:
    status: ReplyStatus
    lang: str = "en"
    round_id: int | None = None
    parsed: Parsed | None = None
    remaining: tuple[int, ...] = ()  # positions of the questions still unanswered
    in_channel: bool = False  # a channel round: confirmations are ephemeral
    anonymous: bool = False
    changed: bool = False
    # This reply answered the last question left: the one confirmation is owed.
    just_finished: bool = False
    done: Done | None = None

    @property
    def finished(self) -> bool:
        return self.status is ReplyStatus.RECORDED and not self.remaining


@dataclass(frozen=True)
class Done:
    """What the confirmation says once every question is answered or skipped."""

    count: int  # the round's questions
    skipped: int
    closes_at: datetime
    timezone: str


class _RoundContext(TypedDict):
    """What every ReplyOutcome of a round's thread says about the round."""

    lang: str
    round_id: int
    in_channel: bool
    anonymous: bool


@dataclass(frozen=True)
class ButtonOutcome:
    status: str  # "recorded" | "not_yours" | "closed" | "invalid"
    lang: str = "en"
    answer: ParsedAnswer | None = None
    remaining: tuple[int, ...] = ()
    in_channel: bool = False
    problems: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class _Found:
    round: SurveyRound
    survey: Survey
    invite: SurveyInvite
    respondent: str  # what the person's answer rows carry: user id, or their ballot key
    secret: str

    @property
    def anonymous(self) -> bool:
        return self.round.anonymous

    def source(self, ts: str) -> str:
        """What an answer row keeps of the message it came from."""
        if not self.anonymous or ts in {BUTTON_SOURCE, FORM_SOURCE}:
            return ts
        return message_tag(self.secret, ts)

    def answered_at(self, now: datetime) -> datetime:
        """An anonymous answer's time is the round's opening: no order of arrival."""
        return self.round.opened_at if self.anonymous else now

    def new_id(self) -> int | None:
        return random_answer_id() if self.anonymous else None


def is_closed(round_: SurveyRound, now: datetime) -> bool:
    return round_.status != "open" or round_.closed_at is not None or now >= round_.closes_at


async def lock_round(session: AsyncSession, round_: SurveyRound) -> None:
    """Read the round again under a share lock (PostgreSQL): closing it (an UPDATE) waits for
    the answer being stored, so an answer is either counted before closing or refused."""
    await session.refresh(round_, with_for_update={"read": True})


async def survey_thread(
    sessions: async_sessionmaker[AsyncSession], channel: str, thread_ts: str | None
) -> bool:
    """Whether a thread is a survey round's (the message listener's matcher asks this)."""
    if not channel or not thread_ts:
        return False
    tag = thread_tag(await survey_secret(sessions), channel, thread_ts)
    async with sessions() as session:
        return await is_survey_thread(session, channel, thread_ts, tag)


async def _find(
    session: AsyncSession, secret: str, channel: str, thread_ts: str, user_id: str
) -> tuple[_Found | None, SurveyRound | None, Survey | None]:
    """The respondent's invite for this thread, locked; else the thread's round (a stranger)."""
    tag = thread_tag(secret, channel, thread_ts)
    candidates = await rounds_for_thread(session, channel, thread_ts, tag)
    for round_, survey in candidates:
        await lock_round(session, round_)
        invited = respondent_key(user_id, round_.id, anonymous=round_.anonymous, secret=secret)
        invite = await invite_of(session, round_.id, invited, for_update=True)
        if invite is None:
            continue
        in_channel = round_.channel == channel and round_.ts == thread_ts
        own_dm = (invite.ts == thread_ts and invite.channel == channel) or invite.ts == tag
        if in_channel or own_dm:
            respondent = (
                ballot_key(secret, round_.id, user_id, thread_ts) if round_.anonymous else user_id
            )
            return _Found(round_, survey, invite, respondent, secret), round_, survey
    if candidates:
        return None, candidates[0][0], candidates[0][1]
    return None, None, None


def _remaining(questions: list[Question], answers: dict[str, SurveyAnswer]) -> tuple[int, ...]:
    return tuple(i for i, q in enumerate(questions, start=1) if q.id not in answers)


def _values(answer: ParsedAnswer) -> dict[str, Any]:
    number = float(answer.number) if answer.number is not None else None
    return {"number": number, "choice": answer.choice, "text": answer.text}


async def record_reply(
    sessions: async_sessionmaker[AsyncSession],
    *,
    secret: str,
    channel: str,
    thread_ts: str | None,
    user_id: str,
    ts: str,
    text: str,
    now: datetime,
    edited: bool = False,
    lang: str | None = None,
) -> ReplyOutcome:
    """A person's message (or its edit) in a survey thread: read it, store the answers.
    `lang`: the person's Slack language when Jerry speaks it (else the survey's is used)."""
    if not thread_ts or thread_ts == ts or not user_id:
        return ReplyOutcome(ReplyStatus.NOT_A_SURVEY)
    for attempt in range(RACE_ATTEMPTS):
        try:
            return await _record_reply(
                sessions, secret, channel, thread_ts, user_id, ts, text, now, edited, lang
            )
        except IntegrityError:
            # Two replies of one person at once inserted the same answer (SQLite has no row
            # lock to make them wait): read again, the other one's answer is there now.
            if attempt + 1 == RACE_ATTEMPTS:
                raise
    raise AssertionError("unreachable")


async def _record_reply(
    sessions: async_sessionmaker[AsyncSession],
    secret: str,
    channel: str,
    thread_ts: str,
    user_id: str,
    ts: str,
    text: str,
    now: datetime,
    edited: bool,
    person_lang: str | None,
) -> ReplyOutcome:
    async with sessions() as session, session.begin():
        found, round_, survey = await _find(session, secret, channel, thread_ts, user_id)
        if round_ is None or survey is None:
            return ReplyOutcome(ReplyStatus.NOT_A_SURVEY)
        lang = person_lang or survey.language
        base: _RoundContext = {
            "lang": lang,
            "round_id": round_.id,
            "in_channel": round_.channel == channel and round_.ts == thread_ts,
            "anonymous": round_.anonymous,
        }
        if found is None:
            log.info("survey round %s: a message from someone not invited, ignored", round_.id)
            return ReplyOutcome(ReplyStatus.STRANGER, **base)
        if is_closed(round_, now):
            log.info("survey round %s: an answer after closing, not counted", round_.id)
            return ReplyOutcome(ReplyStatus.CLOSED, **base)
        questions = questions_of(round_.questions)
        answers = await answers_of(session, round_.id, found.respondent)
        # An edit, or Slack sending the same message again, is read as the message was: about
        # the questions it answered, not the next ones.
        source = found.source(ts)
        from_this = {q for q, row in answers.items() if row.source_ts == source}
        parsed = parse_reply(
            text,
            questions,
            lang=lang,
            replying_to=next((q.id for q in questions if q.id in from_this), None),
            answered=set(answers) - from_this,
        )
        changed = False
        if edited:
            gone = from_this - set(parsed.answers)
            if gone:
                await remove_answers(session, answers, gone)
                changed = True
        for answer in parsed.answers.values():
            changed |= put_answer(
                session,
                answers,
                round_id=round_.id,
                respondent=found.respondent,
                question_id=answer.question_id,
                source_ts=source,
                now=found.answered_at(now),
                answer_id=found.new_id(),
                **_values(answer),
            )
        remaining = _remaining(questions, answers)
        just_finished = _mark_finished(found.invite, remaining, len(answers), now)
        done = _done(round_, survey, answers) if just_finished else None
        if edited and not changed:
            status = ReplyStatus.UNCHANGED
        elif parsed.answers:
            status = ReplyStatus.RECORDED
        else:
            status = ReplyStatus.NOT_UNDERSTOOD
    log.info(
        "survey round %s: reply read (%s): %d answer(s), %d problem(s), %d question(s) left",
        round_.id,
        status,
        len(parsed.answers),
        len(parsed.problems),
        len(remaining),
    )
    return ReplyOutcome(
        status,
        parsed=parsed,
        remaining=remaining,
        changed=changed,
        just_finished=just_finished,
        done=done,
        **base,
    )


def _mark_finished(
    invite: SurveyInvite, remaining: tuple[int, ...], answered: int, now: datetime
) -> bool:
    """Count the person's answers (skips included); whether they have just finished."""
    invite.answered = answered
    if remaining:
        invite.finished_at = None
        return False
    if invite.finished_at is None:
        invite.finished_at = now
        return True
    return False


def _done(round_: SurveyRound, survey: Survey, answers: dict[str, SurveyAnswer]) -> Done:
    skipped = sum(1 for row in answers.values() if row.skipped)
    return Done(len(round_.questions or []), skipped, round_.closes_at, survey.timezone)


async def delete_reply(
    sessions: async_sessionmaker[AsyncSession],
    *,
    secret: str,
    channel: str,
    thread_ts: str | None,
    user_id: str | None,
    ts: str,
    now: datetime,
) -> ReplyOutcome:
    """A message deleted in a survey thread: the answers it gave go (while the round is open)."""
    if not thread_ts or not user_id:
        return ReplyOutcome(ReplyStatus.NOT_A_SURVEY)
    async with sessions() as session, session.begin():
        found, round_, survey = await _find(session, secret, channel, thread_ts, user_id)
        if found is None or round_ is None or survey is None:
            return ReplyOutcome(
                ReplyStatus.NOT_A_SURVEY if round_ is None else ReplyStatus.STRANGER
            )
        if is_closed(round_, now):
            return ReplyOutcome(ReplyStatus.CLOSED, lang=survey.language, round_id=round_.id)
        answers = await answers_of(session, round_.id, found.respondent)
        gone = {q for q, row in answers.items() if row.source_ts == found.source(ts)}
        await remove_answers(session, answers, gone)
        remaining = _remaining(questions_of(round_.questions), answers)
        _mark_finished(found.invite, remaining, len(answers), now)
    log.info("survey round %s: a deleted reply took %d answer(s) back", round_.id, len(gone))
    status = ReplyStatus.DELETED if gone else ReplyStatus.UNCHANGED
    return ReplyOutcome(
        status, lang=survey.language, round_id=round_.id, remaining=remaining, changed=bool(gone)
    )


def parse_button_value(value: str) -> tuple[int, str, int] | None:
    """f"{round_id}:{question_id}:{n}" → (round_id, question_id, n); None when malformed."""
    round_part, _, rest = (value or "").partition(":")
    question_id, _, number = rest.rpartition(":")
    try:
        return int(round_part), question_id, int(number)
    except ValueError:
        return None


async def record_button(
    sessions: async_sessionmaker[AsyncSession],
    *,
    secret: str,
    value: str,
    user_id: str,
    now: datetime,
    channel: str = "",
    thread_ts: str | None = None,
) -> ButtonOutcome:
    """A one-click answer (`survey_answer` button): only the invitee's counts, while open.

    `channel` and `thread_ts` say where the button was (an anonymous round's invite is known
    by its thread, and the person's ballot key needs the thread's ts)."""
    decoded = parse_button_value(value)
    if decoded is None:
        return ButtonOutcome("invalid")
    round_id, question_id, number = decoded
    async with sessions() as session, session.begin():
        pair = await round_with_survey(session, round_id)
        if pair is None:
            return ButtonOutcome("invalid")
        round_, survey = pair
        lang, in_channel = survey.language, bool(round_.channel and round_.ts)
        found = await _invitee(session, round_, survey, secret, user_id, channel, thread_ts)
        if found is None:
            log.info("survey round %s: a button from someone not invited, refused", round_.id)
            return ButtonOutcome("not_yours", lang, in_channel=in_channel)
        invite = found.invite
        if is_closed(round_, now):
            return ButtonOutcome("closed", lang, in_channel=in_channel)
        questions = questions_of(round_.questions)
        position = next((i for i, q in enumerate(questions, 1) if q.id == question_id), None)
        if position is None:
            return ButtonOutcome("invalid", lang, in_channel=in_channel)
        result = parse_answer(questions[position - 1], position, str(number), lang=lang)
        if not isinstance(result, ParsedAnswer):
            return ButtonOutcome("invalid", lang, in_channel=in_channel, problems=[result.message])
        answers = await answers_of(session, round_.id, found.respondent)
        put_answer(
            session,
            answers,
            round_id=round_.id,
            respondent=found.respondent,
            question_id=question_id,
            source_ts=BUTTON_SOURCE,
            now=found.answered_at(now),
            answer_id=found.new_id(),
            **_values(result),
        )
        remaining = _remaining(questions, answers)
        _mark_finished(invite, remaining, len(answers), now)
    log.info("survey round %s: one-click answer to question %s", round_id, position)
    return ButtonOutcome("recorded", lang, result, remaining, in_channel)


async def _invitee(
    session: AsyncSession,
    round_: SurveyRound,
    survey: Survey,
    secret: str,
    user_id: str,
    channel: str,
    thread_ts: str | None,
) -> _Found | None:
    """The person's invite to `round_`, locked (the round under a share lock first), when they
    were asked; for an anonymous round only from their own DM thread (`thread_ts`, the
    round message's ts: their ballot key needs it, and it is stored nowhere)."""
    await lock_round(session, round_)
    invited = respondent_key(user_id, round_.id, anonymous=round_.anonymous, secret=secret)
    invite = await invite_of(session, round_.id, invited, for_update=True)
    own_thread = not round_.anonymous or (
        bool(thread_ts)
        and invite is not None
        and invite.ts == thread_tag(secret, channel, thread_ts or "")
    )
    if invite is None or not own_thread:
        return None
    respondent = (
        ballot_key(secret, round_.id, user_id, thread_ts or "") if round_.anonymous else user_id
    )
    return _Found(round_, survey, invite, respondent, secret)


# --- the answer form (the round message's Answer button) -------------------------------------


@dataclass(frozen=True)
class FormData:
    """What the answer form shows a person, or why it cannot open."""

    status: str  # "open" | "not_yours" | "closed" | "invalid"
    survey_lang: str = "en"
    title: str = ""
    questions: list[dict[str, Any]] = field(default_factory=list)
    given: dict[str, Given] = field(default_factory=dict)
    closes_at: datetime | None = None
    timezone: str = "UTC"
    anonymous: bool = False


@dataclass(frozen=True)
class FormEntry:
    """One question as the submitted form has it: its raw value (a scale value "4", an
    option "o2", free text) or None when left empty, and whether "Skip" was chosen."""

    question_id: str
    value: str | None = None
    skipped: bool = False


@dataclass(frozen=True)
class FormOutcome:
    status: str  # "recorded" | "problems" | "not_yours" | "closed" | "invalid"
    survey_lang: str = "en"
    title: str = ""
    problems: dict[str, str] = field(default_factory=dict)  # question id → why, in `lang`
    skip_conflicts: list[str] = field(default_factory=list)  # text written AND skipped
    remaining: tuple[int, ...] = ()
    done: Done | None = None  # every question is answered or skipped: the confirmation


def _given(row: SurveyAnswer) -> Given:
    return Given(row.number, row.choice, row.text, bool(row.skipped))


async def answer_form(
    sessions: async_sessionmaker[AsyncSession],
    *,
    secret: str,
    round_id: int,
    user_id: str,
    channel: str,
    thread_ts: str | None,
    now: datetime,
) -> FormData:
    """What the form opened from the round message (in `channel`, ts `thread_ts`) shows."""
    async with sessions() as session, session.begin():
        pair = await round_with_survey(session, round_id)
        if pair is None:
            return FormData("invalid")
        round_, survey = pair
        found = await _invitee(session, round_, survey, secret, user_id, channel, thread_ts)
        if found is None:
            log.info("survey round %s: the form asked by someone not invited", round_.id)
            return FormData("not_yours", survey_lang=survey.language, title=survey.title)
        if is_closed(round_, now):
            return FormData("closed", survey_lang=survey.language, title=survey.title)
        answers = await answers_of(session, round_.id, found.respondent)
        return FormData(
            "open",
            questions=list(round_.questions or []),
            given={question_id: _given(row) for question_id, row in answers.items()},
            closes_at=round_.closes_at,
            timezone=survey.timezone,
            anonymous=round_.anonymous,
            survey_lang=survey.language,
            title=survey.title,
        )


def _form_answer(
    question: Question, position: int, entry: FormEntry, lang: str
) -> ParsedAnswer | Problem:
    value = entry.value or ""
    if question.kind == "choice" and value.startswith("o"):
        value = value[1:]  # the option's number, which parse_answer reads as that option
    return parse_answer(question, position, value, lang=lang)


async def record_form(
    sessions: async_sessionmaker[AsyncSession],
    *,
    secret: str,
    round_id: int,
    user_id: str,
    channel: str,
    thread_ts: str | None,
    entries: list[FormEntry],
    now: datetime,
    lang: str | None = None,
) -> FormOutcome:
    """The submitted form: each answer replaces the person's earlier one (from the form or the
    thread), "Skip" records a skip, a free text emptied takes that answer back, a question left
    empty keeps what it had. Nothing is stored when a problem is found (said per question)."""
    async with sessions() as session, session.begin():
        pair = await round_with_survey(session, round_id)
        if pair is None:
            return FormOutcome("invalid")
        round_, survey = pair
        found = await _invitee(session, round_, survey, secret, user_id, channel, thread_ts)
        if found is None:
            log.info("survey round %s: a form from someone not invited, refused", round_.id)
            return FormOutcome("not_yours", survey_lang=survey.language, title=survey.title)
        if is_closed(round_, now):
            return FormOutcome("closed", survey_lang=survey.language, title=survey.title)
        questions = questions_of(round_.questions)
        by_id = {entry.question_id: entry for entry in entries}
        answers = await answers_of(session, round_.id, found.respondent)
        writes: list[tuple[str, ParsedAnswer | None]] = []  # None: a skip
        erased: set[str] = set()
        problems: dict[str, str] = {}
        conflicts: list[str] = []
        for position, question in enumerate(questions, start=1):
            entry = by_id.get(question.id)
            if entry is None:
                continue
            if entry.skipped and entry.value and question.kind == "text":
                conflicts.append(question.id)
            elif entry.skipped:
                writes.append((question.id, None))
            elif entry.value:
                result = _form_answer(question, position, entry, lang or survey.language)
                if isinstance(result, ParsedAnswer):
                    writes.append((question.id, result))
                else:
                    problems[question.id] = result.message
            elif question.kind == "text" and question.id in answers:
                erased.add(question.id)  # the form showed it: emptied on purpose
        if problems or conflicts:
            return FormOutcome(
                "problems",
                problems=problems,
                skip_conflicts=conflicts,
                survey_lang=survey.language,
                title=survey.title,
            )
        await remove_answers(session, answers, erased)
        for question_id, answer in writes:
            put_answer(
                session,
                answers,
                round_id=round_.id,
                respondent=found.respondent,
                question_id=question_id,
                source_ts=found.source(FORM_SOURCE),
                now=found.answered_at(now),
                answer_id=found.new_id(),
                skipped=answer is None,
                **(_values(answer) if answer else {"number": None, "choice": None, "text": None}),
            )
        remaining = _remaining(questions, answers)
        _mark_finished(found.invite, remaining, len(answers), now)
        done = None if remaining else _done(round_, survey, answers)
    log.info(
        "survey round %s: form saved, %d answer(s) or skip(s), %d question(s) left",
        round_id,
        len(writes),
        len(remaining),
    )
    return FormOutcome(
        "recorded", remaining=remaining, done=done, survey_lang=survey.language, title=survey.title
    )


# --- telling the person (Slack calls; the handler passes plain data) -------------------------


async def _react(client: AsyncWebClient, channel: str, ts: str, name: str) -> bool:
    """Add a reaction; False when it was already there (this message was answered before)."""
    try:
        await client.reactions_add(channel=channel, timestamp=ts, name=name)
    except SlackApiError as exc:
        error = classify(exc).code
        if error == "already_reacted":
            return False
        log.warning("survey reaction not added: %s", error)
    return True


async def confirm(
    client: AsyncWebClient,
    outcome: ReplyOutcome,
    *,
    channel: str,
    thread_ts: str,
    ts: str,
    user_id: str,
    edited: bool = False,
) -> bool:
    """React to the person's message (✓, or ❓ when nothing was understood); say in the
    thread only what was not understood and why, and, once the last question is answered,
    the one confirmation. Whether a note was sent.

    A first reaction already there means Slack retried the event after we answered: nothing
    is said twice. An edit says again only when it changed something.
    """
    if outcome.status is ReplyStatus.CLOSED:
        if not await _react(client, channel, ts, REACTION_CLOSED):
            return False
        message = views.closed_note(outcome.lang)
    elif outcome.status in {ReplyStatus.RECORDED, ReplyStatus.NOT_UNDERSTOOD}:
        assert outcome.parsed is not None
        reaction = REACTION_OK if outcome.parsed.answers else REACTION_UNCLEAR
        first = await _react(client, channel, ts, reaction)
        if not first and not edited:
            return False
        done = outcome.done
        if outcome.parsed.problems or not outcome.parsed.answers:
            # What was not understood, and why: said, or the person cannot fix it.
            message = views.reply_note(
                outcome.parsed,
                outcome.remaining,
                outcome.lang,
                done=_done_text(done, outcome.lang) if done else None,
            )
        elif done is not None:
            message = done_message(
                count=done.count,
                skipped=done.skipped,
                closes_at=done.closes_at,
                timezone=done.timezone,
                lang=outcome.lang,
            )
        else:
            return False  # understood, not the last: the ✓ is the whole answer
    else:
        return False
    try:
        if outcome.in_channel:
            await client.chat_postEphemeral(
                channel=channel, user=user_id, thread_ts=thread_ts, **message
            )
        else:
            await client.chat_postMessage(
                channel=channel, thread_ts=thread_ts, unfurl_links=False, **message
            )
    except SlackApiError as exc:
        log.warning("survey confirmation not sent: %s", classify(exc).code)
        return False
    return True


def _done_text(done: Done, lang: str) -> str:
    return done_message(
        count=done.count,
        skipped=done.skipped,
        closes_at=done.closes_at,
        timezone=done.timezone,
        lang=lang,
    )["text"]
