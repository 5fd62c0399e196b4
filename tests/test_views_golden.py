"""Golden files: what every view builder shows, in English and French, as reviewable JSON.

Each case below builds one message, modal, Home or export from fixed inputs (tests/view_cases.py)
and compares it with tests/golden/<module>/<builder>.<case>.<lang>.json, so that a change to
what people see shows in the diff of a review. After a change on purpose, rewrite the files and read them:

    JERRY_UPDATE_GOLDEN=1 .venv/bin/pytest -q tests/test_views_golden.py

Each case is also checked against Slack's limits with the checks the other view tests use.
A public builder in bot/views/ that returns a message or a view needs a case here (or a line in
NOT_WHOLE saying why it does not): see test_every_view_builder_has_a_golden_case.
"""

from __future__ import annotations

import difflib
import importlib
import inspect
import json
import os
import pkgutil
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

import bot.views
from bot.i18n import LANGUAGES, t
from bot.items.domain import IMPORT_SOURCE, NO_REPORTER
from bot.text import MESSAGE_BLOCK_LIMIT, VIEW_BLOCK_LIMIT
from bot.views import (
    capture,
    conversation,
    csat,
    followers,
    help,
    home,
    insights,
    insights_report,
    items,
    late,
    lead_actions,
    merge,
    modals,
    similar,
    summary,
    survey_answers,
    survey_form,
    survey_results,
    survey_round,
    trackers,
    updates,
    welcome,
)
from tests import test_views as item_view_tests
from tests import test_views_home as home_tests
from tests import test_views_lead_actions as lead_action_tests
from tests import test_views_summary as summary_tests
from tests import test_views_updates as updates_tests
from tests import view_cases as inputs
from tests.fakeslack import FakeSlack, SlackError

GOLDEN_DIR = Path(__file__).resolve().parent / "golden"
UPDATE = os.environ.get("JERRY_UPDATE_GOLDEN") == "1"
HOW_TO_UPDATE = "JERRY_UPDATE_GOLDEN=1 .venv/bin/pytest -q tests/test_views_golden.py"

Inputs = Callable[[str], dict[str, Any]]


@dataclass(frozen=True)
class Case:
    """One golden file per language: `builder(**inputs(lang), lang=lang)`."""

    name: str
    builder: Callable[..., Any]
    inputs: Inputs
    langs: tuple[str, ...] | None = None  # None: both languages when the builder takes one

    @property
    def module(self) -> str:
        return self.builder.__module__.rsplit(".", 1)[-1]

    @property
    def takes_lang(self) -> bool:
        return "lang" in inspect.signature(self.builder).parameters

    def languages(self) -> tuple[str, ...]:
        if self.langs is not None:
            return self.langs
        return tuple(LANGUAGES) if self.takes_lang else ("",)

    def path(self, lang: str) -> Path:
        """tests/golden/<module>/<builder>.<case>[.<lang>].json"""
        parts = [self.builder.__name__, self.name, *([lang] if lang else [])]
        return GOLDEN_DIR / self.module / (".".join(parts) + ".json")

    def build(self, lang: str) -> Any:
        kwargs = self.inputs(lang)
        if self.takes_lang:
            kwargs = {**kwargs, "lang": lang}
        return self.builder(**kwargs)


def cases(builder: Callable[..., Any], **named: Inputs) -> list[Case]:
    return [Case(name, builder, make) for name, make in named.items()]


def alert(alert: str, /, **params: Any) -> Inputs:
    return lambda lang: {"alert": alert, **params}


def relay_line(lang: str) -> str:
    line = conversation.from_lead_line(
        lang, who="Pat Lee", team="Payments", kind="painpoint", item_id=4182
    )
    return f":speech_balloon: {line}"


def reporter_line(lang: str, *, anonymous: bool = False) -> str:
    who = None if anonymous else "Robin Diaz"
    return ":speech_balloon: " + conversation.from_reporter_line(lang, who=who, item_id=4182)


def reminder_line(lang: str) -> str:
    return t(
        "reminder.ack",
        lang,
        kind=t("item.kind.painpoint", lang).lower(),
        id=4182,
        waited=items.human_duration(26 * 3600, lang),
        target=items.human_duration(8 * 3600, lang),
    )


def question_blocks(lang: str) -> list[dict[str, Any]]:
    """The blocks of the DM a respondent clicked a scale button in: a question message of a
    round posted before the answer form (its one-click buttons still answer)."""
    question = inputs.survey_questions(lang)[0]
    return [
        {"type": "section", "text": {"type": "mrkdwn", "text": f"*1/4* {question['text']}"}},
        {
            "type": "actions",
            "block_id": "survey_31_priorities",
            "elements": [
                {
                    "type": "button",
                    "text": {"type": "plain_text", "text": str(n), "emoji": True},
                    "action_id": f"survey_answer_{n}",
                    "value": f"31:priorities:{n}",
                }
                for n in range(1, 6)
            ],
        },
    ]


# --- the registry: every case of every builder ------------------------------------------------

