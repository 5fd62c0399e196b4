"""The routing decision: chosen area, rules, keywords, triage, and why, in words."""

from __future__ import annotations

import json

import pytest

from bot.intake.routing import (
    AreaSpec,
    Decision,
    RoutingModel,
    RuleSpec,
    TeamSpec,
    decide,
    explain,
    visible_text,
    words,
)
from bot.items.domain import TRIAGE_TEAM_NAME
from tests.french import spaced


def team(name: str, lead: str, *areas: tuple[str, tuple[str, ...]]) -> TeamSpec:
    return TeamSpec(
        name=name,
        lead=lead,
        areas=tuple(AreaSpec(area, keywords, name) for area, keywords in areas),
    )


TRIAGE = TeamSpec(name=TRIAGE_TEAM_NAME, lead="U0PRODOPS", channel="C0PRODOPS", is_triage=True)
MODEL = RoutingModel(
    triage=TRIAGE,
    teams=(
        team(
            "Payments",
            "U0PAYLEAD",
            ("Billing", ("invoice", "billing", "refund", "facture")),
            ("Cards", ("credit card", "card", "chargeback")),
        ),
        team(
            "Mobile",
            "U0MOBLEAD",
            ("iOS app", ("ios", "iphone", "crash")),
            ("Android app", ("android", "crash")),
        ),
        team("Growth", "U0GROLEAD", ("Onboarding", ("signup", "onboarding", "e-mail"))),
    ),
    rules=(
        RuleSpec(
            "support crashes go to Mobile",
            team="Mobile",
            channel="C0SUPPORT",
            pattern="crash|freeze",
        ),
        RuleSpec("security to triage", team="Triage", pattern=r"\bsecurit[ey]\b|sécurité"),
        RuleSpec("sales channel is billing", area="Billing", channel="C0SALES"),
    ),
)


def where(decision: Decision) -> tuple[str, str | None, str]:
    return decision.team.name, decision.area.name if decision.area else None, decision.step


# --- the model's helpers ----------------------------------------------------------------------


def test_lookups_are_case_insensitive_and_know_triage() -> None:
    assert [a.name for a in MODEL.areas()] == [
        "Billing",
        "Cards",
        "iOS app",
        "Android app",
        "Onboarding",
    ]
    assert MODEL.area("billing") is MODEL.areas()[0]
    assert MODEL.area("IOS APP").team == "Mobile"
    assert MODEL.area("nope") is None
    assert MODEL.team("payments").lead == "U0PAYLEAD"
    assert MODEL.team("Triage") is TRIAGE
    assert MODEL.team("triage").is_triage
    assert MODEL.team("nope") is None


# --- each step --------------------------------------------------------------------------------


def test_chosen_area() -> None:
    decision = decide(MODEL, "nothing special", chosen_area="Cards")
    assert where(decision) == ("Payments", "Cards", "chosen_area")
    assert decision.detail == {"area": "Cards"}


def test_unknown_chosen_area_falls_through() -> None:
    assert where(decide(MODEL, "my invoice", chosen_area="Gone")) == (
        "Payments",
        "Billing",
        "keywords",
    )


def test_rule_with_channel_and_pattern() -> None:
    decision = decide(MODEL, "The app FREEZES on launch", channel="C0SUPPORT")
    assert where(decision) == ("Mobile", None, "rule")
    assert decision.detail == {
        "rule": "support crashes go to Mobile",
        "channel": "C0SUPPORT",
        "pattern": "crash|freeze",
    }


def test_rule_needs_every_condition() -> None:
    # the pattern matches but not the channel: keywords decide (crash: iOS first in file)
    assert where(decide(MODEL, "it crashed", channel="C0OTHER")) == (
        TRIAGE_TEAM_NAME,
        None,
        "triage",
    )
    assert where(decide(MODEL, "app crash", channel="C0OTHER")) == ("Mobile", "iOS app", "keywords")
    # the channel matches but not the pattern
    assert decide(MODEL, "hello", channel="C0SUPPORT").step == "triage"


