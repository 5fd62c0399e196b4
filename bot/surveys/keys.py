"""The keyed hashes of anonymous survey rounds, and their key.

The key is random (32 bytes), made once by the first process that needs it and kept in the
database (`survey_secrets`): it is derived from nothing an operator holds, and every replica
reads the same one. What each hash is for (README, "What an operator can learn from an
anonymous survey"):

* `respondent_key(user, round)`: names the person on their invite (who was asked, who has
  finished: reminders need it). Anyone with the database and a list of user ids can compute it:
  it hides nothing but the user id itself.
* `thread_tag(channel, ts)`: the invite's DM thread, so a reply there is recognised. The thread's
  ts itself is stored nowhere.
* `ballot_key(round, user, thread ts)`: what the person's answer rows carry while the round is
  open (so an edit or a second answer replaces the first). It needs the DM thread's ts, which
  only Slack (and the person's reply) knows, so it cannot be computed from the database.
  Closing the round replaces ballot keys with random ones.
* `message_tag(ts)`: the person's own message an answer came from (edits and deletions).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from weakref import WeakKeyDictionary

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from models.surveys import SurveySecret

TAG_LENGTH = 32  # hex characters kept of a tag (128 bits): fits the ts columns
_KEYS: WeakKeyDictionary[async_sessionmaker[AsyncSession], str] = WeakKeyDictionary()


def _mac(secret: str, message: str) -> str:
    return hmac.new(secret.encode(), message.encode(), hashlib.sha256).hexdigest()


def respondent_key(user_id: str, round_id: int, *, anonymous: bool, secret: str) -> str:
    """How a respondent's invite names them: their user id, or for anonymous rounds the hash."""
    if not anonymous:
        return user_id
    return _mac(secret, f"{round_id}:{user_id}")


def thread_tag(secret: str, channel: str, ts: str) -> str:
    return _mac(secret, f"thread:{channel}:{ts}")[:TAG_LENGTH]


def ballot_key(secret: str, round_id: int, user_id: str, thread_ts: str) -> str:
    return "b:" + _mac(secret, f"ballot:{round_id}:{user_id}:{thread_ts}")


def message_tag(secret: str, ts: str) -> str:
    return _mac(secret, f"message:{ts}")[:TAG_LENGTH]


def random_answer_id() -> int:
    """A 62-bit id for an anonymous answer: no order of arrival, far above any sequence."""
    return (1 << 40) + secrets.randbelow((1 << 62) - (1 << 40))


async def survey_secret(sessions: async_sessionmaker[AsyncSession]) -> str:
    """The key (made and stored on first use; cached per process)."""
    cached = _KEYS.get(sessions)
    if cached is not None:
        return cached
    async with sessions() as session:
        found = await session.scalar(select(SurveySecret.secret).where(SurveySecret.id == 1))
        if found is None:
            session.add(SurveySecret(id=1, secret=secrets.token_hex(32)))
            try:
                await session.commit()
            except IntegrityError:  # another process made it first: theirs is the key
                await session.rollback()
            found = await session.scalar(select(SurveySecret.secret).where(SurveySecret.id == 1))
    assert found is not None
    _KEYS[sessions] = found
    return found


async def survey_secret_of(session: AsyncSession) -> str:
    """The key, read in `session` (it exists once any anonymous round was started)."""
    found = await session.scalar(select(SurveySecret.secret).where(SurveySecret.id == 1))
    return found or ""