CASES: list[Case] = [
    # The lead's DM, the reporter's messages, triage's alerts (bot/views/items.py)
    *cases(
        items.lead_dm,
        customer_open=lambda lang: {"card": inputs.customer_item()},
        anonymous_question_awaiting_reporter=lambda lang: {"card": inputs.anonymous_question()},
        # Issue 12: others asked for it too (items merged into it)
        demand_people_and_customers=lambda lang: {
            "card": inputs.customer_item(demand=inputs.DEMAND)
        },
        demand_many_customers_anonymous=lambda lang: {
            "card": inputs.anonymous_question(demand=inputs.DEMAND_MANY)
        },
        answered=lambda lang: {
            "card": inputs.customer_item(
                status="answered", answer=inputs.ANSWER_TEXT, answered_by="U0PAYLEAD"
            )
        },
        resolved_fixed=lambda lang: {"card": inputs.resolved_item()},
        # Issue 12: its anonymous reporter added themselves to #4102 (never named)
        resolved_duplicate_by_its_anonymous_reporter=lambda lang: {
            "card": inputs.anonymous_question(
                status="resolved",
                outcome="duplicate",
                duplicate_of=4102,
                resolved_by="U0SHY",
                awaiting_reporter=False,
            )
        },
        resolved_duplicate_customer_lost=lambda lang: {
            "card": inputs.resolved_item(
                outcome="duplicate", duplicate_of=4102, customer_outcome="lost", helped_deal=False
            )
        },
        reassigned_away=lambda lang: {"card": inputs.customer_item(), "reassigned_to": "Mobile"},
        reassigned_to_you=lambda lang: {
            "card": inputs.rule_item(
                route_step="reassigned",
                route_detail={"by": "U0PAYLEAD", "from": "Payments"},
                note=t("note.reassigned", lang, who="<@U0PAYLEAD>", team="Payments"),
            )
        },
        rule_from_shortcut=lambda lang: {"card": inputs.rule_item()},
        # Issue 12: a backlog row imported without a reporter (`jerry items import`)
        imported_without_reporter=lambda lang: {
            "card": inputs.customer_item(
                reporter_id=NO_REPORTER,
                reporter_reachable=False,
                source=IMPORT_SOURCE,
                channel_id=None,
                permalink=None,
                customer_at_risk=False,
                impact=None,
                route_step="chosen_area",
                route_detail={"area": "Billing", "file": True},
            )
        },
        long_unrouted=lambda lang: {"card": inputs.long_item(lang)},
        worst_case=lambda lang: {"card": item_view_tests.card()},
        # Issue 11: what stands out, where replies go, the primary button per state, notes
        blocking_open_named=lambda lang: {
            "card": inputs.rule_item(impact="blocking"),
        },
        blocking_at_risk_acknowledged_anonymous=lambda lang: {
            "card": inputs.anonymous_question(
                impact="blocking",
                customer="Initech",
                customer_at_risk=True,
                awaiting_reporter=False,
            ),
        },
        at_risk_unnamed_answered=lambda lang: {
            "card": inputs.customer_item(
                status="answered",
                customer=None,
                answer=inputs.ANSWER_TEXT,
                answered_by="U0PAYLEAD",
            )
        },
        copy_for_the_backup=lambda lang: {
            "card": inputs.customer_item(status="acknowledged", acknowledged_by="U0PAYLEAD"),
            "thread_relays": False,
        },
        reporter_left_slack=lambda lang: {
            "card": inputs.rule_item(reporter_reachable=False),
        },
        seven_internal_notes=lambda lang: {
            "card": inputs.customer_item(**inputs.internal_notes(7)),
            "fallback_timezone": "Europe/Paris",
        },
        one_internal_note_anonymous=lambda lang: {
            "card": inputs.anonymous_question(**inputs.internal_notes(1)),
            "fallback_timezone": "America/New_York",
        },
        # Issue 12: what looks like it (with "Merge into"), and merged (with "Undo merge")
        looks_like_three=lambda lang: {"card": inputs.customer_item(looks_like=inputs.LOOKS_LIKE)},
        looks_like_acknowledged_anonymous=lambda lang: {
            "card": inputs.anonymous_question(looks_like=inputs.LOOKS_LIKE[1:2]),
        },
        merged_by_lead=lambda lang: {"card": inputs.merged_item()},
        merged_by_its_anonymous_reporter=lambda lang: {
            "card": inputs.anonymous_question(
                status="resolved",
                outcome="duplicate",
                duplicate_of=4102,
                merged_into=4102,
                resolved_by="U0SHY",
            )
        },
    ),
    *cases(
        items.triage_copy,
        blocking_named=lambda lang: {"card": inputs.rule_item(impact="blocking")},
        at_risk_anonymous=lambda lang: {
            "card": inputs.anonymous_question(
                status="open", customer="Initech", customer_at_risk=True
            )
        },
        both=lambda lang: {"card": inputs.customer_item(impact="blocking")},
        # Issue 12: others asked for it too (items merged into it)
        with_demand=lambda lang: {
            "card": inputs.customer_item(impact="blocking", demand=inputs.DEMAND)
        },
    ),
    *cases(
        items.lead_digest,
        one=lambda lang: {"cards": inputs.digest_cards(1)},
        twelve=lambda lang: {"cards": inputs.digest_cards(12)},
        full_with_more=lambda lang: {
            "cards": inputs.digest_cards(items.MAX_DIGEST_ITEMS),
            "more": True,
        },
    ),
    *cases(
        items.receipt,
        mention=lambda lang: {"card": inputs.customer_item()},
        anonymous_command=lambda lang: {"card": inputs.anonymous_question()},
        shortcut=lambda lang: {"card": inputs.rule_item()},
        unrouted_dm=lambda lang: {"card": inputs.long_item(lang)},
        grouped_dms=lambda lang: {
            "card": inputs.anonymous_question(source="dm", anonymous=False),
            "messages": 3,
        },
    ),
    *cases(
        items.answer_to_reporter,
        customer=lambda lang: {
            "card": inputs.customer_item(),
            "answer": inputs.ANSWER_TEXT,
            "by": "U0PAYLEAD",
            "team": "Payments",
        },
        long_answer=lambda lang: {
            "card": inputs.anonymous_question(),
            "answer": inputs.steps(40),
            "by": "U0PAYLEAD",
            "team": "Payments",
        },
    ),
    *cases(
        items.reporter_notice,
        acknowledged=lambda lang: {
            "card": inputs.customer_item(),
            "notice": "acknowledged",
            "who": "<@U0PAYLEAD>",
        },
        acknowledged_anonymous=lambda lang: {
            "card": inputs.anonymous_question(),
            "notice": "acknowledged",
            "who": "<@U0PAYLEAD>",
        },
        reopened=lambda lang: {
            "card": inputs.customer_item(),
            "notice": "reopened",
            "who": "<@U0PAYLEAD>",
            "what": "The Globex refunds fail again since this morning.",
        },
        reopened_without_a_reason=lambda lang: {
            "card": inputs.anonymous_question(),
            "notice": "reopened",
            "who": "<@U0PAYLEAD>",
        },
        details_reminder=lambda lang: {
            "card": inputs.anonymous_question(),
            "notice": "details_reminder",
            "question": "Which plan are the customers on?",
        },
        updated=lambda lang: {"card": inputs.customer_item(), "notice": "updated"},
    ),
    *cases(
        items.with_fallback_note,
        receipt_by_dm=lambda lang: {
            "message": items.receipt(inputs.customer_item(), lang),
            "channel": "C0SUPPORT",
        },
    ),
    *cases(
        items.reminder_in_thread,
        ack_due=lambda lang: {"line": reminder_line(lang)},
    ),
    *cases(
        items.reminder_with_item,
        ack_due_no_dm=lambda lang: {
            "card": inputs.customer_item(),
            "line": reminder_line(lang),
        },
    ),
    *cases(
        late.late_message,
        **{
            state: (lambda lang, state=state: {"late": inputs.late_item(state)})
            for state in ("ack", "answer", "acknowledged", "taken", "answered", "resolved", "moved")
        },
        nudged=lambda lang: {"late": inputs.late_item("ack", nudged=True)},
        ack_with_demand=lambda lang: {"late": inputs.late_item("ack", demand=inputs.DEMAND)},
    ),
    *cases(
        late.escalation_copy_done,
        acknowledged=lambda lang: {
            "card_message": items.lead_dm(
                inputs.customer_item(status="acknowledged"), lang, thread_relays=False
            ),
            "late": inputs.late_item("acknowledged"),
        },
        resolved=lambda lang: {
            "card_message": items.lead_dm(
                inputs.customer_item(status="resolved"), lang, thread_relays=False
            ),
            "late": inputs.late_item("resolved"),
        },
    ),
    *cases(
        late.taken_notice,
        taken=lambda lang: {"item_id": 4182, "by": "U0FRENCH"},
    ),
    *cases(
        items.triage_alert,
        undeliverable=alert("undeliverable", item=4182, who="<@U0REPORTER>", error="is_archived"),
        lead_unreachable=alert(
            "lead_unreachable", item=4182, who="<@U0PAYLEAD>", error="user_not_found"
        ),
        reporter_unreachable=alert(
            "reporter_unreachable", item=4183, who="<@U0SHY>", error="cannot_dm_bot"
        ),
        lead_gone=alert(
            "lead_gone", who="<@U0MOBLEAD>", count=3, to="<@U0MOBBACK>", teams="Mobile"
        ),
        feed_failing=alert("feed_failing", feed="web releases", error="HTTP 404"),
        feed_recovered=alert("feed_recovered", feed="web releases"),
        summary_unpostable=alert(
            "summary_unpostable", name="sales-weekly", channel="C0SALES", error="not_in_channel"
        ),
        summary_failed=alert(
            "summary_failed", name="sales-weekly", week="2026-W48", error="invalid_blocks"
        ),
        survey_audience_failed=alert(
            "survey_audience_failed", name="pm-pulse", audience="S0PMS", error="no_such_subteam"
        ),
        survey_unpostable=alert(
            "survey_unpostable", name="pm-pulse", channel="C0PMS", error="is_archived"
        ),
        survey_results_failed=alert(
            "survey_results_failed",
            name="pm-pulse",
            number=4,
            channel="C0PRODOPS",
            error="not_in_channel",
        ),
    ),
    # The lead actions (bot/views/lead_actions.py)
    *cases(
        lead_actions.resolve_modal,
        customer=lambda lang: {"card": inputs.customer_item(), "customer_flagged": True},
        anonymous=lambda lang: {"card": inputs.anonymous_question(), "customer_flagged": False},
    ),
    *cases(
        lead_actions.internal_note_modal,
        named=lambda lang: {"card": inputs.customer_item()},
        anonymous=lambda lang: {"card": inputs.anonymous_question()},
    ),
    *cases(
        lead_actions.note_kept,
        named=lambda lang: {"card": inputs.customer_item()},
        anonymous=lambda lang: {"card": inputs.anonymous_question()},
    ),
    *cases(
        lead_actions.resolution_to_reporter,
        **{
            outcome: (
                lambda lang, outcome=outcome: {
                    "card": inputs.customer_item(),
                    "outcome": outcome,
                    "by": "U0PAYLEAD",
                    "team": "Payments",
                    "note": "Deployed at 16:20; the Globex refunds went through."
                    if outcome == "fixed"
                    else "",
                    "duplicate": inputs.DUPLICATE if outcome == "duplicate" else None,
                }
            )
            for outcome in inputs.OUTCOMES
        },
        long_note=lambda lang: {
            "card": inputs.anonymous_question(),
            "outcome": "answered",
            "by": "U0PAYLEAD",
            "team": "Payments",
            "note": inputs.steps(40),
        },
        duplicate_merged=lambda lang: {
            "card": inputs.merged_item(),
            "outcome": "duplicate",
            "by": "U0PAYLEAD",
            "team": "Payments",
            "note": "Same root cause as the legacy gateway limit.",
            "duplicate": inputs.MERGED_INTO,
        },
    ),
    # Merging on the lead's side (bot/views/merge.py, issue 12)
    *cases(
        merge.merge_notice,
        merged_own=lambda lang: {
            "card": inputs.merged_item(),
            "change": "merged",
            "merged": 4182,
            "into": 4102,
            "by": "U0PAYLEAD",
            "team": "Payments",
            "duplicate": inputs.MERGED_INTO,
        },
        merged_followed_another_teams=lambda lang: {
            "card": inputs.anonymous_question(status="resolved", merged_into=3988),
            "change": "merged",
            "merged": 4182,
            "into": 3988,
            "by": "U0ADMIN",
            "team": "Payments",
            "duplicate": inputs.MERGED_INTO_HIDDEN,
        },
        unmerged_own=lambda lang: {
            "card": inputs.customer_item(),
            "change": "unmerged",
            "merged": 4182,
            "into": 4102,
            "by": "U0PAYBACK",
            "team": "Payments",
        },
        unmerged_followed=lambda lang: {
            "card": inputs.anonymous_question(status="resolved", merged_into=4182),
            "change": "unmerged",
            "merged": 4182,
            "into": 4102,
            "by": "U0PAYLEAD",
            "team": "Payments",
        },
    ),
    *cases(
        merge.merge_lead_notice,
        merged_named=lambda lang: {
            "card": inputs.customer_item(id=4102),
            "change": "merged",
            "merged": 4182,
            "by": "U0PAYBACK",
            "people": 3,
            "reporter": "U0REPORTER",
            "text": inputs.CUSTOMER_TEXT,
        },
        merged_anonymous=lambda lang: {
            "card": inputs.customer_item(id=4102),
            "change": "merged",
            "merged": 4183,
            "by": "U0PAYBACK",
            "people": 2,
            "anonymous": True,
            "text": inputs.QUESTION_TEXT,
        },
        merged_another_teams=lambda lang: {
            "card": inputs.rule_item(id=3988),
            "change": "merged",
            "merged": 4182,
            "by": "U0ADMIN",
            "people": 2,
        },
        unmerged_one_left=lambda lang: {
            "card": inputs.customer_item(id=4102),
            "change": "unmerged",
            "merged": 4182,
            "by": "U0ADMIN",
            "people": 1,
        },
    ),
    *cases(
        lead_actions.lead_notice,
        reopened_by_reporter=lambda lang: {
            "card": inputs.customer_item(),
            "notice": "reopened_by_reporter",
        },
        reopened_by_anonymous_reporter=lambda lang: {
            "card": inputs.anonymous_question(),
            "notice": "reopened_by_reporter",
        },
        reopened_by_reporter_saying_what_is_wrong=lambda lang: {
            "card": inputs.customer_item(),
            "notice": "reopened_by_reporter",
            "what": "The Globex refunds fail again since this morning &lt;!channel&gt;.",
        },
    ),
    # Reopening, on the reporter's side (bot/views/lead_actions.py)
    *cases(
        lead_actions.reopen_offer,
        within_the_window=lambda lang: {
            "card": inputs.resolved_item(),
            "can_reopen": True,
            "days": 30,
        },
        anonymous_too_late=lambda lang: {
            "card": inputs.anonymous_question(status="resolved"),
            "can_reopen": False,
            "days": 30,
        },
    ),
    *cases(
        lead_actions.reopened_for_reporter,
        by_the_reporter=lambda lang: {
            "card": inputs.customer_item(),
            "who": "U0REPORTER",
            "by_reporter": True,
            "what": "The Globex refunds fail again since this morning.",
        },
        anonymous_by_the_lead=lambda lang: {
            "card": inputs.anonymous_question(),
            "who": "U0PAYLEAD",
            "by_reporter": False,
        },
    ),
    *cases(
        lead_actions.reopen_modal,
        with_a_draft=lambda lang: {
            "card": inputs.resolved_item(),
            "draft": "Still failing for Globex: INV-2001 & INV-2002.",
        },
        anonymous_empty=lambda lang: {"card": inputs.anonymous_question(status="resolved")},
    ),
    # The intake, answer and reassign forms (bot/views/modals.py)
    *cases(
        modals.intake_modal,
        painpoint_from_command=lambda lang: {
            "kind": "painpoint",
            "areas": inputs.AREAS,
            "metadata": inputs.INTAKE_METADATA,
        },
        question_from_home=lambda lang: {
            "kind": "question",
            "areas": inputs.AREAS,
            "metadata": {"source": "modal", "from": "home"},
        },
        shortcut_prefilled=lambda lang: {
            "kind": "painpoint",
            "areas": inputs.AREAS,
            "metadata": inputs.SHORTCUT_METADATA,
            "prefill": inputs.CRASH_TEXT,
        },
        many_areas_long_prefill=lambda lang: {
            "kind": "painpoint",
            "areas": inputs.MANY_AREAS,
            "metadata": inputs.SHORTCUT_METADATA,
            "prefill": inputs.steps(40),
        },
        no_routing_model=lambda lang: {"kind": "question", "areas": [], "metadata": {}},
    ),
    *cases(
        modals.answer_modal,
        painpoint=lambda lang: {"card": inputs.customer_item()},
        anonymous_question=lambda lang: {"card": inputs.anonymous_question()},
    ),
    *cases(
        modals.reassign_modal,
        few_targets=lambda lang: {
            "card": inputs.customer_item(),
            "targets": inputs.REASSIGN_TARGETS,
        },
        more_than_a_menu_holds=lambda lang: {
            "card": inputs.customer_item(),
            "targets": inputs.MANY_TARGETS,
        },
    ),
    # The conversation through Jerry (bot/views/conversation.py)
    *cases(
        conversation.relayed_message,
        from_lead_with_files=lambda lang: {
            "line": relay_line(lang),
            "text": "Could you send the invoice numbers?\n> the ones from this morning",
            "files": inputs.FILES,
            "hint": t("conversation.reply_hint", lang),
            "about": inputs.CUSTOMER_TEXT,
        },
        from_lead_deleted=lambda lang: {
            "line": relay_line(lang),
            "text": "this is gone",
            "status": "deleted",
            "about": inputs.QUESTION_TEXT,
        },
        from_reporter_edited=lambda lang: {
            "line": reporter_line(lang),
            "text": "INV-2001, INV-2002 and INV-2003 <@U0FINANCE> knows more.",
            "status": "edited",
        },
        from_anonymous_reporter_files_hidden=lambda lang: {
            "line": reporter_line(lang, anonymous=True),
            "text": "",
            "files": inputs.FILES,
            "hide_file_links": True,
        },
        deleted=lambda lang: {
            "line": reporter_line(lang),
            "text": "this is gone",
            "status": "deleted",
        },
        longer_than_relayed=lambda lang: {"line": relay_line(lang), "text": inputs.steps(130)},
    ),
    *cases(
        conversation.question_to_reporter,
        painpoint=lambda lang: {
            "who": "Pat Lee",
            "team": "Payments",
            "kind": "painpoint",
            "item_id": 4182,
            "question": "Which plan is Globex on, and since when do refunds fail?",
            "about": inputs.CUSTOMER_TEXT,
        },
        anonymous_long_item=lambda lang: {
            "who": "Pat Lee",
            "team": "Payments",
            "kind": "question",
            "item_id": 4183,
            "question": "Which quarter do you need first?",
            "about": inputs.steps(40),
        },
    ),
    *cases(
        conversation.question_note_for_lead,
        painpoint=lambda lang: {
            "question": "Which plan is Globex on, and since when do refunds fail?"
        },
    ),
    *cases(
        conversation.ask_details_modal,
        named=lambda lang: {"card": inputs.customer_item()},
        anonymous=lambda lang: {"card": inputs.anonymous_question()},
    ),
    # The App Home (bot/views/home.py)
    *cases(
        home.home_view,
        reporter=lambda lang: {"data": inputs.reporter_home()},
        reporter_nothing_yet=lambda lang: {"data": inputs.reporter_home(empty=True)},
        lead_and_admin=lambda lang: {"data": inputs.lead_admin_home()},
        lead_and_admin_second_page=lambda lang: {"data": inputs.lead_admin_home(offset=8)},
        admin_without_routing_model=lambda lang: {"data": inputs.admin_without_model()},
        admin_with_many_rules=lambda lang: {"data": inputs.admin_with_rules()},
        reporter_first_open=lambda lang: {"data": inputs.first_open_home()},
        lead_first_open=lambda lang: {"data": inputs.first_open_home(lead=True)},
        reporter_welcome_collapsed=lambda lang: {"data": inputs.first_open_home(expanded=False)},
        # Issue 12: the queue most asked for first, demand on rows, an item that follows another
        lead_sorted_by_demand=lambda lang: {"data": inputs.lead_home_by_demand()},
    ),
    # What followers of a kept item hear (bot/views/followers.py)
    *cases(
        followers.follower_news,
        answer=lambda lang: inputs.follower_news(
            "answer", who="U0PAYLEAD", team="Payments", answer=inputs.ANSWER_TEXT
        ),
        acknowledged=lambda lang: inputs.follower_news(
            "acknowledged", who="U0PAYLEAD", team="Payments"
        ),
        resolution_fixed_with_note=lambda lang: inputs.follower_news(
            "resolution",
            who="U0PAYLEAD",
            team="Payments",
            outcome="fixed",
            note="<!here> Deployed at 16:00; refunds over €500 go through again.",
        ),
        resolution_duplicate=lambda lang: inputs.follower_news(
            "resolution", who="U0PAYLEAD", team="Payments", outcome="duplicate", duplicate_of=3990
        ),
        reopened_by_lead=lambda lang: inputs.follower_news(
            "reopened", who="U0PAYBACK", team="Payments", what="The fix did not reach EU shops."
        ),
        reopened_by_its_reporter=lambda lang: inputs.follower_news(
            "reopened", who="U0REPORTER", team="Payments", by_reporter=True
        ),
        passed_on=lambda lang: inputs.follower_news("passed_on"),
        held=lambda lang: inputs.follower_news("held", outcome="wont_fix"),
    ),
    # First contact (bot/views/help.py)
    *cases(
        help.help_card,
        with_home_link=lambda lang: {"home": inputs.HOME_LINK},
        without_home_link=lambda lang: {},
    ),
    *cases(help.jerry_help, with_home_link=lambda lang: {"home": inputs.HOME_LINK}),
    *cases(
        help.jerry_unknown,
        unknown=lambda lang: {"typed": "stats", "home": inputs.HOME_LINK},
        typo_of_summary=lambda lang: {
            "typed": "sumary preview",
            "suggestion": "summary preview",
            "home": inputs.HOME_LINK,
        },
    ),
    *cases(
        help.command_word_card,
        painpoint_help=lambda lang: {
            "command": "/painpoint",
            "typed": "help",
            "kind": "painpoint",
            "note": None,
            "home": inputs.HOME_LINK,
            "key": "command:1.2.abc",
        },
        painpoint_liste=lambda lang: {
            "command": "/painpoint",
            "typed": "liste",
            "kind": "painpoint",
            "note": "list",
            "home": inputs.HOME_LINK,
            "key": "command:1.2.abc",
        },
        ask_typo_of_help=lambda lang: {
            "command": "/ask",
            "typed": "hlep",
            "kind": "question",
            "note": "help",
            "home": None,
            "key": "command:1.2.abc",
        },
    ),
    *cases(
        help.short_prompt,
        few_words=lambda lang: {
            "text": "pricing page",
            "key": "message:D0REPORTER:1710425520.000100",
        },
        broadcast_defused=lambda lang: {"text": "<!channel> SSO?", "key": "message:D0X:1.2"},
    ),
    *cases(
        help.short_prompt_decided,
        sent_as_question=lambda lang: {
            "text": "pricing page",
            "decision": "question",
            "item_id": 4182,
        },
        sent_as_painpoint=lambda lang: {"text": "SSO", "decision": "painpoint", "item_id": 4183},
        declined=lambda lang: {"text": "pricing page", "decision": "declined"},
    ),
    *cases(help.thanks_reply, plain=lambda lang: {}),
    # Product updates (bot/views/updates.py)
    *cases(
        updates.update_modal,
        shipped_new=lambda lang: {
            "kind": "shipped",
            "areas": inputs.AREAS,
            "today": inputs.UPDATE_TODAY,
            "metadata": inputs.UPDATE_METADATA,
            "prefill_title": "Refunds in one click",
        },
        upcoming_new_no_areas=lambda lang: {
            "kind": "upcoming",
            "areas": [],
            "today": inputs.UPDATE_TODAY,
            "metadata": inputs.UPDATE_METADATA,
        },
        shipped_edit=lambda lang: {
            "kind": "shipped",
            "areas": inputs.AREAS,
            "today": inputs.UPDATE_TODAY,
            "metadata": inputs.UPDATE_METADATA,
            "card": inputs.update_card(),
        },
        upcoming_edit=lambda lang: {
            "kind": "upcoming",
            "areas": inputs.AREAS,
            "today": inputs.UPDATE_TODAY,
            "metadata": inputs.UPDATE_METADATA,
            "card": inputs.upcoming_card(),
        },
    ),
    *cases(
        updates.update_message,
        shipped=lambda lang: {"card": inputs.update_card()},
        upcoming=lambda lang: {"card": inputs.upcoming_card()},
        edited=lambda lang: {"card": inputs.update_card(), "edited": True},
        worst_case=lambda lang: {"card": inputs.worst_update()},
    ),
    *cases(updates.withdrawn_message, shipped=lambda lang: {"card": inputs.update_card()}),
    *cases(
        updates.update_list,
        shipped=lambda lang: {
            "cards": [
                inputs.update_card(),
                inputs.update_card(
                    id=6, title="Faster invoice search", customer_impact=None, link=None
                ),
                inputs.update_card(
                    id=5,
                    title="Dark mode",
                    customer_impact="Everyone can switch the app to dark.",
                    area=None,
                    link=None,
                    audience="internal",
                ),
            ],
            "kind": "shipped",
        },
        upcoming_none=lambda lang: {"cards": [], "kind": "upcoming"},
    ),
    # Weekly summaries (bot/views/summary.py)
    *cases(
        summary.summary_messages,
        week=lambda lang: {"summary": inputs.summary_week(lang), "download_value": "7:2026-W48"},
        busy_week_with_thread=lambda lang: {
            "summary": inputs.summary_busy_week(lang),
            "download_value": "7:2026-W48",
        },
        quiet_week_from_cli=lambda lang: {
            "summary": inputs.summary_quiet_week(lang),
            "download_value": None,
        },
        next_post_so_far=lambda lang: {
            "summary": inputs.summary_next_post(lang),
            "download_value": "7:2026-W50",
        },
    ),
    *cases(summary.summary_json, week=lambda lang: {"summary": inputs.summary_week("en")}),
    *cases(
        summary.summary_text,
        week=lambda lang: {"summary": inputs.summary_week(lang)},
        next_post_so_far=lambda lang: {"summary": inputs.summary_next_post(lang)},
    ),
    *cases(summary.summary_markdown, week=lambda lang: {"summary": inputs.summary_week(lang)}),
    *cases(summary.summary_csv, week=lambda lang: {"summary": inputs.summary_week("en")}),
    # Survey rounds (bot/views/survey_round.py)
    *cases(
        survey_round.round_message,
        dm_anonymous=lambda lang: {
            "title": "PM pulse",
            "questions": inputs.survey_questions("en"),
            "round_id": 31,
            "closes_at": inputs.SURVEY_CLOSES,
            "timezone": "Europe/Paris",
            "anonymous": True,
            "in_channel": False,
        },
        channel_named=lambda lang: {
            "title": "Revenue team pulse",
            "questions": inputs.survey_questions("en")[:1],
            "round_id": 32,
            "closes_at": inputs.SURVEY_CLOSES,
            "timezone": "America/New_York",
            "anonymous": False,
            "in_channel": True,
        },
    ),
    *cases(
        survey_round.reminder_message,
        dm_two_left=lambda lang: {
            "left": 2,
            "closes_at": datetime(2026, 11, 26, 17, 0, tzinfo=UTC),
            "tz": "Europe/Paris",
            "title": "Product manager pulse",
        },
        channel_one_left=lambda lang: {
            "left": 1,
            "closes_at": datetime(2026, 11, 26, 17, 0, tzinfo=UTC),
            "tz": "America/New_York",
            "title": "Revenue pulse",
            "channel": "C0REVENUE",
        },
    ),
    # The answer form and its confirmation (bot/views/survey_form.py)
    *cases(
        survey_form.answer_form,
        nothing_answered=lambda lang: {
            "title": "PM pulse",
            "questions": inputs.survey_questions("en"),
            "given": {},
            "closes_at": inputs.SURVEY_CLOSES,
            "timezone": "Europe/Paris",
            "anonymous": True,
            "metadata": '{"round":31}',
        },
        answered_and_skipped=lambda lang: {
            "title": "Revenue team pulse",
            "questions": inputs.survey_questions("en"),
            "given": inputs.survey_given(),
            "closes_at": inputs.SURVEY_CLOSES,
            "timezone": "America/New_York",
            "anonymous": False,
            "metadata": '{"round":32}',
        },
    ),
    *cases(
        survey_form.done_message,
        one_skipped=lambda lang: {
            "count": 4,
            "skipped": 1,
            "closes_at": inputs.SURVEY_CLOSES,
            "timezone": "Europe/Paris",
        },
        single_question=lambda lang: {
            "count": 1,
            "skipped": 0,
            "closes_at": inputs.SURVEY_CLOSES,
            "timezone": "Europe/Paris",
        },
    ),
    *cases(
        survey_form.done_view,
        two_skipped=lambda lang: {
            "title": "PM pulse",
            "count": 4,
            "skipped": 2,
            "closes_at": inputs.SURVEY_CLOSES,
            "timezone": "Europe/Paris",
        },
    ),
    # Answering a survey (bot/views/survey_answers.py)
    *cases(
        survey_answers.reply_note,
        partly_understood=lambda lang: {
            "parsed": inputs.parsed_reply("1) 4  2) 30", lang),
            "remaining": (2, 3, 4),
        },
        all_done=lambda lang: {
            "parsed": inputs.parsed_reply("4\n9\nCustomer calls\nmore discovery", lang),
            "remaining": (),
        },
        not_understood=lambda lang: {
            "parsed": inputs.parsed_reply("hmm", lang),
            "remaining": (1, 2, 3, 4),
        },
        last_answer_with_a_problem=lambda lang: {
            "parsed": inputs.parsed_reply("4\n12\nCustomer calls\nmore discovery", lang),
            "remaining": (),
            "done": t("survey_form.done_other", lang, count=4, closes="Thu"),
        },
    ),
    *cases(survey_answers.closed_note, closed=lambda lang: {}),
    Case(
        "not_yours",
        survey_answers.notice,
        lambda lang: {"text": t("survey_answering.not_yours", lang)},
        langs=tuple(LANGUAGES),
    ),
    *cases(
        survey_answers.button_saved,
        scale=lambda lang: {"answer": inputs.scale_answer(), "remaining": (2, 3)},
        last_choice=lambda lang: {"answer": inputs.choice_answer(), "remaining": ()},
    ),
    *cases(
        survey_answers.button_chosen,
        scale_in_dm=lambda lang: {
            "blocks": question_blocks(lang),
            "round_id": 31,
            "question_id": "priorities",
            "answer": inputs.scale_answer(),
            "remaining": (2, 3, 4),
        },
    ),
    # The welcome DM of a lead or backup (bot/views/welcome.py)
    *cases(
        welcome.lead_welcome,
        lead=lambda lang: {"teams": [inputs.welcome_payments()]},
        lead_and_backup=lambda lang: {
            "teams": [inputs.welcome_payments(), inputs.welcome_mobile_backup()]
        },
        also_backup=lambda lang: {"teams": [inputs.welcome_mobile_backup()], "also": True},
    ),
    # Survey results (bot/views/survey_results.py)
    *cases(
        survey_results.results_messages,
        named_closed=lambda lang: {"results": inputs.round_results()},
        anonymous_so_far=lambda lang: {
            "results": inputs.round_results(anonymous=True, open_round=True)
        },
        many_free_text_answers=lambda lang: {"results": inputs.round_results_many_answers()},
    ),
    *cases(
        survey_results.results_json, named_closed=lambda lang: {"results": inputs.round_results()}
    ),
    *cases(
        survey_results.results_text, named_closed=lambda lang: {"results": inputs.round_results()}
    ),
    *cases(
        survey_results.results_csv, named_closed=lambda lang: {"results": inputs.round_results()}
    ),
    # Similar items at intake, the reporter's side (bot/views/similar.py)
    *cases(
        similar.offer_message,
        three_suggestions_held=lambda lang: {"offer": inputs.similar_offer()},
        not_held=lambda lang: {"offer": inputs.similar_offer(hold_minutes=0)},
        past_answer=lambda lang: {"offer": inputs.similar_past_answer()},
    ),
    *cases(
        similar.receipt_with_offer,
        dm_receipt=lambda lang: {
            "receipt": items.receipt(inputs.customer_item(id=4190, source="dm"), lang),
            "offer": inputs.similar_offer(),
        },
        ephemeral_past_answer=lambda lang: {
            "receipt": items.receipt(inputs.anonymous_question(id=4191), lang),
            "offer": inputs.similar_past_answer(hold_minutes=12).to_params(),
        },
        nothing_offered=lambda lang: {
            "receipt": items.receipt(inputs.customer_item(id=4190, source="dm"), lang),
            "offer": None,
        },
    ),
    *cases(
        similar.choice_made,
        added=lambda lang: {"done": inputs.similar_choice("added")},
        added_anonymous=lambda lang: {"done": inputs.similar_choice("added", anonymous=True)},
        added_already=lambda lang: {"done": inputs.similar_choice("added", already=True)},
        answered=lambda lang: {"done": inputs.similar_choice("answered")},
        different_goes_now=lambda lang: {"done": inputs.similar_choice("different")},
        still_needs_help_team_had_it=lambda lang: {
            "done": inputs.similar_choice("needs_help", team_had_it=True)
        },
        resolved_meanwhile=lambda lang: {"done": inputs.similar_choice(None)},
    ),
    *cases(
        similar.lead_notice,
        added_named=lambda lang: {
            "item_id": 4190,
            "choice": "added",
            "target": 4102,
            "who": "U0REPORTER",
            "anonymous": False,
        },
        answered_anonymous=lambda lang: {
            "item_id": 4191,
            "choice": "answered",
            "target": 4120,
            "who": "U0REPORTER",
            "anonymous": True,
        },
    ),
    # Did this help? (bot/views/csat.py)
    *cases(
        csat.ask,
        named=lambda lang: {
            "item_id": 4182,
            "kind": "painpoint",
            "text": inputs.CUSTOMER_TEXT,
            "team": "Payments",
            "anonymous": False,
        },
        anonymous_question=lambda lang: {
            "item_id": 4183,
            "kind": "question",
            "text": "Where is the export?",
            "team": "Payments",
            "anonymous": True,
        },
    ),
    *cases(csat.thanks, helped=lambda lang: {"item_id": 4182, "score": 3}),
    *cases(csat.comment_modal, form=lambda lang: {"item_id": 4182, "score": 1}),
    *cases(
        csat.to_lead,
        named_with_comment=lambda lang: {
            "item_id": 4182,
            "score": 1,
            "comment": "It took a week <!channel>",
            "reporter": "U0REPORTER",
        },
        anonymous=lambda lang: {"item_id": 4183, "score": 3, "comment": "", "reporter": None},
    ),
    # Emoji filing (bot/views/capture.py)
    *cases(
        items.lead_dm,
        filed_with_a_reaction=lambda lang: {
            "card": inputs.customer_item(source="reaction", said_by="U0STRANGER")
        },
    ),
    *cases(
        capture.filed_receipt,
        filed=lambda lang: {
            "item_id": 4182,
            "kind": "painpoint",
            "text": inputs.CUSTOMER_TEXT,
            "team": "Payments",
            "author": "U0STRANGER",
            "added": False,
            "people": 1,
            "anonymous": False,
        },
        added_third=lambda lang: {
            "item_id": 4182,
            "kind": "question",
            "text": "Can we refund in another currency?",
            "team": "Payments",
            "author": "U0STRANGER",
            "added": True,
            "people": 3,
            "anonymous": False,
        },
        unrouted_anonymous=lambda lang: {
            "item_id": 4183,
            "kind": "painpoint",
            "text": "Exports are slow",
            "team": None,
            "author": None,
            "added": False,
            "people": 1,
            "anonymous": True,
        },
    ),
    *cases(
        capture.notice,
        unreadable=lambda lang: {"notice": "unreadable"},
        empty=lambda lang: {"notice": "empty"},
        undone=lambda lang: {"notice": "undone", "item_id": 4182},
    ),
    *cases(
        capture.customer_reply_modal,
        acme=lambda lang: {"item_id": 4182, "channel": "C0SHARED", "org": "Acme <Corp>"},
    ),
    *cases(
        capture.customer_reply,
        fixed=lambda lang: {
            "text": "Fixed in today's release <!channel>",
            "who": "U0PAYLEAD",
            "team": "Payments",
        },
    ),
    *cases(
        items.lead_dm,
        from_another_organisation=lambda lang: {
            "card": inputs.customer_item(
                external_org="Acme Corp",
                reporter_external=True,
                channel_id="C0SHARED",
                source="mention",
            )
        },
    ),
    *cases(
        capture.area_modal,
        areas=lambda lang: {"item_id": 4182, "areas": inputs.AREAS},
    ),
    # Jira and Linear (bot/views/trackers.py)
    *cases(
        items.lead_dm,
        with_issues_jira=lambda lang: {
            "card": inputs.customer_item(
                status="acknowledged",
                acknowledged_by="U0PAYLEAD",
                issues=inputs.LINKED_ISSUES,
                create_in="jira",
                can_link=True,
            )
        },
        issue_being_checked_linear=lambda lang: {
            "card": inputs.anonymous_question(
                issues=(inputs.CHECKING_ISSUE,), create_in="linear", can_link=True
            )
        },
    ),
    *cases(
        trackers.create_modal,
        jira_named=lambda lang: {
            "item_id": 4182,
            "tracker": "jira",
            "project": "PAY",
            "issue_type": "Bug",
            "issue_types": ["Bug", "Story", "Task"],
            "title": "Refunds fail for Globex invoices",
            "description": "Refunds fail for Globex invoices.\n\nReported through Jerry as #4182.",
            "anonymous": False,
            "links_back": True,
        },
        linear_anonymous=lambda lang: {
            "item_id": 4183,
            "tracker": "linear",
            "project": "ENG",
            "issue_type": None,
            "issue_types": [],
            "title": "Where is the export?",
            "description": "Where is the export?",
            "anonymous": True,
        },
    ),
    *cases(
        trackers.link_modal,
        both=lambda lang: {"item_id": 4182, "trackers": ("jira", "linear")},
    ),
    *cases(
        trackers.lead_news,
        created=lambda lang: {
            "news": "created",
            "id": 4182,
            "tracker": "jira",
            "key": "PAY-123",
            "url": "https://acme.atlassian.net/browse/PAY-123",
        },
        waiting=lambda lang: {
            "news": "waiting",
            "id": 4182,
            "tracker": "linear",
            "error": "timeout",
        },
        refused=lambda lang: {
            "news": "refused",
            "id": 4182,
            "tracker": "jira",
            "error": "issuetype: Specify a valid issue type",
        },
        not_found=lambda lang: {
            "news": "not_found",
            "id": 4182,
            "tracker": "jira",
            "key": "PAY-999",
        },
    ),
    *cases(
        trackers.work_started,
        jira=lambda lang: {
            "item_id": 4182,
            "kind": "painpoint",
            "about": inputs.CUSTOMER_TEXT,
            "tracker": "jira",
        },
    ),
    *cases(
        trackers.shipped_notice,
        customer_question=lambda lang: {
            "item_id": 4182,
            "root_id": 4182,
            "kind": "painpoint",
            "about": inputs.CUSTOMER_TEXT,
            "title": "Refunds for invoices in any currency",
            "note": "Refunds now work for every invoice, whatever its currency.",
            "url": "https://acme.atlassian.net/browse/PAY-123",
            "release": "2026.12",
            "customer_item": 4182,
            "customer": "Globex Corporation",
        },
        follower_no_customer=lambda lang: {
            "item_id": 4190,
            "root_id": 4182,
            "kind": "question",
            "about": "Can we refund in another currency?",
            "title": "Refunds for invoices in any currency",
            "note": "",
            "url": None,
            "release": None,
            "customer_item": None,
            "customer": None,
        },
        answered=lambda lang: {
            "item_id": 4182,
            "root_id": 4182,
            "kind": "painpoint",
            "about": inputs.CUSTOMER_TEXT,
            "title": "Refunds for invoices in any currency",
            "note": "",
            "url": None,
            "release": None,
            "customer_item": 4182,
            "customer": "Globex Corporation",
            "answered": "kept",
        },
    ),
    # The product-ops report (bot/views/insights_report.py)
    *cases(
        insights_report.report_post,
        quarter=lambda lang: {"insights": inputs.insights_sample()},
        empty_quarter=lambda lang: {"insights": inputs.insights_sample(empty=True)},
    ),
    *cases(
        insights_report.report_thread,
        quarter=lambda lang: {"insights": inputs.insights_sample()},
        empty_quarter=lambda lang: {"insights": inputs.insights_sample(empty=True)},
    ),
    *cases(insights_report.method_note, every_number=lambda lang: {}),
    *cases(
        insights_report.report_markdown, quarter=lambda lang: {"insights": inputs.insights_sample()}
    ),
    # The App Home's Insights tab (bot/views/insights.py)
    *cases(
        insights.insights_home_view,
        admin_quarter=lambda lang: {
            "insights": inputs.insights_sample(),
            "period_choice": "quarter",
            "charts": [
                insights.ShownChart("F0BUGS", "Bug trend", "Bug trend over the latest 13 weeks."),
            ],
        },
        lead_last_month=lambda lang: {
            "insights": inputs.insights_sample(admin=False),
            "period_choice": "previous_month",
        },
        empty=lambda lang: {
            "insights": inputs.insights_sample(empty=True),
            "period_choice": "week",
        },
    ),
    *cases(insights.how_modal, every_number=lambda lang: {}),
    *cases(
        insights.theme_rename_modal,
        named=lambda lang: {"theme_id": 7, "label": "refunds · legacy plan · gateway"},
    ),
    *cases(
        insights.theme_merge_modal,
        two_others=lambda lang: {
            "theme_id": 7,
            "label": "refunds · legacy plan",
            "others": [(8, "invoices · VAT"), (9, "export · CSV · dates")],
        },
        alone=lambda lang: {"theme_id": 7, "label": "refunds", "others": []},
    ),
    *cases(
        insights.theme_move_modal,
        three_items=lambda lang: {
            "theme_id": 7,
            "label": "refunds · legacy plan",
            "items": [
                (4102, inputs.CUSTOMER_TEXT),
                (4103, "Refund blocked <!channel>"),
                (4104, "Refunds over €500"),
            ],
        },
    ),
]

