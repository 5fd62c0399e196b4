"""Which demand a card shows (issue 12): only when more than the item's own reporter asked."""

from __future__ import annotations

from bot.i18n import tn
from bot.items.demand import Demand, worth_showing
from bot.items.domain import ItemDemand
from bot.views.demand import demand_text


def test_an_item_only_its_reporter_asked_for_shows_nothing() -> None:
    assert worth_showing("U1", "Acme", Demand(people=1, customers=("Acme",), items=1)) is None
    # Followed by its own reporter again, for the same customer written otherwise.
    assert worth_showing("U1", "Acme", Demand(people=1, customers=("ACME",), items=2)) is None


def test_more_people_or_another_customer_shows_the_demand() -> None:
    shown = worth_showing("U1", "Acme", Demand(people=3, customers=("Acme", "Globex"), items=4))
    assert shown == ItemDemand(people=3, customers=("Acme", "Globex"))
    # One person, but a follower of theirs names another customer.
    shown = worth_showing("U1", "Acme", Demand(people=1, customers=("Acme", "Globex"), items=2))
    assert shown == ItemDemand(people=1, customers=("Acme", "Globex"))


def test_an_imported_item_without_a_reporter_shows_its_first_follower() -> None:
    assert worth_showing("imported", None, Demand(people=1, customers=(), items=2)) == ItemDemand(
        people=1
    )
    assert worth_showing("imported", None, Demand(people=0, customers=(), items=1)) is None


def test_demand_in_words_with_real_plurals_and_defused_names() -> None:
    assert demand_text(ItemDemand(3, ("Acme", "Globex")), "en") == (
        "3 people · 2 customers (Acme, Globex)"
    )
    assert demand_text(ItemDemand(1, ("<!channel> Initech",)), "en") == (
        "1 person · 1 customer (@\u2060channel Initech)"
    )
    assert demand_text(ItemDemand(2), "fr") == "2 personnes"
    assert tn("demand.people", 1, "fr") == "1 personne"
