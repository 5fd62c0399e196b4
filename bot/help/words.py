"""What a few words typed to Jerry mean before they become an item (pure: no I/O).

A direct message or a command's text is read as a person would: "hi", "Bonjour !", "help 🙏"
ask for the help card; "thanks", "merci", "ok" close a conversation; a few other words
("pricing page") are probably not a full question yet, so Jerry asks before filing them.
For commands, a single word that is, or nearly is, a command word ("help", "liste") is taken
for a command: anything else ("SSO") is a pain point, as typed.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Literal

# A DM of at most this many words (and not a greeting, help or thanks) is asked about first.
SHORT_WORDS = 3
# …and at most this many characters: a long URL or code is a real message.
SHORT_CHARS = 60

HELP_WORDS = frozenset({"help", "aide", "aidez moi", "help me", "?", "usage", "commands"})
GREETINGS = frozenset(
    {
        "hi",
        "hello",
        "hey",
        "hiya",
        "yo",
        "bonjour",
        "salut",
        "coucou",
        "bonsoir",
        "hello there",
        "hey there",
        "hi there",
        "good morning",
        "good afternoon",
        "good evening",
        "morning",
    }
)
THANKS = frozenset(
    {
        "thanks",
        "thank you",
        "thanks a lot",
        "thank you so much",
        "thx",
        "ty",
        "merci",
        "merci beaucoup",
        "merci bien",
        "ok",
        "okay",
        "ok thanks",
        "ok merci",
        "d accord",
        "cool",
        "great",
        "super",
        "parfait",
        "perfect",
        "got it",
        "noted",
        "top",
    }
)
# Jerry's name after a greeting ("hi Jerry") or its mention is still a greeting.
NAMES = frozenset({"jerry"})
# The words of Jerry's commands' subcommands (and their French forms): a one-word command
# text equal to one of them, or one typo away, is a command, not an item.
COMMAND_WORDS = frozenset(
    {"help", "aide", "list", "liste", "lists", "summary", "resume", "preview", "apercu"}
)
TYPO_MIN_LENGTH = 4  # shorter words are too often real words one letter off ("sso", "list")

_MENTION = re.compile(r"<[@!#][^>]*>")
_EMOJI_CODE = re.compile(r":[a-z0-9_+'-]+:")
_TOKEN = re.compile(r"[^\W_]+|\?")

Meaning = Literal["help", "greeting", "thanks", "short", "message"]


def normalize(text: str) -> str:
    """Lower case, accents, mentions, emoji, punctuation and extra spaces gone: "Bonjour 👋 !"
    → "bonjour"; "d'accord" → "d accord". A lone "?" stays (it asks for help)."""
    text = _MENTION.sub(" ", text)
    text = _EMOJI_CODE.sub(" ", text.lower())
    decomposed = unicodedata.normalize("NFKD", text)
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    tokens = _TOKEN.findall(bare)
    words = [token for token in tokens if token != "?"]
    return " ".join(words) if words or not tokens else "?"


def _without_names(words: str) -> str:
    kept = [w for w in words.split() if w not in NAMES]
    return " ".join(kept)


def meaning(text: str) -> Meaning:
    """What a direct message to Jerry is: a request for help, a greeting, a thanks, a few
    words to confirm before filing, or a message to file as it is."""
    words = normalize(text)
    bare = _without_names(words)
    if bare in HELP_WORDS or (not bare and words):
        return "help"  # "?" alone, or only Jerry's name
    if bare in GREETINGS:
        return "greeting"
    if bare in THANKS:
        return "thanks"
    if not words:
        return "message"  # only emoji or mentions: the empty-text path answers it
    if len(words.split()) <= SHORT_WORDS and len(text.strip()) <= SHORT_CHARS:
        return "short"
    return "message"


def edit_distance(a: str, b: str) -> int:
    """Damerau-Levenshtein (optimal string alignment): "liste"/"list" 1, "hlep"/"help" 1."""
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            cost = 0 if ca == cb else 1
            value = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                value = min(value, previous2[j - 2] + 1)
            current.append(value)
        previous2, previous = previous, current
    return previous[-1]


@dataclass(frozen=True)
class CommandWord:
    """A command's one-word text taken for a command: the word as typed, and the command word
    it stands for ("liste" → "list")."""

    typed: str
    meant: str
    # "help", "aide", "?" or a greeting: the person asked for help, nothing to explain.
    asked_help: bool = False

    @property
    def asks_help(self) -> bool:
        return self.meant in {"help", "aide"}

    @property
    def asks_list(self) -> bool:
        return self.meant in {"list", "liste", "lists"}


def command_word(text: str) -> CommandWord | None:
    """A /painpoint or /ask text that is no item but a command word: help, a greeting, or a
    single word equal to (or one typo from) a command word; None for anything else, which
    is filed as typed ("SSO", "exports are slow")."""
    words = normalize(text)
    bare = _without_names(words)
    if bare in HELP_WORDS or bare in GREETINGS or (not bare and words):
        return CommandWord(text.strip(), "help", asked_help=True)
    if not words or " " in words:
        return None
    if words in COMMAND_WORDS:
        return CommandWord(text.strip(), words)
    if len(words) >= TYPO_MIN_LENGTH:
        close = sorted(
            (edit_distance(words, known), known)
            for known in COMMAND_WORDS
            if len(known) >= TYPO_MIN_LENGTH
        )
        if close and close[0][0] <= 1:
            return CommandWord(text.strip(), close[0][1])
    return None


def closest(word: str, known: list[str]) -> str | None:
    """The known word one typo from `word` ("sumary" → "summary"), if there is one."""
    target = normalize(word)
    if len(target) < TYPO_MIN_LENGTH:
        return None
    found = sorted((edit_distance(target, k), k) for k in known)
    return found[0][1] if found and found[0][0] <= 1 else None