def test_rule_with_channel_only_to_an_area() -> None:
    decision = decide(MODEL, "anything at all", channel="C0SALES")
    assert where(decision) == ("Payments", "Billing", "rule")
    assert decision.detail == {"rule": "sales channel is billing", "channel": "C0SALES"}


def test_rule_to_triage_and_accent_insensitive_pattern() -> None:
    for text in ("Security hole", "problème de SECURITE", "problème de sécurité", "Sécurite"):
        decision = decide(MODEL, text)
        assert where(decision) == (TRIAGE_TEAM_NAME, None, "rule"), text
        assert decision.team.is_triage
    assert decide(MODEL, "insecurity").step == "triage"


def test_first_matching_rule_wins() -> None:
    decision = decide(MODEL, "crash: security", channel="C0SUPPORT")
    assert decision.detail["rule"] == "support crashes go to Mobile"


def test_keywords() -> None:
    decision = decide(MODEL, "Where is my invoice? I need a refund")
    assert where(decision) == ("Payments", "Billing", "keywords")
    assert decision.detail == {"area": "Billing", "keywords": ["invoice", "refund"]}


def test_triage() -> None:
    decision = decide(MODEL, "something nobody thought of")
    assert where(decision) == (TRIAGE_TEAM_NAME, None, "triage")
    assert decision.team is TRIAGE
    assert decision.detail == {}


def test_model_with_no_teams_sends_everything_to_triage() -> None:
    model = RoutingModel(triage=TRIAGE)
    assert decide(model, "invoice").step == "triage"
    assert decide(model, "invoice", chosen_area="Billing").step == "triage"


# --- precedence -------------------------------------------------------------------------------


def test_chosen_area_beats_rule_beats_keywords_beats_triage() -> None:
    text = "crash with my invoice"
    assert decide(MODEL, text, channel="C0SUPPORT", chosen_area="Onboarding").step == "chosen_area"
    assert decide(MODEL, text, channel="C0SUPPORT").step == "rule"
    assert where(decide(MODEL, "my invoice and refund crash", channel="C0X")) == (
        "Payments",
        "Billing",
        "keywords",
    )
    assert decide(MODEL, "hello", channel="C0X").step == "triage"


# --- keyword matching -------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["Facturé deux fois", "FACTURE", "la facture", "facturé"])
def test_accents_and_case_do_not_matter(text: str) -> None:
    decision = decide(MODEL, text)
    assert where(decision) == ("Payments", "Billing", "keywords")
    assert decision.detail["keywords"] == ["facture"]


def test_accented_keyword_matches_plain_text() -> None:
    model = RoutingModel(triage=TRIAGE, teams=(team("Ops", "U0OPS", ("Ops", ("réseau",))),))
    assert decide(model, "le reseau est lent").step == "keywords"
    assert decide(model, "le RÉSEAU est lent").step == "keywords"


@pytest.mark.parametrize("text", ["refunding", "refunds", "refunded", "prerefund", "billings"])
def test_whole_words_only_no_stems_no_plurals(text: str) -> None:
    # Documented decision: only whole words match; list the forms you want as keywords.
    assert decide(MODEL, text).step == "triage"


def test_punctuation_around_words_is_fine() -> None:
    for text in (
        "(refund)",
        "refund!",
        "*refund*",
        "_refund_",
        "~refund~",
        "`refund`",
        "l’invoice",
        "invoice's",
    ):
        assert where(decide(MODEL, text)) == ("Payments", "Billing", "keywords"), text


