"""Realistic, deterministic inputs for the golden files of the view builders
(tests/test_views_golden.py): fixed ids, fixed dates with their timezones, texts as people
write them, and texts long enough for the builders to cut.

The domain types the views take are imported here and nowhere else in the golden tests, so
moving one of them (ItemCard into a core module, the survey results' dataclasses …) is a
one-line change. Where an existing test already builds good inputs, its factory is reused.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

from bot.i18n import t
from bot.items.domain import OUTCOMES as OUTCOMES  # one golden case per outcome
from bot.items.domain import (
    AreaChoice,
    InternalNote,
    ItemCard,
    ItemDemand,
    LinkedIssue,
    LooksLike,
    ReassignTarget,
)
from bot.similar.domain import Choice, ChoiceMade, Offer, Shown
from bot.sla.domain import LateItem
from bot.summaries.content import AreaVoice, Period, SharedAnswer, Summary
from bot.surveys.answers import Given, Parsed, ParsedAnswer, parse_reply, questions_of
from bot.surveys.results import QuestionInfo, RoundResults
from bot.views.help import LedTeam, Welcome
from bot.views.home import (
    BREACHES,
    MINE,
    QUEUE,
    TEAMS,
    UNDELIVERED,
    AdminHome,
    HomeData,
    HomeItem,
    RuleGlance,
    TeamGlance,
)
from bot.views.welcome import WelcomeTeam
from tests import test_survey_results as survey_results_tests
from tests import test_views_home as home_tests
from tests import test_views_summary as summary_tests
from tests import test_views_survey_results as survey_results_view_tests
from tests import test_views_updates as updates_tests

# --- items ----------------------------------------------------------------------------------

CREATED = datetime(2025, 3, 14, 14, 12, tzinfo=UTC)  # Friday 15:12 in Paris
CUSTOMER_TEXT = (
    "Refunds over €500 fail with “card declined” for customers on the legacy plan since "
    "Tuesday's release. Globex had three refunds blocked this morning and their finance team "
    "is asking when it will be fixed."
)
QUESTION_TEXT = (
    "Can we export every invoice of a quarter as one CSV? Finance asks for it before each "
    "board meeting &amp; rebuilds it by hand."  # as Slack sends it
)
CRASH_TEXT = "The iOS app crashes when a customer opens a PDF invoice from the push notification."
ANSWER_TEXT = (
    "Thanks for flagging it! The legacy plan still calls the old payment gateway, which caps "
    "refunds at €500. We are moving those customers to the new gateway this week; until then "
    "support can refund from the admin console (Billing → Refunds → Manual)."
)


def steps(count: int) -> str:
    """A long report (numbered steps, accents, a broadcast to defuse) that builders cut."""
    lines = [
        "<!channel> the refund page is broken again, steps below.",
        *(
            f"{n}. Open invoice INV-{2000 + n} (Globex, €{500 + n},00) and click “Refund”: "
            "the page spins, then says “card declined” although the card is valid."
            for n in range(1, count + 1)
        ),
    ]
    return "\n".join(lines)


LINKED_ISSUES = (
    LinkedIssue(
        tracker="jira",
        key="PAY-123",
        url="https://acme.atlassian.net/browse/PAY-123",
        title="Refunds fail for Globex invoices",
        status="In Review",
        stage="in_progress",
    ),
    LinkedIssue(
        tracker="jira",
        key="PAY-77",
        url="https://acme.atlassian.net/browse/PAY-77",
        title="Currency rounding <@U0X> <!channel>",
        status="Done",
        stage="done",
        release="2026.12",
        shipped=True,
    ),
)
CHECKING_ISSUE = LinkedIssue(tracker="linear", key="ENG-42")


def customer_item(**overrides: Any) -> ItemCard:
    """A named customer pain point, routed by keywords from a mention in a channel."""
    values: dict[str, Any] = {
        "id": 4182,
        "kind": "painpoint",
        "status": "open",
        "text": CUSTOMER_TEXT,
        "reporter_id": "U0REPORTER",
        "anonymous": False,
        "source": "mention",
        "team": "Payments",
        "assignee_id": "U0PAYLEAD",
        "route_step": "keywords",
        "route_detail": {"area": "Billing", "keywords": ["refund", "invoice"]},
        "area": "Billing",
        "channel_id": "C0SUPPORT",
        "permalink": "https://acme.slack.com/archives/C0SUPPORT/p1741961520000100",
        "impact": "high",
        "customer": "Globex Corporation",
        "customer_at_risk": True,
        "created_at": CREATED,
    }
    values.update(overrides)
    return ItemCard(**values)


def anonymous_question(**overrides: Any) -> ItemCard:
    """An anonymous question from /ask in a channel, in the area the reporter chose."""
    values: dict[str, Any] = {
        "id": 4183,
        "kind": "question",
        "status": "acknowledged",
        "text": QUESTION_TEXT,
        "reporter_id": "U0SHY",
        "anonymous": True,
        "hide_origin": True,  # from a form in a channel: the channel would point at them
        "source": "command",
        "team": "Payments",
        "assignee_id": "U0PAYLEAD",
        "route_step": "chosen_area",
        "route_detail": {"area": "Invoicing", "channel": "C0GENERAL"},
        "area": "Invoicing",
        "channel_id": "C0GENERAL",
        "impact": "medium",
        "created_at": CREATED + timedelta(minutes=5),
        "acknowledged_by": "U0PAYLEAD",
        "awaiting_reporter": True,
    }
    values.update(overrides)
    return ItemCard(**values)


def rule_item(**overrides: Any) -> ItemCard:
    """A pain point shared with the message shortcut, routed by a rule, reassigned since."""
    values: dict[str, Any] = {
        "id": 4190,
        "kind": "painpoint",
        "status": "open",
        "text": CRASH_TEXT,
        "reporter_id": "U0SUPPORT",
        "anonymous": False,
        "source": "shortcut",
        "team": "Mobile",
        "assignee_id": "U0MOBLEAD",
        "route_step": "rule",
        "route_detail": {
            "rule": "support crashes go to Mobile",
            "channel": "C0SUPPORT",
            "pattern": "crash|freeze",
        },
        "area": "iOS app",
        "channel_id": "C0SUPPORT",
        "permalink": "https://acme.slack.com/archives/C0SUPPORT/p1741962000000200",
        "created_at": CREATED + timedelta(hours=1),
    }
    values.update(overrides)
    return ItemCard(**values)


def long_item(lang: str, **overrides: Any) -> ItemCard:
    """Nothing routed it; its lead could not be reached; its text is over a section's size."""
    values: dict[str, Any] = {
        "id": 4201,
        "kind": "painpoint",
        "status": "open",
        "text": steps(40),
        "reporter_id": "U0REPORTER",
        "anonymous": False,
        "source": "dm",
        "team": "Triage",
        "assignee_id": "U0PRODOPS",
        "route_step": "unrouted",
        "channel_id": "D0REPORTER",
        "created_at": CREATED + timedelta(days=3),
        "note": t("note.lead_unreachable", lang, who="<@U0PAYLEAD>", error="user_not_found"),
    }
    values.update(overrides)
    return ItemCard(**values)


