"""User text reposted by Jerry can never ping a crowd and never exceeds Slack's limits."""

from __future__ import annotations

import pytest

from bot.text import (
    WORD_JOINER,
    csv_cell,
    escape_plain,
    has_visible_text,
    json_ready,
    known_names,
    neutralize,
    plain,
    quote,
    readable,
    truncate,
)

BROADCASTS = [
    "<!channel>",
    "<!here>",
    "<!everyone>",
    "<!here|here>",
    "<!channel|@channel>",
    "<!subteam^S0123ABC|@payments-team>",
    "<!subteam^S0123ABC>",
]


@pytest.mark.parametrize("special", BROADCASTS)
def test_neutralize_defuses_every_broadcast(special: str) -> None:
    out = neutralize(f"hey {special} look")
    assert "<!" not in out
    assert out.startswith("hey @")
    assert WORD_JOINER in out


@pytest.mark.parametrize("bare", ["@channel", "@here", "@everyone", "@HERE"])
def test_neutralize_defuses_bare_keywords(bare: str) -> None:
    out = neutralize(f"{bare} please")
    assert out != f"{bare} please"
    assert out.replace(WORD_JOINER, "") == f"{bare} please"


def test_neutralize_keeps_ordinary_markup() -> None:
    text = "ask about <https://example.com> &amp; <#C123>; mail a@here.com, *bold* _it_"
    assert neutralize(text) == text


def test_neutralize_names_people_without_pinging_them() -> None:
    # Issue 10: a relayed <@U…> pinged the person; it becomes their name as plain text.
    with known_names({"U123": "Ana <Ops>"}):
        assert neutralize("ask <@U123> or <@U999> or <@W77|pat>") == (
            "ask @Ana &lt;Ops&gt; or @U999 or @pat"
        )
    assert neutralize("ask <@U123>") == "ask @U123"  # no names known: the id, still no ping


def test_neutralize_shows_the_real_address_of_a_disguised_link() -> None:
    # Issue 10: <https://evil|https://good> showed "https://good" and went to evil.
    out = neutralize("see <https://evil.example/x|https://good.example> now")
    assert out == "see https://good.example (<https://evil.example/x>) now"
    assert neutralize("<https://example.com|the doc>") == "the doc (<https://example.com>)"
    # A label that is its own address stays a plain link.
    assert neutralize("<https://example.com/|example.com>") == "<https://example.com/>"
    assert neutralize("<mailto:a@b.co|a@b.co>") == "<mailto:a@b.co>"


def test_readable_turns_slack_markup_into_what_people_read() -> None:
    raw = (
        "ping <@U1> and <@U2>, see <https://x.example/a|the spec> in <#C1|design> "
        "or <#C2>, <https://y.example> &amp; 1 &lt; 2 <!here>"
    )
    assert readable(raw, {"U1": "Ana"}) == (
        "ping @Ana and @U2, see the spec (https://x.example/a) in #design "
        "or #C2, https://y.example & 1 < 2 @here"
    )
    assert readable("in <#C2|> and <#C3>", channels={"C2": "ops"}) == "in #ops and #C3"


def test_neutralize_keeps_date_fallback() -> None:
    assert neutralize("due <!date^1392734382^{date}|Feb 18, 2014>") == "due Feb 18, 2014"


def test_escape_plain_turns_typed_markup_into_text() -> None:
    typed = "<!channel> 1 < 2 & 3 > 2"
    escaped = escape_plain(typed)
    assert escaped == "&lt;!channel&gt; 1 &lt; 2 &amp; 3 &gt; 2"
    assert neutralize(escaped) == escaped  # nothing left for Slack to parse


def test_truncate_leaves_short_text_alone() -> None:
    assert truncate("short", 10) == "short"


def test_truncate_cuts_cleanly_with_marker() -> None:
    text = "word " * 1000
    out = truncate(text, 100, marker="…")
    assert len(out) <= 100
    assert out.endswith("…")
    assert not out[:-1].endswith(" ")


def test_truncate_never_splits_a_link_or_entity() -> None:
    text = "x" * 90 + "<https://example.com/very/long/path|label> tail"
    out = truncate(text, 100, marker="…")
    assert "<https" not in out and len(out) <= 100
    text = "y" * 97 + "&amp; more text"
    out = truncate(text, 100, marker="…")
    assert "&am…" not in out and not out.rstrip("…").endswith("&")


def test_truncate_handles_unicode_and_emoji() -> None:
    text = "Facturé 🧾 " * 1000
    out = truncate(text, 3000)
    assert len(out) <= 3000
    out.encode("utf-8")  # no lone surrogate


def test_quote_prefixes_each_line() -> None:
    assert quote("a\n\nb") == "> a\n>\n> b"


def test_plain_decodes_entities_and_limits() -> None:
    assert plain("a &lt; b &amp; c", 100) == "a < b & c"
    assert len(plain("z" * 500, 75)) <= 75


def test_csv_cells_never_start_a_spreadsheet_formula() -> None:
    assert csv_cell('=HYPERLINK("http://evil")') == '\'=HYPERLINK("http://evil")'
    for risky in ("+1", "-1", "@SUM(A1)", "\tx", "\rx"):
        assert csv_cell(risky) == "'" + risky
    assert csv_cell("plain, text") == "plain, text"
    assert csv_cell(None) == "" and csv_cell(4.5) == "4.5"


def test_json_ready_dates_iso_and_durations_in_seconds() -> None:
    from datetime import UTC, date, datetime, timedelta

    data = {
        "at": datetime(2026, 11, 25, 9, 30, tzinfo=UTC),
        "on": date(2026, 11, 25),
        "took": [timedelta(hours=1, seconds=30)],
        "n": (1, "x"),
    }
    assert json_ready(data) == {
        "at": "2026-11-25T09:30:00+00:00",
        "on": "2026-11-25",
        "took": [3630.0],
        "n": [1, "x"],
    }


@pytest.mark.parametrize(
    ("text", "visible"),
    [
        ("", False),
        (" \n\t", False),
        ("\u200b\u200c\u200d\u2060\ufeff", False),
        ("\x00\x01", False),
        ("a", True),
        ("\u200b😀", True),
        ("é", True),
    ],
)
def test_has_visible_text(text: str, visible: bool) -> None:
    assert has_visible_text(text) is visible


def test_plain_for_terminal_names_people_and_channels_and_drops_markup() -> None:
    from bot.text import plain_for_terminal

    text = (
        "*Team*: rule “x” (channel <#C0SUP> and pattern `crash|freeze`) &amp; _1 = No_ "
        "<@U1> <@U2|bob> <@U3> <#C9|general> <!here> <!date^1700000000^{date}|Mar 3> "
        "<https://a.example|docs> snake_case_word 2*3*4 &lt;b&gt;"
    )
    assert plain_for_terminal(text, {"U1": "Olga", "C0SUP": "support"}) == (
        "Team: rule “x” (channel #support and pattern crash|freeze) & 1 = No "
        "@Olga @bob U3 #general @here Mar 3 docs (https://a.example) snake_case_word 2*3*4 <b>"
    )