# Public functions of bot/views/ that return a dict or blocks but not a whole message or view.
NOT_WHOLE = {
    "blocks.plain_text": "one text object; every case shows it in place",
    "blocks.mrkdwn": "one text object; every case shows it in place",
    "blocks.button": "one element of an actions block",
    "blocks.option": "one option of a menu",
    "blocks.modal": "the frame every modal is built in: each modal case shows it",
    "blocks.decode_metadata": "reads a view's private_metadata back; shows nothing",
    "blocks.text_input": "one element of an input block: every form case shows it",
    "home.queue_buttons": "a lead's buttons on one Home row: the home_view cases show them",
    "help.help_buttons": "the help card's buttons: the help_card cases show them",
    "help.welcome_blocks": "the Home's welcome: the home_view first_open cases show it",
    "lead_actions.action_buttons": "an item's buttons: the lead_dm and home_view cases show them",
    "items.external_field": "one field of the lead's DM: the from_another_organisation case shows it",
    "trackers.work_blocks": "part of the lead's DM: the lead_dm with_issues cases show it",
    "trackers.work_buttons": "an item's tracker buttons: the lead_dm with_issues cases show them",
    "lead_actions.resolution_blocks": "part of the lead's DM: the lead_dm resolved cases show it",
    "lead_actions.duplicate_blocks": "part of the resolution and merge notices: their cases show it",
    "merge.looks_like_blocks": "part of the lead's DM: the lead_dm looks_like cases show it",
    "survey_round.question_blocks": "one question of the round message: its cases show them",
    "survey_form.question_inputs": "one question of the answer form: its cases show them",
}
# Return annotations of what may be a whole message or view (strings: the modules use
# `from __future__ import annotations`).
WHOLE_RESULTS = {
    "Message",
    "list[Message]",
    "dict[str, Any]",
    "list[Block]",
    "list[dict[str, Any]]",
    "list[dict[str, typing.Any]]",
    "dict[str, typing.Any]",
}