def digest_cards(count: int) -> list[ItemCard]:
    """`count` items for one lead at once (a digest): named, anonymous and unnamed-customer
    ones, a multi-line text, a broadcast to defuse, a first line too long for a digest."""
    makers = [
        lambda n: customer_item(id=n),
        lambda n: anonymous_question(id=n, status="open", awaiting_reporter=False),
        lambda n: customer_item(
            id=n, text=steps(3), customer=None, customer_at_risk=True, reporter_id="U0SALES"
        ),
        lambda n: customer_item(id=n, text=CRASH_TEXT * 3, customer=None, customer_at_risk=False),
    ]
    return [makers[n % len(makers)](5000 + n) for n in range(count)]


NOTES = (
    "Globex is on the renewal call on Thursday: keep sales in the loop.",
    "<!channel> same gateway cap as #4102, see <https://status.example.com|status page>.",
    "Asked finance for the three refund ids; the fix is in review.",
    "Deploy planned for 16:00 Paris; support has the manual workaround.",
    "Their CSM <@U0CSM> confirmed the customer is waiting on this.",
)


def internal_notes(count: int) -> dict[str, Any]:
    """The card's fields for an item with `count` internal notes (it shows the latest five)."""
    shown = [
        InternalNote(
            author=("U0PAYLEAD", "U0PAYBACK", "U0ADMIN")[n % 3],
            text=NOTES[n % len(NOTES)],
            at=CREATED + timedelta(minutes=35 * (n + 1)),
        )
        for n in range(max(0, count - 5), count)
    ]
    return {"internal_notes": tuple(shown), "internal_note_count": count}


def resolved_item(**overrides: Any) -> ItemCard:
    values: dict[str, Any] = {
        "status": "resolved",
        "answer": ANSWER_TEXT,
        "answered_by": "U0PAYLEAD",
        "outcome": "fixed",
        "resolution_note": "Deployed at 16:20; the three Globex refunds went through.",
        "resolved_by": "U0PAYLEAD",
        "customer_outcome": "kept",
        "helped_deal": True,
        "resolved_at": CREATED + timedelta(hours=4),
    }
    values.update(overrides)
    return customer_item(**values)


