"""The routing file: parsing, every validation problem with its line, dump, emails."""

from __future__ import annotations

import textwrap

import pytest

from bot.intake.routing import AreaSpec, EmojiSpec, RoutingModel, RuleSpec, TeamSpec
from bot.intake.routing_file import FileProblem, RoutingFileError, dump, parse, resolve_emails
from bot.items.domain import TRIAGE_TEAM_NAME

EXAMPLE = """\
triage:               # who gets what nothing else routes
  lead: U0PRODOPS
  channel: C0PRODOPS
teams:
  - name: Payments
    lead: U0PAYLEAD
    backup: U0PAYBACK
    channel: C0PAYTEAM
    areas:
      - name: Billing
        keywords: [invoice, billing, refund, facture]
      - name: Cards
        keywords:
          - credit card
          - chargeback
  - name: Mobile
    lead: mobile.lead@example.com
    areas:
      - name: iOS app
        keywords: [ios, iphone]
      - name: Android app
rules:
  - name: support crashes go to Mobile
    when: {channel: C0SUPPORT, pattern: "crash|freeze"}
    team: Mobile
  - name: sales questions
    when:
      channel: G0SALES
    area: BILLING
"""


def problems(text: str) -> list[tuple[int, str, str]]:
    with pytest.raises(RoutingFileError) as info:
        parse(textwrap.dedent(text), source="routing.yml")
    return [(p.line, p.field, p.message) for p in info.value.errors]


def one_problem(text: str) -> tuple[int, str, str]:
    found = problems(text)
    assert len(found) == 1, found
    return found[0]


# --- a valid file -----------------------------------------------------------------------------


def test_example_parses() -> None:
    model = parse(EXAMPLE)
    assert model.triage == TeamSpec(
        name=TRIAGE_TEAM_NAME, lead="U0PRODOPS", channel="C0PRODOPS", is_triage=True
    )
    payments, mobile = model.teams
    assert payments == TeamSpec(
        name="Payments",
        lead="U0PAYLEAD",
        backup="U0PAYBACK",
        channel="C0PAYTEAM",
        areas=(
            AreaSpec("Billing", ("invoice", "billing", "refund", "facture"), "Payments"),
            AreaSpec("Cards", ("credit card", "chargeback"), "Payments"),
        ),
    )
    assert mobile.lead == mobile.lead_email == "mobile.lead@example.com"
    assert mobile.backup is None and mobile.channel is None
    assert mobile.areas[1] == AreaSpec("Android app", (), "Mobile")
    assert model.rules == (
        RuleSpec(
            "support crashes go to Mobile",
            team="Mobile",
            channel="C0SUPPORT",
            pattern="crash|freeze",
        ),
        RuleSpec("sales questions", area="Billing", channel="G0SALES"),  # as the area is named
    )
    assert model.area("BILLING").team == "Payments"


def test_minimal_file() -> None:
    model = parse("triage:\n  lead: ops@example.com\n")
    assert model == RoutingModel(
        triage=TeamSpec(
            name="Triage", lead="ops@example.com", lead_email="ops@example.com", is_triage=True
        )
    )
    assert parse("triage: {lead: W0OPS}\nteams:\nrules: []\n").teams == ()


def test_yaml_scalars_of_other_types_are_read_as_written() -> None:
    model = parse(
        "triage: {lead: U0OPS}\n"
        "teams:\n  - name: 2024\n    lead: U0A\n    areas:\n"
        "      - {name: Yes, keywords: [on, 404, 1.5, 'no']}\n"
    )
    assert model.teams[0].name == "2024"
    assert model.teams[0].areas[0] == AreaSpec("Yes", ("on", "404", "1.5", "no"), "2024")


def test_optional_fields_left_empty_are_not_given() -> None:
    model = parse(
        "triage: {lead: U0OPS, channel: ~}\n"
        "teams:\n  - name: Null\n    lead: U0A\n    backup:\n    channel: null\n"
    )
    assert model.triage.channel is None
    assert model.teams[0] == TeamSpec(name="Null", lead="U0A")  # a name is the word written


