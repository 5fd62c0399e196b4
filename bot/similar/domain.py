"""The plain data of similar items at intake, that the core computes and views render: what a
reporter is offered (suggested items, or a past answer) and what their choice did.

No I/O and nothing of Jerry's imported here, so views (bot/views/similar.py) and the core both
import it. An offer travels in an outbox row's params (JSON): `to_params` / `from_params`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

# What the reporter chose (Item.similar_choice): added to a suggested item, theirs is
# different, a past answer answered it, or they still need help.
Choice = Literal["added", "different", "answered", "needs_help"]
CHOICES: tuple[Choice, ...] = ("added", "different", "answered", "needs_help")


@dataclass(frozen=True)
class Shown:
    """An item suggested to a reporter, as they see it: its number, text and state, and how
    many others reported it too; never who reported it (nor where)."""

    id: int
    text: str
    status: str  # open | acknowledged | answered | resolved | closed
    outcome: str | None = None
    answer: str | None = None
    followers: int = 0  # items merged into it: people who reported it too

    def to_params(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "text": self.text,
            "status": self.status,
            "outcome": self.outcome,
            "answer": self.answer,
            "followers": self.followers,
        }

    @classmethod
    def from_params(cls, data: object) -> Shown | None:
        if not isinstance(data, dict):
            return None
        item_id, text, status = data.get("id"), data.get("text"), data.get("status")
        if not isinstance(item_id, int) or not isinstance(text, str) or not isinstance(status, str):
            return None
        outcome, answer, followers = data.get("outcome"), data.get("answer"), data.get("followers")
        return cls(
            id=item_id,
            text=text,
            status=status,
            outcome=outcome if isinstance(outcome, str) else None,
            answer=answer if isinstance(answer, str) else None,
            followers=followers if isinstance(followers, int) else 0,
        )


@dataclass(frozen=True)
class Offer:
    """What a new item's reporter is offered: the items that look like theirs ("Same problem:
    add me to #12" / "Mine is different"), or, for a question, a past answer ("This answers
    it" / "I still need help")."""

    item_id: int
    kind: str  # the new item's: painpoint | question
    suggestions: tuple[Shown, ...] = ()
    past_answer: Shown | None = None
    # The lead's DM waits this many minutes for the choice (0: it does not wait).
    hold_minutes: int = 0

    def to_params(self) -> dict[str, Any]:
        return {
            "item": self.item_id,
            "kind": self.kind,
            "suggestions": [s.to_params() for s in self.suggestions],
            "past_answer": self.past_answer.to_params() if self.past_answer else None,
            "hold_minutes": self.hold_minutes,
        }

    @classmethod
    def from_params(cls, data: object) -> Offer | None:
        """The offer kept in a delivery's params; None when there is none (or it is not one)."""
        if not isinstance(data, dict) or not isinstance(data.get("item"), int):
            return None
        raw = data.get("suggestions")
        shown = [Shown.from_params(s) for s in raw] if isinstance(raw, list) else []
        suggestions = tuple(s for s in shown if s is not None)
        past = Shown.from_params(data.get("past_answer"))
        if not suggestions and past is None:
            return None
        hold = data.get("hold_minutes")
        return cls(
            item_id=data["item"],
            kind=str(data.get("kind") or "painpoint"),
            suggestions=suggestions,
            past_answer=past,
            hold_minutes=hold if isinstance(hold, int) else 0,
        )


@dataclass(frozen=True)
class ChoiceMade:
    """What a click on an offer did (or, `already`, what the first click did: a later one
    changes nothing), for the message that replaces the offer."""

    item_id: int
    kind: str
    choice: Choice | None  # None: the item was resolved meanwhile, nothing was chosen
    target: int | None = None  # the item added to, or whose answer answered it
    anonymous: bool = False
    already: bool = False
    # "Mine is different" / "I still need help": the team had it already (the wait was over)
    team_had_it: bool = False
