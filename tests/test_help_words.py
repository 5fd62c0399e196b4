"""What a few words typed to Jerry mean (bot/help/words.py), in English and French."""

from __future__ import annotations

import pytest

from bot.help.words import command_word, edit_distance, meaning, normalize


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # greetings, whatever the case, punctuation, emoji or Jerry's name around them
        ("hi", "greeting"),
        ("Hello!!", "greeting"),
        ("hey 👋", "greeting"),
        ("HEY JERRY :wave:", "greeting"),
        ("<@U0JERRYBOT> bonjour", "greeting"),
        ("Bonjour !", "greeting"),
        ("salut", "greeting"),
        ("coucou 🙂", "greeting"),
        ("yo", "greeting"),
        ("bonsoir", "greeting"),
        # asking for help
        ("help", "help"),
        ("Aide !", "help"),
        ("?", "help"),
        ("Jerry?", "help"),
        # closing words: a friendly answer, not a prompt
        ("thanks!", "thanks"),
        ("Thank you", "thanks"),
        ("Merci 🙏", "thanks"),
        ("merci beaucoup", "thanks"),
        ("ok", "thanks"),
        ("d’accord", "thanks"),
        # a few other words: asked about before filing
        ("pricing page", "short"),
        ("SSO", "short"),
        ("invoice?", "short"),
        ("export trop lent", "short"),
        # a real message
        ("Who owns the iOS app?", "message"),
        ("thanks for the quick answer on the export question", "message"),
        ("la page de tarifs n'est pas à jour", "message"),
        (
            "https://example.com/a/very/long/link/that/is/a/whole/message/by/itself/really",
            "message",
        ),
    ],
)
def test_meaning_of_a_direct_message(text: str, expected: str) -> None:
    assert meaning(text) == expected


@pytest.mark.parametrize(
    ("text", "meant", "asked_help"),
    [
        ("help", "help", True),
        ("aide", "help", True),
        ("Bonjour", "help", True),
        ("liste", "liste", False),
        ("LIST", "list", False),
        ("hlep", "help", False),  # a typo
        ("aidde", "aide", False),
        ("sumary", "summary", False),
    ],
)
def test_a_command_word_is_not_an_item(text: str, meant: str, asked_help: bool) -> None:
    word = command_word(text)
    assert word is not None
    assert (word.meant, word.asked_help) == (meant, asked_help)


@pytest.mark.parametrize(
    "text", ["SSO", "Exports", "facturation", "login", "aid", "the list is wrong", "liste vide"]
)
def test_a_real_pain_point_is_not_taken_for_a_command(text: str) -> None:
    assert command_word(text) is None


def test_normalize_and_edit_distance() -> None:
    assert normalize("  Ça VA ?! :tada: <@U1>") == "ca va"
    assert normalize("???") == "?"
    assert edit_distance("liste", "list") == 1
    assert edit_distance("hlep", "help") == 1  # a transposition is one typo
    assert edit_distance("sso", "list") == 3