def test_rules_name_teams_and_areas_as_the_file_spells_them() -> None:
    model = parse(
        "triage: {lead: U0OPS}\n"
        "teams:\n  - name: Mobile\n    lead: U0M\n    areas:\n      - name: iOS app\n"
        "rules:\n"
        "  - {name: a, when: {pattern: x}, team: TRIAGE}\n"
        "  - {name: b, when: {pattern: x}, team: mobile}\n"
        "  - {name: c, when: {pattern: x}, area: IOS APP}\n"
    )
    assert [(r.team, r.area) for r in model.rules] == [
        ("Triage", None),
        ("Mobile", None),
        (None, "iOS app"),
    ]


# --- every problem, with its line and field ---------------------------------------------------


def test_yaml_syntax_error_has_its_line() -> None:
    line, field, message = one_problem("triage:\n  lead: U0OPS\nteams: [\n  - name: x\n")
    assert line == 4 and field == ""
    assert message.startswith("not valid YAML")
    line, _, _ = one_problem("triage:\n  lead: U0OPS\n   channel: C0X\n")
    assert line == 3


def test_empty_file_and_non_mapping_top_level() -> None:
    assert one_problem("") == (
        1,
        "",
        "the file is empty: it needs at least a `triage:` with a `lead`",
    )
    assert one_problem("# only a comment\n")[2].startswith("the file is empty")
    assert one_problem("- a\n- b\n")[:2] == (1, "(top level)")
    assert one_problem("just words\n")[:2] == (1, "(top level)")


def test_several_documents() -> None:
    line, _, message = one_problem("triage: {lead: U0OPS}\n---\ntriage: {lead: U0OPS}\n")
    assert line == 2 and "single document" in message


def test_unknown_keys() -> None:
    found = problems("""\
        triage:
          lead: U0OPS
          backup: U0B
        team:
          - name: x
        teams:
          - name: Payments
            lead: U0PAY
            leed: U0PAY
            areas:
              - name: Billing
                keyword: [invoice]
        rules:
          - name: r
            when: {channel: C0X, text: x}
            team: Payments
        """)
    assert [(line, field) for line, field, _ in found] == [
        (3, "triage.backup"),
        (4, "team"),
        (9, "teams[0].leed"),
        (12, "teams[0].areas[0].keyword"),
        (15, "rules[0].when.text"),
    ]
    assert found[0][2] == "unknown key; expected `lead` or `channel`"
    assert (
        found[1][2] == "unknown key; expected `triage`, `teams`, `rules`, `insights` or `capture`"
    )


def test_duplicate_keys() -> None:
    assert one_problem("triage:\n  lead: U0OPS\n  lead: U0OPS2\n") == (
        3,
        "triage.lead",
        "appears twice (first on line 2)",
    )


def test_required_fields() -> None:
    assert one_problem("teams: []\n") == (1, "triage", "is required")
    assert one_problem("triage:\n  channel: C0X\n") == (2, "triage.lead", "is required")
    found = problems("""\
        triage: {lead: U0OPS}
        teams:
          - lead: U0A
          - name: B
          - name: C
            lead: U0C
            areas:
              - keywords: [x]
        """)
    assert found == [
        (3, "teams[0].name", "is required"),
        (4, "teams[1].lead", "is required"),
        (8, "teams[2].areas[0].name", "is required"),
    ]


def test_empty_values() -> None:
    found = problems("""\
        triage:
          lead:
        teams:
          - name: "  "
            lead: U0A
        """)
    assert found == [
        (2, "triage.lead", "must not be empty"),
        (4, "teams[0].name", "must not be empty"),
    ]