GOLDEN = [
    pytest.param(case, lang, id=f"{case.module}/{case.path(lang).stem}")
    for case in CASES
    for lang in case.languages()
]


# --- rendering and comparing ------------------------------------------------------------------


def render(case: Case, value: Any) -> str:
    """The file: the value as JSON; a text export as its lines (a CSV's end with CRLF)."""
    if isinstance(value, str):
        value = value.split("\r\n" if case.builder.__name__.endswith("_csv") else "\n")
    text = json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    # Invisible characters (the word joiner that defuses "@channel" …) escaped, so a review
    # sees them: JSON only holds them inside strings, where "\\u2060" means the same.
    return "".join(f"\\u{ord(c):04x}" if unicodedata.category(c) == "Cf" else c for c in text)


@pytest.mark.parametrize(("case", "lang"), GOLDEN)
def test_view_matches_its_golden_file(case: Case, lang: str) -> None:
    path = case.path(lang)
    rendered = render(case, case.build(lang))
    if UPDATE:
        if not path.exists() or path.read_text(encoding="utf-8") != rendered:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(rendered, encoding="utf-8")
        return
    relative = path.relative_to(GOLDEN_DIR.parent.parent)
    if not path.exists():
        pytest.fail(
            f"{relative} does not exist. Create it with `{HOW_TO_UPDATE}`, "
            "read it (is that what people should see?), then commit it.",
            pytrace=False,
        )
    expected = path.read_text(encoding="utf-8")
    if expected != rendered:
        diff = difflib.unified_diff(
            expected.splitlines(),
            rendered.splitlines(),
            f"{relative} (golden)",
            f"{relative} (built now)",
            lineterm="",
        )
        shown = list(diff)
        more = f"\n… {len(shown) - 120} more diff lines" if len(shown) > 120 else ""
        pytest.fail(
            "What people see changed:\n"
            + "\n".join(shown[:120])
            + more
            + f"\nIf the change is on purpose, rewrite the golden files with `{HOW_TO_UPDATE}`"
            " and commit them with the change.",
            pytrace=False,
        )