def test_phrases() -> None:
    decision = decide(MODEL, "My Credit  Card was declined")
    assert decision.detail == {"area": "Cards", "keywords": ["credit card", "card"]}
    # the words apart are not the phrase
    assert decide(MODEL, "credit on my account").step == "triage"
    model = RoutingModel(triage=TRIAGE, teams=(team("Cards", "U0C", ("Cards", ("credit card",))),))
    assert decide(model, "card credit").step == "triage"
    assert decide(model, "a credit-card issue").step == "keywords"
    assert decide(model, "credit").step == "triage"
    assert decide(model, "card").step == "triage"


def test_hyphenated_keyword() -> None:
    for text in ("no e-mail arrived", "no E-Mail", "no e mail"):
        assert where(decide(MODEL, text))[1] == "Onboarding", text
    assert decide(MODEL, "email").step == "triage"


def test_distinct_hits_count_once() -> None:
    # "crash" five times is one keyword for iOS; Billing has two distinct keywords.
    decision = decide(MODEL, "crash crash crash crash crash invoice refund", channel="C0X")
    assert decision.detail == {"area": "Billing", "keywords": ["invoice", "refund"]}
    decision = decide(MODEL, "invoice invoice invoice invoice invoice iphone ios")
    assert decision.detail == {"area": "iOS app", "keywords": ["ios", "iphone"]}


def test_ties_go_to_the_first_area_in_the_file() -> None:
    # "crash" is a keyword of both iOS app and Android app
    assert decide(MODEL, "a crash", channel="C0X").detail == {
        "area": "iOS app",
        "keywords": ["crash"],
    }
    # one keyword each for Billing and Onboarding: Billing comes first
    assert decide(MODEL, "signup invoice").detail["area"] == "Billing"
    assert decide(MODEL, "invoice signup").detail["area"] == "Billing"
    # more distinct hits beat file order
    assert decide(MODEL, "invoice signup onboarding").detail["area"] == "Onboarding"


def test_keywords_are_reported_in_file_order_once() -> None:
    model = RoutingModel(
        triage=TRIAGE,
        teams=(team("P", "U0P", ("Billing", ("refund", "invoice", "Invoice", "refund"))),),
    )
    decision = decide(model, "INVOICE then refund then invoice")
    assert decision.detail == {"area": "Billing", "keywords": ["refund", "invoice"]}


def test_slack_markup_is_ignored() -> None:
    assert decide(MODEL, "hello <@UINVOICE> and <#C0BILLING|billing>").step == "triage"
    assert decide(MODEL, "see <https://example.com/invoice/refund>").step == "triage"
    assert decide(MODEL, "<!subteam^S0REFUND|@refund> <!here>").step == "triage"
    decision = decide(MODEL, "see <https://example.com/x|the invoice>")
    assert decision.detail == {"area": "Billing", "keywords": ["invoice"]}
    assert decide(MODEL, "&lt;invoice&gt; &amp; more").detail["keywords"] == ["invoice"]
    assert decide(MODEL, "&amp;refund").detail["keywords"] == ["refund"]


def test_entities_are_decoded_for_patterns() -> None:
    model = RoutingModel(
        triage=TRIAGE,
        teams=(team("R", "U0R", ("Research", ())),),
        rules=(RuleSpec("r&d", area="Research", pattern="R&D"),),
    )
    assert decide(model, "a question for R&amp;D").step == "rule"
    assert decide(model, "<@UR&D>").step == "triage"


def test_visible_text() -> None:
    assert visible_text("a <@U1> b <https://x|lbl> c <http://y> &amp;") == "a   b  lbl  c   &"


def test_emoji_and_other_scripts() -> None:
    text = "🔥🔥 my invoice 💸 is wrong — 請求書 ✨ naïve café Ωmega"
    assert decide(MODEL, text).detail == {"area": "Billing", "keywords": ["invoice"]}
    assert words("naïve CAFÉ Straße ﬁle") == ["naive", "cafe", "strasse", "file"]
    model = RoutingModel(triage=TRIAGE, teams=(team("Intl", "U0I", ("Intl", ("請求書", "ωmega"))),))
    assert decide(model, "🔥 請求書 🔥").detail == {"area": "Intl", "keywords": ["請求書"]}
    assert decide(model, "ΩMEGA").step == "keywords"