DUPLICATE = {
    "id": 4102,
    "text": "Refunds above €500 are refused on the legacy plan.",
    "status": "answered",
    "answer": "Known limit of the old gateway; the move to the new one is planned.",
    "permalink": "https://acme.slack.com/archives/C0SUPPORT/p1741600000000300",
}

# --- similar items on the lead's side: "Looks like", merged (issue 12) -------------------------

# What looks like the customer item: one open that three people asked for, one of another team
# (its number and status only), one answered, long enough to be cut.
LOOKS_LIKE = (
    LooksLike(
        id=4102,
        kind="painpoint",
        status="open",
        outcome=None,
        people=3,
        text="Refunds above €500 are refused on the legacy plan <!channel>.",
    ),
    LooksLike(id=3988, kind="painpoint", status="resolved", outcome="fixed", people=1),
    LooksLike(
        id=4150,
        kind="painpoint",
        status="answered",
        outcome=None,
        people=1,
        text=steps(3),
    ),
)


def merged_item(**overrides: Any) -> ItemCard:
    """The customer item, merged into #4102 by its lead."""
    values: dict[str, Any] = {
        "status": "resolved",
        "outcome": "duplicate",
        "duplicate_of": 4102,
        "merged_into": 4102,
        "resolved_by": "U0PAYLEAD",
        "resolved_at": CREATED + timedelta(hours=1),
    }
    values.update(overrides)
    return customer_item(**values)


MERGED_INTO = {**DUPLICATE, "status": "open", "answer": "", "outcome": ""}
# Another team's item: its status only (bot/relay/lead_merge.py `duplicate_snapshot`).
MERGED_INTO_HIDDEN = {
    "id": 3988,
    "text": "",
    "status": "resolved",
    "answer": "",
    "outcome": "fixed",
}

AREAS = [
    AreaChoice(3, "Billing", "Payments"),
    AreaChoice(4, "Invoicing", "Payments"),
    AreaChoice(7, "iOS app", "Mobile"),
    AreaChoice(8, "Android app", "Mobile"),
    AreaChoice(11, "Onboarding", "Growth"),
]
MANY_AREAS = [AreaChoice(100 + n, f"Area {n:03d}", f"Team {n % 12:02d}") for n in range(140)]

REASSIGN_TARGETS = [
    ReassignTarget("triage", "Triage (product ops)", "triage"),
    ReassignTarget("team:2", "Mobile", "teams"),
    ReassignTarget("team:3", "Growth", "teams"),
    ReassignTarget("area:4", "Invoicing (Payments)", "areas"),
    ReassignTarget("area:7", "iOS app (Mobile)", "areas"),
]
MANY_TARGETS = [
    ReassignTarget("triage", "Triage (product ops)", "triage"),
    *(ReassignTarget(f"team:{n}", f"Team {n:02d}", "teams") for n in range(30)),
    *(ReassignTarget(f"area:{n}", f"Area {n:03d} (Team {n % 30:02d})", "areas") for n in range(90)),
]

INTAKE_METADATA = {
    "source": "modal",
    "channel": "C0SUPPORT",
    "response_url": "https://hooks.slack.com/commands/T0JERRY/1234/abcd",
}
SHORTCUT_METADATA = {
    "source": "shortcut",
    "channel": "C0SUPPORT",
    "message_ts": "1741962000.000200",
    "thread_ts": "1741962000.000200",
    "response_url": "https://hooks.slack.com/app/T0JERRY/5678/efgh",
}

# --- conversation ---------------------------------------------------------------------------

FILES = [
    {
        "name": "refund-error.png",
        "permalink": "https://acme.slack.com/files/U0REPORTER/F0SHOT/refund-error.png",
    },
    {"name": "globex | refunds.csv", "permalink": "https://acme.slack.com/files/U0REPORTER/F0CSV"},
]

# --- home (tests/test_views_home.py builds the rows) -----------------------------------------

HOME_NOW = home_tests.NOW


def reporter_home(*, empty: bool = False) -> HomeData:
    """Someone who reported things and leads nothing: their items only."""
    rows = [] if empty else [home_tests.item(n) for n in (1, 3, 4, 6)]
    return HomeData(user_id="U0REPORTER", now=HOME_NOW, mine=home_tests.page(MINE, rows))


HOME_LINK = "slack://app?team=T0JERRY&id=A0JERRY&tab=home"


def first_open_home(*, lead: bool = False, expanded: bool = True) -> HomeData:
    """The Home at a first open: the welcome in full (for a lead, what they own), or later
    collapsed to its "How Jerry works" button."""
    teams = (
        (
            LedTeam("Payments", ("Billing", "Checkout")),
            LedTeam("Mobile", ("iOS app", "Android app"), backup=True),
        )
        if lead
        else ()
    )
    base = lead_admin_home() if lead else reporter_home(empty=True)
    return replace(base, admin=None, welcome=Welcome(expanded=expanded, teams=teams))


