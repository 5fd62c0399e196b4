"""Pulse surveys: their definition, each round, who was asked, and the answers.

Anonymous rounds keep who was asked apart from what was answered (README, "What an operator
can learn from an anonymous survey"): an invite names its person by a keyed hash (HMAC of the
user id and the round, with the random key of `survey_secrets`) and its DM thread by a keyed
hash of the thread's ts; an answer row carries neither, only a ballot key that needs the DM
thread's ts (never stored) to compute, a random id, no message ts and no time but the round's
opening. Closing the round rewrites its answers in a random order with the ballot keys
replaced by random ones.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, utcnow

QUESTION_KINDS = ("scale5", "scale10", "choice", "text")
AUDIENCE_KINDS = ("usergroup", "users", "channel", "groups")


class Survey(Base):
    """A survey as defined in the surveys file (`jerry surveys import`)."""

    __tablename__ = "surveys"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    title: Mapped[str] = mapped_column(String(300))
    owner_channel: Mapped[str] = mapped_column(String(64))  # where results are posted
    audience_kind: Mapped[str] = mapped_column(String(20))  # usergroup | users | channel | groups
    # group/channel ids or user ids; for "groups" (several): "usergroup:S…", "channel:C…",
    # "users:U…" in file order
    audience: Mapped[list[str]] = mapped_column(default=list)
    # Where the round is introduced: "dm" (each respondent) or a channel id (one message).
    deliver_in: Mapped[str] = mapped_column(String(64), default="dm")
    # The schedule as written (APScheduler cron fields, e.g. {"week": "*/2",
    # "day_of_week": "mon", "hour": 10}) and its timezone.
    schedule: Mapped[dict[str, Any]] = mapped_column(default=dict)
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    open_for: Mapped[str] = mapped_column(String(16), default="3d")  # how long a round stays open
    remind_before: Mapped[str | None] = mapped_column(String(16))  # e.g. "1d" before closing
    anonymous: Mapped[bool] = mapped_column(default=False)
    language: Mapped[str] = mapped_column(String(5), default="en")
    # [{"id": "q1", "kind": "scale5", "text": "...", "low": "...", "high": "...",
    #   "options": [...]}] in file order.
    questions: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    archived: Mapped[bool] = mapped_column(default=False)  # no longer in the file
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class SurveyRound(Base):
    """One run of a survey. (survey, slot) is unique: a slot starts one round, once."""

    __tablename__ = "survey_rounds"

    id: Mapped[int] = mapped_column(primary_key=True)
    survey_id: Mapped[int] = mapped_column(ForeignKey("surveys.id"))
    number: Mapped[int]  # 1, 2, 3 … per survey
    slot: Mapped[datetime]  # the scheduled start (or the time of `jerry surveys run`)
    opened_at: Mapped[datetime] = mapped_column(default=utcnow)
    closes_at: Mapped[datetime]
    closed_at: Mapped[datetime | None]
    status: Mapped[str] = mapped_column(String(20), default="open")  # open | closed
    # The questions as asked in this round (the file may change between rounds).
    questions: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    anonymous: Mapped[bool] = mapped_column(default=False)
    invited: Mapped[int] = mapped_column(default=0)  # how many people were asked
    reminded_at: Mapped[datetime | None]
    results_posted_at: Mapped[datetime | None]
    # The channel message introducing the round when the survey is answered in a channel.
    channel: Mapped[str | None] = mapped_column(String(64))
    ts: Mapped[str | None] = mapped_column(String(32))

    __table_args__ = (
        UniqueConstraint("survey_id", "slot", name="uq_survey_rounds_survey_id_slot"),
        UniqueConstraint("survey_id", "number", name="uq_survey_rounds_survey_id_number"),
    )


class SurveySecret(Base):
    """The key of anonymous rounds' hashes: random, made once by the first process that needs
    it, and derived from nothing an operator holds (no setting, no Slack secret)."""

    __tablename__ = "survey_secrets"

    id: Mapped[int] = mapped_column(primary_key=True)  # always 1: one key
    secret: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class SurveyInvite(Base):
    """A person asked in a round: their thread with Jerry, and whether they finished.

    `respondent` is the Slack user id, or for anonymous rounds the keyed hash; for anonymous
    rounds `channel` is left empty (a DM channel id would name the person), `ts` holds a keyed
    hash of the DM thread's ts (enough to recognise a reply there, useless to find the thread)
    and `question_ts` stays empty.
    """

    __tablename__ = "survey_invites"

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("survey_rounds.id"))
    respondent: Mapped[str] = mapped_column(String(128))
    channel: Mapped[str | None] = mapped_column(String(64))
    ts: Mapped[str | None] = mapped_column(String(32))  # the intro message (the thread)
    # question id -> ts of that question's message in the thread
    question_ts: Mapped[dict[str, Any]] = mapped_column(default=dict)
    finished_at: Mapped[datetime | None]
    reminded_at: Mapped[datetime | None]
    answered: Mapped[int] = mapped_column(default=0)  # questions answered so far (reminders)
    # Named rounds: the audience's groups (user group or channel ids, "users" for people listed
    # by id) the person was asked as a member of, in file order. Anonymous rounds: None, so no
    # invite says which group's answers are whose.
    groups: Mapped[list[str] | None] = mapped_column(JSON)

    __table_args__ = (
        UniqueConstraint("round_id", "respondent"),
        Index("ix_survey_invites_ts", "ts"),
    )


class SurveyAnswer(Base):
    """The latest answer of one respondent to one question of a round.

    A skipped question is a row with `skipped` set and no value.
    Named rounds: `respondent` is the user id. Anonymous rounds: a ballot key (not the
    invite's), a random `id`, `answered_at` the round's opening and `source_ts` a keyed hash.
    """

    __tablename__ = "survey_answers"

    # 64-bit: anonymous answers get random ids (no order of arrival); SQLite's INTEGER is.
    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer(), "sqlite"), primary_key=True
    )
    round_id: Mapped[int] = mapped_column(ForeignKey("survey_rounds.id"))
    respondent: Mapped[str] = mapped_column(String(128))  # user id, or a ballot key
    question_id: Mapped[str] = mapped_column(String(40))
    number: Mapped[float | None]  # scales (1-5, 0-10)
    choice: Mapped[str | None] = mapped_column(String(300))
    text: Mapped[str | None] = mapped_column(Text)
    # "Skip this question": answered by skipping (no value); reminders do not chase it.
    skipped: Mapped[bool] = mapped_column(default=False, server_default=false())
    answered_at: Mapped[datetime] = mapped_column(default=utcnow)
    # The Slack message it came from, so an edit of that message replaces it.
    source_ts: Mapped[str | None] = mapped_column(String(32))

    __table_args__ = (UniqueConstraint("round_id", "respondent", "question_id"),)