def test_types() -> None:
    found = problems("""\
        triage: U0OPS
        teams:
          name: Payments
        rules: a rule
        """)
    assert [(line, field) for line, field, _ in found] == [
        (1, "triage"),
        (3, "teams"),
        (4, "rules"),
    ]
    assert found[1][2] == "must be a list of teams"
    found = problems("""\
        triage: {lead: [U0OPS]}
        teams:
          - name: {x: 1}
            lead: U0A
            areas: Billing
          - just a string
        """)
    assert found == [
        (1, "triage.lead", "must be text, not a list or a mapping"),
        (3, "teams[0].name", "must be text, not a list or a mapping"),
        (5, "teams[0].areas", "must be a list of areas"),
        (6, "teams[1]", "must be a mapping of `key: value` lines"),
    ]


def test_keywords_must_be_a_list_of_words() -> None:
    found = problems("""\
        triage: {lead: U0OPS}
        teams:
          - name: Payments
            lead: U0PAY
            areas:
              - name: Billing
                keywords: invoice, billing
              - name: Cards
                keywords: [card, "", [nested], "!!!", ~]
              - name: Empty
                keywords: []
              - name: Null
                keywords:
              - name: ~
        """)
    assert found == [
        (7, "teams[0].areas[0].keywords", "must be a list of words"),
        (9, "teams[0].areas[1].keywords[1]", "must not be empty"),
        (9, "teams[0].areas[1].keywords[2]", "must be text, not a list or a mapping"),
        (9, "teams[0].areas[1].keywords[3]", "must contain a letter or a digit"),
        (9, "teams[0].areas[1].keywords[4]", "must not be empty"),
        (14, "teams[0].areas[4].name", "must not be empty"),
    ]
    with pytest.raises(RoutingFileError) as info:
        parse(
            textwrap.dedent("""\
            triage: {lead: U0OPS}
            teams:
              - name: Payments
                lead: U0PAY
                areas:
                  - name: Billing
                    keywords: invoice
            """),
            source="routing.yml",
        )
    assert str(info.value) == ("routing.yml:7: teams[0].areas[0].keywords: must be a list of words")


def test_duplicate_names() -> None:
    found = problems("""\
        triage: {lead: U0OPS}
        teams:
          - name: Payments
            lead: U0A
            areas:
              - name: Billing
          - name: payments
            lead: U0B
          - name: Mobile
            lead: U0C
            areas:
              - name: BILLING
              - name: iOS
              - name: ios
        """)
    assert found == [
        (7, "teams[1].name", "another team is already named “payments” (line 3)"),
        (
            12,
            "teams[2].areas[0].name",
            "an area named “BILLING” already exists (line 6, team Payments); "
            "area names must be unique in the file",
        ),
        (
            14,
            "teams[2].areas[2].name",
            "an area named “ios” already exists (line 13, team Mobile); "
            "area names must be unique in the file",
        ),
    ]


def test_triage_is_a_reserved_team_name() -> None:
    assert one_problem("""\
        triage: {lead: U0OPS}
        teams:
          - name: triage
            lead: U0A
        """) == (3, "teams[0].name", "“Triage” is reserved for product ops (the `triage:` section)")


def test_user_ids_and_emails() -> None:
    found = problems("""\
        triage: {lead: u0ops}
        teams:
          - name: A
            lead: B0BOT
            backup: "@alice"
          - name: B
            lead: alice@example.com
            backup: W0ENTERPRISE
          - name: C
            lead: "U0"
        """)
    message = "must be a Slack user id (like U012AB3CDE) or an email"
    assert found == [
        (1, "triage.lead", message),
        (4, "teams[0].lead", message),
        (5, "teams[0].backup", message),
        (10, "teams[2].lead", message),
    ]


def test_channels() -> None:
    found = problems("""\
        triage: {lead: U0OPS, channel: "#product-ops"}
        teams:
          - name: A
            lead: U0A
            channel: D0DIRECT
          - name: B
            lead: U0B
            channel: G0PRIVATE
        rules:
          - name: r
            when: {channel: general}
            team: A
        """)
    assert [(line, field) for line, field, _ in found] == [
        (1, "triage.channel"),
        (5, "teams[0].channel"),
        (11, "rules[0].when.channel"),
    ]
    assert "not a channel name" in found[0][2]
    assert "not a channel name" not in found[1][2]
    assert "not a channel name" in found[2][2]