# --- Slack's limits ---------------------------------------------------------------------------


def refused(check: Callable[[], Any]) -> str | None:
    """What the fake Slack says real Slack would refuse (None: it would take it)."""
    try:
        check()
    except SlackError as exc:
        return f"{exc.error} {exc.extra}"
    return None


def check_message(message: dict[str, Any], *, long_post: bool = False) -> None:
    fake = FakeSlack()
    assert refused(lambda: fake._check_message("message", message)) is None
    assert fake.violations == []
    found = summary_tests.problems(message)
    if not long_post:
        # The 12,000 characters in all the blocks is the margin the long posts keep (and
        # test) under Slack's undocumented total; other messages are not held to it.
        found = [problem for problem in found if "msg_blocks_too_long" not in problem]
    assert found == []
    item_view_tests.check_blocks(message["blocks"], MESSAGE_BLOCK_LIMIT)


def check_modal(view: dict[str, Any]) -> None:
    fake = FakeSlack()
    assert refused(lambda: fake._check_view(view)) is None
    assert fake.violations == []
    lead_action_tests.check_modal(view)
    updates_tests.check_blocks(view["blocks"], VIEW_BLOCK_LIMIT)


def check_home(view: dict[str, Any]) -> None:
    fake = FakeSlack()
    assert refused(lambda: fake._check_view(view)) is None
    assert fake.violations == []
    assert home_tests.problems(view) == []


