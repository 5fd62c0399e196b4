"""The weekly summary's views (bot/views/summary.py): Slack's limits whatever the week holds,
the overflow into thread replies, and the text, JSON, Markdown and CSV forms."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from bot.summaries.content import iso_week_period
from bot.summaries.domain import (
    AreaVoice,
    Numbers,
    Period,
    SharedAnswer,
    Summary,
    SummaryScope,
    UpdateLine,
)
from bot.views.summary import (
    CSV_COLUMNS,
    DOWNLOAD_CSV,
    DOWNLOAD_MD,
    MAX_REPLIES,
    block_chars,
    day_text,
    summary_csv,
    summary_json,
    summary_markdown,
    summary_messages,
    summary_text,
)
from tests.french import spaced

# Slack's limits for a message (https://docs.slack.dev/reference/block-kit).
MESSAGE_BLOCKS, MESSAGE_TEXT, SECTION_TEXT, FIELD_TEXT, FIELDS = 50, 40000, 3000, 2000, 10
HEADER_TEXT, BUTTON_TEXT, BUTTON_VALUE, CONTEXT_ELEMENTS = 150, 75, 2000, 10
# Slack refuses blocks totalling about 13,000 characters (msg_blocks_too_long, bolt-js#2509).
BLOCKS_CHARS = 12000
PERIOD = iso_week_period("2026-W48", "Europe/Paris")
ANSWERED_AT = datetime(2026, 11, 24, 15, 0, tzinfo=UTC)
LANGS = ("en", "fr")


def problems(message: dict[str, Any]) -> list[str]:
    """Everything chat.postMessage would refuse in this message (empty list: valid)."""
    found: list[str] = []
    text = message.get("text")
    if not isinstance(text, str) or not text.strip() or len(text) > MESSAGE_TEXT:
        found.append(f"fallback text {text!r:.80}")
    blocks = message.get("blocks") or []
    if not 0 < len(blocks) <= MESSAGE_BLOCKS:
        found.append(f"{len(blocks)} blocks")
    chars = sum(block_chars(b) for b in blocks)
    if chars > BLOCKS_CHARS:
        found.append(f"{chars} characters in the blocks (msg_blocks_too_long)")

    def text_ok(where: str, obj: dict[str, Any], limit: int) -> None:
        value = obj.get("text")
        if obj.get("type") not in {"plain_text", "mrkdwn"} or not isinstance(value, str):
            found.append(f"{where}: bad text object")
        elif not value.strip():
            found.append(f"{where}: empty text")
        elif len(value) > limit:
            found.append(f"{where}: {len(value)} characters (limit {limit})")

    for n, block in enumerate(blocks):
        where = f"block {n} ({block.get('type')})"
        kind = block.get("type")
        if kind == "header":
            text_ok(where, block["text"], HEADER_TEXT)
            if block["text"]["type"] != "plain_text":
                found.append(f"{where}: header must be plain_text")
        elif kind == "section":
            if "text" not in block and not block.get("fields"):
                found.append(f"{where}: empty section")
            if "text" in block:
                text_ok(where, block["text"], SECTION_TEXT)
            fields = block.get("fields") or []
            if len(fields) > FIELDS:
                found.append(f"{where}: {len(fields)} fields")
            for field in fields:
                text_ok(where + " field", field, FIELD_TEXT)
        elif kind == "context":
            elements = block.get("elements") or []
            if not 0 < len(elements) <= CONTEXT_ELEMENTS:
                found.append(f"{where}: {len(elements)} elements")
            for element in elements:
                text_ok(where, element, SECTION_TEXT)
        elif kind == "actions":
            ids = []
            for element in block.get("elements") or []:
                text_ok(where, element["text"], BUTTON_TEXT)
                if len(element.get("value", "")) > BUTTON_VALUE:
                    found.append(f"{where}: value too long")
                ids.append(element["action_id"])
            if len(set(ids)) != len(ids) or not ids:
                found.append(f"{where}: action ids {ids}")
        elif kind != "divider":
            found.append(f"{where}: unexpected block type")
    block_ids = [b["block_id"] for b in blocks if "block_id" in b]
    if len(set(block_ids)) != len(block_ids):
        found.append("repeated block_id")
    json.dumps(message)
    return found


def update(n: int, *, upcoming: bool = False, text: str | None = None, **kw: Any) -> UpdateLine:
    values: dict[str, Any] = {
        "id": n,
        "title": text or f"Update number {n}",
        "customer_impact": text or f"Customers can now do thing {n} faster",
        "area": "Billing",
        "link": f"https://example.com/changelog/{n}",
        "date": date(2026, 12, 10) if upcoming else date(2026, 11, 25),
        "confidence": "likely" if upcoming else None,
        "customer_facing": n % 2 == 0,
    }
    values.update(kw)
    return UpdateLine(**values)


def voice(n: int, *, text: str = "invoice") -> AreaVoice:
    return AreaVoice(
        area=f"Area {n} {text}"[:200],
        painpoints=n + 1,
        questions=n,
        answered=n,
        resolved=1,
        themes=(text[:100], "refund", "export"),
    )


def shared(n: int, *, text: str = "How do I export invoices?") -> SharedAnswer:
    return SharedAnswer(
        item_id=n,
        question=text,
        answer=f"Answer {n}: {text}",
        team="Payments",
        area="Billing",
        answered_at=ANSWERED_AT,
    )


def make(
    *,
    shipped: int = 0,
    soon: int = 0,
    later: int = 0,
    areas: int = 0,
    answers: int = 0,
    text: str | None = None,
    lang: str = "en",
) -> Summary:
    return Summary(
        scope=SummaryScope("Revenue", ("Billing",), lang, "Europe/Paris"),
        period=PERIOD,
        shipped=[update(i, text=text) for i in range(shipped)],
        coming_soon=[update(i, upcoming=True, text=text) for i in range(soon)],
        coming_later=[
            update(i, upcoming=True, text=text, date=date(2026, 12, 30)) for i in range(later)
        ],
        voice=[voice(i, text=text or "invoice") for i in range(areas)],
        shared_answers=[
            shared(i, text=text or "How do I export invoices?") for i in range(answers)
        ],
        numbers=Numbers(routed=12, median_first_answer=timedelta(hours=3), answered=8, resolved=5),
        previous_numbers=Numbers(
            routed=9, median_first_answer=timedelta(hours=5, minutes=30), answered=6, resolved=7
        ),
    )


def all_text(messages: list[dict[str, Any]]) -> str:
    return json.dumps(messages, ensure_ascii=False)


HOSTILE = (
    "<!channel> ping & <script> " + "é" * 50 + " <https://x.example|link> " + "🚀" * 30
) * 40  # ~8000 characters


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize(
    "sizes",
    [
        {},
        {"shipped": 3, "soon": 2, "later": 1, "areas": 2, "answers": 1},
        {"shipped": 1000, "soon": 300, "later": 300, "areas": 40, "answers": 200},
        {"shipped": 60, "soon": 60, "later": 60, "areas": 60, "answers": 60, "text": HOSTILE},
    ],
    ids=["empty", "small", "huge", "hostile"],
)
def test_every_message_is_within_slacks_limits(lang: str, sizes: dict[str, Any]) -> None:
    summary = make(lang=lang, **sizes)
    messages = summary_messages(summary, lang, download_value="7:2026-W48")
    assert messages
    for n, message in enumerate(messages):
        assert problems(message) == [], f"message {n}"
    assert len(messages) <= 1 + MAX_REPLIES
    assert "<!channel>" not in all_text(messages)


def test_the_post_carries_the_sections_and_the_thread_the_overflow() -> None:
    summary = make(shipped=20, soon=3, later=2, areas=5, answers=4)
    post, *replies = summary_messages(summary, "en", download_value="7:2026-W48")
    post_text = all_text([post])
    assert post["blocks"][0]["type"] == "header"
    assert post["blocks"][0]["text"]["text"] == "This week in product: Revenue"
    # Shipped: the first eight in the post, the other twelve in the thread.
    assert "Update number 7" in post_text and "Update number 8>" not in post_text
    assert "…and 12 more in the thread." in post_text
    assert replies, "the overflow goes to the thread"
    reply_text = all_text(replies)
    for n in range(8, 20):
        assert f"changelog/{n}|Update number {n}>" in reply_text
    # Coming up and the numbers in the post; the per-area detail and answers in the thread.
    assert "In the next six weeks" in post_text and "Later this half" in post_text
    assert "Items routed" in post_text and "12 (previous period: 9, +3)" in post_text
    assert "3 h 0 min (previous period: 5 h 30 min)" in post_text
    assert "5 (previous period: 7, -2)" in post_text
    assert "25 items: 15 pain points and 10 questions; 10 answered, 5 resolved" in post_text
    assert "4 answers worth sharing: read them in the thread." in post_text
    assert "*Area 4 invoice*: 9 (5 pain points, 4 questions), 4 answered, 1 resolved" in reply_text
    assert "*Area 0 invoice*: 1 (1 pain point, 0 questions), 0 answered, 1 resolved" in reply_text
    assert "Themes: invoice, refund, export" in reply_text
    assert "*Q:* How do I export invoices?" in reply_text and "answered by Payments" in reply_text
    # The download buttons carry "subscription:week".
    buttons = next(b for b in post["blocks"] if b["type"] == "actions")["elements"]
    assert [(b["action_id"], b["value"]) for b in buttons] == [
        (DOWNLOAD_CSV, "7:2026-W48"),
        (DOWNLOAD_MD, "7:2026-W48"),
    ]


def test_without_a_download_value_there_are_no_buttons() -> None:
    post, _method = summary_messages(make(shipped=1), "en", download_value=None)
    assert all(b["type"] != "actions" for b in post["blocks"])


@pytest.mark.parametrize(
    ("lang", "title", "pointer", "counted"),
    [
        (
            "en",
            "*How these numbers are counted*",
            "How they are counted: in the thread.",
            "Items routed: created in the period and sent to a team.",
        ),
        (
            "fr",
            "*Comment ces chiffres sont calculés*",
            spaced("Comment ils sont calculés : dans le fil."),
            spaced("Demandes routées : créées pendant la période et envoyées à une équipe."),
        ),
    ],
)
def test_the_method_note_is_the_last_thread_reply_not_in_the_post(
    lang: str, title: str, pointer: str, counted: str
) -> None:
    for summary in (make(lang=lang), make(shipped=20, areas=3, answers=2, lang=lang)):
        post, *replies = summary_messages(summary, lang, download_value="7:2026-W48")
        assert counted not in all_text([post])
        assert post["blocks"][-2] == {
            "type": "context",
            "elements": [{"type": "mrkdwn", "text": pointer}],
        }
        [method] = replies[-1]["blocks"]
        assert method["text"]["text"].startswith(f"{title}\n{counted}")
        assert counted not in all_text(replies[:-1])
    # Even when the overflow is cut, the method note has its reply.
    huge = summary_messages(make(shipped=20000, lang=lang), lang, download_value="7:2026-W48")
    assert len(huge) == 1 + MAX_REPLIES and counted in all_text(huge[-1:])


def test_a_huge_thread_is_capped_and_points_to_the_download() -> None:
    summary = make(shipped=20000, answers=5000, areas=500)
    messages = summary_messages(summary, "en", download_value="7:2026-W48")
    assert len(messages) == 1 + MAX_REPLIES
    last = messages[-2]["blocks"][-1]  # the last reply but the method note
    assert last["type"] == "context"
    note = last["elements"][0]["text"]
    assert "more lines did not fit in the thread" in note
    assert "the download buttons give the whole summary" in note
    shown = all_text(messages).count("Update number ") + all_text(messages).count("*Q:*")
    assert int(note.split()[0]) + shown == 20000 + 5000 + 500 - all_text(messages).count("*Area ")
    assert all(problems(m) == [] for m in messages)


def test_overdue_confidence_and_dates_in_both_languages() -> None:
    summary = make(soon=1)
    late = update(1, upcoming=True, overdue=True, date=date(2026, 11, 2), confidence="committed")
    summary = Summary(**{**summary.__dict__, "coming_soon": [late]})
    en = all_text(summary_messages(summary, "en", download_value=None))
    fr = all_text(summary_messages(summary, "fr", download_value=None))
    assert "target Nov 2" in en and "committed" in en and "overdue" in en
    assert "prévu le 2 nov." in fr and "engagé" in fr and "en retard" in fr
    assert day_text(date(2026, 2, 14), "fr") == "14 févr."
    assert day_text(date(2026, 8, 1), "en") == "Aug 1"


def test_text_for_the_cli() -> None:
    text = summary_text(make(shipped=2, soon=1, areas=1, answers=1), "en")
    lines = text.splitlines()
    assert lines[0] == "This week in product: Revenue"
    assert lines[1] == "Nov 23 – Nov 29 · areas: Billing"
    assert "SHIPPED" in lines and "IN THE NEXT SIX WEEKS" in lines and "THE NUMBERS" in lines
    assert "- Update number 0 (Billing, shipped Nov 25, customer-facing)" in lines
    assert "    https://example.com/changelog/0" in lines
    assert "- Items routed: 12 (previous period: 9, +3)" in lines
    assert ":rocket:" not in text and "*" not in text


def test_json_is_complete_and_serialisable() -> None:
    data = summary_json(make(shipped=2, later=1, areas=1, answers=1))
    again = json.loads(json.dumps(data))
    assert again["period"]["week"] == "2026-W48"
    assert again["period"]["start"] == "2026-11-22T23:00:00+00:00"
    assert [u["title"] for u in again["shipped"]] == ["Update number 0", "Update number 1"]
    assert again["coming_later"][0]["date"] == "2026-12-30"
    assert again["voice"][0]["total"] == 1
    assert again["numbers"]["median_first_answer"] == 3 * 3600
    assert again["shared_answers"][0]["answered_at"] == "2026-11-24T15:00:00+00:00"


def test_markdown_escapes_and_links() -> None:
    tricky = update(1, text="Fix *bold* [x](y) <!here> & co", link="https://e.x/1")
    summary = Summary(**{**make(answers=1).__dict__, "shipped": [tricky]})
    md = summary_markdown(summary, "en")
    assert md.startswith("# This week in product: Revenue\n")
    assert "## Shipped" in md and "## The numbers" in md
    assert "- **[Fix \\*bold\\* \\[x\\](y) @\u2060here & co](https://e.x/1)**" in md
    assert "> Answer 0: How do I export invoices?" in md
    assert "<!here>" not in md
    fr = summary_markdown(summary, "fr")
    assert "## Livré" in fr and "## Les chiffres" in fr


def test_csv_has_one_row_per_line_and_no_formulas() -> None:
    summary = make(shipped=3, soon=2, later=1, areas=2, answers=1)
    hostile = update(9, text='=HYPERLINK("http://evil")')
    summary = Summary(**{**summary.__dict__, "shipped": [*summary.shipped, hostile]})
    rows = list(csv.DictReader(io.StringIO(summary_csv(summary))))
    assert tuple(rows[0].keys()) == CSV_COLUMNS
    sections = [r["section"] for r in rows]
    assert sections.count("shipped") == 4 and sections.count("coming_soon") == 2
    assert sections.count("coming_later") == 1 and sections.count("customers") == 2
    assert sections.count("answered") == 1 and sections.count("numbers") == 3
    assert rows[3]["title"] == '\'=HYPERLINK("http://evil")'
    numbers = {
        r["title"]: (r["value"], r["previous_value"]) for r in rows if r["section"] == "numbers"
    }
    assert numbers == {
        "items_routed": ("12", "9"),
        "median_seconds_to_first_answer": ("10800.0", "19800.0"),
        "items_resolved": ("5", "7"),
    }


# --- the period, in days both included; the next post, so far -------------------------------

# Paris midnight Nov 30 to Paris midnight Dec 7 (23:00 UTC the evening before).
MIDNIGHTS = Period(
    week="2026-W49",
    start=datetime(2026, 11, 29, 23, 0, tzinfo=UTC),
    end=datetime(2026, 12, 6, 23, 0, tzinfo=UTC),
)


@pytest.mark.parametrize(
    ("lang", "expected"), [("en", "Nov 30 – Dec 6"), ("fr", "du 30 nov. au 6 déc.")]
)
def test_the_period_names_its_days_both_included(lang: str, expected: str) -> None:
    summary = replace(make(lang=lang), period=MIDNIGHTS)
    post = summary_messages(summary, lang, download_value=None)[0]
    assert post["blocks"][1]["elements"][0]["text"].startswith(expected + " · ")
    assert summary_text(summary, lang).splitlines()[1].startswith(expected + " · ")
    # A post at 09:00 on Monday Dec 7 counts that morning too: its last day is the Monday.
    morning = replace(MIDNIGHTS, end=datetime(2026, 12, 7, 8, 0, tzinfo=UTC))
    last = "Dec 7" if lang == "en" else "7 déc."
    line = summary_text(replace(summary, period=morning), lang).splitlines()[1]
    assert line.split(" · ")[0].endswith(last)


@pytest.mark.parametrize(
    ("lang", "slack_line", "text_line"),
    [
        (
            "en",
            "Next post <!date^1796630400^{date_short_pretty} {time}|2026-12-07 09:00 "
            "Europe/Paris> — so far: Nov 30 – Dec 3",
            "Next post Mon Dec 7, 09:00 — so far: Nov 30 – Dec 3",
        ),
        (
            "fr",
            spaced("Prochaine publication : ")
            + "<!date^1796630400^{date_short_pretty} {time}|2026-12-07 "
            "09:00 Europe/Paris> — pour l’instant, du 30 nov. au 3 déc.",
            spaced("Prochaine publication : lun. 7 déc. à ")
            + "09:00 — pour l’instant, du 30 nov. au 3 déc.",
        ),
    ],
)
def test_a_preview_says_when_the_post_goes_out_and_what_it_holds_so_far(
    lang: str, slack_line: str, text_line: str
) -> None:
    so_far = Period(
        week="2026-W50",
        start=datetime(2026, 11, 30, 8, 0, tzinfo=UTC),  # the previous post, Mon 09:00 Paris
        end=datetime(2026, 12, 3, 15, 0, tzinfo=UTC),  # now, Thursday
        posts_at=datetime(2026, 12, 7, 8, 0, tzinfo=UTC),  # Mon Dec 7, 09:00 Paris
    )
    summary = replace(make(lang=lang), period=so_far)
    post = summary_messages(summary, lang, download_value=None)[0]
    assert post["blocks"][1]["elements"][0]["text"] == slack_line + " · " + (
        "areas: Billing" if lang == "en" else spaced("domaines : Billing")
    )
    assert summary_text(summary, lang).splitlines()[1].startswith(text_line + " · ")
    assert text_line in summary_markdown(summary, lang).replace("\\", "")


def test_unrouted_items_are_counted_but_not_among_the_most_mentioned() -> None:
    unrouted = AreaVoice(None, painpoints=9, questions=0, answered=0, resolved=0, themes=())
    # As build_summary sorts them: most items first.
    summary = replace(make(), voice=[unrouted, voice(1), voice(0)])
    post = all_text(summary_messages(summary, "en", download_value=None)[:1])
    assert "13 items: 12 pain points and 1 question; 1 answered, 2 resolved so far." in post
    assert "Most mentioned: Area 1 invoice (3), Area 0 invoice (1)." in post
    assert "Not yet routed" not in post
    only_unrouted = replace(make(), voice=[unrouted])
    post = all_text(summary_messages(only_unrouted, "en", download_value=None)[:1])
    assert "9 items: 9 pain points and 0 questions; 0 answered, 0 resolved so far." in post
    assert "Most mentioned" not in post