QUEUE_TEXTS = [
    CUSTOMER_TEXT,
    QUESTION_TEXT,
    CRASH_TEXT,
    "Is SSO available on the Starter plan?",
    "The invoice PDF shows the old company address.",
    "Can a customer change the currency of an open invoice?",
    "Exports time out above 10,000 rows.",
    "How do we answer the security questionnaire about data residency?",
    "Dunning emails go out in English to French customers.",
    "Where is the roadmap for the Android app?",
    "Coupons cannot be combined with annual billing.",
    "The onboarding checklist restarts after every login.",
]


def lead_admin_home(*, offset: int = 0) -> HomeData:
    """A lead who is also an admin, with more items than a page: every list, paging."""
    rows = [home_tests.item(n, text=text) for n, text in enumerate(QUEUE_TEXTS, 1)]
    teams = [
        TeamGlance(
            id=0, name="Triage", lead="U0PRODOPS", backup=None, channel="C0PRODOPS", areas=(),
            is_triage=True, new_this_week=1, open_now=1, breached=0,
        ),
        TeamGlance(
            id=1, name="Payments", lead="U0PAYLEAD", backup="U0PAYBACK", channel="C0PAYTEAM",
            areas=("Billing", "Invoicing"), is_triage=False, new_this_week=7, open_now=9,
            breached=2,
        ),
        TeamGlance(
            id=2, name="Mobile", lead="U0MOBLEAD", backup=None, channel=None,
            areas=("iOS app", "Android app"), is_triage=False, new_this_week=3, open_now=4,
            breached=0,
        ),
    ]  # fmt: skip
    rules = (
        RuleGlance("support crashes go to Mobile", "C0SUPPORT", "crash|freeze", "Mobile"),
        RuleGlance("sales questions", "C0SALES", None, "Payments"),
        RuleGlance("anything about refunds", None, "refund(s)?", "Billing"),
    )
    admin = AdminHome(
        teams=home_tests.page(TEAMS, teams),
        rules=rules,
        breaches=home_tests.page(BREACHES, [rows[n - 1] for n in (2, 7)]),
        undelivered=home_tests.page(UNDELIVERED, [home_tests.undelivered(n) for n in (3, 1, 2)]),
        new_this_week=11,
    )
    return HomeData(
        user_id="U0PAYLEAD",
        now=HOME_NOW,
        mine=home_tests.page(MINE, rows[:3]),
        queue=home_tests.page(QUEUE, rows, offset=offset),
        admin=admin,
        offsets={QUEUE: offset},
    )


def admin_without_model() -> HomeData:
    rows = [home_tests.item(n) for n in (1, 2)]
    admin = AdminHome(
        teams=home_tests.page(TEAMS, []),
        rules=(),
        breaches=home_tests.page(BREACHES, []),
        undelivered=home_tests.page(UNDELIVERED, []),
        has_model=False,
    )
    return HomeData(
        user_id="U0PRODOPS",
        now=HOME_NOW,
        mine=home_tests.page(MINE, rows),
        queue=home_tests.page(QUEUE, rows),
        admin=admin,
    )


def admin_with_rules() -> HomeData:
    """An admin's Home with more rules than it shows, and an item nobody leads yet."""
    base = lead_admin_home()
    assert base.admin is not None
    rules = tuple(
        RuleGlance(f"rule {n}", "C0SUPPORT" if n % 2 else None, "crash|freeze", "Mobile")
        for n in range(18)
    )
    mine: list[HomeItem] = [home_tests.item(5, lead=None, area=None)]
    return replace(base, mine=home_tests.page(MINE, mine), admin=replace(base.admin, rules=rules))


# --- demand and followers (issue 12) ----------------------------------------------------------

# Three people asked (the item's reporter and two merged items'), for two customers.
DEMAND = ItemDemand(people=3, customers=("Acme", "Globex"))
# Many merged items naming many customers, one of them typed with a broadcast to defuse.
DEMAND_MANY = ItemDemand(
    people=27,
    customers=tuple(
        ["<!channel> Initech", "Globex", "Umbrella Corporation", "Soylent", "Hooli"]
        + [f"Customer {n:02d} Holdings International" for n in range(1, 20)]
    ),
)
DEMAND_ONE_PERSON = ItemDemand(people=1, customers=("Acme", "Globex"))  # 2 items, 1 person


