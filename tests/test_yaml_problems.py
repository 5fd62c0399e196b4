"""A YAML syntax error in a routing, summaries or surveys file is explained in words, with
its line and column, by every file reader (they share bot/config_file.py)."""

from __future__ import annotations

import pytest

from bot.intake.routing_file import RoutingFileError, parse
from bot.summaries.file import SummariesFileError
from bot.summaries.file import parse as parse_summaries
from bot.surveys.file import SurveysFileError
from bot.surveys.file import parse as parse_surveys

CASES = {
    "misaligned list item": (
        "teams:\n  - name: Payments\n    lead: U0PAYLEAD\n - name: Mobile\n",
        "line 4, column 2: a list item is not aligned with the ones above",
    ),
    "tab indent": ("triage:\n\tlead: U0PRODOPS\n", "line 2, column 1: a tab character"),
    "unquoted colon": (
        "triage:\n  lead: U0PRODOPS\n  note: see: this\n",
        "line 3, column 12: a colon where none is expected",
    ),
    "line without colon": (
        "triage:\n  lead: U0PRODOPS\n  channel\n  x: 1\n",
        "line 4, column 3: a line has no colon",
    ),
    "unclosed quote": (
        'triage:\n  lead: "U0PRODOPS\nteams: []\n',
        "line 2, column 9: a quote opens here and is never closed",
    ),
    "unclosed bracket": (
        "triage:\n  lead: [U0PRODOPS\nteams: []\n",
        "line 3, column 6: a list in brackets [ ] is not closed",
    ),
    "reserved first character": (
        "triage:\n  lead: @pat\n",
        "line 2, column 9: a value starts with a character YAML reserves",
    ),
    "key indented less": (
        "triage:\n  lead: U0PRODOPS\n channel: C0PRODOPS\n",
        "line 3, column 2: a line is indented less or more than the other keys",
    ),
}


@pytest.mark.parametrize("name", list(CASES))
def test_yaml_syntax_errors_are_explained_in_words_with_line_and_column(name: str) -> None:
    text, expected = CASES[name]
    with pytest.raises(RoutingFileError) as raised:
        parse(text, source="routing.yml")
    message = str(raised.value)
    line = expected.split(",")[0].removeprefix("line ")
    assert message.startswith(f"routing.yml:{line}: not valid YAML: {expected}"), message
    assert "<block" not in message and "while parsing" not in message, message


def test_an_uncommon_yaml_error_keeps_pyyamls_words_and_the_line() -> None:
    with pytest.raises(RoutingFileError) as raised:
        parse("triage:\n  lead: |x\n    U0PRODOPS\n", source="routing.yml")
    message = str(raised.value)
    assert message.startswith("routing.yml:2: not valid YAML: line 2, column 10: "), message
    assert "expected chomping or indentation indicators" in message, message


@pytest.mark.parametrize(
    ("parse_file", "error"),
    [(parse_summaries, SummariesFileError), (parse_surveys, SurveysFileError)],
)
def test_summaries_and_surveys_files_explain_yaml_errors_the_same_way(
    parse_file: object, error: type[Exception]
) -> None:
    text, expected = CASES["misaligned list item"]
    with pytest.raises(error) as raised:
        parse_file(text, source="file.yml")  # type: ignore[operator]
    assert f"file.yml:4: not valid YAML: {expected}" in str(raised.value)