@pytest.mark.parametrize(("case", "lang"), GOLDEN)
def test_view_is_within_slacks_limits(case: Case, lang: str) -> None:
    value = case.build(lang)
    if isinstance(value, dict) and value.get("type") == "modal":
        check_modal(value)
    elif isinstance(value, dict) and value.get("type") == "home":
        check_home(value)
    elif isinstance(value, dict) and "blocks" in value:
        check_message(value)
    elif isinstance(value, list) and value and all("blocks" in m for m in value):
        for message in value:  # a post and its thread replies
            check_message(message, long_post=True)
    elif isinstance(value, list) and value and all("type" in b for b in value):
        check_message({"text": "(the message's own text)", "blocks": value})
    else:  # an export (JSON, text, CSV): never posted as Block Kit
        assert isinstance(value, dict | str), f"{case.name}: what is {type(value)}?"


# --- the registry is complete -----------------------------------------------------------------


def view_functions() -> dict[str, Callable[..., Any]]:
    """Every public function defined in a bot/views/ module, as "module.name"."""
    found: dict[str, Callable[..., Any]] = {}
    for info in pkgutil.iter_modules(bot.views.__path__):
        module = importlib.import_module(f"{bot.views.__name__}.{info.name}")
        for name, value in vars(module).items():
            if (
                inspect.isfunction(value)
                and value.__module__ == module.__name__
                and not name.startswith("_")
            ):
                found[f"{info.name}.{name}"] = value
    return found