def lead_home_by_demand() -> HomeData:
    """A lead's queue ordered by demand (most asked for first), and among their own items
    one merged into another (it follows #4182)."""
    base = lead_admin_home()
    demands = {1: DEMAND_MANY, 2: DEMAND, 3: DEMAND_ONE_PERSON}
    rows = [
        replace(home_tests.item(n, text=text), demand=demands.get(n))
        for n, text in enumerate(QUEUE_TEXTS, 1)
    ]
    follower = replace(
        home_tests.item(4, text=CUSTOMER_TEXT),
        status="resolved",
        resolved_at=HOME_NOW - timedelta(hours=2),
        follows=4182,
    )
    return replace(
        base,
        admin=None,
        mine=home_tests.page(MINE, [rows[1], follower]),
        queue=home_tests.page(QUEUE, rows),
        queue_sort="demand",
    )


def follower_news(news: str, **params: Any) -> dict[str, Any]:
    """News of kept item #4102 for the reporter of #4182, which follows it."""
    return {
        "news": news,
        "kept_id": 4102,
        "item_id": 4182,
        "kind": "painpoint",
        "about": CUSTOMER_TEXT,
        **params,
    }


# --- product updates (tests/test_views_updates.py builds the cards) -----------------------------

update_card = updates_tests.card
worst_update = updates_tests.worst
UPDATE_TODAY = date(2026, 11, 20)
UPDATE_METADATA = {
    "response_url": "https://hooks.slack.com/commands/T0JERRY/9/x",
    "origin": "command",
}


def upcoming_card(**overrides: Any) -> Any:
    values: dict[str, Any] = {
        "id": 8,
        "kind": "upcoming",
        "title": "Quarterly invoice export (CSV)",
        "customer_impact": "Finance teams download a quarter of invoices in one file.",
        "area": "Invoicing",
        "area_id": 4,
        "link": None,
        "shipped_on": None,
        "target_date": date(2027, 1, 15),
        "confidence": "committed",
        "audience": "internal",
    }
    values.update(overrides)
    return update_card(**values)


# --- weekly summaries (tests/test_views_summary.py builds the weeks) ---------------------------


def summary_week(lang: str) -> Summary:
    """A realistic week: a few updates, what customers said, one shared answer."""
    base = summary_tests.make(lang=lang)
    update = summary_tests.update
    return replace(
        base,
        shipped=[
            update(
                1,
                title="Refunds in one click",
                customer_impact="Support refunds a customer at once, without finance.",
                link="https://acme.example/changelog/refunds",
                date=date(2026, 11, 24),
                customer_facing=True,
            ),
            update(2, title="Faster invoice search", customer_impact=None, link=None),
        ],
        coming_soon=[
            update(
                3,
                upcoming=True,
                title="Quarterly invoice export",
                customer_impact="One CSV per quarter for finance teams.",
                link=None,
                confidence="committed",
            ),
            update(
                4,
                upcoming=True,
                title="SEPA direct debit",
                customer_impact="Customers pay their invoices by direct debit.",
                overdue=True,
                link=None,
            ),
        ],
        coming_later=[
            update(
                5,
                upcoming=True,
                title="Multi-currency invoices",
                date=date(2027, 2, 1),
                confidence="exploring",
                customer_impact=None,
            )
        ],
        voice=[
            AreaVoice("Billing", 4, 2, 2, 3, ("refunds", "legacy plan")),
            AreaVoice("Invoicing", 1, 3, 2, 1, ("export",)),
            AreaVoice(None, 1, 0, 0, 0, ()),
        ],
        shared_answers=[
            SharedAnswer(
                4183,
                QUESTION_TEXT,
                "Yes: Billing → Invoices → Export, pick the quarter. It takes a minute for "
                "10,000 invoices.",
                "Payments",
                "Invoicing",
                summary_tests.ANSWERED_AT,
            )
        ],
        unknown_areas=("Checkout",),
        because_asked=[
            replace(
                update(
                    1,
                    title="Refunds in one click",
                    customer_impact="Support refunds a customer at once, without finance.",
                    link="https://acme.example/changelog/refunds",
                    date=date(2026, 11, 24),
                    customer_facing=True,
                ),
                asked_people=4,
                asked_customers=2,
            ),
            replace(update(2, title="Faster invoice search"), asked_people=1),
        ],
    )


def summary_busy_week(lang: str) -> Summary:
    """More than the channel post holds: the rest goes to a thread reply."""
    return summary_tests.make(shipped=12, soon=10, later=3, areas=4, answers=3, lang=lang)


def summary_quiet_week(lang: str) -> Summary:
    """Nothing shipped, nothing planned, nobody asked anything."""
    return replace(summary_tests.make(lang=lang), previous_numbers=None)