def test_large_text() -> None:
    filler = "lorem ipsum dolor sit amet " * 1500  # ~40 kB
    assert len(filler) > 40_000
    assert decide(MODEL, filler).step == "triage"
    decision = decide(MODEL, filler + " refund " + filler + " Facturé")
    assert decision.detail == {"area": "Billing", "keywords": ["refund", "facture"]}
    assert decide(MODEL, filler + " a crash", channel="C0SUPPORT").step == "rule"


def test_detail_is_json_safe() -> None:
    for decision in (
        decide(MODEL, "x", chosen_area="Billing"),
        decide(MODEL, "crash", channel="C0SUPPORT"),
        decide(MODEL, "invoice refund"),
        decide(MODEL, "nothing"),
    ):
        assert json.loads(json.dumps(decision.detail)) == decision.detail


def test_the_matcher_is_built_once_per_model() -> None:
    decide(MODEL, "invoice")
    first = MODEL._matcher
    decide(MODEL, "refund")
    assert MODEL._matcher is first


# --- explain ----------------------------------------------------------------------------------


def test_explain_in_english() -> None:
    assert (
        explain("chosen_area", {"area": "Billing"}, "en") == "the reporter chose the area Billing"
    )
    assert (
        explain("keywords", {"area": "Billing", "keywords": ["invoice", "refund"]}, "en")
        == "matched the keywords “invoice”, “refund” of Billing"
    )
    assert (
        explain("keywords", {"area": "Billing", "keywords": ["invoice"]}, "en")
        == "matched the keyword “invoice” of Billing"
    )
    assert (
        explain(
            "rule",
            {
                "rule": "support crashes go to Mobile",
                "channel": "C0SUPPORT",
                "pattern": "crash|freeze",
            },
            "en",
        )
        == "rule “support crashes go to Mobile” (channel <#C0SUPPORT> and pattern `crash|freeze`)"
    )
    assert explain("rule", {"rule": "r", "channel": "C0S"}, "en") == "rule “r” (channel <#C0S>)"
    assert explain("rule", {"rule": "r", "pattern": "x"}, "en") == "rule “r” (pattern `x`)"
    assert explain("triage", {}, "en") == "nothing else matched, so product ops triages it"


def test_explain_in_french() -> None:
    assert explain("chosen_area", {"area": "Billing"}, "fr") == (
        "l’auteur de la demande a choisi le domaine Billing"
    )
    assert explain(
        "keywords", {"area": "Billing", "keywords": ["invoice", "refund"]}, "fr"
    ) == spaced("correspond aux mots-clés « invoice », « refund » du domaine Billing")
    assert explain("rule", {"rule": "r", "channel": "C0S", "pattern": "x"}, "fr") == (
        spaced("règle « r » (canal <#C0S> et motif `x`)")
    )
    assert explain("triage", {}, "fr").startswith("rien d’autre ne correspondait")


def test_explain_escapes_and_tolerates_odd_details() -> None:
    assert explain("keywords", {"area": "R&D", "keywords": ["<b>"]}, "en") == (
        "matched the keyword “&lt;b&gt;” of R&amp;D"
    )
    assert explain("triage", {"rerouted": "unreachable"}, "en").startswith("nothing else")
    assert explain("chosen_area", None, "en") == "the reporter chose the area "
    assert explain("something_new", {}, "en") == "routed by Jerry (something_new)"


def test_explain_every_decision() -> None:
    for lang in ("en", "fr"):
        for decision in (
            decide(MODEL, "x", chosen_area="Billing"),
            decide(MODEL, "crash", channel="C0SUPPORT"),
            decide(MODEL, "anything", channel="C0SALES"),
            decide(MODEL, "invoice refund"),
            decide(MODEL, "nothing"),
        ):
            assert explain(decision.step, decision.detail, lang)