def returns_whole(function: Callable[..., Any]) -> bool:
    annotation = inspect.get_annotations(function).get("return")
    if annotation is None:
        return True  # unknown: better asked for a case than missed
    text = annotation if isinstance(annotation, str) else inspect.formatannotation(annotation)
    return text in WHOLE_RESULTS


def test_every_view_builder_has_a_golden_case() -> None:
    covered = {f"{case.module}.{case.builder.__name__}" for case in CASES}
    missing = sorted(
        name
        for name, function in view_functions().items()
        if returns_whole(function) and name not in covered and name not in NOT_WHOLE
    )
    assert not missing, (
        f"view builders without a golden case: {missing}. Add cases to CASES in "
        f"tests/test_views_golden.py (English and French), then run `{HOW_TO_UPDATE}`; or, if "
        "it does not build a whole message or view, add it to NOT_WHOLE with the reason."
    )


def test_registry_names_real_builders_once() -> None:
    functions = view_functions()
    assert set(NOT_WHOLE) <= set(functions), set(NOT_WHOLE) - set(functions)
    for case in CASES:
        assert functions.get(f"{case.module}.{case.builder.__name__}") is case.builder, case.name
        assert f"{case.module}.{case.builder.__name__}" not in NOT_WHOLE, case.name
    paths = [case.path(lang) for case in CASES for lang in case.languages()]
    assert len(paths) == len(set(paths)), "two cases write the same golden file"