def summary_next_post(lang: str) -> Summary:
    """A preview on Thursday Dec 3: the post of Monday Dec 7, 09:00 in Paris, so far."""
    base = summary_week(lang)
    so_far = Period(
        week="2026-W50",
        start=datetime(2026, 11, 30, 8, 0, tzinfo=UTC),  # the previous post
        end=datetime(2026, 12, 3, 15, 0, tzinfo=UTC),  # now
        posts_at=datetime(2026, 12, 7, 8, 0, tzinfo=UTC),
    )
    return replace(base, period=so_far, unknown_areas=())


# --- surveys ------------------------------------------------------------------------------------

SURVEY_CLOSES = datetime(2026, 3, 12, 17, 0, tzinfo=UTC)  # Thursday 18:00 in Paris


def survey_questions(lang: str) -> list[dict[str, Any]]:
    """A round's questions as SurveyRound.questions holds them (the template's wording)."""
    return [
        {
            "id": "priorities",
            "kind": "scale5",
            "text": t("surveys.template.priorities", lang),
            "low": t("surveys.template.low", lang),
            "high": t("surveys.template.high", lang),
        },
        {
            "id": "recommend",
            "kind": "scale10",
            "text": "How likely are you to recommend us?",
            "low": "Not likely",
            "high": "Very likely",
            # The surveys file's optional translation: a French reader sees it.
            "translations": {
                "fr": {
                    "text": "Nous recommanderiez-vous ?",
                    "low": "Peu probable",
                    "high": "Très probable",
                }
            },
        },
        {
            "id": "focus",
            "kind": "choice",
            "text": "Where does most of your time go?",
            "options": ["Discovery", "Delivery", "Customer calls"],
        },
        {"id": "time", "kind": "text", "text": t("surveys.template.time", lang)},
    ]


def survey_given() -> dict[str, Given]:
    """What a person answered before reopening the form: a scale, a choice, a skipped text."""
    return {
        "priorities": Given(number=4.0),
        "recommend": Given(skipped=True),
        "focus": Given(choice="Customer calls"),
        "time": Given(skipped=True),
    }


def parsed_reply(text: str, lang: str, answered: frozenset[str] = frozenset()) -> Parsed:
    return parse_reply(text, questions_of(survey_questions(lang)), lang=lang, answered=answered)


def scale_answer(number: int = 4) -> ParsedAnswer:
    return ParsedAnswer("priorities", 1, number=number)


def choice_answer() -> ParsedAnswer:
    return ParsedAnswer("focus", 3, choice="Customer calls")


SURVEY_OPENED = survey_results_tests.OPENED
RESULT_QUESTIONS = survey_results_tests.QUESTIONS
answer_row = survey_results_tests.answer


def round_results(*, anonymous: bool = False, open_round: bool = False) -> RoundResults:
    """Round 4 of a named PM pulse: every kind of question, a trend, a breakdown by group."""
    rows = []
    for n, (scale5, scale10, choice) in enumerate(
        [(4, 9, "Discovery"), (5, 8, "Delivery"), (3, 6, "Discovery"), (4, 10, "Delivery")]
    ):
        who = f"U0PM{n}"
        rows += [
            answer_row(who, "q1", scale5, n),
            answer_row(who, "q2", scale10, n),
            answer_row(who, "q3", choice, n),
        ]
    rows.append(answer_row("U0PM0", "q4", "More discovery, fewer status meetings.", 30))
    rows.append(answer_row("U0PM2", "q4", "<!channel> less time on support tickets", 31))
    rows.append(answer_row("U0PM4", "q1", 2, 40))  # answered only the first question
    status = {"status": "open", "closed_at": None} if open_round else {}
    return survey_results_view_tests.make(
        list(RESULT_QUESTIONS),
        rows,
        **status,
        anonymous=anonymous,
        round_number=4,
        invited=8,
        history=[(2, {"q1": (3.2, 6), "q2": (7.5, 6)}), (3, {"q1": (3.6, 5)})],
        groups={
            "C0PRODUCT": frozenset({"U0PM0", "U0PM1", "U0PM2"}),
            "S0DESIGN": frozenset({"U0PM3"}),
        },
        names={"U0PM0": "Ann Lee", "U0PM2": "Bruno Martin"},
    )


def round_results_many_answers() -> RoundResults:
    """A free-text question with more answers than the channel post holds."""
    text = QuestionInfo("q1", "text", "What should product ops stop doing?")
    rows = [
        answer_row(
            f"U0PM{n:02d}",
            "q1",
            f"Answer {n}: " + "fewer status meetings and more time with customers, please. " * 9,
            n,
        )
        for n in range(30)
    ]
    return survey_results_view_tests.make([text], rows, invited=40)


