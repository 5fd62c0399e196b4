"""Demand in words: "3 people · 2 customers (Acme, Globex)", as the lead's card, the triage
copy, the late message and the App Home rows show it (pure)."""

from __future__ import annotations

from bot.i18n import t, tn
from bot.items.domain import ItemDemand
from bot.text import neutralize, truncate

CUSTOMER_NAMES = 200  # characters of the customers' names after the count


def demand_text(demand: ItemDemand, lang: str) -> str:
    """How many people asked, and which customers; customers' names are typed text (defused
    and cut)."""
    parts = [tn("demand.people", demand.people, lang)]
    if demand.customers:
        names = truncate(neutralize(", ".join(demand.customers)), CUSTOMER_NAMES, marker=" …")
        parts.append(tn("demand.customers", len(demand.customers), lang, names=names))
    return " · ".join(parts)


def demand_field(demand: ItemDemand, lang: str) -> str:
    """The card's field: its label above the count."""
    return f"*{t('demand.label', lang)}*\n{demand_text(demand, lang)}"