def test_no_golden_file_without_its_case() -> None:
    expected = {case.path(lang) for case in CASES for lang in case.languages()}
    orphans = sorted(path for path in GOLDEN_DIR.rglob("*.json") if path not in expected)
    if UPDATE:
        for path in orphans:
            path.unlink()
        return
    assert not orphans, (
        f"golden files no case builds: {[str(p.relative_to(GOLDEN_DIR)) for p in orphans]}; "
        f"`{HOW_TO_UPDATE}` deletes them"
    )


# An ISO instant, or a time named "UTC", shown to a person: Slack's `<!date^…|fallback>` (each
# reader's timezone) is the only place either may appear.
ISO_INSTANT = re.compile(r"\d{4}-\d{2}-\d{2}T")
SLACK_DATE = re.compile(r"<!date\^[^|>]*\|[^>]*>")
# What people do not read in Slack: files to download and the CLI's plain text.
NOT_FOR_SLACK = (
    "summary/summary_csv.",
    "summary/summary_json.",
    "survey_results/results_csv.",
    "survey_results/results_json.",
    "survey_results/results_text.",
)


def test_no_message_shows_a_utc_time_or_an_iso_instant() -> None:
    """Every golden output a person reads in Slack, outside `<!date^…>`, has neither."""
    checked = 0
    for path in sorted(GOLDEN_DIR.rglob("*.json")):
        name = path.relative_to(GOLDEN_DIR).as_posix()
        if name.startswith(NOT_FOR_SLACK):
            continue
        shown = SLACK_DATE.sub("", path.read_text(encoding="utf-8"))
        assert not ISO_INSTANT.search(shown), f"{name} shows an ISO instant"
        assert " UTC" not in shown, f"{name} shows a time in UTC"
        checked += 1
    assert checked > 200