def late_item(state: str, *, nudged: bool = False, demand: ItemDemand | None = None) -> LateItem:
    """Pain point 4182, escalated: Payments' lead has not acted; Jerry asked the backup."""
    who = {"taken": "U0FRENCH", "acknowledged": "U0PAYBACK"}.get(state, "U0PAYLEAD")
    return LateItem(
        item_id=4182,
        kind="painpoint",
        team="Payments",
        text="Refunds to @channel never arrive for *Acme*",
        state=state,
        lead="U0FRENCH" if state == "taken" else "U0PAYLEAD",
        waited_seconds=2 * 24 * 3600 + 3600 if state in ("ack", "answer") else 0,
        target="1d" if state == "ack" else "4h" if state == "answer" else "",
        asked="U0PAYBACK",
        who=None if state in ("ack", "answer", "moved") else who,
        outcome="fixed" if state == "resolved" else None,
        nudged_by="U0PRODOPS" if nudged else None,
        nudged_at=datetime(2026, 3, 5, 15, 30, tzinfo=UTC) if nudged else None,
        demand=demand,
    )


# --- the welcome DM of a lead or backup ---------------------------------------------------------


def welcome_payments() -> WelcomeTeam:
    """A lead's team with its own targets, an area with many keywords (some cut) and text
    that must not ping anyone."""
    return WelcomeTeam(
        name="Payments & Billing",
        role="lead",
        areas=(
            ("Billing", ("invoice", "billing", "refund", "facture", "credit note", "VAT", "PDF")),
            ("Checkout <!here>", ("checkout", "cart")),
            ("Fraud", ()),
        ),
        ack_target="4h",
        answer_target="1.5d",
    )


def welcome_mobile_backup() -> WelcomeTeam:
    """A backup's team on the default targets (one business day each), no area yet."""
    return WelcomeTeam(name="Mobile", role="backup")


# --- similar items at intake: the reporter's offer and choice (issue 12) ----------------------


def similar_offer(*, hold_minutes: int = 15) -> Offer:
    """A new pain point that looks like three others: one open (reported by two more people,
    its text pinging a channel and naming someone), one answered, one resolved as fixed."""
    return Offer(
        item_id=4190,
        kind="painpoint",
        suggestions=(
            Shown(
                id=4102,
                text="&gt; Refunds above €500 are refused on the legacy plan <!channel>\n"
                "Second line, not shown. <@U0CSM> knows more.",
                status="acknowledged",
                followers=2,
            ),
            Shown(
                id=4150,
                text=CUSTOMER_TEXT,
                status="answered",
                answer=ANSWER_TEXT + "\nSee <https://evil.example|https://status.example.com>.",
            ),
            Shown(id=4077, text=CRASH_TEXT, status="resolved", outcome="fixed", followers=1),
        ),
        hold_minutes=hold_minutes,
    )


def similar_past_answer(*, hold_minutes: int = 1) -> Offer:
    """A new question with a past answer to it (a resolved, answered question)."""
    return Offer(
        item_id=4191,
        kind="question",
        past_answer=Shown(
            id=4120,
            text=QUESTION_TEXT,
            status="resolved",
            outcome="answered",
            answer="Yes: Billing → Exports → *Quarter*, one CSV. &lt;script&gt; stays text.\n"
            + "Ask <!here> if it is missing. " * 80,
        ),
        hold_minutes=hold_minutes,
    )


def similar_choice(choice: Choice | None, **overrides: Any) -> ChoiceMade:
    target = 4102 if choice == "added" else 4120 if choice == "answered" else None
    kind = "question" if choice in ("answered", "needs_help") else "painpoint"
    fields: dict[str, Any] = {"target": target, **overrides}
    return ChoiceMade(item_id=4190, kind=kind, choice=choice, **fields)


# --- insights (bot/views/insights_report.py) ----------------------------------------------------