def test_rules() -> None:
    found = problems("""\
        triage: {lead: U0OPS}
        teams:
          - name: Mobile
            lead: U0M
            areas:
              - name: iOS app
        rules:
          - when: {channel: C0X}
            team: Mobile
          - name: no condition
            when: {}
            team: Mobile
          - name: no when
            team: Mobile
          - name: both
            when: {pattern: x}
            team: Mobile
            area: iOS app
          - name: neither
            when: {pattern: x}
          - name: unknown team
            when: {pattern: x}
            team: Web
          - name: unknown area
            when: {pattern: x}
            area: Web app
          - name: bad regex
            when: {pattern: "crash(|freeze"}
            team: Mobile
          - name: empty pattern
            when: {pattern: ""}
            team: Mobile
          - name: to triage and by area, in any case
            when: {pattern: x}
            team: TRIAGE
          - name: fine
            when: {pattern: x}
            area: ios APP
        """)
    assert [(line, field) for line, field, _ in found] == [
        (8, "rules[0].name"),
        (11, "rules[1].when"),
        (13, "rules[2].when"),
        (15, "rules[3]"),
        (19, "rules[4]"),
        (23, "rules[5].team"),
        (26, "rules[6].area"),
        (28, "rules[7].when.pattern"),
        (31, "rules[8].when.pattern"),
    ]
    messages = [message for _, _, message in found]
    assert messages[0] == "is required"
    assert messages[1] == "needs a `channel`, a `pattern` or both"
    assert messages[3] == "has both `team` and `area`: give only one"
    assert messages[4] == "needs a `team` or an `area` to send items to"
    assert messages[5] == "no team is named “Web”"
    assert messages[6] == "no area is named “Web app”"
    assert messages[7].startswith("is not a valid regular expression: ")
    assert messages[8] == "must not be empty"


def test_values_too_long_for_the_database() -> None:
    found = problems(f"""\
        triage: {{lead: U0OPS}}
        teams:
          - name: {"x" * 201}
            lead: U0A
        """)
    assert found == [(3, "teams[0].name", "is too long (at most 200 characters)")]


def test_all_problems_are_reported_in_line_order() -> None:
    text = """\
        triage:
          lead: nobody
        teams:
          - name: Payments
            lead: U0PAY
            colour: blue
            areas:
              - name: Billing
                keywords: invoice
          - name: Payments
            lead: U0PAY2
        rules:
          - name: r
            when: {pattern: "("}
            area: Nowhere
        """
    with pytest.raises(RoutingFileError) as info:
        parse(textwrap.dedent(text), source="routing.yml")
    lines = str(info.value).splitlines()
    assert len(info.value.errors) == 6
    assert [line.split(":")[1] for line in lines] == ["2", "6", "9", "10", "14", "15"]
    assert lines[0] == (
        "routing.yml:2: triage.lead: must be a Slack user id (like U012AB3CDE) or an email"
    )
    assert lines[2] == "routing.yml:9: teams[0].areas[0].keywords: must be a list of words"


# --- dump -------------------------------------------------------------------------------------


def test_round_trip() -> None:
    model = parse(EXAMPLE)
    text = dump(model)
    assert parse(text) == model
    assert dump(parse(text)) == text


def test_dump_looks_like_the_documented_format() -> None:
    text = dump(parse(EXAMPLE))
    assert text.splitlines()[1:] == [
        "triage:",
        "  lead: U0PRODOPS",
        "  channel: C0PRODOPS",
        "",
        "teams:",
        "  - name: Payments",
        "    lead: U0PAYLEAD",
        "    backup: U0PAYBACK",
        "    channel: C0PAYTEAM",
        "    areas:",
        "      - name: Billing",
        "        keywords: [invoice, billing, refund, facture]",
        "      - name: Cards",
        "        keywords: [credit card, chargeback]",
        "  - name: Mobile",
        "    lead: mobile.lead@example.com",
        "    areas:",
        "      - name: iOS app",
        "        keywords: [ios, iphone]",
        "      - name: Android app",
        "        keywords: []",
        "",
        "rules:",
        "  - name: support crashes go to Mobile",
        "    when: {channel: C0SUPPORT, pattern: crash|freeze}",
        "    team: Mobile",
        "  - name: sales questions",
        "    when: {channel: G0SALES}",
        "    area: Billing",
    ]
    assert text.startswith("#")


