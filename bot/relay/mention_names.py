"""The names of the people relayed text mentions, for rendering it without pinging them.

User text reposted by Jerry goes through `bot.text.neutralize`, which writes `<@U…>` as the
person's name in plain text (a mention would notify them, from a thread or channel they may
not even be in). The views are pure, so the names are looked up before rendering, here, and
handed to `neutralize` through `bot.text.known_names`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.items.cards import internal_notes
from bot.outbox.registry import OutboxContext, Send
from bot.text import known_names, mentioned_users
from models.conversation import RelayedMessage
from models.deliveries import Delivery
from models.items import Item

MAX_NAMED = 30  # a message naming more people than this shows the rest by id
# Parameters holding a person that a view writes as a mention inside user text (a note).
_PEOPLE_PARAMS = ("moved_by", "failed", "reopened_by", "who", "by")
_USER_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")


async def names_of(outbox: OutboxContext, user_ids: Iterable[str]) -> dict[str, str]:
    """user id → name, from Jerry's directory (cached); nobody Slack cannot name."""
    names: dict[str, str] = {}
    for user_id in sorted(set(user_ids))[:MAX_NAMED]:
        try:
            user = await outbox.directory.user(user_id)
        except Exception:  # a name is a nicety: the message goes out with the id
            continue
        name = (user.real_name or user.name) if user is not None else None
        if name:
            names[user_id] = name
    return names


async def _texts_of(session: AsyncSession, delivery: Delivery, item: Item | None) -> list[str]:
    params: dict[str, Any] = dict(delivery.params or {})
    texts = [str(value) for value in params.values() if isinstance(value, str)]
    texts += [f"<@{params[key]}>" for key in _PEOPLE_PARAMS if _USER_ID.match(str(params.get(key)))]
    duplicate = params.get("duplicate")
    if isinstance(duplicate, dict):
        texts += [str(duplicate.get("text") or ""), str(duplicate.get("answer") or "")]
    if item is not None:
        texts += [item.text, item.answer_text or "", item.resolution_note or ""]
        texts += [item.customer or ""]
        notes, _ = await internal_notes(session, item)  # the card shows the latest ones
        texts += [note.text for note in notes]
    if isinstance(params.get("message"), int):
        relayed = await session.get(RelayedMessage, params["message"])
        if relayed is not None:
            texts.append(relayed.text)
    return texts


def with_mention_names(send: Send) -> Send:
    """`send`, rendering the people its texts mention by name (see the module's doc)."""

    async def named(
        outbox: OutboxContext, session: AsyncSession, delivery: Delivery, item: Item | None
    ) -> Any:
        users = mentioned_users(await _texts_of(session, delivery, item))
        if not users:
            return await send(outbox, session, delivery, item)
        with known_names(await names_of(outbox, users)):
            return await send(outbox, session, delivery, item)

    return named