def insights_sample(*, admin: bool = True, empty: bool = False) -> Any:
    """A quarter's insights as bot/insights/numbers.py computes them: two teams, three areas,
    a customer kept and one lost, a deal, demand, a survey trend and a theme."""
    from bot.insights.domain import (
        Audience,
        Compared,
        CsatRow,
        CustomerOutcome,
        DemandRow,
        Insights,
        Numbers,
        SurveyTrend,
        ThemeSummary,
        TimeSaved,
        Timing,
        WeekPoint,
    )
    from bot.insights.periods import parse_period

    period = parse_period("2026-Q4", "Europe/Paris")
    hour = 3600.0

    def numbers(items: int, ack: float, breaches: int, resolved: int, **more: Any) -> Numbers:
        return Numbers(
            items=items,
            by_kind={"painpoint": items - items // 3, "question": items // 3},
            by_category={"bug": items // 3, "feature": 2, "process": 1, "other": 0, "none": 1},
            acknowledge=Timing(items, ack, ack * 3, 0.82),
            first_answer=Timing(items // 3, ack * 2, ack * 5, 0.75),
            resolve=Timing(resolved, ack * 20, ack * 60, None),
            sla_breaches=breaches,
            resolved=resolved,
            deals_helped=more.get("deals", 0),
            at_risk=more.get("at_risk", {"kept": 0, "lost": 0, "unknown": 0}),
        )

    if empty:
        total = Compared("all", None, "", Numbers(), Numbers())
        teams: tuple[Compared, ...] = ()
        areas: tuple[Compared, ...] = ()
    else:
        total = Compared(
            "all",
            None,
            "",
            numbers(42, 2.5 * hour, 4, 30, deals=2, at_risk={"kept": 2, "lost": 1, "unknown": 1}),
            numbers(35, 3.2 * hour, 6, 25, deals=1, at_risk={"kept": 1, "lost": 0, "unknown": 0}),
        )
        teams = (
            Compared(
                "team", 1, "Payments", numbers(30, 2 * hour, 3, 22), numbers(25, 3 * hour, 4, 20)
            ),
            Compared("team", 2, "Mobile", numbers(12, 4 * hour, 1, 8), numbers(10, 4 * hour, 2, 5)),
        )
        areas = (
            Compared(
                "area", 11, "Billing", numbers(21, 2 * hour, 2, 15), numbers(18, 3 * hour, 3, 14), 1
            ),
            Compared(
                "area", 12, "Checkout", numbers(9, 2 * hour, 1, 7), numbers(7, 3 * hour, 1, 6), 1
            ),
            Compared(
                "area", 21, "iOS app", numbers(12, 4 * hour, 1, 8), numbers(10, 4 * hour, 2, 5), 2
            ),
        )
    weeks = (
        []
        if empty
        else [
            WeekPoint(
                f"2026-W{n:02d}", date(2026, 1, 5) + timedelta(weeks=n - 2), n % 4, (n + 1) % 3
            )
            for n in range(40, 53)
        ]
    )
    customers = (
        ()
        if not admin or empty
        else (
            CustomerOutcome(
                4102, "Globex", "kept", "Payments", datetime(2026, 11, 3, 9, tzinfo=UTC)
            ),
            CustomerOutcome(
                4150, "Initech", "lost", "Mobile", datetime(2026, 12, 1, 9, tzinfo=UTC)
            ),
        )
    )
    return Insights(
        period=period,
        previous=period.previous(),
        generated_at=datetime(2027, 1, 2, 8, 0, tzinfo=UTC),
        audience=Audience(None if admin else "U0PAYLEAD", admin, () if admin else (1,)),
        total=total,
        teams=teams,
        areas=areas,
        bug_trend=tuple(weeks),
        time_saved=TimeSaved(
            {"answer_reused": 6, "duplicate_absorbed": 4, "routed_directly": 35},
            {"answer_reused": 30, "duplicate_absorbed": 20, "routed_directly": 15},
        ),
        time_saved_previous=TimeSaved(
            {"answer_reused": 2, "duplicate_absorbed": 1, "routed_directly": 30},
            {"answer_reused": 30, "duplicate_absorbed": 20, "routed_directly": 15},
        ),
        demand=()
        if empty
        else (
            DemandRow(
                4102,
                "painpoint",
                "open",
                CUSTOMER_TEXT,
                "Payments",
                5,
                ("Globex", "Acme") if admin else (),
            ),
        ),
        surveys=()
        if empty
        else (
            SurveyTrend(
                "pm-pulse",
                "roadmap",
                "Do customer-facing teams know your priorities?",
                5,
                4,
                3.8,
                9,
                3.1,
                datetime(2026, 12, 1, 17, tzinfo=UTC),
            ),
        ),
        themes=()
        if empty
        else (
            ThemeSummary(
                1, 11, "Billing", "refunds · legacy plan · gateway", 7, 3, ((4102, CUSTOMER_TEXT),)
            ),
        ),
        at_risk_customers=customers,
        deals=()
        if not admin or empty
        else (
            CustomerOutcome(4160, "Acme", "deal", "Payments", datetime(2026, 12, 10, tzinfo=UTC)),
        ),
        late_now={} if empty else {"Payments": 2},
        csat=()
        if empty
        else (
            CsatRow("", answers=8, helped=6, mean=2.6, previous_answers=5, previous_helped=3),
            CsatRow(
                "Payments", answers=8, helped=6, mean=2.6, previous_answers=5, previous_helped=3
            ),
        ),
    )