def test_dump_without_rules_and_with_awkward_words() -> None:
    model = RoutingModel(
        triage=TeamSpec(name="Triage", lead="U0OPS", is_triage=True),
        teams=(
            TeamSpec(
                name="Équipe: «Paiements»",
                lead="U0A",
                areas=(
                    AreaSpec(
                        "Facturation",
                        (
                            "facturé",
                            "on",
                            "no",
                            "404",
                            "a, b",
                            "[x]",
                            "it's",
                            "R&D",
                            "#tag",
                            " ".join(["word"] * 30),
                        ),
                        "Équipe: «Paiements»",
                    ),
                ),
            ),
        ),
    )
    text = dump(model)
    assert "rules" not in text
    assert "Facturé".lower() in text  # written as is, not escaped
    assert parse(text) == model


def test_dump_writes_emails_back() -> None:
    model = RoutingModel(
        triage=TeamSpec(
            name="Triage", lead="U0OPS", lead_email="ops@example.com", is_triage=True, id=1
        ),
        teams=(TeamSpec(name="A", lead="U0A", backup="U0B", backup_email="b@example.com", id=2),),
    )
    text = dump(model)
    assert "lead: ops@example.com" in text
    assert "lead: U0A" in text
    assert "backup: b@example.com" in text
    parsed = parse(text)
    assert parsed.triage.lead_email == "ops@example.com"
    assert parsed.teams[0].backup_email == "b@example.com"


# --- emails -----------------------------------------------------------------------------------

EMAILS = """\
triage: {lead: ops@example.com}
teams:
  - name: A
    lead: U0ALEAD
    backup: Bob@Example.com
  - name: B
    lead: bob@example.com
"""


async def test_resolve_emails() -> None:
    asked: list[str] = []
    directory = {"ops@example.com": "U0OPS", "bob@example.com": "U0BOB"}

    async def lookup(email: str) -> str | None:
        asked.append(email)
        return directory.get(email.lower())

    model = await resolve_emails(parse(EMAILS), lookup)
    assert model.triage.lead == "U0OPS"
    assert model.triage.lead_email == "ops@example.com"
    a, b = model.teams
    assert (a.lead, a.lead_email, a.backup, a.backup_email) == (
        "U0ALEAD",
        None,
        "U0BOB",
        "Bob@Example.com",
    )
    assert (b.lead, b.lead_email) == ("U0BOB", "bob@example.com")
    assert asked == ["ops@example.com", "Bob@Example.com"]  # one lookup per address
    assert parse(dump(model)) == parse(EMAILS)  # emails written back
    # already resolved: nothing to look up
    asked.clear()
    assert await resolve_emails(model, lookup) == model
    assert asked == []


async def test_resolve_emails_reports_every_unknown_email() -> None:
    async def lookup(email: str) -> str | None:
        return "U0OPS" if email == "ops@example.com" else None

    with pytest.raises(RoutingFileError) as info:
        await resolve_emails(parse(EMAILS), lookup, source="routing.yml")
    assert info.value.errors == [
        FileProblem(0, "teams[0].backup", "no Slack user has the email Bob@Example.com"),
        FileProblem(0, "teams[1].lead", "no Slack user has the email bob@example.com"),
    ]
    assert str(info.value).splitlines() == [
        "routing.yml: teams[0].backup: no Slack user has the email Bob@Example.com",
        "routing.yml: teams[1].lead: no Slack user has the email bob@example.com",
    ]


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_the_example_file_of_routing_init_reads_as_a_model_with_comments(lang: str) -> None:
    from bot.intake.routing_file import example_file

    text = example_file(lang)
    model = parse(text)
    assert len(model.teams) == 2 and model.teams[0].backup and model.rules
    assert model.teams[0].ack_target == "4h"
    assert text.count("\n# ") >= 7  # every section is explained
    assert ("Facturation" in text) == (lang == "fr")


