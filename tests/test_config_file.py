"""What every configuration file (routing, summaries, surveys) refuses before it is checked:
a file too large, nested too deeply, or with an escape that is not a character. Each is a
clear line, never a traceback, and the file changes nothing."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from bot.config_file import MAX_FILE_CHARS, ConfigFileError
from bot.intake import routing_file
from bot.summaries import file as summaries_file
from bot.surveys import file as surveys_file

PARSERS: dict[str, Callable[[str], object]] = {
    "routing": routing_file.parse,
    "summaries": summaries_file.parse,
    "surveys": surveys_file.parse,
}


def refusal(parser: Callable[[str], object], text: str) -> list[tuple[int, str]]:
    with pytest.raises(ConfigFileError) as info:
        parser(text)
    return [(p.line, p.message) for p in info.value.errors]


@pytest.mark.slow  # the parser gives up at Python's recursion limit: about a second
@pytest.mark.parametrize("kind", sorted(PARSERS))
def test_deep_nesting_is_refused_in_a_line(kind: str) -> None:
    text = "teams: " + "[" * 1_200 + "]" * 1_200 + "\n"
    assert refusal(PARSERS[kind], text) == [(0, "is nested too deeply to be read")]


@pytest.mark.parametrize("kind", sorted(PARSERS))
def test_an_escape_that_is_not_a_character_is_refused_with_its_line(kind: str) -> None:
    text = 'first: ok\nsecond:\n  - name: "Pay\\ud800ments"\n'
    assert refusal(PARSERS[kind], text) == [
        (3, "has an escape (like \\ud800) that is not a character")
    ]


@pytest.mark.parametrize("kind", sorted(PARSERS))
def test_a_file_too_large_is_refused_before_it_is_read(kind: str) -> None:
    text = "teams:\n" + "  - {name: x}\n" * (MAX_FILE_CHARS // 14 + 1)
    [(line, message)] = refusal(PARSERS[kind], text)
    assert line == 0 and message.startswith("is too large (")
    assert message.endswith(f"at most {MAX_FILE_CHARS:,})")