def test_insights_minutes_saved_read_checked_and_written_back() -> None:
    base = "triage:\n  lead: U0PRODOPS\n"
    model = parse(base + "insights:\n  minutes_saved: {answer_reused: 45, routed_directly: 5}\n")
    assert model.minutes_saved == (("answer_reused", 45), ("routed_directly", 5))
    assert parse(dump(model)).minutes_saved == model.minutes_saved
    assert parse(base).minutes_saved is None
    bad = base + "insights:\n  minutes_saved:\n    answer_reused: -3\n    coffee: 10\n"
    with pytest.raises(RoutingFileError) as caught:
        parse(bad)
    where = {(p.line, p.field) for p in caught.value.errors}
    assert where == {
        (5, "insights.minutes_saved.answer_reused"),
        (6, "insights.minutes_saved.coffee"),
    }
    messages = {p.field: p.message for p in caught.value.errors}
    assert "0 to 1440" in messages["insights.minutes_saved.answer_reused"]


def test_a_team_names_its_jira_project_or_linear_team() -> None:
    base = "triage:\n  lead: U0PRODOPS\nteams:\n"
    model = parse(
        base
        + "  - name: Payments\n    lead: U0PAY\n    jira: PAY\n    issue_type: Bug\n"
        + "  - name: Mobile\n    lead: U0MOB\n    linear: MOB\n"
    )
    payments, mobile = model.teams
    assert (payments.jira_project, payments.issue_type, payments.linear_team) == (
        "PAY",
        "Bug",
        None,
    )
    assert (mobile.linear_team, mobile.jira_project) == ("MOB", None)
    again = parse(dump(model))
    assert again.teams == model.teams
    assert "jira: PAY" in dump(model) and "linear: MOB" in dump(model)
    wrong = (
        base
        + "  - name: Payments\n    lead: U0PAY\n    jira: pay-1\n"
        + "  - name: Mobile\n    lead: U0MOB\n    jira: MOB\n    linear: MOB\n"
        + "  - name: Web\n    lead: U0WEB\n    issue_type: Bug\n"
    )
    found = {(line, field): message for line, field, message in problems(wrong)}
    assert set(found) == {
        (6, "teams[0].jira"),
        (10, "teams[1].linear"),
        (13, "teams[2].issue_type"),
    }
    assert "not a project key" in found[(6, "teams[0].jira")]
    assert "not both" in found[(10, "teams[1].linear")]
    assert "only a team tracked in Jira" in found[(13, "teams[2].issue_type")]


def test_capture_emoji_read_checked_and_written_back() -> None:
    base = (
        "triage:\n  lead: U0PRODOPS\nteams:\n  - name: Payments\n    lead: U0PAY\n"
        "    areas:\n      - name: Billing\n"
    )
    model = parse(
        base
        + "capture:\n  emoji:\n    - ticket\n    - {name: question, kind: question}\n"
        + "    - {name: bug, kind: painpoint, area: billing}\n"
    )
    assert model.capture_emoji == (
        EmojiSpec("ticket"),
        EmojiSpec("question", "question"),
        EmojiSpec("bug", "painpoint", "billing"),
    )
    assert parse(dump(model)).capture_emoji == model.capture_emoji
    assert parse(base).capture_emoji is None
    wrong = base + (
        "capture:\n  emoji:\n    - ':ticket:'\n    - ticket\n    - {name: x, kind: bug}\n"
        "    - {name: y, area: Nowhere}\n    - 'two words'\n"
    )
    found = {(line, field): message for line, field, message in problems(wrong)}
    assert set(found) == {
        (11, "capture.emoji[1]"),
        (12, "capture.emoji[2].kind"),
        (13, "capture.emoji[3].area"),
        (14, "capture.emoji[4]"),
    }
    assert "listed twice" in found[(11, "capture.emoji[1]")]
    assert "without colons" in found[(14, "capture.emoji[4]")]
